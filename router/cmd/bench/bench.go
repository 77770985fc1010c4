package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/graph/testkit/stack"
	"bookstore/graph/testkit/stack/child"
)

const (
	booksQuery  = `{ books(first: 20) { edges { node { id title author priceCents } } } }`
	ordersQuery = `{ orders(first: 20) { edges { node { items { quantity book { title priceCents } } } } } }`
	stopGrace   = 10 * time.Second
)

// bench is one run: what it started, stopped in reverse order by stopAll.
type bench struct {
	cfg         config
	out, errOut io.Writer
	tmp         string
	logDir      string
	bin         stack.Binaries
	server      *stack.Server
	stacks      []*stack.Services // in start order
	failed      bool              // some side had failures
	nodeVersion string
	scfg        scaleConfig // -scale only

	// svcs are this build's services, with the bare proxy; base, with
	// -baseline, the other build's subgraphs and a router of this build in
	// front of them.
	svcs, base *stack.Services
	proxy      *stack.Service
	apollo     *child.Process
	apolloURL  string

	sel    map[string]bool // the sections to run (-only)
	graphs *graphRun       // (E) and (F)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, format+"\n", args...)
}

// progress is the launcher's Logf: a line that says it is the bench's.
func (b *bench) progress(format string, args ...any) { b.logf("bench: "+format, args...) }

// setUp makes the working directory, named after the bench's mode
// ("bench", "bench -scale"), and, at the same time, builds the binaries (or
// takes -bin's), starts PostgreSQL (unless noDB) and runs also (nil for
// nothing): each takes seconds.
func (b *bench) setUp(ctx context.Context, mode string, cluster pgcluster.Options, noDB bool, also func()) error {
	var err error
	if b.cfg.root == "" {
		if b.cfg.root, err = stack.ModuleRoot(); err != nil {
			return fmt.Errorf("%w, or give -root", err)
		}
	}
	if b.tmp, err = os.MkdirTemp("", "bookstore-"+strings.ReplaceAll(mode, " -", "-")+"-"); err != nil {
		return err
	}
	b.logDir = filepath.Join(b.tmp, "logs")
	if err := os.MkdirAll(b.logDir, 0o755); err != nil {
		return err
	}
	b.logf("%s: working in %s (service logs in %s)", mode, b.tmp, b.logDir)
	var wg sync.WaitGroup
	var buildErr, dbErr error
	wg.Go(func() {
		o := stack.BuildOptions{Dir: b.cfg.binDir, Root: b.cfg.root, Logf: b.progress}
		if o.Build = o.Dir == ""; o.Build {
			o.Dir = filepath.Join(b.tmp, "bin")
		}
		if b.bin, buildErr = stack.FindBinaries(ctx, o); buildErr != nil && !o.Build {
			buildErr = fmt.Errorf("-bin: %w", buildErr)
		}
	})
	if !noDB {
		wg.Go(func() {
			b.server, dbErr = stack.StartServer(ctx, stack.ServerOptions{Cluster: cluster, Logf: b.progress})
		})
	}
	if also != nil {
		wg.Go(also)
	}
	wg.Wait()
	return errors.Join(buildErr, dbErr)
}

// startServices starts services as o says, with what every stack of the
// bench shares, and stops them with the rest.
func (b *bench) startServices(ctx context.Context, o stack.ServicesOptions) (*stack.Services, error) {
	o.LogDir, o.Logf, o.ReadyTimeout, o.Grace = b.logDir, b.progress, b.cfg.readyWait, stopGrace
	// Nothing balances over the bench's processes: they stop at once.
	o.Env = []string{"LOG_LEVEL=" + b.cfg.logLevel, "SHUTDOWN_TIMEOUT=5s", "DRAIN_PERIOD=0"}
	o.RouterEnv = b.cfg.routerEnv
	s, err := stack.StartServices(ctx, o)
	if err != nil {
		return nil, err
	}
	b.stacks = append(b.stacks, s)
	return s, nil
}

