// Package chaos is the bookstore's chaos suite: it runs the real stack
// (PostgreSQL, two replicas of each subgraph, the router) as processes on
// 127.0.0.1, puts a bounded load on it from a Go load generator, breaks
// something for real (SIGKILL, SIGTERM, SIGSTOP, PostgreSQL stopped or
// crashed, a subgraph slower than its timeout) and asserts exact counts:
// failed requests, orders acknowledged and found, stock conserved.
//
// `go test ./router/cmd/chaos` runs the short form (shorter faults, the
// main scenarios), which `make test` includes; `make chaos`
// (BOOKSTORE_CHAOS=full) runs every scenario with the durations.
// Each scenario logs its figures, and writes them to out/chaos/.
//
// The assertions are about counts, which the machine's speed does not
// change; the timing ones (a recovery window, a p99) have generous margins.
package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/nodetest"
	"bookstore/graph/testkit/pgcluster"
	"bookstore/graph/testkit/stack"
	"bookstore/graph/testkit/testdb"
)

// modeEnv selects the full suite: BOOKSTORE_CHAOS=full.
const modeEnv = "BOOKSTORE_CHAOS"

// suite is how a run is shaped: short (make test) or full (make chaos).
type suite struct {
	full bool
	e    *env
}

// pick returns short or full by the suite's mode.
func pick[T any](s suite, short, full T) T {
	if s.full {
		return full
	}
	return short
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and six services per scenario; skipped with -short")
	}
	s := suite{full: os.Getenv(modeEnv) == "full"}
	s.e = newEnv(t)
	scenarios := []struct {
		name  string
		short bool // part of the short form
		run   func(*testing.T, suite)
	}{
		{"sigkill", true, scenarioSIGKILL},
		{"rolling-restart", true, scenarioRolling},
		{"sigstop", true, scenarioSIGSTOP},
		{"postgres-stopped", true, scenarioPostgresStopped},
		{"postgres-crash", true, scenarioPostgresCrash},
		{"slow-subgraph", true, scenarioSlowSubgraph},
		{"soak", false, scenarioSoak},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			if !sc.short && !s.full {
				t.Skipf("full suite only (%s=full, make chaos)", modeEnv)
			}
			sc.run(t, s)
		})
	}
}

// report logs a scenario's figures and keeps them in out/chaos/NAME.txt.
type report struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
}

func newReport(t *testing.T) *report {
	r := &report{t: t}
	t.Cleanup(r.write)
	return r
}

func (r *report) add(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	r.mu.Lock()
	r.lines = append(r.lines, line)
	r.mu.Unlock()
	r.t.Log(line)
}

// load adds the summary of a whole load to the report, and returns it.
func (r *report) load(rs []result) summary {
	all := summarize(rs, 0, 0, nil)
	r.add("load: %s", all)
	return all
}

func (r *report) write() {
	name := strings.ReplaceAll(r.t.Name(), "/", "-")
	status := "PASS"
	if r.t.Failed() {
		status = "FAIL"
	}
	r.mu.Lock()
	body := fmt.Sprintf("%s (%s, %s)\n%s\n", r.t.Name(), status, time.Now().Format(time.RFC3339), strings.Join(r.lines, "\n"))
	r.mu.Unlock()
	_ = os.WriteFile(filepath.Join(nodetest.OutDir(r.t, "chaos"), name+".txt"), []byte(body), 0o644)
}

// fixture is a running stack and what its load needs: the books' ids and
// a few orders to read; and the stock once those orders are placed.
type fixture struct {
	st     *bookstore
	books  []string
	orders []string
	before map[string]int64
}

