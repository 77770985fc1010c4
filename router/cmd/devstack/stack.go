package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/graph/testkit/stack"
	"bookstore/graph/testkit/stack/child"
	"bookstore/migrations"
	"bookstore/router/bookstore/ide"
)

const dbName = "bookstore"

// devStack is what run has started, stopped in reverse order.
type devStack struct {
	cfg      config
	out      io.Writer
	server   *stack.Server
	services *stack.Services
}

// errReported is returned by run for a failure it has already printed.
var errReported = errors.New("devstack failed")

// run starts the stack, waits for a signal or a child's death, and stops
// everything. Failures are printed to errOut as they happen, before the
// stack is stopped, so they stay above the stop messages; run then returns
// errReported.
func run(ctx context.Context, stopSignals func(), cfg config, out, errOut io.Writer) (err error) {
	st := &devStack{cfg: cfg, out: out}
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
	case c := <-st.services.Exited():
		return fail(c.DeathReport())
	}
}

func (st *devStack) logf(format string, args ...any) { fmt.Fprintf(st.out, format+"\n", args...) }

// start brings the stack up, service by service.
func (st *devStack) start(ctx context.Context) error {
	cfg := st.cfg
	if err := st.checkPorts(); err != nil {
		return err
	}
	bins, err := stack.FindBinaries(ctx, stack.BuildOptions{
		Dir: cfg.binDir, Build: cfg.build, NoRouter: !cfg.withRouter, Go: cfg.goCmd, Out: os.Stderr, Logf: st.logf,
	})
	switch {
	case err != nil && cfg.build && cfg.withRouter:
		return fmt.Errorf("%w (run devstack from the module root; if the router does not build yet, -router=false runs the rest)", err)
	case err != nil && cfg.build:
		return fmt.Errorf("%w (run devstack from the module root)", err)
	case err != nil:
		return fmt.Errorf("%w (build it, or drop -build=false)", err)
	}
	if cfg.databaseURL == "" {
		if _, err := pgcluster.FindBinDir(); err != nil {
			return fmt.Errorf(`%w

To run the stack, either
  - install the PostgreSQL server binaries (Debian/Ubuntu: apt-get install -y postgresql-15;
    nothing needs to be running, devstack starts its own server), or
  - set DATABASE_URL to a superuser URL of an existing server,
    e.g. DATABASE_URL='postgres://postgres@127.0.0.1:5432/bookstore?sslmode=disable' make run`, err)
		}
	}
	st.server, err = stack.StartServer(ctx, stack.ServerOptions{
		URL:     cfg.databaseURL,
		Cluster: pgcluster.Options{DataDir: filepath.Join(cfg.dataDir, "postgres"), Port: cfg.dbPort, Durable: true},
		AnyPort: true, Logf: st.logf,
	})
	if err != nil {
		return err
	}
	name := dbName
	if cfg.databaseURL != "" {
		name = "" // DATABASE_URL's own
	}
	db, err := stack.PrepareDatabase(ctx, st.server, name, stack.DatabaseOptions{Roles: stack.DevRoles, Seed: true, Logf: st.logf})
	if err != nil {
		return err
	}
	fmt.Fprintf(st.out, "PostgreSQL is migrated to version %d and seeded\n", migrations.Latest())

	logDir := filepath.Join(cfg.dataDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("creating the log directory: %w", err)
	}
	fmt.Fprintf(st.out, "service logs go to %s/<name>.log\n", logDir)
	st.services, err = stack.StartServices(ctx, stack.ServicesOptions{
		Bin: bins, DB: db, LogDir: logDir,
		BooksPorts: cfg.booksPorts, OrdersPorts: cfg.ordersPorts, RouterPort: cfg.routerPort, NoRouter: !cfg.withRouter,
		AdminToken: cfg.adminToken,
		Env: []string{
			"LOG_LEVEL=" + cfg.logLevel,
			"DRAIN_PERIOD=" + cfg.drain.String(),
			"SHUTDOWN_TIMEOUT=" + shutdownTimeout(cfg.grace, cfg.drain).String(),
		},
		// A developer's stack shows query plans (X-Query-Plan: true).
		RouterEnv:    []string{"EXPOSE_QUERY_PLANS=true"},
		ReadyTimeout: cfg.readyWait, Grace: cfg.grace, Logf: st.logf,
	})
	return err
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

// checkPorts fails early, before anything starts, when a service port is
// taken. PostgreSQL's port, if taken, is swapped for a free one by the
// launcher (stack.ServerOptions.AnyPort).
func (st *devStack) checkPorts() error {
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
		if !child.PortFree(u.port) {
			return fmt.Errorf("port %d for %s is in use (another make run?): stop what holds it, or choose another with %s", u.port, u.what, u.flag)
		}
	}
	return nil
}

// banner prints what runs where.
func (st *devStack) banner() {
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
	for _, sv := range st.services.Books {
		books = append(books, sv.URL()+"/query")
	}
	for _, sv := range st.services.Orders {
		orders = append(orders, sv.URL()+"/query")
	}
	fmt.Fprintf(w, "  books          %s\n", strings.Join(books, "   "))
	fmt.Fprintf(w, "  orders         %s\n", strings.Join(orders, "   "))
	if c := st.server.Cluster; c != nil {
		fmt.Fprintf(w, "  PostgreSQL     %s   (data in %s)\n", c.URL(dbName), c.DataDir)
	} else {
		fmt.Fprintf(w, "  PostgreSQL     %s   (DATABASE_URL)\n", stack.Redact(cfg.databaseURL))
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

// stop stops the services (the router first, then the subgraphs
// together), then PostgreSQL.
func (st *devStack) stop() error {
	var errs []error
	if st.services != nil {
		errs = append(errs, st.services.Stop())
	}
	return errors.Join(append(errs, st.server.Stop())...)
}
