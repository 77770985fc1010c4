package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/migrations"
	"bookstore/router/bookstore/ide"
	"bookstore/router/cmd/internal/child"
)

// Login roles of the services and their local-only passwords, as
// migrations/cmd/devdb and the Makefile's books and orders targets use them.
const (
	booksLogin  = "books_app"
	ordersLogin = "orders_app"
	dbName      = "bookstore"
)

func devPassword(login string) string { return "dev-" + login }

// stack is what run has started, stopped in reverse order.
type stack struct {
	cfg      config
	out      io.Writer
	cluster  *pgcluster.Cluster
	children []*child.Process    // in start order
	exited   chan *child.Process // a child that exited on its own
}

// errReported is returned by run for a failure it has already printed.
var errReported = errors.New("devstack failed")

// run starts the stack, waits for a signal or a child's death, and stops
// everything. Failures are printed to errOut as they happen, before the
// stack is stopped, so they stay above the stop messages; run then returns
// errReported.
func run(ctx context.Context, stopSignals func(), cfg config, out, errOut io.Writer) (err error) {
	st := &stack{cfg: cfg, out: out, exited: make(chan *child.Process, 16)}
	fail := func(err error) error {
		fmt.Fprintf(errOut, "\ndevstack: %v\n\n", err)
		return errReported
	}
	defer func() {
		// A second Ctrl-C while stopping kills devstack at once; the
		// children's Pdeathsig then ends them.
		stopSignals()
		if serr := st.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	err = st.start(ctx)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(out, "\nstopping (signal received during start-up)")
		return nil
	case err != nil:
		return fail(err)
	}
	st.banner()
	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\nstopping")
		return nil
	case c := <-st.exited:
		return fail(c.DeathReport())
	}
}

// start brings the stack up, service by service.
func (st *stack) start(ctx context.Context) error {
	cfg := st.cfg
	if err := st.checkPorts(); err != nil {
		return err
	}
	if cfg.build {
		if err := st.buildBinaries(ctx); err != nil {
			return err
		}
	}
	bins := map[string]string{}
	for _, name := range st.binaryNames() {
		p := filepath.Join(cfg.binDir, name)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("binary %s: %w (build it, or drop -build=false)", p, err)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("binary %s: %w", p, err)
		}
		bins[name] = abs
	}
	admin, err := st.startDatabase(ctx)
	if err != nil {
		return err
	}
	if err := prepareDatabase(ctx, admin); err != nil {
		return err
	}
	fmt.Fprintf(st.out, "PostgreSQL is migrated to version %d and seeded\n", migrations.Latest())

	logDir := filepath.Join(cfg.dataDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("creating the log directory: %w", err)
	}
	fmt.Fprintf(st.out, "service logs go to %s/<name>.log\n", logDir)
	common := []string{
		"ADMIN_TOKEN=" + cfg.adminToken,
		"LOG_LEVEL=" + cfg.logLevel,
		"DRAIN_PERIOD=" + cfg.drain.String(),
		"SHUTDOWN_TIMEOUT=" + shutdownTimeout(cfg.grace, cfg.drain).String(),
	}
	var subgraphs []service
	for i, port := range cfg.booksPorts {
		env := append([]string{
			"ADDR=" + child.HostPort(port),
			"DATABASE_URL=" + withLogin(admin, booksLogin),
		}, common...)
		c, err := st.spawn(ctx, fmt.Sprintf("books-%d", i+1), bins["books-subgraph"], nil, env, logDir, port)
		if err != nil {
			return err
		}
		subgraphs = append(subgraphs, c)
	}
	for i, port := range cfg.ordersPorts {
		env := append([]string{
			"ADDR=" + child.HostPort(port),
			"DATABASE_URL=" + withLogin(admin, ordersLogin),
			"ORDERS_LIST_PUBLIC=true",
		}, common...)
		c, err := st.spawn(ctx, fmt.Sprintf("orders-%d", i+1), bins["orders-subgraph"], nil, env, logDir, port)
		if err != nil {
			return err
		}
		subgraphs = append(subgraphs, c)
	}
	for _, c := range subgraphs {
		if err := c.waitReady(ctx, cfg.readyWait); err != nil {
			return err
		}
	}
	if !cfg.withRouter {
		return nil
	}
	args := []string{
		"--listen", child.HostPort(cfg.routerPort),
		"--subgraph", "books=" + queryURLs(cfg.booksPorts),
		"--subgraph", "orders=" + queryURLs(cfg.ordersPorts),
	}
	// A developer's stack shows query plans (X-Query-Plan: true).
	env := []string{"LOG_LEVEL=" + cfg.logLevel, "EXPOSE_QUERY_PLANS=true",
		"DRAIN_PERIOD=" + cfg.drain.String(), "SHUTDOWN_TIMEOUT=" + shutdownTimeout(cfg.grace, cfg.drain).String()}
	r, err := st.spawn(ctx, "router", bins["router"], args, env, logDir, cfg.routerPort)
	if err != nil {
		return err
	}
	return r.waitReady(ctx, cfg.readyWait)
}

