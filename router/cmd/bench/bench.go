package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/migrations"
	"bookstore/router/cmd/internal/child"
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
	cluster     *pgcluster.Cluster
	procs       []*child.Process // in start order
	failed      bool             // some side had failures
	nodeVersion string
	scfg        scaleConfig // -scale only

	books, orders, router, proxy, apollo *child.Process
	booksURL, ordersURL                  string // the subgraphs' /query
	routerBase, proxyURL, apolloURL      string

	// -baseline: the other build's subgraphs and the router in front of
	// them.
	base *stackProcs
}

// stackProcs are a pair of subgraphs and the router in front of them.
type stackProcs struct {
	books, orders, router           *child.Process
	booksURL, ordersURL, routerBase string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, format+"\n", args...)
}

func (b *bench) run(ctx context.Context) error {
	var err error
	if b.cfg.root == "" {
		if b.cfg.root, err = findRoot(); err != nil {
			return err
		}
	}
	if b.tmp, err = os.MkdirTemp("", "bookstore-bench-"); err != nil {
		return err
	}
	b.logDir = filepath.Join(b.tmp, "logs")
	if err := os.MkdirAll(b.logDir, 0o755); err != nil {
		return err
	}
	b.logf("bench: working in %s (service logs in %s)", b.tmp, b.logDir)

	// Build the binaries, start PostgreSQL and install Apollo's packages
	// at the same time: each takes seconds.
	var wg sync.WaitGroup
	var buildErr, dbErr, npmErr error
	var admin string
	wg.Go(func() { buildErr = b.build(ctx) })
	wg.Go(func() { admin, dbErr = b.startDatabase(ctx) })
	if b.cfg.apollo {
		wg.Go(func() { npmErr = b.installApollo(ctx) })
	}
	wg.Wait()
	if err := errors.Join(buildErr, dbErr); err != nil {
		return err
	}
	if npmErr != nil {
		b.logf("\nApollo comparison (B) SKIPPED: %v\n", npmErr)
		b.cfg.apollo = false
	}
	if err := b.startServices(ctx, admin); err != nil {
		return err
	}
	if err := b.placeOrders(ctx); err != nil {
		return err
	}
	if b.cfg.apollo {
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

// build compiles the services into the temporary directory, unless -bin
// names prebuilt ones.
func (b *bench) build(ctx context.Context) error {
	names := []string{"books-subgraph", "orders-subgraph", "router"}
	if b.cfg.binDir != "" {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(b.cfg.binDir, n)); err != nil {
				return fmt.Errorf("-bin: %w", err)
			}
		}
		abs, err := filepath.Abs(b.cfg.binDir)
		b.cfg.binDir = abs
		return err
	}
	b.cfg.binDir = filepath.Join(b.tmp, "bin")
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	args := []string{"build", "-o", b.cfg.binDir + string(filepath.Separator), "./books-subgraph", "./orders-subgraph", "./router"}
	b.logf("bench: %s %s", goCmd, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = b.cfg.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// startDatabase starts a throwaway cluster (temporary data directory, free
// port), migrates and seeds it and creates the services' login roles. It
// returns the database owner's URL.
func (b *bench) startDatabase(ctx context.Context) (string, error) {
	c, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		return "", fmt.Errorf("starting PostgreSQL: %w", err)
	}
	b.cluster = c
	b.logf("bench: started postgres (pid %d) on 127.0.0.1:%d", c.PID(), c.Port)
	if err := migrations.EnsureDatabase(ctx, c.URL("postgres"), "bookstore"); err != nil {
		return "", err
	}
	admin := c.URL("bookstore")
	if err := migrations.Up(ctx, admin); err != nil {
		return "", fmt.Errorf("migrating: %w", err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connecting to the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, r := range []struct{ login, group string }{
		{"books_app", migrations.BooksRole},
		{"orders_app", migrations.OrdersRole},
	} {
		if err := migrations.EnsureLoginRole(ctx, conn, r.login, password(r.login), r.group); err != nil {
			return "", err
		}
	}
	if err := migrations.Seed(ctx, conn); err != nil {
		return "", err
	}
	return admin, nil
}

// passwords are random per run: the cluster trusts local connections
// anyway, but nothing fixed is worth leaving around.
var passwords = map[string]string{}

func password(login string) string {
	if p, ok := passwords[login]; ok {
		return p
	}
	var r [12]byte
	_, _ = rand.Read(r[:])
	passwords[login] = hex.EncodeToString(r[:])
	return passwords[login]
}

func withLogin(admin, login string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.User = url.UserPassword(login, password(login))
	return u.String()
}

// startServices starts one replica of each subgraph, the router (or its
// profiled stand-in) and the bare proxy, each on a free port, and waits
// until they are ready.
func (b *bench) startServices(ctx context.Context, admin string) error {
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	// Nothing balances over the bench's processes: they stop at once.
	common := []string{"ADMIN_TOKEN=" + hex.EncodeToString(tok[:]), "LOG_LEVEL=" + b.cfg.logLevel, "SHUTDOWN_TIMEOUT=5s", "DRAIN_PERIOD=0"}
	start := func(name, bin string, args, env []string) (*child.Process, int, error) {
		port, err := child.FreePort()
		if err != nil {
			return nil, 0, err
		}
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, "PORT", strconv.Itoa(port))
		}
		env = append(append([]string{"ADDR=" + child.HostPort(port)}, env...), common...)
		p, err := child.Start(child.Options{Name: name, Bin: bin, Args: args, Env: env, LogDir: b.logDir})
		if err != nil {
			return nil, 0, err
		}
		b.procs = append(b.procs, p)
		b.logf("bench: started %s (pid %d) on %s", name, p.PID(), child.HostPort(port))
		return p, port, nil
	}
	bin := func(n string) string { return filepath.Join(b.cfg.binDir, n) }
	books, bport, err := start("books-subgraph", bin("books-subgraph"), nil, []string{"DATABASE_URL=" + withLogin(admin, "books_app")})
	if err != nil {
		return err
	}
	orders, oport, err := start("orders-subgraph", bin("orders-subgraph"), nil,
		[]string{"DATABASE_URL=" + withLogin(admin, "orders_app"), "ORDERS_LIST_PUBLIC=true"})
	if err != nil {
		return err
	}
	b.books, b.orders = books, orders
	b.booksURL = "http://" + child.HostPort(bport) + "/query"
	b.ordersURL = "http://" + child.HostPort(oport) + "/query"
	for _, p := range []struct {
		p    *child.Process
		port int
	}{{books, bport}, {orders, oport}} {
		if err := p.p.WaitReady(ctx, "http://"+child.HostPort(p.port)+"/readyz", b.cfg.readyWait); err != nil {
			return err
		}
	}

	routerArgs := []string{"--listen", "127.0.0.1:PORT", "--subgraph", "books=" + b.booksURL, "--subgraph", "orders=" + b.ordersURL}
	routerBin := bin("router")
	routerEnv := append([]string{}, b.cfg.routerEnv...)
	if b.cfg.cpuProfile != "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		abs, err := filepath.Abs(b.cfg.cpuProfile)
		if err != nil {
			return err
		}
		b.cfg.cpuProfile = abs
		routerBin = self
		// The router's own flags and variables configure the child; it
		// stops at once, as it always has (-router-env may say otherwise).
		routerEnv = append([]string{"DRAIN_PERIOD=0", "SHUTDOWN_TIMEOUT=5s"}, routerEnv...)
		routerEnv = append(routerEnv, childEnv+"=router", cpuProfileEnv+"="+abs)
		b.logf("bench: the router runs in-process in a child of the bench, under a CPU profile (-router-cpuprofile)")
	}
	router, rport, err := start("router", routerBin, routerArgs, routerEnv)
	if err != nil {
		return err
	}
	b.router = router
	b.routerBase = "http://" + child.HostPort(rport)
	if err := router.WaitReady(ctx, b.routerBase+"/readyz", b.cfg.readyWait); err != nil {
		return err
	}
	if b.cfg.baseline != "" {
		if err := b.startBaseline(ctx, admin, start); err != nil {
			return err
		}
	}
	if b.cfg.proxy {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		proxy, pport, err := start("bare-proxy", self, []string{"-listen", "127.0.0.1:PORT", "-to", "http://" + child.HostPort(bport)},
			[]string{childEnv + "=proxy"})
		if err != nil {
			return err
		}
		b.proxy = proxy
		b.proxyURL = "http://" + child.HostPort(pport) + "/query"
		if err := proxy.WaitReady(ctx, "http://"+child.HostPort(pport)+"/readyz", b.cfg.readyWait); err != nil {
			return err
		}
	}
	return nil
}