func newFixture(t *testing.T, s suite, o stackOptions) *fixture {
	t.Helper()
	ctx := t.Context()
	st := s.e.newStack(t, o)
	f := &fixture{st: st}
	conn, err := pgx.Connect(ctx, st.admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	f.books = testdb.Strings(t, conn, `SELECT id::text FROM books.books ORDER BY id`)
	// A few orders for the reads, placed through the router.
	warm := newLoad(st.lb, loadConfig{}, f.books, []string{"00000000-0000-0000-0000-000000000000"}, "chaos-setup-"+st.db)
	warm.start = time.Now()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := range 5 {
		warm.order(wctx, newRand(i))
	}
	warm.retries.Wait()
	_, recs := warm.snapshot()
	for _, rec := range recs {
		if !rec.acked {
			t.Fatalf("placing a setup order: %+v", rec.attempts)
		}
		f.orders = append(f.orders, rec.id)
	}
	if f.before, err = stockSnapshot(ctx, st.admin); err != nil {
		t.Fatal(err)
	}
	return f
}

// load returns a load generator over the fixture's data.
func (f *fixture) load(cfg loadConfig) *loadgen {
	return newLoad(f.st.lb, cfg, f.books, f.orders, "chaos-"+f.st.db)
}

// timeline runs steps at offsets from start, in order, on its own
// goroutine; wait waits for the last.
type timeline struct {
	wg sync.WaitGroup
}

func (tl *timeline) run(ctx context.Context, steps ...func(context.Context)) {
	tl.wg.Go(func() {
		for _, step := range steps {
			if ctx.Err() != nil {
				return
			}
			step(ctx)
		}
	})
}

func (tl *timeline) wait() { tl.wg.Wait() }

// runLoad runs the load g until ctx ends, beside the timeline tl, and
// returns the load's results once both are done.
func runLoad(ctx context.Context, g *loadgen, tl *timeline) []result {
	g.run(ctx)
	tl.wait()
	rs, _ := g.snapshot()
	return rs
}

// sleepUntil sleeps until start+d or ctx's end.
func sleepUntil(ctx context.Context, start time.Time, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(start.Add(d))):
	}
}

// trafficBack waits until a restarted subgraph replica has served n
// GraphQL requests, and returns how long that took from since (-1 when
// ctx ended first).
func trafficBack(ctx context.Context, s *stack.Service, since time.Time, n float64) time.Duration {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if m, err := scrape(ctx, s.URL()+"/metrics"); err == nil && metric(m, "http_requests_total", `handler="/query"`) >= n {
			return time.Since(since)
		}
		select {
		case <-ctx.Done():
			return -1
		case <-tick.C:
		}
	}
}

// finishOrders checks the load's orders against the database and the
// stock against the fixture's snapshot, adding the figures to the report: every
// acknowledged order exists exactly once, no order is a duplicate or
// unanswered, and stock is conserved.
func (f *fixture) finishOrders(t *testing.T, rep *report, g *loadgen) orderCheck {
	t.Helper()
	st, before := f.st, f.before
	ctx := context.WithoutCancel(t.Context())
	oc, err := checkOrders(ctx, st.admin, g)
	if err != nil {
		t.Fatalf("reading the orders: %v", err)
	}
	rep.add("orders: %s", oc)
	after, err := stockSnapshot(ctx, st.admin)
	if err != nil {
		t.Fatalf("reading the stock: %v", err)
	}
	bad := conserved(before, after)
	rep.add("stock + units sold conserved for %d of %d books", len(before)-len(bad), len(before))
	if len(oc.missing) > 0 {
		t.Errorf("acknowledged orders not found exactly once: %v", oc.missing)
	}
	if oc.strays > 0 {
		t.Errorf("%d orders of the load have no key of its own: duplicates", oc.strays)
	}
	if len(bad) > 0 {
		t.Errorf("stock + units sold changed: %v", bad)
	}
	if oc.unresolved != 0 {
		t.Errorf("%d orders still unanswered after retries", oc.unresolved)
	}
	return oc
}

// scenarioSIGKILL: one replica of each subgraph is killed under mixed load,
// then restarted. No read fails; every acknowledged order exists exactly
// once; retries with the same key never duplicate; stock is conserved.
func scenarioSIGKILL(t *testing.T, s suite) {
	rep := newReport(t)
	f := newFixture(t, s, stackOptions{})
	st := f.st
	dur, killAt, restartAt := pick(s, 6*time.Second, 20*time.Second), pick(s, 1500*time.Millisecond, 5*time.Second), pick(s, 3*time.Second, 10*time.Second)
	g := f.load(loadConfig{workers: 12, think: 20 * time.Millisecond, mix: mixed()})
	ctx, cancel := context.WithTimeout(t.Context(), dur)
	defer cancel()
	start := time.Now()
	victims := []*stack.Service{st.Books[0], st.Orders[0]}
	var back [2]time.Duration
	var tl timeline
	tl.run(ctx, func(ctx context.Context) {
		sleepUntil(ctx, start, killAt)
		for _, v := range victims {
			if err := v.Kill(); err != nil {
				t.Error(err)
			}
		}
		rep.add("SIGKILL %s and %s at %s", victims[0].Name, victims[1].Name, sec(time.Since(start)))
		sleepUntil(ctx, start, restartAt)
		restarted := time.Now()
		var wg sync.WaitGroup
		for i, v := range victims {
			wg.Go(func() {
				if err := v.Start(context.WithoutCancel(ctx)); err != nil {
					t.Error(err)
					return
				}
				back[i] = trafficBack(ctx, v, restarted, 20)
			})
		}
		wg.Wait()
		rep.add("restarted at %s; serving 20 requests again after %s (books), %s (orders)", sec(restarted.Sub(start)), sec(back[0]), sec(back[1]))
	})
	rs := runLoad(ctx, g, &tl)
	all := rep.load(rs)
	rep.add("after the kill: %s", summarize(rs, killAt, 0, nil))
	f.finishOrders(t, rep, g)
	if all.queriesBad != 0 {
		t.Errorf("%d reads failed, want 0: %v", all.queriesBad, all.failures)
	}
	st.checkRunning(t)
}