func (b *bench) run(ctx context.Context) error {
	sel := b.sel
	bookstore := sel["A"] || sel["B"] || (b.cfg.baseline != "" && (sel["C"] || sel["D"]))
	graphs := sel["E"] || sel["F"]
	// The oracle's npm project is Apollo Gateway's and the composition
	// that gives Hive Gateway its supergraph.
	oracleNeeded := b.cfg.apollo && sel["B"] || graphs && (b.cfg.apollo || b.cfg.hive)
	var npmErr, hiveErr error
	hiveCLI := ""
	also := func() {
		var wg sync.WaitGroup
		if oracleNeeded {
			wg.Go(func() { npmErr = b.installApollo(ctx) })
		}
		if graphs && b.cfg.hive {
			wg.Go(func() { hiveCLI, hiveErr = b.installHive(ctx) })
		}
		wg.Wait()
	}
	if err := b.setUp(ctx, "bench", pgcluster.Options{}, !bookstore, also); err != nil {
		return err
	}
	if npmErr != nil {
		b.logf("\nApollo Gateway (B, E, F) and Hive Gateway (E, F, which gets its supergraph from @apollo/composition) SKIPPED: %v\n", npmErr)
		b.cfg.apollo = false
		hiveCLI = ""
	}
	if hiveErr != nil {
		b.logf("\nHive Gateway (E, F) SKIPPED: %v\n", hiveErr)
	}
	if bookstore {
		if err := b.runBookstore(ctx); err != nil {
			return err
		}
	}
	if graphs {
		if err := b.runGraphs(ctx, hiveCLI); err != nil {
			return err
		}
		if err := b.graphs.stop(b); err != nil {
			return err
		}
	}
	if sel["G"] {
		return b.goBenchmarks(ctx)
	}
	return nil
}

// runBookstore runs (A) to (D) on the bookstore: PostgreSQL, the subgraphs,
// the router, the bare proxy, Apollo Gateway.
func (b *bench) runBookstore(ctx context.Context) error {
	db, err := stack.PrepareDatabase(ctx, b.server, "bookstore", stack.DatabaseOptions{Roles: stack.RandomRoles(), Seed: true})
	if err != nil {
		return err
	}
	if b.svcs, err = b.startServices(ctx, stack.ServicesOptions{Bin: b.bin, DB: db}); err != nil {
		return err
	}
	if b.cfg.baseline != "" {
		// The other build's subgraphs, behind this build's router.
		bin, err := stack.FindBinaries(ctx, stack.BuildOptions{Dir: b.cfg.baseline, NoRouter: true})
		if err != nil {
			return fmt.Errorf("-baseline: %w", err)
		}
		bin.Router = b.bin.Router
		if b.base, err = b.startServices(ctx, stack.ServicesOptions{Bin: bin, DB: db, Prefix: "baseline-"}); err != nil {
			return fmt.Errorf("-baseline: %w", err)
		}
	}
	if b.cfg.proxy && b.sel["A"] {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		b.proxy, err = b.svcs.AddProcess(ctx, "bare-proxy", self,
			func(addr string) []string { return []string{"-listen", addr, "-to", b.svcs.Books[0].URL()} },
			[]string{childEnv + "=" + proxyMode})
		if err != nil {
			return err
		}
	}
	if err := b.placeOrders(ctx); err != nil {
		return err
	}
	if b.cfg.apollo && b.sel["B"] {
		if err := b.startApollo(ctx); err != nil {
			return err
		}
	}
	return b.measure(ctx)
}

// verdict prints a ratio against its target; a side with failures makes
// the ratio meaningless, and says so.
func (b *bench) verdict(what string, ratio float64, clean bool, target float64, shown, want string) {
	status := "target met"
	switch {
	case !clean:
		status = "NOT COMPARABLE: a side had failures or no requests (see above)"
	case ratio < target:
		status = "TARGET MISSED"
	}
	b.logf("\n  %s: %s   (target %s: %s)", what, shown, want, status)
}

// checkAlive fails when a child has died.
func (b *bench) checkAlive() error {
	for _, s := range b.stacks {
		if err := s.Check(); err != nil {
			return err
		}
	}
	if b.apollo != nil && !b.apollo.Running() {
		return b.apollo.DeathReport()
	}
	return nil
}

// goBenchmarks runs (G): the Go benchmarks of the router's federation
// packages and REST shims, printed as they run.
func (b *bench) goBenchmarks(ctx context.Context) error {
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	args := []string{"test", "-run", "^$", "-bench", b.cfg.goBench, "-benchmem", "./router/federation/...", "./router/bookstore/rest/"}
	b.logf("\n(G) the Go benchmarks: %s %s   (load average %s)", goCmd, strings.Join(args, " "), loadavg())
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = b.cfg.root
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("(G) go test -bench: %w", err)
	}
	return nil
}

