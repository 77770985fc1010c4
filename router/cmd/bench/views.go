package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// view is one way of placing the processes on the CPUs, with the
// comparisons measured under it.
type view struct {
	name  string
	about string // one line: what the view's figures mean
	a, bc *comparison
	// builds are -baseline's comparisons, (C) and (D); nil without it.
	builds []*comparison
	pin    *pinning // nil for the shared view

	// pinned view only, observed at the end of its rounds
	placements []placement
	gomaxprocs map[string]string // service → GOMAXPROCS, from /metrics
	benchProcs int               // the bench's own GOMAXPROCS during the rounds
}

func (v *view) comps() []*comparison {
	out := []*comparison{v.a}
	if v.bc != nil {
		out = append(out, v.bc)
	}
	return append(out, v.builds...)
}

const (
	sharedAbout = "SHARED view: every process may run on every CPU; once the stack saturates the machine, a throughput ratio measures the whole stack's CPU per request"
	pinnedAbout = "PINNED view: subgraphs + PostgreSQL only on CPU %d, load generator + gateway under test only on CPU %d: the gateway has a CPU of its own, as in its own pods"
)

// comparisons builds comparison (A), with Apollo (B), and with -baseline
// (C) and (D).
func (b *bench) comparisons() (a, bc *comparison, builds []*comparison) {
	conc := b.cfg.concurrency
	pg := cpuSource{"postgres", b.cluster.PID(), true}
	self := cpuSource{"bench", os.Getpid(), false}
	booksCPU := cpuSource{"books", b.books.PID(), false}
	ordersCPU := cpuSource{"orders", b.orders.PID(), false}
	routerCPU := cpuSource{"router", b.router.PID(), false}
	a = &comparison{
		title: "(A) router overhead: books-subgraph direct vs through the router",
		query: booksQuery,
		sides: []*target{
			newTarget("books direct", b.booksURL, booksQuery, conc, self, booksCPU, pg),
			newTarget("router", b.routerBase+"/graphql", booksQuery, conc, self, routerCPU, booksCPU, pg),
		},
	}
	if b.proxy != nil {
		a.sides = append(a.sides, newTarget("bare reverse proxy", b.proxyURL, booksQuery, conc,
			self, cpuSource{"proxy", b.proxy.PID(), false}, booksCPU, pg))
	}
	if b.cfg.apollo {
		bc = &comparison{
			title: "(B) federated query: the router vs Apollo Gateway",
			query: ordersQuery,
			sides: []*target{
				newTarget("router", b.routerBase+"/graphql", ordersQuery, conc, self, routerCPU, booksCPU, ordersCPU, pg),
				newTarget("Apollo Gateway", b.apolloURL, ordersQuery, conc, self,
					cpuSource{"apollo", b.apollo.PID(), false}, booksCPU, ordersCPU, pg),
			},
		}
	}
	if bs := b.base; bs != nil {
		baseBooks := cpuSource{"books", bs.books.PID(), false}
		builds = []*comparison{{
			title: "(C) subgraph builds, federated order page: this build vs -baseline (each pair behind a router of this build)",
			query: ordersQuery,
			sides: []*target{
				newTarget("this build", b.routerBase+"/graphql", ordersQuery, conc, self, routerCPU, booksCPU, ordersCPU, pg),
				newTarget("baseline", bs.routerBase+"/graphql", ordersQuery, conc, self,
					cpuSource{"router", bs.router.PID(), false}, baseBooks, cpuSource{"orders", bs.orders.PID(), false}, pg),
			},
		}, {
			title: "(D) subgraph builds, books page: books-subgraph of this build vs of -baseline, direct",
			query: booksQuery,
			sides: []*target{
				newTarget("this build", b.booksURL, booksQuery, conc, self, booksCPU, pg),
				newTarget("baseline", bs.booksURL, booksQuery, conc, self, baseBooks, pg),
			},
		}}
	}
	return a, bc, builds
}

// again returns the comparison for another view: the same sides (clients,
// and reference bodies every response must equal byte for byte), no
// results yet.
func (c *comparison) again(label string) *comparison {
	return &comparison{title: c.title + " [" + label + "]", query: c.query, sides: c.sides}
}

