// Package inflight deduplicates calls in flight: callers that ask for the
// same thing while a call for it runs wait for that call and share its
// result, instead of making their own. Nothing is kept once the call
// returns: it is not a cache.
//
// The router uses it twice: the gateway shares one execution among
// identical client queries (package gateway), and the subgraph client one
// request among identical subgraph queries (package transport).
//
// The caller that starts a call runs it on its own goroutine (no hand-over
// to another), with a context that keeps the caller's values (its trace,
// say) but not its cancellation: a caller whose context ends must not
// cancel the call for the others. The others wait, each until the result
// is there or its own context ends. When every caller's context has ended,
// the first's included, the call's context is cancelled, since nobody
// wants its result any more, and the next caller starts a new call.
package inflight

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Group is a set of calls in flight. The zero value is not usable: make
// one with New.
type Group[I, T any] struct {
	// Timeout, when positive, bounds every call: its context ends that long
	// after it starts, and every caller sharing it gets what fn made of
	// that. Set it before the first call.
	Timeout time.Duration
	// KeepDeadline, without Timeout, gives a call the deadline of the
	// context of the caller that starts it, so that this caller returns by
	// its deadline, as it would alone. A caller that shared the call and
	// still has time when the call ends by that deadline gets ErrExpired
	// instead of its result, and should do the work itself. Set it before
	// the first call.
	KeepDeadline bool
	// Shared, when set, is told of a call's result once it is final, with
	// the number of callers that will get it (the one that ran fn
	// included), before any of them does: a result that holds something
	// to give back (a pooled buffer) can count its holders. A caller that
	// stops waiting just as the result comes may not take it after all,
	// so a count may never reach zero: the result is then collected. Set
	// it before the first call.
	Shared func(v T, n int)
	equal  func(a, b I) bool
	onJoin func(id I, shared bool)
	mu     sync.Mutex
	calls  map[uint64][]*call[I, T]
}

// ErrExpired is what a caller gets when the call it shared ran out of the
// first caller's time before its own (see Group.KeepDeadline).
var ErrExpired = errors.New("inflight: the shared call ran out of its first caller's time")

// New returns a group whose calls are identified by an I: two callers
// share a call when their identities have the same hash (see Do) and equal
// reports them equal. onJoin, when set, is told of every caller as soon as
// it has joined a call, before it waits: shared is false for the caller
// that started the call (metrics, and tests that must know a caller is
// waiting). It runs on the caller's goroutine and must not block.
func New[I, T any](equal func(a, b I) bool, onJoin func(id I, shared bool)) *Group[I, T] {
	return &Group[I, T]{equal: equal, onJoin: onJoin, calls: map[uint64][]*call[I, T]{}}
}

// call is one call in flight.
type call[I, T any] struct {
	id      I
	hash    uint64
	done    chan struct{} // closed when fn has returned (or panicked)
	val     T
	err     error
	panic   *PanicError
	expired bool // the call's context ended by its first caller's deadline
	waiters int  // callers waiting; guarded by the group's mu
	// firstLeft reports that the caller running fn stopped waiting (its
	// context ended); it still gets the result. Guarded by the group's mu.
	firstLeft bool
	cancel    context.CancelFunc
}

// PanicError is what a caller panics with when the call it shared
// panicked: every caller panics in turn, as each would have without
// sharing. It holds the original value and the stack where it panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("panic in a shared call: %v\n\n%s", p.Value, p.Stack)
}

// Do returns the result of fn for id: it runs fn, on the caller's
// goroutine, unless a call with an equal identity (and the same hash) is
// in flight, in which case it waits for that call instead. shared reports
// that the result came from a call another caller started. hash must be
// the same for equal identities; different identities may share a hash
// (they are then told apart by equal).
//
// A caller that waits for another's call and whose ctx ends first returns
// ctx.Err() itself, unwrapped, at once; the call goes on for the others.
// The caller that runs fn returns when fn does, whenever its ctx ends
// (fn's context ends with it only when nobody else waits, or by its
// deadline: see Group.KeepDeadline). A ctx already ended starts nothing.
// A call that panicked makes every caller panic with a *PanicError.
func (g *Group[I, T]) Do(ctx context.Context, hash uint64, id I, fn func(context.Context) (T, error)) (v T, err error, shared bool) {
	if err := ctx.Err(); err != nil {
		return v, err, false
	}
	g.mu.Lock()
	for _, c := range g.calls[hash] {
		if g.equal(c.id, id) {
			c.waiters++
			g.mu.Unlock()
			return g.wait(ctx, c, id)
		}
	}
	cctx, cancel, ownDeadline := g.callContext(ctx)
	c := &call[I, T]{id: id, hash: hash, done: make(chan struct{}), waiters: 1, cancel: cancel}
	g.calls[hash] = append(g.calls[hash], c)
	g.mu.Unlock()
	if g.onJoin != nil {
		g.onJoin(id, false)
	}
	stop := context.AfterFunc(ctx, func() {
		// At the deadline the call shares, its own timer ends it, with
		// the error fn must see (context.DeadlineExceeded), at the same
		// moment: cancelling it here would race that.
		g.leave(c, !ownDeadline || !errors.Is(ctx.Err(), context.DeadlineExceeded), true)
	})
	g.run(cctx, c, fn)
	stop()
	if c.panic != nil {
		panic(c.panic)
	}
	return c.val, c.err, false
}