// startBaseline starts -baseline's subgraphs and a router (this build's)
// in front of them, on the same database as this build's.
func (b *bench) startBaseline(ctx context.Context, admin string, start func(name, bin string, args, env []string) (*child.Process, int, error)) error {
	dir, err := filepath.Abs(b.cfg.baseline)
	if err != nil {
		return err
	}
	bs := &stackProcs{}
	var bport, oport int
	if bs.books, bport, err = start("books-subgraph (baseline)", filepath.Join(dir, "books-subgraph"), nil,
		[]string{"DATABASE_URL=" + withLogin(admin, "books_app")}); err != nil {
		return fmt.Errorf("-baseline: %w", err)
	}
	if bs.orders, oport, err = start("orders-subgraph (baseline)", filepath.Join(dir, "orders-subgraph"), nil,
		[]string{"DATABASE_URL=" + withLogin(admin, "orders_app"), "ORDERS_LIST_PUBLIC=true"}); err != nil {
		return fmt.Errorf("-baseline: %w", err)
	}
	bs.booksURL = "http://" + child.HostPort(bport) + "/query"
	bs.ordersURL = "http://" + child.HostPort(oport) + "/query"
	for _, p := range []struct {
		p    *child.Process
		port int
	}{{bs.books, bport}, {bs.orders, oport}} {
		if err := p.p.WaitReady(ctx, "http://"+child.HostPort(p.port)+"/readyz", b.cfg.readyWait); err != nil {
			return err
		}
	}
	// This build's router, never under -router-cpuprofile.
	args := []string{"--listen", "127.0.0.1:PORT", "--subgraph", "books=" + bs.booksURL, "--subgraph", "orders=" + bs.ordersURL}
	var rport int
	if bs.router, rport, err = start("router (baseline)", filepath.Join(b.cfg.binDir, "router"), args,
		append([]string{}, b.cfg.routerEnv...)); err != nil {
		return err
	}
	bs.routerBase = "http://" + child.HostPort(rport)
	if err := bs.router.WaitReady(ctx, bs.routerBase+"/readyz", b.cfg.readyWait); err != nil {
		return err
	}
	b.base = bs
	return nil
}

