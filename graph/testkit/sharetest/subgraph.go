package sharetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Subgraph is a fake subgraph on 127.0.0.1 whose handler holds operations
// (Hold) until the test releases them (Open), or their client gives up.
type Subgraph struct {
	// URL is its GraphQL endpoint, http://127.0.0.1:port/query.
	URL       string
	arrivals  chan int // the number of each held operation, as it arrives
	release   chan struct{}
	n         atomic.Int64
	cancelled atomic.Int64
}

// Handler answers one request to s; it calls s.Hold where the operation is
// to wait, or s.Count for one that is counted but not held.
type Handler func(s *Subgraph, w http.ResponseWriter, r *http.Request)

// Start serves h until the test ends; then it releases every operation
// still held before it waits for the handlers.
func Start(t testing.TB, h Handler) *Subgraph {
	t.Helper()
	s := &Subgraph{arrivals: make(chan int, 100), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(s, w, r) }))
	s.URL = srv.URL + "/query"
	t.Cleanup(srv.Close) // runs second: waits for the handlers
	t.Cleanup(s.Open)    // runs first: frees the held ones
	return s
}

// Operation is the body of a GraphQL request.
type Operation struct {
	Query     string
	Variables json.RawMessage
}

// Answer answers an operation of a GraphQL subgraph (not its schema).
type Answer func(s *Subgraph, w http.ResponseWriter, r *http.Request, op Operation)

// GraphQL returns a Handler for a subgraph with the schema sdl: it decodes
// each request's operation, answers { _service { sdl } } itself and hands
// every other operation to answer, with the Content-Type application/json
// set.
func GraphQL(sdl string, answer Answer) Handler {
	return func(s *Subgraph, w http.ResponseWriter, r *http.Request) {
		var op Operation
		if err := json.NewDecoder(r.Body).Decode(&op); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(op.Query, "_service") {
			fmt.Fprintf(w, `{"data":{"_service":{"sdl":%q}}}`, sdl)
			return
		}
		answer(s, w, r, op)
	}
}

// Count counts an operation without holding it and returns its number,
// from 1.
func (s *Subgraph) Count() int { return int(s.n.Add(1)) }

// Hold counts an operation and holds it until Open, or until r's client
// goes away. It returns the operation's number, from 1, and whether it was
// released: on false, the handler returns without answering.
func (s *Subgraph) Hold(r *http.Request) (n int, released bool) {
	n = s.Count()
	s.arrivals <- n
	select {
	case <-s.release:
		return n, true
	case <-r.Context().Done():
		s.cancelled.Add(1)
		return n, false
	}
}

// HoldOrFail holds an operation as Hold does; once it is released, a
// status other than 0 fails it: that status, text/plain. It returns the
// operation's number, and whether the handler is to answer it (false: its
// client went away, or it failed).
func (s *Subgraph) HoldOrFail(w http.ResponseWriter, r *http.Request, status int) (n int, answer bool) {
	n, released := s.Hold(r)
	if !released {
		return n, false
	}
	if status != 0 {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		io.WriteString(w, http.StatusText(status))
		return n, false
	}
	return n, true
}

// Open releases the operations held, and every later one.
func (s *Subgraph) Open() {
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// Operations returns how many operations have been counted.
func (s *Subgraph) Operations() int64 { return s.n.Load() }

// Cancelled returns how many held operations their clients gave up on.
func (s *Subgraph) Cancelled() int64 { return s.cancelled.Load() }

// Await waits for the next n held operations to arrive; past a generous
// bound it fails the test (an operation that never comes: it was shared).
func (s *Subgraph) Await(t testing.TB, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-s.arrivals:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d operations reached the subgraph", i, n)
		}
	}
}

// AwaitCancelled waits until n held operations in all were given up by
// their clients; past a generous bound it fails the test.
func (s *Subgraph) AwaitCancelled(t testing.TB, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Cancelled() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d held operations were cancelled", s.Cancelled(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