// service is a child and the port it serves on.
type service struct {
	*child.Process
	port int
}

// spawn starts bin with args and the extra environment env, its output
// going to logDir/name.log, and reports its exit on st.exited unless
// devstack stopped it.
func (st *stack) spawn(ctx context.Context, name, bin string, args, env []string, logDir string, port int) (service, error) {
	if err := ctx.Err(); err != nil {
		return service{}, err
	}
	c, err := child.Start(child.Options{
		Name: name, Bin: bin, Args: args, LogDir: logDir,
		// Later entries win, so these override the caller's environment
		// (a DATABASE_URL meant for devstack, for one).
		Env: env,
		OnExit: func(c *child.Process) {
			select {
			case st.exited <- c:
			default: // devstack is already stopping for another child
			}
		},
	})
	if err != nil {
		return service{}, err
	}
	st.children = append(st.children, c)
	fmt.Fprintf(st.out, "started %s (pid %d) on 127.0.0.1:%d, log %s\n", name, c.PID(), port, c.LogPath())
	return service{c, port}, nil
}

// waitReady waits until the service answers GET /readyz with 200.
func (s service) waitReady(ctx context.Context, timeout time.Duration) error {
	return s.WaitReady(ctx, "http://"+child.HostPort(s.port)+"/readyz", timeout)
}

// shutdownTimeout leaves the services' drain period and their wait for
// requests in flight a little inside grace, so that SIGKILL is a last
// resort.
func shutdownTimeout(grace, drain time.Duration) time.Duration {
	if d := (grace - drain) * 3 / 4; d > 0 {
		return d
	}
	return time.Second
}

func (st *stack) binaryNames() []string {
	names := []string{"books-subgraph", "orders-subgraph"}
	if st.cfg.withRouter {
		names = append(names, "router")
	}
	return names
}

// checkPorts fails early, before anything starts, when a service port is
// taken. PostgreSQL's port is handled in startDatabase.
func (st *stack) checkPorts() error {
	type use struct {
		port       int
		what, flag string
	}
	var uses []use
	for i, p := range st.cfg.booksPorts {
		uses = append(uses, use{p, fmt.Sprintf("books-%d", i+1), "-books-ports or DEV_BOOKS_PORTS"})
	}
	for i, p := range st.cfg.ordersPorts {
		uses = append(uses, use{p, fmt.Sprintf("orders-%d", i+1), "-orders-ports or DEV_ORDERS_PORTS"})
	}
	if st.cfg.withRouter {
		uses = append(uses, use{st.cfg.routerPort, "the router", "-port or PORT"})
	}
	seen := map[int]string{}
	for _, u := range uses {
		if other, dup := seen[u.port]; dup {
			return fmt.Errorf("port %d is given to both %s and %s", u.port, other, u.what)
		}
		seen[u.port] = u.what
		if !portFree(u.port) {
			return fmt.Errorf("port %d for %s is in use (another make run?): stop what holds it, or choose another with %s", u.port, u.what, u.flag)
		}
	}
	return nil
}