// checkAlive fails when a child has died.
func (b *bench) checkAlive() error {
	for _, p := range b.procs {
		if !p.Running() {
			return p.DeathReport()
		}
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
	endpoint := b.routerBase + "/graphql"
	var cat struct {
		Books struct {
			Edges []struct {
				Node struct {
					ID    string
					Stock int
				}
			}
		}
	}
	if err := gql(ctx, endpoint, `{ books(first: 100) { edges { node { id stock } } } }`, nil, &cat); err != nil {
		return fmt.Errorf("reading the catalogue: %w", err)
	}
	type book struct {
		id    string
		stock int
	}
	var books []*book
	for _, e := range cat.Books.Edges {
		books = append(books, &book{e.Node.ID, e.Node.Stock})
	}
	next := 0
	pick := func(not *book) *book {
		for range len(books) {
			bk := books[next%len(books)]
			next++
			if bk != not && bk.stock >= 2 {
				return bk
			}
		}
		return nil
	}
	const mutation = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }`
	for i := range b.cfg.orders {
		first := pick(nil)
		second := pick(first)
		if first == nil || second == nil {
			return fmt.Errorf("the catalogue has too little stock for %d orders", b.cfg.orders)
		}
		q1, q2 := 1, 1+i%2
		first.stock -= q1
		second.stock -= q2
		input := map[string]any{
			"customerEmail": fmt.Sprintf("bench-%d@example.com", i),
			"items": []map[string]any{
				{"bookId": first.id, "quantity": q1},
				{"bookId": second.id, "quantity": q2},
			},
		}
		if err := gql(ctx, endpoint, mutation, map[string]any{"input": input}, nil); err != nil {
			return fmt.Errorf("placing order %d: %w", i+1, err)
		}
	}
	b.logf("bench: placed %d orders through the router", b.cfg.orders)
	return nil
}

// preflight sends each side's request once, checks the response's shape,
// keeps its body as the reference for every later response, and checks
// that all sides return the same data.
func (b *bench) preflight(ctx context.Context, c *comparison) error {
	var first []byte
	for _, t := range c.sides {
		body, err := t.do(ctx)
		if err != nil {
			return fmt.Errorf("pre-flight of %s (%s): %v: %.600s", t.name, t.url, err, body)
		}
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
			return fmt.Errorf("pre-flight of %s: %w", t.name, err)
		}
		var edges, items int
		for _, conn := range r.Data {
			edges += len(conn.Edges)
			for _, e := range conn.Edges {
				items += len(e.Node.Items)
			}
		}
		if edges != 20 || (c.query == ordersQuery && items < 20) {
			return fmt.Errorf("pre-flight of %s: want 20 edges (with items for orders), got %d edges, %d items: %.600s", t.name, edges, items, body)
		}
		t.want = body
		if first == nil {
			first = body
		} else if !sameJSON(first, body) {
			b.logf("WARNING: %s answers different data from %s:\n  %.300s\n  %.300s", t.name, c.sides[0].name, first, body)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.routerBase+"/metrics", nil)
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

// stopAll stops the children in reverse start order, then PostgreSQL,
// prints the router's profile if one was taken, and removes the temporary
// directory unless -keep or something failed.
func (b *bench) stopAll() error {
	var errs []error
	for i := len(b.procs) - 1; i >= 0; i-- {
		p := b.procs[i]
		if err := p.Stop(stopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	if b.cluster != nil {
		if err := b.cluster.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(b.procs) > 0 || b.cluster != nil {
		b.logf("\nbench: stopped every process it started (%d services, postgres)", len(b.procs))
	}
	if b.cfg.cpuProfile != "" && b.router != nil {
		b.printProfile()
	}
	if b.tmp != "" {
		if b.cfg.keep || len(errs) > 0 {
			b.logf("bench: kept %s", b.tmp)
		} else {
			_ = os.RemoveAll(b.tmp)
		}
	}
	return errors.Join(errs...)
}

// printProfile runs go tool pprof -top on the router's CPU profile.
func (b *bench) printProfile() {
	if st, err := os.Stat(b.cfg.cpuProfile); err != nil || st.Size() == 0 {
		b.logf("bench: no CPU profile at %s", b.cfg.cpuProfile)
		return
	}
	b.logf("\nrouter CPU profile: %s (covers warm-up and every comparison)", b.cfg.cpuProfile)
	for _, args := range [][]string{
		{"tool", "pprof", "-top", "-nodecount=35", b.cfg.cpuProfile},
		{"tool", "pprof", "-top", "-cum", "-nodecount=45", b.cfg.cpuProfile},
	} {
		cmd := exec.Command("go", args...)
		cmd.Dir = b.cfg.root
		out, err := cmd.CombinedOutput()
		b.logf("\n$ go %s\n%s", strings.Join(args, " "), out)
		if err != nil {
			b.logf("(%v)", err)
		}
	}
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
		Args: []string{"gateway.mjs", "books=" + b.booksURL, "orders=" + b.ordersURL},
	})
	if err != nil {
		return err
	}
	b.procs = append(b.procs, p)
	b.apollo = p
	timer := time.NewTimer(b.cfg.readyWait)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-p.Lines():
			if !ok {
				<-p.Done()
				return p.DeathReport()
			}
			if u, found := strings.CutPrefix(line, "LISTENING "); found {
				b.apolloURL = u
				b.logf("bench: started apollo-gateway (pid %d) on %s", p.PID(), u)
				go func() {
					for range p.Lines() {
					}
				}()
				return nil
			}
		case <-timer.C:
			return fmt.Errorf("apollo-gateway printed no LISTENING line within %s; the end of %s:\n%s", b.cfg.readyWait, p.LogPath(), p.Tail(15))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
