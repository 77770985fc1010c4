package executetest

import (
	"context"
	"sync"
	"sync/atomic"

	"bookstore/router/federation/execute"
)

// Memo is a Fetcher for benchmarks: it answers each distinct request (its
// subgraph and body) once from the fetcher it wraps, then from memory, so
// that what a benchmark measures is the executor's cost alone. It counts
// the requests it receives. It is safe for concurrent use.
type Memo struct {
	f execute.Fetcher

	mu      sync.RWMutex
	answers map[string]map[string]*execute.FetchResponse
	calls   atomic.Int64
}

// NewMemo wraps f.
func NewMemo(f execute.Fetcher) *Memo {
	return &Memo{f: f, answers: map[string]map[string]*execute.FetchResponse{}}
}

// Calls returns the number of requests received so far.
func (m *Memo) Calls() int64 { return m.calls.Load() }

// Do answers req from memory, or asks the wrapped fetcher the first time.
// An answer is shared between the requests it answers: the caller must
// not modify it.
func (m *Memo) Do(ctx context.Context, req execute.FetchRequest) (*execute.FetchResponse, error) {
	m.calls.Add(1)
	m.mu.RLock()
	resp := m.answers[req.Subgraph][string(req.Body)]
	m.mu.RUnlock()
	if resp != nil {
		return resp, nil
	}
	resp, err := m.f.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.answers[req.Subgraph] == nil {
		m.answers[req.Subgraph] = map[string]*execute.FetchResponse{}
	}
	m.answers[req.Subgraph][string(req.Body)] = resp
	m.mu.Unlock()
	return resp, nil
}