// measure runs the views, then reports them.
func (b *bench) measure(ctx context.Context) error {
	a, bc, builds := b.comparisons()
	shared := &view{name: "shared", about: sharedAbout, a: a, bc: bc, builds: builds}
	for _, c := range shared.comps() {
		if err := b.preflight(ctx, c); err != nil {
			return err
		}
	}
	b.printMachine()
	b.logf("%s", sharedAbout)
	if err := b.measureView(ctx, shared); err != nil {
		return err
	}

	views := []*view{shared}
	skipped := "-pin=false"
	if b.cfg.pin {
		pinned, why, err := b.measurePinned(ctx, shared)
		if err != nil {
			return err
		}
		if pinned != nil {
			views = append(views, pinned)
		}
		skipped = why
	}

	b.printMachine()
	for i, v := range views {
		b.report(v, i+1, 2)
	}
	if len(views) == 1 {
		b.logf("\n════ view 2 of 2: PINNED view SKIPPED: %s", skipped)
	}
	b.summary(views)
	for _, v := range views {
		for _, c := range v.comps() {
			for _, st := range c.stats {
				if st.failures > 0 {
					b.failed = true
				}
			}
		}
	}
	b.printPlanCache(ctx)
	return nil
}

func (b *bench) measureView(ctx context.Context, v *view) error {
	for _, c := range v.comps() {
		b.logf("\nmeasuring %s", c.title)
		if err := c.run(ctx, b.cfg, b.out); err != nil {
			return err
		}
		if err := b.checkAlive(); err != nil {
			return err
		}
	}
	return nil
}

// measurePinned pins the processes, measures the comparisons again and
// restores the affinities. It returns a nil view and the reason when the
// view cannot run.
func (b *bench) measurePinned(ctx context.Context, shared *view) (*view, string, error) {
	p, why := b.planPinning()
	if p == nil {
		b.logf("\npinned view SKIPPED: %s", why)
		return nil, why, nil
	}
	b.logf("\npinning with %s: subgraphs and PostgreSQL to CPU %d, the bench (load generator) and the gateways to CPU %d",
		p.taskset, p.backCPU, p.loadCPU)
	if err := p.pin(); err != nil {
		why := "pinning failed: " + err.Error()
		b.logf("pinned view SKIPPED: %s", why)
		return nil, why, nil
	}
	procs := runtime.GOMAXPROCS(0)
	defer func() {
		if errs := p.restore(); len(errs) > 0 {
			b.logf("bench: restoring the CPU affinities: %s", strings.Join(errs, "; "))
		}
		settle(context.WithoutCancel(ctx), procs)
	}()
	settle(ctx, 1)
	v := &view{name: "pinned", about: fmt.Sprintf(pinnedAbout, p.backCPU, p.loadCPU), pin: p,
		a: shared.a.again("pinned"), benchProcs: runtime.GOMAXPROCS(0)}
	if shared.bc != nil {
		v.bc = shared.bc.again("pinned")
	}
	for _, c := range shared.builds {
		v.builds = append(v.builds, c.again("pinned"))
	}
	b.logf("%s", v.about)
	if err := b.measureView(ctx, v); err != nil {
		return nil, "", err
	}
	for _, g := range p.groups {
		v.placements = append(v.placements, g.observe())
	}
	v.gomaxprocs = map[string]string{}
	for name, base := range map[string]string{
		"router":          b.routerBase,
		"books-subgraph":  strings.TrimSuffix(b.booksURL, "/query"),
		"orders-subgraph": strings.TrimSuffix(b.ordersURL, "/query"),
	} {
		v.gomaxprocs[name] = gomaxprocsOf(ctx, base)
	}
	return v, "", nil
}

// gomaxprocsOf reads go_sched_gomaxprocs_threads from a service's
// /metrics, or "?".
func gomaxprocsOf(ctx context.Context, base string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return "?"
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "?"
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_sched_gomaxprocs_threads "); ok {
			return v
		}
	}
	return "?"
}

