// Command bench measures the router against two baselines, side by side in
// one run (`make bench`):
//
//	(A) router overhead: a books-only query sent straight to books-subgraph
//	    versus through the router (and, as a floor, through a bare
//	    httputil.ReverseProxy); target: router ≥ 85% of direct throughput.
//	(B) a federated query (orders with their books) through the router
//	    versus through Apollo Gateway (Node); target: router ≥ 5× Apollo.
//
// With -baseline DIR it also measures the subgraphs of another build (the
// books-subgraph and orders-subgraph binaries in DIR, e.g. those of the
// commit before a change) against this build's, in the same rounds:
//
//	(C) the federated order page through a router in front of each pair;
//	(D) the books page sent straight to each books-subgraph.
//
// On the graphs of package router/federation/benchgraph, whose subgraphs
// (a process of the bench's own binary) cost little (graphs.go):
//
//	(E) the benchmark graph's TestQuery (4 subgraphs, ~87 KB answer) at 50
//	    connections: this router (with its inbound deduplication on and off
//	    when it has INBOUND_DEDUP), Hive Gateway with its Rust query planner
//	    and Apollo Gateway: RPS, latency, gateway and subgraph CPU per
//	    request, subgraph requests per request, the gateway's peak RSS;
//	(F) the big-response graph's BigQuery (~8 MiB) over one connection,
//	    back to back: the subgraph direct, the router, Hive Gateway, Apollo
//	    Gateway: p50, p99, CPU per request, peak RSS;
//	(G) the Go benchmarks of router/federation/... and router/bookstore/rest
//	    (go test -bench), printed as they run.
//
// -only selects sections (e.g. -only E,F: no PostgreSQL, no bookstore).
// Hive Gateway comes from the npm project in peers/, installed with npm ci
// in ~/.cache/bookstore/node-projects; Apollo Gateway and
// @apollo/composition from router/federation/oracle's. -peer adds a
// gateway the bench does not build itself (see BENCHMARKS.md for Cosmo
// Router).
//
// It starts everything itself with package graph/testkit/stack, on 127.0.0.1 and
// ports picked at runtime: a throwaway PostgreSQL (migrated, seeded, with
// the services' login roles), one books-subgraph, one orders-subgraph, the
// router, a bare reverse proxy and Apollo Gateway, and stops each by its
// PID when it ends, fails or gets Ctrl-C. Children die with the bench
// (Pdeathsig) if it is killed.
//
// The machine is shared and noisy, so the sides of a comparison are
// measured in alternating short rounds after a warm-up, with a fixed
// number of concurrent keep-alive clients; counts and latencies are summed
// over the rounds. Every response must be 200, without "errors", and equal
// to the first one; failures are counted and printed, never hidden. Every
// process may run on every CPU: on a small machine the stack saturates the
// CPUs, and a throughput ratio measures the whole stack's CPU per request,
// which the bench reads from /proc for each process and prints beside it.
//
// This is a measuring tool: nothing here asserts on speed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"bookstore/graph/platform/cli"
	"bookstore/migrations/seedlarge"
)

func main() {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode, os.Args[1:]))
	}
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	duration    time.Duration
	rounds      int
	warmup      time.Duration
	concurrency int
	apollo      bool
	proxy       bool
	orders      int
	binDir      string
	root        string
	logLevel    string
	keep        bool
	baseline    string
	routerEnv   []string
	readyWait   time.Duration

	only           string
	hive           bool
	eConcurrency   int
	fDuration      time.Duration
	benchgraphAddr string
	peers          []peer
	goBench        string
}

// sectionNames are the sections -only may name.
const sectionNames = "ABCDEFG"

