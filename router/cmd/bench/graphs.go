package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"bookstore/graph/testkit/nodetest"
	"bookstore/graph/testkit/stack/child"
	"bookstore/router/federation/benchgraph"
)

// Comparisons (E) and (F) run on package benchgraph's graphs, whose
// subgraphs (one process of the bench's own binary, every subgraph on its
// own path) cost little, so that the gateways' cost is what they show:
//
//	(E) the benchmark graph's TestQuery (~87 KB, 4 subgraphs) at
//	    -e-concurrency connections: this router (with its inbound
//	    deduplication on and off, when it has that switch), Hive Gateway
//	    with its Rust query planner, Apollo Gateway;
//	(F) the big-response graph's BigQuery (~8 MiB, one subgraph) over one
//	    connection, back to back: the subgraph direct, this router, Hive
//	    Gateway, Apollo Gateway.
//
// Each gateway is a process of its own, started for its comparison and
// stopped after it, so that its peak RSS (VmHWM) is that comparison's.
// -peer adds a gateway the bench does not build (Cosmo Router, by hand).

// peersDir is the npm project of the Node gateways besides Apollo's (which
// the oracle's project holds): Hive Gateway and its Rust query planner.
func (b *bench) peersDir() string {
	return filepath.Join(b.cfg.root, "router", "cmd", "bench", "peers")
}

