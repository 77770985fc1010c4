package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

// comparisons builds comparison (A), with Apollo (B), and with -baseline
// (C) and (D).
func (b *bench) comparisons() (a, bc *comparison, builds []*comparison) {
	conc := b.cfg.concurrency
	books, orders, router := b.svcs.Books[0], b.svcs.Orders[0], b.svcs.Router()
	pg := cpuSource{"postgres", b.server.Cluster.PID(), true}
	self := cpuSource{"bench", os.Getpid(), false}
	booksCPU := cpuSource{"books", books.PID(), false}
	ordersCPU := cpuSource{"orders", orders.PID(), false}
	routerCPU := cpuSource{"router", router.PID(), false}
	a = &comparison{
		title: "(A) router overhead: books-subgraph direct vs through the router",
		query: booksQuery,
		sides: []*target{
			newTarget("books direct", books.URL()+"/query", booksQuery, conc, self, booksCPU, pg),
			newTarget("router", router.URL()+"/graphql", booksQuery, conc, self, routerCPU, booksCPU, pg),
		},
	}
	if b.proxy != nil {
		a.sides = append(a.sides, newTarget("bare reverse proxy", b.proxy.URL()+"/query", booksQuery, conc,
			self, cpuSource{"proxy", b.proxy.PID(), false}, booksCPU, pg))
	}
	if b.apollo != nil { // started only when (B) runs
		bc = &comparison{
			title: "(B) federated query: the router vs Apollo Gateway",
			query: ordersQuery,
			sides: []*target{
				newTarget("router", router.URL()+"/graphql", ordersQuery, conc, self, routerCPU, booksCPU, ordersCPU, pg),
				newTarget("Apollo Gateway", b.apolloURL, ordersQuery, conc, self,
					cpuSource{"apollo", b.apollo.PID(), false}, booksCPU, ordersCPU, pg),
			},
		}
	}
	if bs := b.base; bs != nil {
		baseBooks := cpuSource{"books", bs.Books[0].PID(), false}
		builds = []*comparison{{
			title: "(C) subgraph builds, federated order page: this build vs -baseline (each pair behind a router of this build)",
			query: ordersQuery,
			sides: []*target{
				newTarget("this build", router.URL()+"/graphql", ordersQuery, conc, self, routerCPU, booksCPU, ordersCPU, pg),
				newTarget("baseline", bs.Router().URL()+"/graphql", ordersQuery, conc, self,
					cpuSource{"router", bs.Router().PID(), false}, baseBooks, cpuSource{"orders", bs.Orders[0].PID(), false}, pg),
			},
		}, {
			title: "(D) subgraph builds, books page: books-subgraph of this build vs of -baseline, direct",
			query: booksQuery,
			sides: []*target{
				newTarget("this build", books.URL()+"/query", booksQuery, conc, self, booksCPU, pg),
				newTarget("baseline", bs.Books[0].URL()+"/query", booksQuery, conc, self, baseBooks, pg),
			},
		}}
	}
	return a, bc, builds
}

// measure runs the comparisons, then reports them.
func (b *bench) measure(ctx context.Context) error {
	a, bc, builds := b.comparisons()
	if !b.sel["A"] {
		a = nil
	}
	if !b.sel["B"] {
		bc = nil
	}
	var comps []*comparison
	if a != nil {
		comps = append(comps, a)
	}
	if bc != nil {
		comps = append(comps, bc)
	}
	for i, c := range builds {
		if b.sel[string(rune('C'+i))] {
			comps = append(comps, c)
		}
	}
	for _, c := range comps {
		if err := b.preflight(ctx, c); err != nil {
			return err
		}
	}
	b.printMachine()
	for _, c := range comps {
		b.logf("\nmeasuring %s", c.title)
		if err := c.run(ctx, b.cfg, b.out); err != nil {
			return err
		}
		if err := b.checkAlive(); err != nil {
			return err
		}
	}

	b.printMachine()
	b.logf("Every process may run on every CPU: once the stack saturates the machine, a throughput ratio measures the whole stack's CPU per request.")
	b.report(a, bc)
	b.reportBuilds(comps[len(comps)-countBuilds(comps, builds):])
	for _, c := range comps {
		for _, st := range c.stats {
			if st.failures > 0 {
				b.failed = true
			}
		}
	}
	b.printPlanCache(ctx)
	return nil
}

// countBuilds counts the comparisons of builds that comps holds (at its
// end).
func countBuilds(comps, builds []*comparison) int {
	n := 0
	for _, c := range comps {
		for _, x := range builds {
			if c == x {
				n++
			}
		}
	}
	return n
}

// report prints (A) and (B): their tables, verdicts and the CPU account
// that explains them.
func (b *bench) report(a, bc *comparison) {
	if a != nil {
		b.reportA(a)
	}
	b.reportB(bc)
}

func (b *bench) reportA(a *comparison) {
	a.print(b.out)
	ratio, clean := a.ratio(1, 0)
	b.verdict("router / direct throughput", ratio, clean, 0.85, fmt.Sprintf("%.1f%%", 100*ratio), "≥ 85%")
	_, directCPU := a.stats[0].cpuPerRequest("")
	routerOwn, routerStack := a.stats[1].cpuPerRequest("router")
	booksOwn, _ := a.stats[0].cpuPerRequest("books")
	b.logf("  CPU per request: the router itself %.0f µs, books-subgraph itself %.0f µs (direct side);", routerOwn, booksOwn)
	b.logf("  whole stack %.0f µs direct vs %.0f µs through the router.", directCPU, routerStack)
	b.logf("  When this stack alone saturates the CPUs, throughput goes as 1/(that sum):")
	b.logf("  router/direct ≈ %.0f%% (other tenants' load shifts the measured figure)", 100*directCPU/routerStack)
	if len(a.sides) > 2 {
		proxyOwn, proxyCPU := a.stats[2].cpuPerRequest("proxy")
		b.logf("  (the bare proxy itself %.0f µs; whole stack %.0f µs through it)", proxyOwn, proxyCPU)
		r, _ := a.ratio(2, 0)
		b.logf("  bare reverse proxy / direct throughput: %.1f%%   (the cost of any extra Go HTTP hop)", 100*r)
		r, _ = a.ratio(1, 2)
		b.logf("  router / bare reverse proxy throughput: %.1f%%", 100*r)
	}
}

func (b *bench) reportB(bc *comparison) {
	if bc != nil {
		bc.print(b.out)
		ratio, clean := bc.ratio(0, 1)
		b.verdict("router / Apollo throughput", ratio, clean, 5, fmt.Sprintf("%.2f×", ratio), "≥ 5×")
		rOwn, rTotal := bc.stats[0].cpuPerRequest("router")
		aOwn, aTotal := bc.stats[1].cpuPerRequest("apollo")
		b.logf("  CPU per request of the gateway itself: router %.0f µs, Apollo %.0f µs (Apollo/router %.2f×);", rOwn, aOwn, aOwn/rOwn)
		b.logf("  whole stack %.0f µs through the router vs %.0f µs through Apollo (ratio %.2f×).", rTotal, aTotal, aTotal/rTotal)
		b.logf("  The rest of the stack (%.0f µs) is paid on both sides: even a router costing nothing would get", rTotal-rOwn)
		b.logf("  about %.1f× here, when this stack alone saturates the CPUs", aTotal/(rTotal-rOwn))
	}
}

// reportBuilds prints -baseline's comparisons: each side's table, and the
// CPU per request of each process of this build over the baseline's.
func (b *bench) reportBuilds(builds []*comparison) {
	for _, c := range builds {
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
	}
}