// callContext returns the context of a call that the caller whose context
// is ctx starts: ctx's values, not its cancellation; Timeout, or ctx's
// deadline with KeepDeadline (ownDeadline then reports it).
func (g *Group[I, T]) callContext(ctx context.Context) (_ context.Context, _ context.CancelFunc, ownDeadline bool) {
	detached := context.WithoutCancel(ctx)
	if g.Timeout > 0 {
		cctx, cancel := context.WithTimeout(detached, g.Timeout)
		return cctx, cancel, false
	}
	if d, ok := ctx.Deadline(); ok && g.KeepDeadline {
		cctx, cancel := context.WithDeadline(detached, d)
		return cctx, cancel, true
	}
	cctx, cancel := context.WithCancel(detached)
	return cctx, cancel, false
}

// wait waits for c, which the caller has joined, started by another.
func (g *Group[I, T]) wait(ctx context.Context, c *call[I, T], id I) (v T, err error, shared bool) {
	if g.onJoin != nil {
		g.onJoin(id, true)
	}
	select {
	case <-c.done:
		switch {
		case c.panic != nil:
			panic(c.panic)
		case c.expired && ctx.Err() == nil:
			return v, ErrExpired, true
		}
		return c.val, c.err, true
	case <-ctx.Done():
		g.leave(c, true, false)
		return v, ctx.Err(), true
	}
}

// run runs fn for c and hands its result to c's waiters.
func (g *Group[I, T]) run(ctx context.Context, c *call[I, T], fn func(context.Context) (T, error)) {
	returned := false
	defer func() {
		if !returned {
			// A panic (or runtime.Goexit, where recover gives nil).
			c.panic = &PanicError{Value: recover(), Stack: debug.Stack()}
		}
		c.expired = g.KeepDeadline && g.Timeout <= 0 && errors.Is(ctx.Err(), context.DeadlineExceeded)
		g.mu.Lock()
		g.remove(c)
		// Nobody joins now: the callers still waiting, and the first,
		// get the result.
		takers := c.waiters
		if c.firstLeft {
			takers++
		}
		g.mu.Unlock()
		if returned && g.Shared != nil {
			g.Shared(c.val, takers)
		}
		c.cancel()
		close(c.done)
	}()
	c.val, c.err = fn(ctx)
	returned = true
}

// leave records that a caller of c stopped waiting; the last one forgets
// the call, so that the next caller starts afresh rather than joining a
// call being cancelled, and cancels it unless told not to (the call ends
// by itself).
func (g *Group[I, T]) leave(c *call[I, T], cancel, first bool) {
	g.mu.Lock()
	c.waiters--
	c.firstLeft = c.firstLeft || first
	last := c.waiters == 0
	if last {
		g.remove(c)
	}
	g.mu.Unlock()
	if last && cancel {
		c.cancel()
	}
}

// remove takes c out of the group, if it is still in; g.mu is held.
func (g *Group[I, T]) remove(c *call[I, T]) {
	bucket := g.calls[c.hash]
	for i, x := range bucket {
		if x == c {
			bucket[i] = bucket[len(bucket)-1]
			bucket[len(bucket)-1] = nil
			bucket = bucket[:len(bucket)-1]
			break
		}
	}
	if len(bucket) == 0 {
		delete(g.calls, c.hash)
	} else {
		g.calls[c.hash] = bucket
	}
}

// InFlight returns the number of calls in flight (tests).
func (g *Group[I, T]) InFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, b := range g.calls {
		n += len(b)
	}
	return n
}