// scenarioRolling: every replica, then the router, gets SIGTERM in turn
// and is replaced, one step a second: not one request fails.
func scenarioRolling(t *testing.T, s suite) {
	rep := newReport(t)
	// The full form drains as the manifests do (5 s, the router closing
	// idle connections after 2 s); the short one for 2 s, the router's
	// idle connections closed after 1 s, below it as it must be.
	drain, idle := pick(s, "2s", "5s"), pick(s, "1s", "2s")
	f := newFixture(t, s, stackOptions{
		subgraphEnv: []string{"DRAIN_PERIOD=" + drain, "SHUTDOWN_TIMEOUT=10s"},
		routerEnv:   []string{"DRAIN_PERIOD=" + drain, "SHUTDOWN_TIMEOUT=10s", "SUBGRAPH_IDLE_TIMEOUT=" + idle},
	})
	st := f.st
	steps := pick(s, []*stack.Service{st.Books[0], st.Orders[1]}, st.Subgraphs())
	g := f.load(loadConfig{workers: 12, think: 20 * time.Millisecond, mix: mixed()})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	start := time.Now()
	var tl timeline
	tl.run(ctx, func(ctx context.Context) {
		defer cancel()
		sleepUntil(ctx, start, 2*time.Second)
		for _, v := range steps {
			t0 := time.Now()
			if err := v.Stop(30 * time.Second); err != nil {
				t.Error(err)
			}
			stopped := time.Since(t0)
			if err := v.Start(ctx); err != nil {
				t.Error(err)
				return
			}
			rep.add("%s: SIGTERM at %s, exited after %s, ready again after %s", v.Name, sec(t0.Sub(start)), sec(stopped), sec(time.Since(t0)))
			time.Sleep(time.Second)
		}
		t0 := time.Now()
		old := st.Router().Name
		if err := st.replaceRouter(ctx, 30*time.Second); err != nil {
			t.Error(err)
		}
		rep.add("%s replaced (a new router first, then SIGTERM) at %s, done after %s", old, sec(t0.Sub(start)), sec(time.Since(t0)))
		time.Sleep(2 * time.Second)
	})
	rs := runLoad(ctx, g, &tl)
	all := rep.load(rs)
	f.finishOrders(t, rep, g)
	all.wantNoneFailed(t, "requests")
	st.checkRunning(t)
}