// report prints one view: its comparisons, verdicts and the CPU account
// that explains them.
func (b *bench) report(v *view, n, of int) {
	b.logf("\n════ view %d of %d: %s", n, of, v.about)
	if v.pin != nil {
		b.printPlacement(v)
	}
	a := v.a
	a.print(b.out)
	ratio, clean := a.ratio(1, 0)
	b.verdict("router / direct throughput", ratio, clean, 0.85, fmt.Sprintf("%.1f%%", 100*ratio), "≥ 85%")
	_, directCPU := a.stats[0].cpuPerRequest("")
	routerOwn, routerStack := a.stats[1].cpuPerRequest("router")
	booksOwn, _ := a.stats[0].cpuPerRequest("books")
	b.logf("  CPU per request: the router itself %.0f µs, books-subgraph itself %.0f µs (direct side);", routerOwn, booksOwn)
	b.logf("  whole stack %.0f µs direct vs %.0f µs through the router.", directCPU, routerStack)
	if v.pin == nil {
		b.logf("  When this stack alone saturates the CPUs, throughput goes as 1/(that sum):")
		b.logf("  router/direct ≈ %.0f%% (other tenants' load shifts the measured figure)", 100*directCPU/routerStack)
	} else {
		b.logf("  By CPU (µs per request; the busier CPU caps the throughput at 1 s / its µs):")
		for i, t := range a.sides {
			b.logf("    %s", perCPULine(t.name, a.stats[i], v.pin))
		}
	}
	if len(a.sides) > 2 {
		proxyOwn, proxyCPU := a.stats[2].cpuPerRequest("proxy")
		b.logf("  (the bare proxy itself %.0f µs; whole stack %.0f µs through it)", proxyOwn, proxyCPU)
		r, _ := a.ratio(2, 0)
		b.logf("  bare reverse proxy / direct throughput: %.1f%%   (the cost of any extra Go HTTP hop)", 100*r)
		r, _ = a.ratio(1, 2)
		b.logf("  router / bare reverse proxy throughput: %.1f%%", 100*r)
	}
	if bc := v.bc; bc != nil {
		bc.print(b.out)
		ratio, clean := bc.ratio(0, 1)
		b.verdict("router / Apollo throughput", ratio, clean, 5, fmt.Sprintf("%.2f×", ratio), "≥ 5×")
		rOwn, rTotal := bc.stats[0].cpuPerRequest("router")
		aOwn, aTotal := bc.stats[1].cpuPerRequest("apollo")
		b.logf("  CPU per request of the gateway itself: router %.0f µs, Apollo %.0f µs (Apollo/router %.2f×);", rOwn, aOwn, aOwn/rOwn)
		b.logf("  whole stack %.0f µs through the router vs %.0f µs through Apollo (ratio %.2f×).", rTotal, aTotal, aTotal/rTotal)
		if v.pin == nil {
			b.logf("  The rest of the stack (%.0f µs) is paid on both sides: even a router costing nothing would get", rTotal-rOwn)
			b.logf("  about %.1f× here, when this stack alone saturates the CPUs", aTotal/(rTotal-rOwn))
		} else {
			b.logf("  By CPU (µs per request; the busier CPU caps the throughput at 1 s / its µs):")
			for i, t := range bc.sides {
				b.logf("    %s", perCPULine(t.name, bc.stats[i], v.pin))
			}
		}
	}
	b.reportBuilds(v)
}

// reportBuilds prints -baseline's comparisons: each side's table, and the
// CPU per request of each process of this build over the baseline's.
func (b *bench) reportBuilds(v *view) {
	for _, c := range v.builds {
		c.print(b.out)
		ratio, clean := c.ratio(0, 1)
		note := ""
		if !clean {
			note = " (NOT COMPARABLE: a side had failures or no requests)"
		}
		b.logf("\n  throughput this build / baseline: %.2f×%s", ratio, note)
		var parts []string
		names := make([]string, 0, len(c.stats[0].cpu))
		for n := range c.stats[0].cpu {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			now, _ := c.stats[0].cpuPerRequest(n)
			before, _ := c.stats[1].cpuPerRequest(n)
			if before > 0 {
				parts = append(parts, fmt.Sprintf("%s %.0f → %.0f µs (%.2f×)", n, before, now, now/before))
			}
		}
		_, now := c.stats[0].cpuPerRequest("")
		_, before := c.stats[1].cpuPerRequest("")
		b.logf("  CPU per request, baseline → this build: %s; whole stack %.0f → %.0f µs", strings.Join(parts, ", "), before, now)
		if v.pin != nil {
			b.logf("  By CPU (µs per request; the busier CPU caps the throughput at 1 s / its µs):")
			for i, t := range c.sides {
				b.logf("    %s", perCPULine(t.name, c.stats[i], v.pin))
			}
		}
	}
}