// sections parses -only: every section when empty.
func sections(only string) (map[string]bool, error) {
	sel := map[string]bool{}
	if strings.TrimSpace(only) == "" {
		for _, c := range sectionNames {
			sel[string(c)] = true
		}
		return sel, nil
	}
	for _, f := range strings.Split(only, ",") {
		f = strings.ToUpper(strings.TrimSpace(f))
		if len(f) != 1 || !strings.Contains(sectionNames, f) {
			return nil, fmt.Errorf("-only: unknown section %q (want a comma-separated list of %s)", f, strings.Join(strings.Split(sectionNames, ""), ", "))
		}
		sel[f] = true
	}
	return sel, nil
}

// Main parses args, runs the bench and returns the exit status: 0 when
// every side ran without failures, 1 otherwise (a missed target is
// reported, not an error).
func Main(args []string, stdout, stderr io.Writer) int {
	var cfg config
	fs := cli.NewFlagSet("bench", "usage: go run ./router/cmd/bench [flags]   (from the module root)\n\nFlags:", stderr)
	fs.DurationVar(&cfg.duration, "duration", time.Second, "length of one measured round of one side")
	fs.IntVar(&cfg.rounds, "rounds", 10, "measured rounds; each round runs every side of a comparison once, in rotating order")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured warm-up per side before the rounds")
	fs.IntVar(&cfg.concurrency, "concurrency", 16, "concurrent clients (each sends its next request when the last one returns)")
	fs.BoolVar(&cfg.apollo, "apollo", true, "run comparison (B) against Apollo Gateway (needs node and npm); -apollo=false skips it")
	fs.BoolVar(&cfg.proxy, "proxy", true, "add a bare httputil.ReverseProxy to comparison (A), as the floor of a Go hop's cost")
	fs.IntVar(&cfg.orders, "orders", 40, "orders to place before (B), through the router")
	fs.StringVar(&cfg.binDir, "bin", "", "`directory` holding books-subgraph, orders-subgraph and router binaries; empty builds them into a temporary directory")
	fs.StringVar(&cfg.root, "root", "", "the module's root `directory` (default: found from the working directory)")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "LOG_LEVEL of the services (the subgraphs log one line per request at info)")
	fs.Func("router-env", "extra `KEY=VALUE` in the router's environment, e.g. GOGC=400 (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		cfg.routerEnv = append(cfg.routerEnv, v)
		return nil
	})
	fs.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory (logs) at the end")
	fs.StringVar(&cfg.baseline, "baseline", "", "`directory` holding books-subgraph and orders-subgraph binaries of another build: measure them against this build's too, (C) the federated order page through a router of their own and (D) the books page direct")
	fs.DurationVar(&cfg.readyWait, "ready-timeout", 2*time.Minute, "time a service gets to become ready")
	fs.StringVar(&cfg.only, "only", "", "run only these `sections`, comma-separated: A, B, C and D (C, D need -baseline), E, F, G (the Go benchmarks); empty runs every one")
	fs.BoolVar(&cfg.hive, "hive", true, "add Hive Gateway (Rust query planner; npm) to (E) and (F); -hive=false leaves it out")
	fs.IntVar(&cfg.eConcurrency, "e-concurrency", 50, "(E): concurrent connections")
	fs.DurationVar(&cfg.fDuration, "f-duration", 3*time.Second, "(F): length of one measured round of one side (one connection)")
	fs.StringVar(&cfg.benchgraphAddr, "benchgraph-addr", "", "(E), (F): `HOST:PORT` of the benchgraph subgraphs (empty: a free port), for a -peer composed against fixed URLs")
	fs.Func("peer", "another gateway in (E) or (F), started by the bench: `SECTION|NAME|URL|COMMAND ARGS...` (SECTION E or F; URL its GraphQL endpoint; repeatable), e.g. a Cosmo Router built by hand", func(v string) error {
		p, err := parsePeer(v)
		if err == nil {
			cfg.peers = append(cfg.peers, p)
		}
		return err
	})
	fs.StringVar(&cfg.goBench, "go-bench", ".", "(G): the -bench `regexp` of go test")
	var scale bool
	var scfg scaleConfig
	rows := ""
	fs.BoolVar(&scale, "scale", false, "the scale bench (make bench-scale) instead: the contract's requests on the demo seed and on the large data set of make seed-large, side by side; defaults then: -concurrency 10 -rounds 4 -duration 1s -warmup 1s")
	fs.StringVar(&scfg.dataDir, "scale-data", "", "-scale: keep the PostgreSQL cluster in `directory` across runs (the large data set is loaded once); empty: a temporary one")
	fs.IntVar(&scfg.replicas, "replicas", 2, "-scale: replicas of each subgraph per data set, as make run")
	fs.IntVar(&scfg.sizes.Books, "large-books", seedlarge.Full.Books, "-scale: books of the large data set")
	fs.IntVar(&scfg.sizes.Orders, "large-orders", seedlarge.Full.Orders, "-scale: orders of the large data set")
	fs.StringVar(&rows, "rows", "", "-scale: measure only the requests whose names match this `regexp`")
	fs.BoolVar(&scfg.explain, "explain", true, "-scale: after the rounds, send each read a few times with auto_explain on and list the slow statements")
	fs.IntVar(&scfg.slowMS, "slow-ms", 10, "-scale: what the explain pass calls slow, in `ms`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if scale {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["concurrency"] {
			cfg.concurrency = 10
		}
		if !set["rounds"] {
			cfg.rounds = 4
		}
		if !set["duration"] {
			cfg.duration = time.Second
		}
		if !set["warmup"] {
			cfg.warmup = time.Second
		}
		if rows != "" {
			re, err := regexp.Compile(rows)
			if err != nil {
				fmt.Fprintln(stderr, "bench: -rows:", err)
				return 2
			}
			scfg.rows = re
		}
		if scfg.replicas < 1 {
			fmt.Fprintln(stderr, "bench: -replicas must be at least 1")
			return 2
		}
	}
	if fs.NArg() > 0 || cfg.rounds < 1 || cfg.concurrency < 1 || cfg.duration <= 0 || cfg.warmup < 0 || cfg.orders < 20 ||
		cfg.eConcurrency < 1 || cfg.fDuration <= 0 {
		fmt.Fprintln(stderr, "bench: want no arguments, -rounds ≥ 1, -concurrency ≥ 1, -e-concurrency ≥ 1, -duration > 0, -f-duration > 0, -warmup ≥ 0, -orders ≥ 20 (see -help)")
		return 2
	}
	sel, err := sections(cfg.only)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{cfg: cfg, out: stdout, errOut: stderr, scfg: scfg, sel: sel}
	if scale {
		err = b.runScale(ctx)
	} else {
		err = b.run(ctx)
	}
	interrupted := ctx.Err() != nil
	stop() // a second Ctrl-C while stopping kills the bench; Pdeathsig ends the children
	if serr := b.stopAll(); serr != nil {
		fmt.Fprintln(stderr, "bench:", serr)
	}
	switch {
	case interrupted:
		fmt.Fprintln(stderr, "bench: interrupted")
		return 130
	case err != nil:
		fmt.Fprintf(stderr, "\nbench: %v\n", err)
		return 1
	case b.failed:
		return 1
	}
	return 0
}

// printMachine prints what the figures were measured on.
func (b *bench) printMachine() {
	w := b.out
	fmt.Fprintf(w, "\nmachine: %d CPUs (runtime.NumCPU), GOMAXPROCS %d, %s/%s, %s; load average %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadavg())
	if b.nodeVersion != "" {
		fmt.Fprintf(w, "node: %s\n", b.nodeVersion)
	}
	if len(b.cfg.routerEnv) > 0 {
		fmt.Fprintf(w, "router environment: %s\n", strings.Join(b.cfg.routerEnv, " "))
	}
	fmt.Fprintf(w, "load: %d concurrent keep-alive clients; per side %s warm-up, then %d rounds × %s, sides interleaved\n",
		b.cfg.concurrency, b.cfg.warmup, b.cfg.rounds, b.cfg.duration)
}