// scenarioSIGSTOP: one orders replica is stopped (SIGSTOP) for a while.
// After the first subgraph timeout the replica is ejected: throughput stays
// above half of normal, requests sent after the ejection are fast, and none
// sent after the first timeout window fails.
func scenarioSIGSTOP(t *testing.T, s suite) {
	rep := newReport(t)
	// A replica stopped inside placeOrder's transaction holds its books'
	// row locks until PostgreSQL ends its idle session
	// (DB_IDLE_IN_TRANSACTION_TIMEOUT, 5 s): below the router's timeout,
	// orders of those books on the other replica wait, but answer. The
	// short form scales both down.
	timeout := pick(s, 2*time.Second, 10*time.Second)
	f := newFixture(t, s, stackOptions{
		routerEnv:   []string{"SUBGRAPH_TIMEOUT=" + timeout.String()},
		subgraphEnv: []string{"DB_IDLE_IN_TRANSACTION_TIMEOUT=" + pick(s, "1s", "5s")},
	})
	st := f.st
	stopAt, stopFor, tail := pick(s, 3*time.Second, 5*time.Second), pick(s, 5*time.Second, 20*time.Second), pick(s, 2*time.Second, 4*time.Second)
	// 100 ms between a client's requests (about 110/s, as the issue's
	// tester had): throughput then hangs on the faults more than on how
	// busy the machine is, so that a ratio of two windows means something.
	g := f.load(loadConfig{workers: 12, think: 100 * time.Millisecond, mix: mixed()})
	ctx, cancel := context.WithTimeout(t.Context(), stopAt+stopFor+tail)
	defer cancel()
	start := time.Now()
	victim := st.Orders[0]
	ejectedAt := time.Duration(-1)
	var back time.Duration
	var tl timeline
	tl.run(ctx, func(ctx context.Context) {
		sleepUntil(ctx, start, stopAt)
		if err := victim.Signal(syscall.SIGSTOP); err != nil {
			t.Error(err)
			return
		}
		rep.add("SIGSTOP %s at %s (router's subgraph timeout %s)", victim.Name, sec(time.Since(start)), timeout)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for time.Since(start) < stopAt+stopFor {
			if m, err := scrape(ctx, st.Router().URL()+"/metrics"); err == nil && metric(m, "router_replica_ejections_total", `subgraph="orders"`) >= 1 {
				ejectedAt = time.Since(start)
				break
			}
			<-tick.C
		}
		sleepUntil(ctx, start, stopAt+stopFor)
		cont := time.Now()
		if err := victim.Signal(syscall.SIGCONT); err != nil {
			t.Error(err)
		}
		m, _ := scrape(ctx, victim.URL()+"/metrics")
		back = trafficBack(ctx, victim, cont, metric(m, "http_requests_total", `handler="/query"`)+20)
	})
	rs := runLoad(ctx, g, &tl)
	base := summarize(rs, time.Second, stopAt, nil)
	first := summarize(rs, stopAt, stopAt+timeout, nil)
	afterTimeout := summarize(rs, stopAt+timeout, stopAt+stopFor, nil)
	rep.add("before the stop: %s", base)
	rep.add("first timeout window: %s", first)
	rep.add("rest of the stop: %s", afterTimeout)
	rep.add("after SIGCONT: %s; the replica served 20 requests again after %s", summarize(rs, stopAt+stopFor, 0, nil), sec(back))
	if ejectedAt < 0 {
		t.Errorf("the stopped replica was never ejected")
		rep.add("never ejected")
	} else {
		after := summarize(rs, ejectedAt, stopAt+stopFor, nil)
		rep.add("ejected at %s (%s after the stop); requests sent after the ejection: %s", sec(ejectedAt), sec(ejectedAt-stopAt), after)
		if after.p99 >= time.Second {
			t.Errorf("p99 of requests sent after the ejection is %s, want under 1s", after.p99)
		}
	}
	if afterTimeout.perSecond < base.perSecond/2 {
		t.Errorf("throughput after the first timeout %.0f/s, under half of the %.0f/s before", afterTimeout.perSecond, base.perSecond)
	}
	summarize(rs, stopAt+timeout, 0, nil).wantNoneFailed(t, "requests sent after the first timeout window")
	st.checkRunning(t)
}

