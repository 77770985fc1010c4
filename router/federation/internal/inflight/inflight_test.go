package inflight_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/graph/testkit/sharetest"
	"bookstore/router/federation/internal/inflight"
)

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
			j := sharetest.NewJoins()
			g := inflight.New[string, string](eq, j.OnKey)
			var takers atomic.Int64 // summed over the calls
			g.Shared = func(_ string, n int) { takers.Add(int64(n)) }
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
			j.Wait(len(tc.ids)) // every caller is in: started a call or waits for one
			close(release)
			wg.Wait()
			if got := calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			if got := takers.Load(); got != int64(len(tc.ids)) {
				t.Errorf("Shared counted %d takers, want %d (every caller)", got, len(tc.ids))
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
			_, joined := j.Counts()
			if want := len(tc.ids) - int(tc.wantCalls); nShared != want || joined != want {
				t.Errorf("%d shared (onJoin: %d), want %d", nShared, joined, want)
			}
			if n := g.InFlight(); n != 0 {
				t.Errorf("%d calls still in flight", n)
			}
		})
	}
}

// Every caller of a call that fails gets its error.
func TestErrorShared(t *testing.T) {
	j := sharetest.NewJoins()
	g := inflight.New[string, int](eq, j.OnKey)
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
	j.Wait(3)
	close(release)
	for range 3 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Errorf("err = %v", err)
		}
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

// A call that panics makes every caller panic with a *PanicError holding
// the value, the one that ran it included; the group stays usable.
func TestPanic(t *testing.T) {
	j := sharetest.NewJoins()
	g := inflight.New[string, string](eq, j.OnKey)
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
	j.Wait(2)
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

// The caller that starts a call runs it on its own goroutine, and gets
// the result even when its context ended meanwhile; a caller that waits
// for it and whose context ends leaves at once with its context's error;
// the call goes on, uncancelled, while anyone wants it. When every caller
// has left, the call is cancelled and forgotten: the next caller starts a
// new one.
func TestLeaving(t *testing.T) {
	j := sharetest.NewJoins()
	g := inflight.New[string, string](eq, j.OnKey)
	takers := make(chan int, 1)
	g.Shared = func(_ string, n int) { takers <- n }
	release := make(chan struct{})
	callCtx := make(chan context.Context, 1)
	var onFirst atomic.Bool
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
		v, err, s := g.Do(ctx1, 1, "a", func(ctx context.Context) (string, error) {
			onFirst.Store(true)
			return fn(ctx)
		})
		res1 <- result{v, err, s}
	}()
	j.Wait(1)
	ctx := <-callCtx
	go func() { v, err, s := g.Do(ctx2, 1, "a", fn); res2 <- result{v, err, s} }()
	go func() { v, err, s := g.Do(context.Background(), 1, "a", fn); res3 <- result{v, err, s} }()
	j.Wait(3)
	cancel1() // the first caller's client goes; it runs the call on
	cancel2() // another leaves
	if r := <-res2; r.err != context.Canceled || !r.shared {
		t.Errorf("the caller that left: %+v", r)
	}
	if ctx.Err() != nil {
		t.Fatal("cancelled with a caller waiting")
	}
	if _, ok := ctx.Deadline(); ok {
		t.Error("the call has a deadline")
	}
	close(release)
	if r := <-res1; r.v != "done" || r.err != nil || r.shared || !onFirst.Load() {
		t.Errorf("the first caller: %+v", r)
	}
	if r := <-res3; r.v != "done" || r.err != nil || !r.shared {
		t.Errorf("the caller that stayed: %+v", r)
	}
	// The first caller gets the result though it left; the one that left
	// before the end does not.
	if n := <-takers; n != 2 {
		t.Errorf("Shared counted %d takers, want 2 (the first caller and the one that stayed)", n)
	}

	// Everyone leaves, the first caller last: the call is cancelled, and
	// the first caller returns what the call made of that.
	j2 := sharetest.NewJoins()
	g2 := inflight.New[string, string](eq, j2.OnKey)
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	wait := func(ctx context.Context) (string, error) {
		callCtx <- ctx
		<-ctx.Done()
		return "", ctx.Err()
	}
	outA, outB := make(chan result, 1), make(chan result, 1)
	go func() { v, err, s := g2.Do(ctxA, 1, "a", wait); outA <- result{v, err, s} }()
	j2.Wait(1)
	ctx = <-callCtx
	go func() { v, err, s := g2.Do(ctxB, 1, "a", wait); outB <- result{v, err, s} }()
	j2.Wait(2)
	cancelB()
	if r := <-outB; r.err != context.Canceled {
		t.Errorf("the caller that left: %+v", r)
	}
	if ctx.Err() != nil {
		t.Fatal("cancelled with a caller left")
	}
	cancelA()
	<-ctx.Done()
	if r := <-outA; r.err != context.Canceled {
		t.Errorf("the first caller: %+v", r)
	}
	if n := g2.InFlight(); n != 0 {
		t.Errorf("%d calls in flight after every caller left", n)
	}
	v, err, shared := g2.Do(context.Background(), 1, "a", func(context.Context) (string, error) { return "fresh", nil })
	if v != "fresh" || err != nil || shared {
		t.Errorf("after: %q, %v, shared %v", v, err, shared)
	}
}