// perCPULine splits a side's CPU per request by the CPU its processes
// were pinned to.
func perCPULine(side string, st *stats, p *pinning) string {
	if st.requests == 0 {
		return side + ": no requests"
	}
	us := map[int]float64{}
	names := map[int][]string{}
	for _, cpu := range []int{p.loadCPU, p.backCPU} {
		us[cpu] = 0
	}
	for name, ticks := range st.cpu {
		cpu := p.cpuOf(name)
		us[cpu] += float64(ticks) * 1e6 / clockTick / float64(st.requests)
		names[cpu] = append(names[cpu], name)
	}
	part := func(cpu int) string {
		ns := names[cpu]
		slices.Sort(ns)
		return fmt.Sprintf("CPU %d (%s) %4.0f µs", cpu, strings.Join(ns, " + "), us[cpu])
	}
	busiest := p.loadCPU
	if us[p.backCPU] > us[p.loadCPU] {
		busiest = p.backCPU
	}
	capped := "-"
	if us[busiest] > 0 {
		capped = fmt.Sprintf("%.0f/s", 1e6/us[busiest])
	}
	return fmt.Sprintf("%-20s %s, %s: cap %s (CPU %d), measured %.0f/s", side, part(p.loadCPU), part(p.backCPU), capped, busiest, st.rps())
}

// printPlacement prints where each process was allowed to run and ran
// during the pinned rounds.
func (b *bench) printPlacement(v *view) {
	b.logf("\n  placement, checked thread by thread at the end of the pinned rounds (\"ran on\": the last CPU of")
	b.logf("  each thread that used CPU time since it was pinned; thread counts in parentheses):")
	for i, g := range v.pin.groups {
		pl := v.placements[i]
		who := fmt.Sprintf("pid %d", g.pid)
		if g.tree {
			who = fmt.Sprintf("pid %d + %d children", g.pid, pl.procs-1)
		}
		extra := ""
		switch {
		case g.source == "bench":
			extra = fmt.Sprintf("; GOMAXPROCS %d", v.benchProcs)
		case v.gomaxprocs[g.name] != "":
			extra = "; GOMAXPROCS " + v.gomaxprocs[g.name]
		}
		b.logf("    CPU %d  %-22s %-24s %s%s", g.cpu, g.name, who, pl.String(g.cpu), extra)
	}
	b.logf("  (Go ≥ 1.25 sets GOMAXPROCS from the affinity mask, so the pinned Go processes run with GOMAXPROCS 1,")
	b.logf("  as they would under a 1-CPU limit; other tenants of the machine are not pinned and still use both CPUs)")
}

// summary prints the ratios of every view side by side.
func (b *bench) summary(views []*view) {
	b.logf("\nsummary (throughput ratios; each view's sides measured interleaved in the same rounds):")
	b.logf("  %-8s %14s %14s %14s %14s", "view", "router/direct", "proxy/direct", "router/proxy", "router/Apollo")
	for _, v := range views {
		cell := func(c *comparison, x, y int, pct bool) string {
			if c == nil || len(c.stats) <= max(x, y) {
				return "-"
			}
			r, clean := c.ratio(x, y)
			s := fmt.Sprintf("%.2f×", r)
			if pct {
				s = fmt.Sprintf("%.1f%%", 100*r)
			}
			if !clean {
				s += " (failures)"
			}
			return s
		}
		b.logf("  %-8s %14s %14s %14s %14s", v.name, cell(v.a, 1, 0, true), cell(v.a, 2, 0, true), cell(v.a, 1, 2, true), cell(v.bc, 0, 1, false))
	}
	b.logf("  targets: router/direct ≥ 85%%, router/Apollo ≥ 5×")
}