// installHive installs the peers' npm project outside the repository and
// returns the path of hive-gateway's CLI.
func (b *bench) installHive(ctx context.Context) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node is not on PATH (Debian: apt-get install nodejs npm)")
	}
	b.progress("Hive Gateway: npm ci of %s into ~/.cache/bookstore/node-projects (once per lock file)", b.peersDir())
	dir, err := nodetest.InstallProject(ctx, b.peersDir())
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "node_modules", "@graphql-hive", "gateway", "package.json"))
	if err != nil {
		return "", err
	}
	var pkg struct {
		Bin map[string]string `json:"bin"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Bin["hive-gateway"] == "" {
		return "", fmt.Errorf("@graphql-hive/gateway's package.json names no hive-gateway bin (%v)", err)
	}
	return filepath.Join(dir, "node_modules", "@graphql-hive", "gateway", pkg.Bin["hive-gateway"]), nil
}

// peer is a gateway given with -peer: started by the bench, from a command
// it does not build.
type peer struct {
	section string // "E" or "F"
	name    string
	url     string // its GraphQL endpoint
	argv    []string
}

func parsePeer(v string) (peer, error) {
	f := strings.SplitN(v, "|", 4)
	if len(f) != 4 || (f[0] != "E" && f[0] != "F") || f[1] == "" || !strings.HasPrefix(f[2], "http") || strings.TrimSpace(f[3]) == "" {
		return peer{}, errors.New(`want "E|NAME|URL|COMMAND ARGS..." (or F|…)`)
	}
	return peer{section: f[0], name: f[1], url: f[2], argv: strings.Fields(f[3])}, nil
}

// gateway is one side of (E) or (F): a running process and its endpoint.
type gateway struct {
	name string
	url  string
	proc *child.Process // nil for the subgraph direct
}

// graphRun is what (E) and (F) share: the subgraphs' process, the supergraph
// files, the tools.
type graphRun struct {
	subgraphs  *child.Process
	subURL     string // http://127.0.0.1:PORT
	hiveCLI    string // "" without Hive Gateway
	dedupFlag  bool   // the router has INBOUND_DEDUP
	running    []*gateway
	supergraph map[string]string // graph ("E", "F") → supergraph SDL file
}

// runGraphs runs (E) and (F), as selected.
func (b *bench) runGraphs(ctx context.Context, hiveCLI string) error {
	g := &graphRun{hiveCLI: hiveCLI, supergraph: map[string]string{}}
	b.graphs = g
	b.logf("\nmachine: %d CPUs, %s/%s, %s; load average %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadavg())
	if b.nodeVersion != "" {
		b.logf("node: %s", b.nodeVersion)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	addr := b.cfg.benchgraphAddr
	if addr == "" {
		port, err := child.FreePort()
		if err != nil {
			return err
		}
		addr = child.HostPort(port)
	}
	p, err := child.Start(child.Options{
		Name: "benchgraph-subgraphs", Bin: self, Args: []string{"-listen", addr}, LogDir: b.logDir,
		Env: []string{childEnv + "=" + benchgraphMode},
	})
	if err != nil {
		return err
	}
	g.subgraphs, g.subURL = p, "http://"+addr
	if err := p.WaitReady(ctx, g.subURL+"/readyz", b.cfg.readyWait); err != nil {
		return err
	}
	b.progress("started benchgraph-subgraphs (pid %d) on %s: %s", p.PID(), addr, strings.Join(append(benchgraph.GraphNames, "big"), ", "))
	if out, err := exec.CommandContext(ctx, b.bin.Router, "--help").CombinedOutput(); err == nil || len(out) > 0 {
		g.dedupFlag = bytes.Contains(out, []byte("INBOUND_DEDUP"))
	}
	if b.cfg.apollo || g.hiveCLI != "" {
		if err := b.composeGraphs(ctx, g); err != nil {
			return err
		}
	}
	if b.sel["E"] {
		if err := b.graphE(ctx, g); err != nil {
			return err
		}
	}
	if b.sel["F"] {
		if err := b.graphF(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

// composeGraphs composes both graphs' supergraphs with @apollo/composition
// (the oracle's compose.mjs), for Apollo Gateway and Hive Gateway.
func (b *bench) composeGraphs(ctx context.Context, g *graphRun) error {
	dir := filepath.Join(b.tmp, "supergraphs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	subs := map[string]*benchgraph.Subgraph{}
	for _, s := range benchgraph.Subgraphs() {
		subs[s.Name] = s
	}
	for graph, names := range map[string][]string{"E": benchgraph.GraphNames, "F": {"big"}} {
		args := []string{"compose.mjs"}
		for _, n := range names {
			file := filepath.Join(dir, n+".graphql")
			if err := os.WriteFile(file, []byte(subs[n].SDL), 0o644); err != nil {
				return err
			}
			args = append(args, n+"="+g.subURL+"/"+n+"="+file)
		}
		cmd := exec.CommandContext(ctx, "node", args...)
		cmd.Dir = b.apolloDir()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("composing graph %s with @apollo/composition: %w\n%s", graph, err, stderr.Bytes())
		}
		file := filepath.Join(dir, "supergraph-"+graph+".graphql")
		if err := os.WriteFile(file, out, 0o644); err != nil {
			return err
		}
		g.supergraph[graph] = file
	}
	return nil
}

// startRouter starts a router in front of names's subgraphs.
func (b *bench) startGraphRouter(ctx context.Context, g *graphRun, name string, names []string, env ...string) (*gateway, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{"--listen", child.HostPort(port), "--poll-interval", "1h"}
	for _, n := range names {
		args = append(args, "--subgraph", n+"="+g.subURL+"/"+n)
	}
	e := []string{"LOG_LEVEL=" + b.cfg.logLevel, "SHUTDOWN_TIMEOUT=5s", "DRAIN_PERIOD=0"}
	e = append(append(e, env...), b.cfg.routerEnv...)
	p, err := child.Start(child.Options{Name: slug(name), Bin: b.bin.Router, Args: args, Env: e, LogDir: b.logDir})
	if err != nil {
		return nil, err
	}
	return b.awaitGateway(ctx, g, name, p, port, "/readyz", " "+strings.Join(env, " "))
}

// startApolloOn starts Apollo Gateway (the oracle's gateway.mjs) on a
// supergraph file.
func (b *bench) startApolloOn(ctx context.Context, g *graphRun, name, supergraph string) (*gateway, error) {
	p, err := child.Start(child.Options{
		Name: slug(name), Bin: "node", Dir: b.apolloDir(), LogDir: b.logDir, Lines: true,
		Args: []string{"gateway.mjs", "--supergraph", supergraph}, Env: []string{"NODE_ENV=production"},
	})
	if err != nil {
		return nil, err
	}
	gw := &gateway{name: name, proc: p}
	g.running = append(g.running, gw)
	if gw.url, err = b.awaitListening(ctx, p, name); err != nil {
		return nil, err
	}
	b.progress("started %s (pid %d) on %s", name, p.PID(), gw.url)
	return gw, nil
}

// startHive starts Hive Gateway with its Rust query planner on a supergraph
// file, one process (--fork 1), from an empty directory (no gateway.config
// file: its defaults).
func (b *bench) startHive(ctx context.Context, g *graphRun, name, supergraph string) (*gateway, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.tmp, slug(name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p, err := child.Start(child.Options{
		Name: slug(name), Bin: "node", Dir: dir, LogDir: b.logDir, Env: []string{"NODE_ENV=production"},
		Args: []string{g.hiveCLI, "supergraph", supergraph, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--fork", "1", "--hive-router-runtime"},
	})
	if err != nil {
		return nil, err
	}
	return b.awaitGateway(ctx, g, name, p, port, "/readiness", "")
}

// awaitGateway records p, a gateway serving /graphql on a local port, as
// one of g's running gateways and waits until readyPath answers 200. The
// progress line that says so ends with note.
func (b *bench) awaitGateway(ctx context.Context, g *graphRun, name string, p *child.Process, port int, readyPath, note string) (*gateway, error) {
	base := "http://" + child.HostPort(port)
	gw := &gateway{name: name, url: base + "/graphql", proc: p}
	g.running = append(g.running, gw)
	if err := p.WaitReady(ctx, base+readyPath, b.cfg.readyWait); err != nil {
		return nil, err
	}
	b.progress("started %s (pid %d) on %s%s", name, p.PID(), child.HostPort(port), note)
	return gw, nil
}

// startPeer starts a -peer gateway and waits until its endpoint answers a
// query.
func (b *bench) startPeer(ctx context.Context, g *graphRun, pe peer) (*gateway, error) {
	p, err := child.Start(child.Options{Name: slug(pe.name), Bin: pe.argv[0], Args: pe.argv[1:], Dir: filepath.Dir(pe.argv[0]), LogDir: b.logDir})
	if err != nil {
		return nil, err
	}
	gw := &gateway{name: pe.name, url: pe.url, proc: p}
	g.running = append(g.running, gw)
	deadline := time.Now().Add(b.cfg.readyWait)
	for {
		if err := gql(ctx, pe.url, `{ __typename }`, nil, nil); err == nil {
			b.progress("started %s (pid %d) on %s", pe.name, p.PID(), pe.url)
			return gw, nil
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: %v; the end of %s:\n%s", pe.name, err, p.LogPath(), p.Tail(15))
		}
		select {
		case <-p.Done():
			return nil, p.DeathReport()
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopGateways stops the running gateways (all at the end, or a
// comparison's when it is done).
func (g *graphRun) stopGateways(b *bench) error {
	var errs []error
	for _, gw := range g.running {
		if gw.proc == nil {
			continue
		}
		running := gw.proc.Running()
		err := gw.proc.Stop(stopGrace)
		if err == nil && running {
			b.progress("stopped %s (pid %d)", gw.name, gw.proc.PID())
		}
		errs = append(errs, err)
	}
	g.running = nil
	return errors.Join(errs...)
}

// stop stops the gateways and the subgraphs.
func (g *graphRun) stop(b *bench) error {
	err := g.stopGateways(b)
	if g.subgraphs != nil {
		running := g.subgraphs.Running()
		if serr := g.subgraphs.Stop(stopGrace); serr != nil {
			err = errors.Join(err, serr)
		} else if running {
			b.progress("stopped %s (pid %d)", g.subgraphs.Name(), g.subgraphs.PID())
		}
	}
	return err
}

func slug(name string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			sb.WriteRune(r)
		case sb.Len() > 0 && !strings.HasSuffix(sb.String(), "-"):
			sb.WriteByte('-')
		}
	}
	return strings.TrimSuffix(sb.String(), "-")
}

// graphSides starts the gateways of one graph ("E" or "F") and returns a
// target for each.
func (b *bench) graphSides(ctx context.Context, g *graphRun, graph string, names []string, query string, conc int) ([]*target, []*gateway, error) {
	var gws []*gateway
	suffix := ""
	if graph == "F" {
		suffix = " (big)"
	}
	if g.dedupFlag {
		for _, on := range []string{"true", "false"} {
			label := map[string]string{"true": "on", "false": "off"}[on]
			gw, err := b.startGraphRouter(ctx, g, "router, inbound dedup "+label+suffix, names, "INBOUND_DEDUP="+on)
			if err != nil {
				return nil, nil, err
			}
			gws = append(gws, gw)
		}
	} else {
		gw, err := b.startGraphRouter(ctx, g, "router"+suffix, names)
		if err != nil {
			return nil, nil, err
		}
		gws = append(gws, gw)
	}
	if g.hiveCLI != "" {
		gw, err := b.startHive(ctx, g, "Hive Gateway (Rust QP)"+suffix, g.supergraph[graph])
		if err != nil {
			return nil, nil, err
		}
		gws = append(gws, gw)
	}
	if b.cfg.apollo {
		gw, err := b.startApolloOn(ctx, g, "Apollo Gateway"+suffix, g.supergraph[graph])
		if err != nil {
			return nil, nil, err
		}
		gws = append(gws, gw)
	}
	for _, pe := range b.cfg.peers {
		if pe.section != graph {
			continue
		}
		gw, err := b.startPeer(ctx, g, pe)
		if err != nil {
			return nil, nil, err
		}
		gws = append(gws, gw)
	}
	self := cpuSource{"bench", os.Getpid(), false}
	subs := cpuSource{"subgraphs", g.subgraphs.PID(), false}
	var sides []*target
	for _, gw := range gws {
		t := newTarget(strings.TrimSuffix(gw.name, suffix), gw.url, query, conc, self, cpuSource{"gateway", gw.proc.PID(), true}, subs)
		t.fetches = g.fetches(names)
		sides = append(sides, t)
	}
	return sides, gws, nil
}

// fetches returns a function reading how many requests the named
// subgraphs have answered so far, from the subgraphs' /stats.
func (g *graphRun) fetches(names []string) func() int64 {
	client := &http.Client{Timeout: 5 * time.Second}
	return func() int64 {
		res, err := client.Get(g.subURL + "/stats")
		if err != nil {
			return -1
		}
		defer res.Body.Close()
		var counts map[string]int64
		if json.NewDecoder(res.Body).Decode(&counts) != nil {
			return -1
		}
		var n int64
		for _, name := range names {
			n += counts[name]
		}
		return n
	}
}

// graphPreflight sends each side's request once, checks that it has data
// and no errors, keeps the body as the reference for every later answer,
// and checks that every side answers the first side's data.
func (b *bench) graphPreflight(ctx context.Context, c *comparison) error {
	return sendEach(ctx, c, func(t *target, body []byte) ([]byte, error) {
		var r struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &r); err != nil || len(r.Data) < 100 {
			return nil, fmt.Errorf("pre-flight of %s: no data (%v): %.600s", t.name, err, body)
		}
		return r.Data, nil
	}, func(t *target, first, got []byte) error {
		return fmt.Errorf("pre-flight: %s answers different data from %s:\n  %.300s\n  %.300s", t.name, c.sides[0].name, first, got)
	})
}

func (b *bench) graphE(ctx context.Context, g *graphRun) error {
	sides, gws, err := b.graphSides(ctx, g, "E", benchgraph.GraphNames, benchgraph.TestQuery, b.cfg.eConcurrency)
	if err != nil {
		return err
	}
	c := &comparison{
		title: fmt.Sprintf("(E) the benchmark graph's TestQuery (4 subgraphs, ~87 KB answer) at %d connections", b.cfg.eConcurrency),
		query: "benchgraph.TestQuery (users and topProducts, their reviews, the products' reviews, the authors' reviews)",
		sides: sides,
	}
	cfg := b.cfg
	cfg.concurrency = b.cfg.eConcurrency
	if err := b.measureGraph(ctx, c, cfg, gws); err != nil {
		return err
	}
	return g.stopGateways(b)
}

func (b *bench) graphF(ctx context.Context, g *graphRun) error {
	sides, gws, err := b.graphSides(ctx, g, "F", []string{"big"}, benchgraph.BigQuery, 1)
	if err != nil {
		return err
	}
	direct := newTarget("subgraph direct", g.subURL+"/big", benchgraph.BigQuery, 1,
		cpuSource{"bench", os.Getpid(), false}, cpuSource{"subgraphs", g.subgraphs.PID(), false})
	direct.fetches = g.fetches([]string{"big"})
	c := &comparison{
		title: "(F) the big-response graph's BigQuery (1 subgraph, ~8 MiB answer), one connection, back to back",
		query: "benchgraph.BigQuery (4,680 items, 4 levels of 8)",
		sides: append([]*target{direct}, sides...),
	}
	cfg := b.cfg
	cfg.concurrency = 1
	cfg.duration = b.cfg.fDuration
	if err := b.measureGraph(ctx, c, cfg, append([]*gateway{{name: "subgraph direct"}}, gws...)); err != nil {
		return err
	}
	return g.stopGateways(b)
}

// measureGraph runs a comparison of (E) or (F) and prints it, with each
// side's peak RSS and the subgraph requests each request caused.
func (b *bench) measureGraph(ctx context.Context, c *comparison, cfg config, gws []*gateway) error {
	if err := b.graphPreflight(ctx, c); err != nil {
		return err
	}
	b.logf("\nmeasuring %s", c.title)
	b.logf("  machine load before: %s", loadavg())
	if err := c.run(ctx, cfg, b.out); err != nil {
		return err
	}
	for _, gw := range gws {
		if gw.proc != nil && !gw.proc.Running() {
			return gw.proc.DeathReport()
		}
	}
	c.print(b.out)
	w := b.out
	fmt.Fprintf(w, "\n  %s (per request: CPU in µs of user+system time from /proc; RSS from /proc/PID/status)\n", c.title[:3])
	nw := c.nameWidth()
	fmt.Fprintf(w, "  %-*s %8s %9s %9s %12s %12s %10s %11s %10s\n", nw, "side", "RPS", "p50", "p99", "gateway CPU", "subgraph CPU", "subg. req", "peak RSS", "RSS now")
	for i, t := range c.sides {
		st := c.stats[i]
		gwCPU, _ := st.cpuPerRequest("gateway")
		subCPU, _ := st.cpuPerRequest("subgraphs")
		fetches := "?"
		if st.requests > 0 && st.fetches >= 0 {
			fetches = fmt.Sprintf("%.2f", float64(st.fetches)/float64(st.requests))
		}
		hwm, rss := "-", "-"
		if p := gws[i].proc; p != nil {
			hwm, rss = procMem(p.PID())
		}
		gwShown := fmt.Sprintf("%.0f", gwCPU)
		if gws[i].proc == nil {
			gwShown = "-"
		}
		fmt.Fprintf(w, "  %-*s %8.1f %9s %9s %12s %12.0f %10s %11s %10s\n", nw, t.name, st.rps(),
			fmtDur(percentile(st.lat, 0.50)), fmtDur(percentile(st.lat, 0.99)), gwShown, subCPU, fetches, hwm, rss)
		if st.failures > 0 {
			b.failed = true
		}
	}
	b.logf("  machine load after: %s", loadavg())
	return nil
}

// procMem returns a process's peak and current resident set size
// (VmHWM, VmRSS), in MiB.
func procMem(pid int) (peak, now string) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return "?", "?"
	}
	peak, now = "?", "?"
	for line := range strings.SplitSeq(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmHWM" && k != "VmRSS") {
			continue
		}
		f := strings.Fields(v)
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		s := fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		if k == "VmHWM" {
			peak = s
		} else {
			now = s
		}
	}
	return peak, now
}
