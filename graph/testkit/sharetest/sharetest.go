// Package sharetest helps test the sharing of identical work in flight (a
// router's deduplication): a fake subgraph that holds its operations until
// the test releases them, so that they are surely in flight together; a
// counter of the callers that joined shared work, to wait on instead of
// sleeping; and the benchmarks of sharing on and off.
package sharetest

import (
	"context"
	"sync"
	"testing"
)

// Joins counts the callers that joined shared work, as a dedup hook tells
// of them: those that did the work and those that shared another's. It lets
// a test wait until n have joined. The zero value is not ready: use
// NewJoins.
type Joins struct {
	mu           sync.Mutex
	cond         *sync.Cond
	done, shared int
}

// NewJoins returns a counter with none joined.
func NewJoins() *Joins {
	j := &Joins{}
	j.cond = sync.NewCond(&j.mu)
	return j
}

// On counts one caller; shared says it shared another's work. Its
// signature is a hook's that names nothing else (gateway.Options.OnDedup).
func (j *Joins) On(shared bool) {
	j.mu.Lock()
	if shared {
		j.shared++
	} else {
		j.done++
	}
	j.mu.Unlock()
	j.cond.Broadcast()
}

// OnKey is On for a hook that also names what was shared (a subgraph, a
// key), which is not counted.
func (j *Joins) OnKey(_ string, shared bool) { j.On(shared) }

// Wait waits until n callers in all have joined.
func (j *Joins) Wait(n int) {
	j.mu.Lock()
	for j.done+j.shared < n {
		j.cond.Wait()
	}
	j.mu.Unlock()
}

// Counts returns how many callers did the work and how many shared it.
func (j *Joins) Counts() (done, shared int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.done, j.shared
}

// AllLeave checks that shared work nobody waits for any more is given up.
// It runs do for n callers, each in a goroutine with a context of its own,
// waits until one operation reached s and every caller joined it (j counts
// the joins), cancels every context, waits for every do to return, and
// then until s saw the operation cancelled.
func AllLeave(t testing.TB, s *Subgraph, j *Joins, n int, do func(ctx context.Context)) {
	t.Helper()
	var wg sync.WaitGroup
	cancels := make([]context.CancelFunc, n)
	for i := range cancels {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		wg.Go(func() { do(ctx) })
	}
	s.Await(t, 1)
	j.Wait(n)
	for _, cancel := range cancels {
		cancel()
	}
	wg.Wait()
	s.AwaitCancelled(t, 1)
}
