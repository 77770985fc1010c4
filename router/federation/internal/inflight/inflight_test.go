package inflight_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/router/federation/internal/inflight"
)

// joins counts the callers that have joined a call, and lets a test wait
// until n have: no sleeping to let goroutines get somewhere.
type joins struct {
	mu     sync.Mutex
	cond   *sync.Cond
	n      int
	shared int
}

func newJoins() *joins {
	j := &joins{}
	j.cond = sync.NewCond(&j.mu)
	return j
}

func (j *joins) join(_ string, shared bool) {
	j.mu.Lock()
	j.n++
	if shared {
		j.shared++
	}
	j.mu.Unlock()
	j.cond.Broadcast()
}

func (j *joins) wait(n int) {
	j.mu.Lock()
	for j.n < n {
		j.cond.Wait()
	}
	j.mu.Unlock()
}

func eq(a, b string) bool { return a == b }

// Callers asking for the same thing while it runs share one call; the
// others run their own, even when their hashes collide.
func TestShared(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ids       []string
		hash      func(id string) uint64
		wantCalls int64
	}{
		{"identical", []string{"a", "a", "a", "a"}, func(string) uint64 { return 1 }, 1},
		{"different", []string{"a", "b", "c"}, func(id string) uint64 { return uint64(id[0]) }, 3},
		{"different, same hash", []string{"a", "b", "a", "b"}, func(string) uint64 { return 7 }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := newJoins()
			g := inflight.New[string, string](eq, j.join)
			var calls atomic.Int64
			release := make(chan struct{})
			results := make([]string, len(tc.ids))
			shared := make([]bool, len(tc.ids))
			var wg sync.WaitGroup
			for i, id := range tc.ids {
				wg.Go(func() {
					v, err, s := g.Do(context.Background(), tc.hash(id), id, func(context.Context) (string, error) {
						calls.Add(1)
						<-release
						return "result " + id, nil
					})
					if err != nil {
						t.Error(err)
					}
					results[i], shared[i] = v, s
				})
			}
			j.wait(len(tc.ids)) // every caller is in: started a call or waits for one
			close(release)
			wg.Wait()
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			nShared := 0
			for i, id := range tc.ids {
				if results[i] != "result "+id {
					t.Errorf("caller %d (%s) got %q", i, id, results[i])
				}
				if shared[i] {
					nShared++
				}
			}
			if want := len(tc.ids) - int(tc.wantCalls); nShared != want || j.shared != want {
				t.Errorf("%d shared (onJoin: %d), want %d", nShared, j.shared, want)
			}
			if n := g.InFlight(); n != 0 {
				t.Errorf("%d calls still in flight", n)
			}
		})
	}
}

// Every caller of a call that fails gets its error.
func TestErrorShared(t *testing.T) {
	j := newJoins()
	g := inflight.New[string, int](eq, j.join)
	boom := errors.New("boom")
	release := make(chan struct{})
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err, _ := g.Do(context.Background(), 1, "a", func(context.Context) (int, error) {
				<-release
				return 0, boom
			})
			errs <- err
		}()
	}
	j.wait(3)
	close(release)
	for range 3 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
	}
}