// gql posts a GraphQL request and decodes its data into out; a response
// with errors is an error.
func gql(ctx context.Context, endpoint, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var r struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(raw, &r); err != nil || res.StatusCode != http.StatusOK || len(r.Errors) > 0 {
		return fmt.Errorf("POST %s: HTTP %d: %.600s", endpoint, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(r.Data, out)
	}
	return nil
}

// placeOrders places cfg.orders orders of two lines each through the
// router, spreading them over the catalogue's stock.
func (b *bench) placeOrders(ctx context.Context) error {
	endpoint := b.svcs.Router().URL() + "/graphql"
	books, err := readStock(ctx, endpoint, "first: 100")
	if err != nil {
		return err
	}
	next := 0
	pick := func(not *stockedBook) *stockedBook {
		for range len(books) {
			bk := &books[next%len(books)]
			next++
			if bk != not && bk.Stock >= 2 {
				return bk
			}
		}
		return nil
	}
	for i := range b.cfg.orders {
		first := pick(nil)
		second := pick(first)
		if first == nil || second == nil {
			return fmt.Errorf("the catalogue has too little stock for %d orders", b.cfg.orders)
		}
		q1, q2 := 1, 1+i%2
		first.Stock -= q1
		second.Stock -= q2
		if err := placeOrder(ctx, endpoint, i, fmt.Sprintf("bench-%d@example.com", i), orderItem{first.ID, q1}, orderItem{second.ID, q2}); err != nil {
			return err
		}
	}
	b.logf("bench: placed %d orders through the router", b.cfg.orders)
	return nil
}

// stockedBook is a book of the catalogue and its stock.
type stockedBook struct {
	ID    string
	Stock int
}

// readStock reads the catalogue's books and their stock through a router's
// /graphql endpoint; args are the books query's arguments.
func readStock(ctx context.Context, endpoint, args string) ([]stockedBook, error) {
	var cat struct {
		Books struct {
			Edges []struct{ Node stockedBook }
		}
	}
	if err := gql(ctx, endpoint, `{ books(`+args+`) { edges { node { id stock } } } }`, nil, &cat); err != nil {
		return nil, fmt.Errorf("reading the catalogue: %w", err)
	}
	books := make([]stockedBook, len(cat.Books.Edges))
	for i, e := range cat.Books.Edges {
		books[i] = e.Node
	}
	return books, nil
}

// orderItem is a line of an order: a book and how many of it.
type orderItem struct {
	bookID   string
	quantity int
}

// placeOrder places the order numbered i (from 0) for customer through a
// router's /graphql endpoint.
func placeOrder(ctx context.Context, endpoint string, i int, customer string, items ...orderItem) error {
	const mutation = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`
	lines := make([]map[string]any, len(items))
	for k, it := range items {
		lines[k] = map[string]any{"bookId": it.bookID, "quantity": it.quantity}
	}
	input := map[string]any{"customerEmail": customer, "items": lines}
	if err := gql(ctx, endpoint, mutation, map[string]any{"input": input}, nil); err != nil {
		return fmt.Errorf("placing order %d: %w", i+1, err)
	}
	return nil
}

// preflight sends each side's request once, checks the response's shape,
// keeps its body as the reference for every later response, and checks
// that all sides return the same data.
func (b *bench) preflight(ctx context.Context, c *comparison) error {
	return sendEach(ctx, c, func(t *target, body []byte) ([]byte, error) {
		var r struct {
			Data map[string]struct {
				Edges []struct {
					Node struct {
						Items []json.RawMessage
					}
				}
			}
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("pre-flight of %s: %w", t.name, err)
		}
		var edges, items int
		for _, conn := range r.Data {
			edges += len(conn.Edges)
			for _, e := range conn.Edges {
				items += len(e.Node.Items)
			}
		}
		if edges != 20 || (c.query == ordersQuery && items < 20) {
			return nil, fmt.Errorf("pre-flight of %s: want 20 edges (with items for orders), got %d edges, %d items: %.600s", t.name, edges, items, body)
		}
		return body, nil
	}, func(t *target, first, got []byte) error {
		b.logf("WARNING: %s answers different data from %s:\n  %.300s\n  %.300s", t.name, c.sides[0].name, first, got)
		return nil
	})
}

// sendEach sends each side's request once and vets its answer with check,
// which returns the part of it that every side must agree on. Each answer
// becomes its side's reference for every later one. differ hears of each
// side whose part differs from the first side's; its error ends the
// pre-flight.
func sendEach(ctx context.Context, c *comparison, check func(t *target, body []byte) ([]byte, error), differ func(t *target, first, got []byte) error) error {
	var first []byte
	for _, t := range c.sides {
		body, err := t.do(ctx, nil)
		if err != nil {
			return fmt.Errorf("pre-flight of %s (%s): %v: %.600s", t.name, t.url, err, body)
		}
		got, err := check(t, body)
		if err != nil {
			return err
		}
		t.want = body
		if first == nil {
			first = got
		} else if !sameJSON(first, got) {
			if err := differ(t, first, got); err != nil {
				return err
			}
		}
	}
	return nil
}

// sameJSON compares two JSON documents as values.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// printPlanCache prints the router's plan cache counters from /metrics.
func (b *bench) printPlanCache(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.svcs.Router().URL()+"/metrics", nil)
	if err != nil {
		return
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.logf("\nrouter /metrics: %v", err)
		return
	}
	defer res.Body.Close()
	var lines []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "router_plan_cache_lookups_total") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		b.logf("\nrouter /metrics (HTTP %d): no router_plan_cache_lookups_total", res.StatusCode)
		return
	}
	b.logf("\nrouter plan cache (from /metrics; expect a handful of misses and every other lookup a hit):")
	for _, l := range lines {
		b.logf("  %s", l)
	}
}

// stopAll stops Apollo Gateway, the services in reverse start order, then
// PostgreSQL, and removes the temporary directory unless -keep or something
// failed.
func (b *bench) stopAll() error {
	if b.server != nil {
		b.logf("")
	}
	var errs []error
	if b.graphs != nil {
		errs = append(errs, b.graphs.stop(b))
	}
	if p := b.apollo; p != nil {
		running := p.Running()
		err := p.Stop(stopGrace)
		if err == nil && running {
			b.progress("stopped %s (pid %d)", p.Name(), p.PID())
		}
		errs = append(errs, err)
	}
	for i := len(b.stacks) - 1; i >= 0; i-- {
		errs = append(errs, b.stacks[i].Stop())
	}
	errs = append(errs, b.server.Stop())
	err := errors.Join(errs...)
	if b.tmp != "" {
		if b.cfg.keep || err != nil {
			b.logf("bench: kept %s", b.tmp)
		} else {
			_ = os.RemoveAll(b.tmp)
		}
	}
	return err
}

// apolloDir is the Node project of router/federation/oracle.
func (b *bench) apolloDir() string {
	return filepath.Join(b.cfg.root, "router", "federation", "oracle", "testdata")
}

// installApollo runs `npm ci` in the oracle's Node project when its
// node_modules is missing or older than package-lock.json, under the same
// file lock as router/federation/oracle.
func (b *bench) installApollo(ctx context.Context) error {
	node, err := exec.LookPath("node")
	if err != nil {
		return errors.New("node is not on PATH (Debian: apt-get install nodejs npm)")
	}
	if out, err := exec.CommandContext(ctx, node, "--version").Output(); err == nil {
		b.nodeVersion = strings.TrimSpace(string(out))
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not on PATH (Debian: apt-get install nodejs npm)")
	}
	dir := b.apolloDir()
	lockFile, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("the install lock: %w", err)
	}
	defer lockFile.Close()
	if err := syscall.Flock(int(lockFile.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lockFile.Fd()), syscall.LOCK_UN)
	want, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	if got, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !got.ModTime().Before(want.ModTime()) {
		return nil
	}
	b.logf("bench: npm ci in %s", dir)
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return nil
}

// startApollo starts Apollo Gateway composing the two subgraphs by
// introspection and waits for its LISTENING line.
func (b *bench) startApollo(ctx context.Context) error {
	p, err := child.Start(child.Options{
		Name: "apollo-gateway", Bin: "node", Dir: b.apolloDir(), LogDir: b.logDir, Lines: true,
		Args: []string{"gateway.mjs", "books=" + b.svcs.Books[0].URL() + "/query", "orders=" + b.svcs.Orders[0].URL() + "/query"},
	})
	if err != nil {
		return err
	}
	b.apollo = p
	u, err := b.awaitListening(ctx, p, "apollo-gateway")
	if err != nil {
		return err
	}
	b.apolloURL = u
	b.logf("bench: started apollo-gateway (pid %d) on %s", p.PID(), u)
	return nil
}

// awaitListening waits for the "LISTENING <url>" line of p, a gateway
// named name in messages, and returns the URL. The lines after it are
// read and dropped, so that p never blocks on them.
func (b *bench) awaitListening(ctx context.Context, p *child.Process, name string) (string, error) {
	timer := time.NewTimer(b.cfg.readyWait)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-p.Lines():
			if !ok {
				<-p.Done()
				return "", p.DeathReport()
			}
			if u, found := strings.CutPrefix(line, "LISTENING "); found {
				go func() {
					for range p.Lines() {
					}
				}()
				return u, nil
			}
		case <-timer.C:
			return "", fmt.Errorf("%s printed no LISTENING line within %s; the end of %s:\n%s", name, b.cfg.readyWait, p.LogPath(), p.Tail(15))
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}