// scenarioPostgresStopped: PostgreSQL is stopped, then started again.
// Meanwhile every request fails fast with 503 (REST) or a
// SUBGRAPH_UNAVAILABLE error (GraphQL), the subgraphs' /readyz answer 503,
// and within 5 s of PostgreSQL's return everything serves again, with no
// service restarted.
func scenarioPostgresStopped(t *testing.T, s suite) {
	rep := newReport(t)
	f := newFixture(t, s, stackOptions{})
	st := f.st
	cluster := s.e.cluster
	haltAt, down, tail := pick(s, 2*time.Second, 3*time.Second), pick(s, 3*time.Second, 10*time.Second), pick(s, 6*time.Second, 10*time.Second)
	pids := map[string]int{}
	for _, sv := range append(st.Subgraphs(), st.Router()) {
		pids[sv.Name] = sv.Process().PID()
	}
	g := f.load(loadConfig{workers: 8, think: 20 * time.Millisecond, mix: mixed()})
	ctx, cancel := context.WithTimeout(t.Context(), haltAt+down+tail)
	defer cancel()
	t.Cleanup(func() { ensureRunning(t, cluster) })
	start := time.Now()
	var halted, restarted time.Duration
	unready := map[string]time.Duration{}
	var mu sync.Mutex
	var tl timeline
	tl.run(ctx, func(ctx context.Context) {
		sleepUntil(ctx, start, haltAt)
		halted = time.Since(start)
		var wg sync.WaitGroup
		pollCtx, stopPoll := context.WithTimeout(ctx, down)
		defer stopPoll()
		for _, sv := range st.Subgraphs() {
			wg.Go(func() {
				for pollCtx.Err() == nil {
					if code := status(pollCtx, sv.URL()+"/readyz"); code == 503 {
						mu.Lock()
						unready[sv.Name] = time.Since(start) - halted
						mu.Unlock()
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
		if err := cluster.Halt(pgcluster.Fast); err != nil {
			t.Error(err)
			return
		}
		rep.add("PostgreSQL stopped (fast shutdown) from %s to %s", sec(halted), sec(time.Since(start)))
		sleepUntil(ctx, start, haltAt+down)
		stopPoll()
		wg.Wait()
		if err := cluster.Restart(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
		restarted = time.Since(start)
	})
	rs := runLoad(ctx, g, &tl)
	rep.add("PostgreSQL started again at %s (accepting connections)", sec(restarted))
	rep.add("before: %s", summarize(rs, 0, halted, nil))
	during := summarize(rs, halted+500*time.Millisecond, restarted, nil)
	rep.add("during the outage: %s", during)
	after := summarize(rs, restarted, 0, nil)
	rep.add("after the restart: %s", after)
	if after.lastFail >= 0 {
		rep.add("last failure %s after the restart", sec(after.lastFail-restarted))
	} else {
		rep.add("no failure after the restart")
	}
	rep.add("subgraphs' /readyz went 503 after %v", unready)
	for _, sv := range st.Subgraphs() {
		if _, ok := unready[sv.Name]; !ok {
			t.Errorf("%s: /readyz never answered 503 during the outage", sv.Name)
		}
	}
	// Every failure during the outage is a fast, retryable 503 with a
	// contract code (a GraphQL error's status is 200, as the contract has
	// it for an operation that executed).
	for _, r := range rs {
		if r.at < halted || r.at >= restarted || r.ok {
			continue
		}
		if r.code != "SUBGRAPH_UNAVAILABLE" || (r.status != 503 && !(r.status == 200 && (r.kind == gqlBooks || r.kind == gqlOrder))) {
			t.Errorf("during the outage a %s got %s, want 503 SUBGRAPH_UNAVAILABLE", r.kind, r.failure())
			break
		}
		if r.took > 5*time.Second {
			t.Errorf("during the outage a %s took %s to fail", r.kind, r.took)
			break
		}
	}
	summarize(rs, restarted+5*time.Second, 0, nil).wantNoneFailed(t, "requests sent more than 5 s after PostgreSQL's return")
	for _, sv := range append(st.Subgraphs(), st.Router()) {
		if sv.Process().PID() != pids[sv.Name] || !sv.Process().Running() {
			t.Errorf("%s was restarted or died", sv.Name)
		}
	}
	f.finishOrders(t, rep, g)
}

// scenarioPostgresCrash: PostgreSQL crashes (an immediate stop, fsync on)
// under order load and comes back. Every order acknowledged with a 2xx
// exists, none exists without its stock reservation, and no client was
// told a committed order failed.
func scenarioPostgresCrash(t *testing.T, s suite) {
	rep := newReport(t)
	f := newFixture(t, s, stackOptions{})
	cluster := s.e.cluster
	crashes := pick(s, []time.Duration{2500 * time.Millisecond}, []time.Duration{4 * time.Second, 10 * time.Second, 16 * time.Second})
	down := time.Second
	dur := crashes[len(crashes)-1] + down + pick(s, 4*time.Second, 5*time.Second)
	g := f.load(loadConfig{workers: 12, think: 10 * time.Millisecond, mix: orderHeavy()})
	ctx, cancel := context.WithTimeout(t.Context(), dur)
	defer cancel()
	t.Cleanup(func() { ensureRunning(t, cluster) })
	start := time.Now()
	var tl timeline
	tl.run(ctx, func(ctx context.Context) {
		for _, at := range crashes {
			sleepUntil(ctx, start, at)
			if err := cluster.Halt(pgcluster.Immediate); err != nil {
				t.Error(err)
				return
			}
			crashed := time.Since(start)
			time.Sleep(down)
			if err := cluster.Restart(context.WithoutCancel(ctx)); err != nil {
				t.Error(err)
				return
			}
			rep.add("PostgreSQL crashed (immediate stop) at %s, accepting connections again at %s", sec(crashed), sec(time.Since(start)))
		}
	})
	rs := runLoad(ctx, g, &tl)
	rep.load(rs)
	rep.add("order attempts: %s", summarize(rs, 0, 0, func(r result) bool { return r.kind == placeOrder }))
	oc := f.finishOrders(t, rep, g)
	if oc.hidden != 0 {
		t.Errorf("%d committed orders were answered with a failure first: %v", oc.hidden, oc.hiddenKeys)
	}
	if oc.acked == 0 {
		t.Error("no order was acknowledged")
	}
}

// scenarioSlowSubgraph: orders-subgraph answers slower than the router's
// timeout for it (its tables are locked: orders, and book_sales, which
// unitsSold reads). Reads of the catalogue answer in time, with the books' data and unitsSold null with SUBGRAPH_UNAVAILABLE;
// once the subgraph is fast again, the router's goroutines and sockets
// settle back.
func scenarioSlowSubgraph(t *testing.T, s suite) {
	rep := newReport(t)
	timeout := time.Second
	f := newFixture(t, s, stackOptions{routerEnv: []string{"SUBGRAPH_TIMEOUTS=orders=" + timeout.String()}})
	st := f.st
	router := st.Router()
	slowAt, slowFor, tail := pick(s, 2*time.Second, 3*time.Second), pick(s, 4*time.Second, 10*time.Second), pick(s, 4*time.Second, 8*time.Second)
	cfg := loadConfig{workers: 12, think: 20 * time.Millisecond, mix: []kind{gqlBooks, restBooks, restBook}}
	type counts struct{ goroutines, sockets int }
	sample := func(ctx context.Context) counts {
		m, _ := scrape(ctx, router.URL()+"/metrics")
		n, _ := sockets(router.Process().PID())
		return counts{int(metric(m, "go_goroutines")), n}
	}
	// The router's counts are compared at rest, before and after: the
	// same load for a while, then a pause in which the clients' idle
	// connections close (after a second).
	quiet := func() counts {
		time.Sleep(1500 * time.Millisecond)
		return sample(t.Context())
	}
	warm, wcancel := context.WithTimeout(t.Context(), 2*time.Second)
	f.load(cfg).run(warm)
	wcancel()
	baseline := quiet()
	g := f.load(cfg)
	ctx, cancel := context.WithTimeout(t.Context(), slowAt+slowFor+tail)
	defer cancel()
	start := time.Now()
	var peak counts
	var tl timeline
	tl.run(ctx, func(ctx context.Context) {
		sleepUntil(ctx, start, slowAt)
		conn, err := pgx.Connect(ctx, st.admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.WithoutCancel(ctx))
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE orders.orders, orders.book_sales IN ACCESS EXCLUSIVE MODE`); err != nil {
			t.Error(err)
			return
		}
		rep.add("orders.orders and orders.book_sales locked at %s: orders-subgraph's reads wait (router timeout for orders %s)", sec(time.Since(start)), timeout)
		sleepUntil(ctx, start, slowAt+slowFor-500*time.Millisecond)
		peak = sample(ctx)
		sleepUntil(ctx, start, slowAt+slowFor)
		if err := tx.Rollback(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
		rep.add("unlocked at %s", sec(time.Since(start)))
	})
	g.run(ctx)
	tl.wait()
	settled := quiet()
	rs, _ := g.snapshot()
	rep.add("before: %s", summarize(rs, 0, slowAt, nil))
	slow := summarize(rs, slowAt+200*time.Millisecond, slowAt+slowFor-timeout-200*time.Millisecond, nil)
	rep.add("while slow: %s", slow)
	rep.add("after: %s", summarize(rs, slowAt+slowFor+timeout, 0, nil))
	rep.add("router at rest before, under load while slow, at rest after: goroutines %d, %d, %d; sockets %d, %d, %d",
		baseline.goroutines, peak.goroutines, settled.goroutines, baseline.sockets, peak.sockets, settled.sockets)
	// Partial data in time: every read while slow answered within the
	// timeout and a margin, with the catalogue and the error.
	for _, r := range rs {
		if r.at < slowAt+200*time.Millisecond || r.at >= slowAt+slowFor-timeout-200*time.Millisecond {
			continue
		}
		if r.took > timeout+2*time.Second {
			t.Errorf("a %s sent while slow took %s, over the %s timeout", r.kind, r.took, timeout)
			break
		}
		if r.kind == gqlBooks && r.code != "SUBGRAPH_UNAVAILABLE" {
			t.Errorf("a GraphQL read while slow got %q, want partial data with SUBGRAPH_UNAVAILABLE", r.failure())
			break
		}
		if r.kind != gqlBooks && r.status != 200 {
			t.Errorf("a %s while slow got %s, want 200 with unitsSold null", r.kind, r.failure())
			break
		}
	}
	summarize(rs, slowAt+slowFor+2*timeout, 0, nil).wantNoneFailed(t, "requests sent after the subgraph was fast again")
	// At rest the router has a fixed set of goroutines (its transport has
	// none per connection) and its idle subgraph connections, as many as
	// the load's concurrency needed: a few more or fewer.
	if settled.goroutines > baseline.goroutines+5 || settled.sockets > baseline.sockets+12 {
		t.Errorf("the router did not settle: goroutines %d → %d, sockets %d → %d", baseline.goroutines, settled.goroutines, baseline.sockets, settled.sockets)
	}
	st.checkRunning(t)
}

// scenarioSoak: a minute of mixed load; the RSS and goroutines of every
// service level off.
func scenarioSoak(t *testing.T, s suite) {
	rep := newReport(t)
	f := newFixture(t, s, stackOptions{})
	st := f.st
	dur := pick(s, 15*time.Second, 60*time.Second)
	g := f.load(loadConfig{workers: 12, think: 20 * time.Millisecond, mix: mixed()})
	ctx, cancel := context.WithTimeout(t.Context(), dur)
	defer cancel()
	services := append([]*stack.Service{st.Router()}, st.Subgraphs()...)
	type sample struct {
		at         time.Duration
		rss        int64
		goroutines int
	}
	samples := make([][]sample, len(services))
	start := time.Now()
	var tl timeline
	tl.run(ctx, func(ctx context.Context) {
		tick := time.NewTicker(dur / 30)
		defer tick.Stop()
		for ctx.Err() == nil {
			for i, sv := range services {
				m, _ := scrape(ctx, sv.URL()+"/metrics")
				r, _ := rss(sv.Process().PID())
				samples[i] = append(samples[i], sample{time.Since(start), r, int(metric(m, "go_goroutines"))})
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	})
	rs := runLoad(ctx, g, &tl)
	all := rep.load(rs)
	for i, sv := range services {
		ss := samples[i]
		if len(ss) < 9 {
			t.Errorf("%s: %d samples", sv.Name, len(ss))
			continue
		}
		third := len(ss) / 3
		peak := func(part []sample) (int64, int) {
			var r int64
			var g int
			for _, s := range part {
				r, g = max(r, s.rss), max(g, s.goroutines)
			}
			return r, g
		}
		midRSS, midG := peak(ss[third : 2*third])
		lateRSS, lateG := peak(ss[2*third:])
		rep.add("%s: RSS %.1f MiB at %s, peak %.1f MiB in the middle third, %.1f MiB in the last; goroutines %d, %d, %d",
			sv.Name, float64(ss[0].rss)/(1<<20), sec(ss[0].at), float64(midRSS)/(1<<20), float64(lateRSS)/(1<<20), ss[0].goroutines, midG, lateG)
		if lateRSS > midRSS+midRSS/4+16<<20 {
			t.Errorf("%s: RSS grew from %d to %d bytes", sv.Name, midRSS, lateRSS)
		}
		if lateG > midG+midG/4+20 {
			t.Errorf("%s: goroutines grew from %d to %d", sv.Name, midG, lateG)
		}
	}
	all.wantNoneFailed(t, "requests")
	st.checkRunning(t)
}

// ensureRunning restarts a halted cluster, for the next scenario.
func ensureRunning(t *testing.T, c *pgcluster.Cluster) {
	if err := c.Restart(context.Background()); err != nil && !strings.Contains(err.Error(), "still running") {
		t.Errorf("restarting PostgreSQL: %v", err)
	}
}

// status returns the status of a GET, or 0 when it got no answer.
func status(ctx context.Context, url string) int {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