// A caller whose context ends stops waiting, with its context's error;
// the call goes on, uncancelled, for the others. When the last one leaves,
// the call is cancelled and forgotten: the next caller starts a new one.
func TestLeaving(t *testing.T) {
	j := newJoins()
	g := inflight.New[string, string](eq, j.join)
	release := make(chan struct{})
	callCtx := make(chan context.Context, 1)
	fn := func(ctx context.Context) (string, error) {
		callCtx <- ctx
		select {
		case <-release:
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	type result struct {
		v   string
		err error
	}
	res1, res2 := make(chan result, 1), make(chan result, 1)
	go func() { v, err, _ := g.Do(ctx1, 1, "a", fn); res1 <- result{v, err} }()
	j.wait(1)
	go func() { v, err, _ := g.Do(context.Background(), 1, "a", fn); res2 <- result{v, err} }()
	j.wait(2)
	ctx := <-callCtx
	cancel1() // the first caller, who started the call, goes away
	if r := <-res1; r.err != context.Canceled || r.v != "" {
		t.Errorf("the caller that left: %q, %v", r.v, r.err)
	}
	if ctx.Err() != nil {
		t.Fatal("the call was cancelled while a caller still waited")
	}
	close(release)
	if r := <-res2; r.err != nil || r.v != "done" {
		t.Errorf("the caller that stayed: %q, %v", r.v, r.err)
	}

	// Everyone leaves: the call is cancelled.
	j2 := newJoins()
	g2 := inflight.New[string, string](eq, j2.join)
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithTimeout(context.Background(), time.Hour)
	errs := make(chan error, 2)
	for _, c := range []context.Context{ctxA, ctxB} {
		go func() {
			_, err, _ := g2.Do(c, 1, "a", func(ctx context.Context) (string, error) {
				callCtx <- ctx
				<-ctx.Done()
				return "", ctx.Err()
			})
			errs <- err
		}()
	}
	j2.wait(2)
	ctx = <-callCtx
	if _, ok := ctx.Deadline(); ok {
		t.Error("the call's context has a caller's deadline")
	}
	cancelA()
	if err := <-errs; err != context.Canceled {
		t.Errorf("err = %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("cancelled with a caller left")
	}
	cancelB()
	if err := <-errs; err != context.Canceled {
		t.Errorf("err = %v", err)
	}
	<-ctx.Done() // cancelled once nobody waits
	if n := g2.InFlight(); n != 0 {
		t.Errorf("%d calls in flight after every caller left", n)
	}
	v, err, shared := g2.Do(context.Background(), 1, "a", func(context.Context) (string, error) { return "fresh", nil })
	if v != "fresh" || err != nil || shared {
		t.Errorf("after: %q, %v, shared %v", v, err, shared)
	}
}

// A context already ended starts nothing.
func TestEndedContext(t *testing.T) {
	g := inflight.New[string, string](eq, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err, _ := g.Do(ctx, 1, "a", func(context.Context) (string, error) {
		t.Error("called")
		return "", nil
	})
	if err != context.Canceled {
		t.Errorf("err = %v", err)
	}
}

// The call's context keeps the first caller's values.
func TestValues(t *testing.T) {
	type key struct{}
	g := inflight.New[string, string](eq, nil)
	ctx := context.WithValue(context.Background(), key{}, "trace")
	v, _, _ := g.Do(ctx, 1, "a", func(ctx context.Context) (string, error) {
		s, _ := ctx.Value(key{}).(string)
		return s, nil
	})
	if v != "trace" {
		t.Errorf("value %q", v)
	}
}

// A call that panics makes every waiter panic with a *PanicError holding
// the value; the group stays usable.
func TestPanic(t *testing.T) {
	j := newJoins()
	g := inflight.New[string, string](eq, j.join)
	release := make(chan struct{})
	got := make(chan any, 2)
	for range 2 {
		go func() {
			defer func() { got <- recover() }()
			g.Do(context.Background(), 1, "a", func(context.Context) (string, error) {
				<-release
				panic("kaboom")
			})
		}()
	}
	j.wait(2)
	close(release)
	for range 2 {
		p, ok := (<-got).(*inflight.PanicError)
		if !ok || p.Value != "kaboom" || len(p.Stack) == 0 {
			t.Errorf("recovered %v", p)
		}
	}
	if v, err, _ := g.Do(context.Background(), 1, "a", func(context.Context) (string, error) { return "ok", nil }); v != "ok" || err != nil {
		t.Errorf("after the panic: %q, %v", v, err)
	}
}

// BenchmarkDo measures a call that shares with nothing: what the sharing
// costs a caller on its own.
func BenchmarkDo(b *testing.B) {
	g := inflight.New[string, string](eq, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var i uint64
		for pb.Next() {
			i++
			g.Do(ctx, i, "a", func(context.Context) (string, error) { return "x", nil })
		}
	})
}

// DoHere runs the call on the goroutine of the caller that starts it:
// that caller gets the result even when its context ended meanwhile,
// while the others leave as with Do; when every caller has left, the call
// is cancelled.
func TestDoHere(t *testing.T) {
	j := newJoins()
	g := inflight.New[string, string](eq, j.join)
	release := make(chan struct{})
	callCtx := make(chan context.Context, 1)
	var goroutineOfFirst atomic.Bool
	fn := func(ctx context.Context) (string, error) {
		callCtx <- ctx
		select {
		case <-release:
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	type result struct {
		v      string
		err    error
		shared bool
	}
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	res1, res2, res3 := make(chan result, 1), make(chan result, 1), make(chan result, 1)
	go func() {
		v, err, s := g.DoHere(ctx1, 1, "a", func(ctx context.Context) (string, error) {
			goroutineOfFirst.Store(true)
			return fn(ctx)
		})
		res1 <- result{v, err, s}
	}()
	j.wait(1)
	ctx := <-callCtx
	go func() { v, err, s := g.DoHere(ctx2, 1, "a", fn); res2 <- result{v, err, s} }()
	go func() { v, err, s := g.DoHere(context.Background(), 1, "a", fn); res3 <- result{v, err, s} }()
	j.wait(3)
	cancel1() // the first caller's client goes; it runs the call on
	cancel2() // another leaves
	if r := <-res2; r.err != context.Canceled || !r.shared {
		t.Errorf("the caller that left: %+v", r)
	}
	if ctx.Err() != nil {
		t.Fatal("cancelled with a caller waiting")
	}
	close(release)
	if r := <-res1; r.v != "done" || r.err != nil || r.shared || !goroutineOfFirst.Load() {
		t.Errorf("the first caller: %+v", r)
	}
	if r := <-res3; r.v != "done" || r.err != nil || !r.shared {
		t.Errorf("the caller that stayed: %+v", r)
	}

	// The first caller alone goes away: the call is cancelled, and it
	// returns what the call made of that.
	ctxA, cancelA := context.WithCancel(context.Background())
	out := make(chan result, 1)
	go func() {
		v, err, s := g.DoHere(ctxA, 2, "b", func(ctx context.Context) (string, error) {
			callCtx <- ctx
			<-ctx.Done()
			return "", ctx.Err()
		})
		out <- result{v, err, s}
	}()
	ctx = <-callCtx
	cancelA()
	<-ctx.Done()
	if r := <-out; r.err != context.Canceled {
		t.Errorf("alone: %+v", r)
	}
	if n := g.InFlight(); n != 0 {
		t.Errorf("%d calls in flight", n)
	}
}

// Group.Timeout bounds a call from its start, whatever its callers'
// contexts.
func TestTimeout(t *testing.T) {
	g := inflight.New[string, string](eq, nil)
	g.Timeout = 50 * time.Millisecond
	for _, do := range []func(context.Context, uint64, string, func(context.Context) (string, error)) (string, error, bool){g.Do, g.DoHere} {
		_, err, _ := do(context.Background(), 1, "a", func(ctx context.Context) (string, error) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("no deadline")
			}
			<-ctx.Done()
			return "", ctx.Err()
		})
		if err != context.DeadlineExceeded {
			t.Errorf("err = %v", err)
		}
	}
}

// A call run by DoHere that panics panics its first caller too.
func TestDoHerePanic(t *testing.T) {
	g := inflight.New[string, string](eq, nil)
	defer func() {
		if p, ok := recover().(*inflight.PanicError); !ok || p.Value != "kaboom" {
			t.Errorf("recovered %v", p)
		}
	}()
	g.DoHere(context.Background(), 1, "a", func(context.Context) (string, error) { panic("kaboom") })
}
