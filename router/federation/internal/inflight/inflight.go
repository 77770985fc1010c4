// Package inflight deduplicates calls in flight: callers that ask for the
// same thing while a call for it runs wait for that call and share its
// result, instead of making their own. Nothing is kept once the call
// returns: it is not a cache.
//
// The router uses it twice: the gateway shares one execution among
// identical client queries (package gateway), and the subgraph client one
// request among identical subgraph queries (package transport).
//
// A call runs on a goroutine of its own, with a context that keeps the
// first caller's values (its trace, say) but not its cancellation nor its
// deadline: a caller whose context ends stops waiting and gets its
// context's error, and the others go on waiting. When the last caller has
// stopped waiting, the call's context is cancelled, since nobody wants its
// result any more, and the next caller starts a new call. So fn must bound
// itself (a timeout of its own) or rely on its callers leaving.
package inflight

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Group is a set of calls in flight. The zero value is not usable: make
// one with New.
type Group[I, T any] struct {
	// Timeout, when positive, bounds every call: fn's context ends that
	// long after the call starts (one timer, instead of a cancellable
	// context fn would have to wrap in its own). Set it before the first
	// call.
	Timeout time.Duration
	equal   func(a, b I) bool
	onJoin  func(id I, shared bool)
	mu      sync.Mutex
	calls   map[uint64][]*call[I, T]
}

// callContext returns the context of a call the caller whose context is
// ctx starts: ctx's values, not its cancellation nor its deadline.
func (g *Group[I, T]) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if g.Timeout > 0 {
		return context.WithTimeout(context.WithoutCancel(ctx), g.Timeout)
	}
	return context.WithCancel(context.WithoutCancel(ctx))
}

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
	waiters int // callers waiting; guarded by the group's mu
	cancel  context.CancelFunc
}

// PanicError is what a caller panics with when the call it waited for
// panicked: every waiter panics in turn, as each would have without
// sharing. It holds the original value and the stack where it panicked.
type PanicError struct {
	Value any
	Stack []byte
}

func (p *PanicError) Error() string {
	return fmt.Sprintf("panic in a shared call: %v\n\n%s", p.Value, p.Stack)
}

// Do returns the result of fn for id, running fn unless a call with an
// equal identity (and the same hash) is in flight, in which case it waits
// for that call instead. shared reports that the result came from a call
// another caller started. hash must be the same for equal identities;
// different identities may share a hash (they are then told apart by
// equal).
//
// When ctx ends before the result is there, Do returns ctx.Err() itself,
// unwrapped, and the call goes on for the other callers, if any. A ctx
// already ended starts nothing. A call that panicked makes every caller
// waiting for it panic with a *PanicError.
func (g *Group[I, T]) Do(ctx context.Context, hash uint64, id I, fn func(context.Context) (T, error)) (v T, err error, shared bool) {
	if err := ctx.Err(); err != nil {
		return v, err, false
	}
	g.mu.Lock()
	var c *call[I, T]
	for _, x := range g.calls[hash] {
		if g.equal(x.id, id) {
			c = x
			break
		}
	}
	if c != nil {
		shared = true
		c.waiters++
	} else {
		cctx, cancel := g.callContext(ctx)
		c = &call[I, T]{id: id, hash: hash, done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.calls[hash] = append(g.calls[hash], c)
		go g.run(cctx, c, fn)
	}
	g.mu.Unlock()
	if g.onJoin != nil {
		g.onJoin(id, shared)
	}
	select {
	case <-c.done:
		if c.panic != nil {
			panic(c.panic)
		}
		return c.val, c.err, shared
	case <-ctx.Done():
		g.leave(c)
		return v, ctx.Err(), shared
	}
}

// DoHere is Do, but a caller that starts a call runs fn on its own
// goroutine, saving the hand-over of the result from another one, and so
// returns only when fn does, whenever its context ends: it then leaves as
// the others do (the last one to leave cancels fn's context), but goes on
// running fn until fn returns. Use it where the first caller's context
// ending means nobody reads its result (a client gone), not where the
// caller must return by a deadline. A panic in fn panics the caller that
// ran it, with a *PanicError, as it does the others.
func (g *Group[I, T]) DoHere(ctx context.Context, hash uint64, id I, fn func(context.Context) (T, error)) (v T, err error, shared bool) {
	if err := ctx.Err(); err != nil {
		return v, err, false
	}
	g.mu.Lock()
	for _, x := range g.calls[hash] {
		if g.equal(x.id, id) {
			x.waiters++
			g.mu.Unlock()
			return g.wait(ctx, x, id)
		}
	}
	cctx, cancel := g.callContext(ctx)
	c := &call[I, T]{id: id, hash: hash, done: make(chan struct{}), waiters: 1, cancel: cancel}
	g.calls[hash] = append(g.calls[hash], c)
	g.mu.Unlock()
	if g.onJoin != nil {
		g.onJoin(id, false)
	}
	stop := context.AfterFunc(ctx, func() { g.leave(c) })
	g.run(cctx, c, fn)
	stop()
	if c.panic != nil {
		panic(c.panic)
	}
	return c.val, c.err, false
}

// wait waits for c, which the caller has joined, as a caller that did not
// start it.
func (g *Group[I, T]) wait(ctx context.Context, c *call[I, T], id I) (v T, err error, shared bool) {
	if g.onJoin != nil {
		g.onJoin(id, true)
	}
	select {
	case <-c.done:
		if c.panic != nil {
			panic(c.panic)
		}
		return c.val, c.err, true
	case <-ctx.Done():
		g.leave(c)
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
		g.mu.Lock()
		g.remove(c)
		g.mu.Unlock()
		c.cancel()
		close(c.done)
	}()
	c.val, c.err = fn(ctx)
	returned = true
}

// leave records that a waiter of c stopped waiting; the last one cancels
// the call and forgets it, so that the next caller starts afresh rather
// than joining a call being cancelled.
func (g *Group[I, T]) leave(c *call[I, T]) {
	g.mu.Lock()
	c.waiters--
	last := c.waiters == 0
	if last {
		g.remove(c)
	}
	g.mu.Unlock()
	if last {
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