func portFree(port int) bool {
	ln, err := net.Listen("tcp", child.HostPort(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

func queryURLs(ports []int) string {
	urls := make([]string, len(ports))
	for i, p := range ports {
		urls[i] = "http://" + child.HostPort(p) + "/query"
	}
	return strings.Join(urls, ",")
}

// buildBinaries runs go build for the services into the bin directory.
func (st *stack) buildBinaries(ctx context.Context) error {
	args := []string{"build", "-o", st.cfg.binDir + string(filepath.Separator)}
	for _, name := range st.binaryNames() {
		args = append(args, "./"+name)
	}
	fmt.Fprintf(st.out, "building: %s %s\n", st.cfg.goCmd, strings.Join(args, " "))
	if err := os.MkdirAll(st.cfg.binDir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", st.cfg.binDir, err)
	}
	cmd := exec.CommandContext(ctx, st.cfg.goCmd, args...)
	cmd.Stdout, cmd.Stderr = st.out, os.Stderr
	if err := cmd.Run(); err != nil {
		hint := ""
		if st.cfg.withRouter {
			hint = "; if the router does not build yet, -router=false runs the rest"
		}
		return fmt.Errorf("go build failed (run devstack from the module root%s): %w", hint, err)
	}
	return nil
}

// startDatabase starts the private cluster, or takes DATABASE_URL, and
// returns the database owner's URL.
func (st *stack) startDatabase(ctx context.Context) (string, error) {
	if st.cfg.databaseURL != "" {
		fmt.Fprintf(st.out, "using DATABASE_URL (%s); no PostgreSQL is started\n", redactURL(st.cfg.databaseURL))
		return st.cfg.databaseURL, nil
	}
	if _, err := pgcluster.FindBinDir(); err != nil {
		return "", fmt.Errorf(`%w

To run the stack, either
  - install the PostgreSQL server binaries (Debian/Ubuntu: apt-get install -y postgresql-15;
    nothing needs to be running, devstack starts its own server), or
  - set DATABASE_URL to a superuser URL of an existing server,
    e.g. DATABASE_URL='postgres://postgres@127.0.0.1:5432/bookstore?sslmode=disable' make run`, err)
	}
	port := st.cfg.dbPort
	if !portFree(port) {
		free, err := child.FreePort()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(st.out, "port %d is taken (another make db or make run?); PostgreSQL uses port %d instead\n", port, free)
		port = free
	}
	dir := filepath.Join(st.cfg.dataDir, "postgres")
	fmt.Fprintf(st.out, "starting PostgreSQL on 127.0.0.1:%d, data in %s\n", port, dir)
	c, err := pgcluster.Start(ctx, pgcluster.Options{DataDir: dir, Port: port, Durable: true})
	if err != nil {
		return "", fmt.Errorf("starting PostgreSQL: %w", err)
	}
	st.cluster = c
	fmt.Fprintf(st.out, "started postgres (pid %d), log %s.log\n", c.PID(), dir)
	if err := migrations.EnsureDatabase(ctx, c.URL("postgres"), dbName); err != nil {
		return "", err
	}
	return c.URL(dbName), nil
}

// prepareDatabase migrates, creates the services' login roles and seeds;
// each step is idempotent.
func prepareDatabase(ctx context.Context, admin string) error {
	if err := migrations.Up(ctx, admin); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting to the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, r := range []struct{ login, group string }{
		{booksLogin, migrations.BooksRole},
		{ordersLogin, migrations.OrdersRole},
	} {
		if err := migrations.EnsureLoginRole(ctx, conn, r.login, devPassword(r.login), r.group); err != nil {
			return err
		}
	}
	return migrations.Seed(ctx, conn)
}

// withLogin returns the database URL admin with the login role's user and
// local-only password.
func withLogin(admin, login string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.User = url.UserPassword(login, devPassword(login))
	return u.String()
}

// redactURL hides a database URL's password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}

// banner prints what runs where.
func (st *stack) banner() {
	cfg := st.cfg
	w := st.out
	base := "http://localhost:" + strconv.Itoa(cfg.routerPort)
	fmt.Fprintln(w, "\nThe bookstore is running. Ctrl-C stops everything.")
	fmt.Fprintln(w)
	if cfg.withRouter {
		fmt.Fprintf(w, "  GraphQL IDE    %s/graphql   (open it in a browser)\n", base)
		fmt.Fprintf(w, "  GraphQL        POST %s/graphql\n", base)
		fmt.Fprintf(w, "  REST           %s/books   %s/orders\n", base, base)
	} else {
		fmt.Fprintln(w, "  router         not started (-router=false)")
	}
	var books, orders []string
	for _, p := range cfg.booksPorts {
		books = append(books, "http://"+child.HostPort(p)+"/query")
	}
	for _, p := range cfg.ordersPorts {
		orders = append(orders, "http://"+child.HostPort(p)+"/query")
	}
	fmt.Fprintf(w, "  books          %s\n", strings.Join(books, "   "))
	fmt.Fprintf(w, "  orders         %s\n", strings.Join(orders, "   "))
	if st.cluster != nil {
		fmt.Fprintf(w, "  PostgreSQL     %s   (data in %s)\n", st.cluster.URL(dbName), st.cluster.DataDir)
	} else {
		fmt.Fprintf(w, "  PostgreSQL     %s   (DATABASE_URL)\n", redactURL(cfg.databaseURL))
	}
	fmt.Fprintf(w, "  logs           %s/<name>.log\n", filepath.Join(cfg.dataDir, "logs"))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  Admin token    %s   (a local development token: never use it anywhere else)\n", cfg.adminToken)
	fmt.Fprintln(w)
	if cfg.withRouter {
		fmt.Fprintln(w, "  Try:")
		fmt.Fprintf(w, "    curl -s '%s/books?first=3&orderBy=PRICE_ASC'\n", base)
		fmt.Fprintf(w, "    curl -s %s/graphql -H 'Content-Type: application/json' \\\n", base)
		fmt.Fprintln(w, `      -d '{"query":"{ books(first: 3) { edges { node { title author priceCents unitsSold } } } }"}'`)
		fmt.Fprintf(w, "    curl -s %s/graphql -H 'Content-Type: application/json' -H 'Authorization: Bearer %s' \\\n", base, cfg.adminToken)
		fmt.Fprintln(w, `      -d '{"query":"mutation { restockBook(id: \"96d4816c-1d71-3e59-2cd2-8f7f36d767b9\", quantity: 10) { title stock } }"}'`)
	} else {
		fmt.Fprintln(w, "  Try:")
		fmt.Fprintf(w, "    curl -s %s -H 'Content-Type: application/json' \\\n", books[0])
		fmt.Fprintln(w, `      -d '{"query":"{ books(first: 3) { edges { node { title priceCents stock } } } }"}'`)
	}
	if missing := ide.NewFS("", os.DirFS(filepath.Join("router", "bookstore", "ide", "assets"))).Missing(); cfg.withRouter && len(missing) > 0 {
		fmt.Fprintln(w, "\n  Note: the IDE's files are missing (router/bookstore/ide/assets); the IDE page says so.")
		fmt.Fprintln(w, "  Run `make ide`, then restart; GraphQL and REST work without them.")
	}
	fmt.Fprintln(w)
}

// stop stops the children in reverse start order (the router first, then
// the subgraphs together), then PostgreSQL.
func (st *stack) stop() error {
	var errs []error
	var router []*child.Process
	var rest []*child.Process
	for _, c := range st.children {
		if c.Name() == "router" {
			router = append(router, c)
		} else {
			rest = append(rest, c)
		}
	}
	for _, group := range [][]*child.Process{router, rest} {
		var wg sync.WaitGroup
		groupErrs := make([]error, len(group))
		running := make([]bool, len(group))
		for i, c := range group {
			running[i] = c.Running()
			wg.Go(func() { groupErrs[i] = c.Stop(st.cfg.grace) })
		}
		wg.Wait()
		for i, c := range group {
			if groupErrs[i] != nil {
				errs = append(errs, groupErrs[i])
				continue
			}
			if running[i] {
				fmt.Fprintf(st.out, "stopped %s (pid %d)\n", c.Name(), c.PID())
			}
		}
	}
	if st.cluster != nil {
		if err := st.cluster.Stop(); err != nil {
			errs = append(errs, err)
		} else {
			fmt.Fprintf(st.out, "stopped postgres (pid %d)\n", st.cluster.PID())
		}
	}
	return errors.Join(errs...)
}