// Group.Timeout bounds a call from its start, whatever its callers'
// contexts, and every caller gets what the call made of it.
func TestTimeout(t *testing.T) {
	j := sharetest.NewJoins()
	g := inflight.New[string, string](eq, j.OnKey)
	g.Timeout = 100 * time.Millisecond
	start := make(chan struct{})
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err, _ := g.Do(context.Background(), 1, "a", func(ctx context.Context) (string, error) {
				if _, ok := ctx.Deadline(); !ok {
					t.Error("no deadline")
				}
				<-start
				<-ctx.Done()
				return "", ctx.Err()
			})
			errs <- err
		}()
	}
	j.Wait(2)
	close(start)
	for range 2 {
		if err := <-errs; err != context.DeadlineExceeded {
			t.Errorf("err = %v", err)
		}
	}
}

// With KeepDeadline, a call has its first caller's deadline: that caller
// returns by it, and a caller that shared the call and still has time gets
// ErrExpired, to do the work itself; one whose time is up too gets its
// own context's error.
func TestKeepDeadline(t *testing.T) {
	j := sharetest.NewJoins()
	g := inflight.New[string, string](eq, j.OnKey)
	g.KeepDeadline = true
	first, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	started := make(chan struct{})
	type result struct {
		err    error
		shared bool
	}
	res1, res2 := make(chan result, 1), make(chan result, 1)
	fn := func(ctx context.Context) (string, error) {
		d, ok := ctx.Deadline()
		if fd, _ := first.Deadline(); !ok || !d.Equal(fd) {
			t.Errorf("deadline %v, %v", d, ok)
		}
		close(started)
		<-ctx.Done()
		return "", ctx.Err()
	}
	go func() { _, err, s := g.Do(first, 1, "a", fn); res1 <- result{err, s} }()
	<-started
	go func() { _, err, s := g.Do(context.Background(), 1, "a", fn); res2 <- result{err, s} }()
	j.Wait(2)
	if r := <-res1; r.err != context.DeadlineExceeded || r.shared {
		t.Errorf("the first caller: %+v", r)
	}
	if r := <-res2; r.err != inflight.ErrExpired || !r.shared {
		t.Errorf("the caller with time left: %+v", r)
	}

	// A first caller without a deadline gives the call none.
	g.Do(context.Background(), 2, "b", func(ctx context.Context) (string, error) {
		if _, ok := ctx.Deadline(); ok {
			t.Error("a deadline")
		}
		return "", nil
	})
}
