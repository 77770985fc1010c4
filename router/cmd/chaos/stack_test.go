package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/nodetest"
	"bookstore/graph/testkit/pgcluster"
	"bookstore/migrations"
	"bookstore/router/cmd/internal/child"
)

// Login roles of the services, as devstack and the Makefile name them.
const (
	booksLogin  = "books_app"
	ordersLogin = "orders_app"
	template    = "chaos_template"
	// stock is every book's stock in a scenario's database: the load never
	// runs a book out, so every order outcome is the faults' doing.
	stock = 100_000
	// binEnv names a directory of prebuilt books-subgraph, orders-subgraph
	// and router binaries to run instead of building the module's.
	binEnv = "BOOKSTORE_CHAOS_BIN"
)

// env is what the scenarios share: the services' binaries, one durable
// PostgreSQL cluster (fsync on: the crash scenario needs it) holding a
// migrated, seeded template database, and the log directory.
type env struct {
	bin     string
	logDir  string
	cluster *pgcluster.Cluster
	token   string
	mu      sync.Mutex
	dbs     int
}

// newEnv builds the binaries and starts the cluster; both are released when
// the test ends.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	if _, err := pgcluster.FindBinDir(); err != nil {
		t.Skipf("no PostgreSQL: %v", err)
	}
	e := &env{bin: filepath.Join(t.TempDir(), "bin"), logDir: filepath.Join(nodetest.OutDir(t, "chaos"), "logs"), token: randomHex(16)}
	if err := os.MkdirAll(e.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv(binEnv); dir != "" {
		// Other binaries, such as an earlier commit's, to measure them.
		if e.bin, err = filepath.Abs(dir); err != nil {
			t.Fatal(err)
		}
		t.Logf("the services' binaries: %s (%s)", e.bin, binEnv)
	} else {
		goCmd := os.Getenv("GO")
		if goCmd == "" {
			goCmd = "go"
		}
		build := exec.CommandContext(ctx, goCmd, "build", "-o", e.bin+string(filepath.Separator), "./books-subgraph", "./orders-subgraph", "./router")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	e.cluster, err = pgcluster.Start(ctx, pgcluster.Options{Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.cluster.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := e.prepareTemplate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the services' logs: %s", e.logDir)
		}
	})
	return e
}

// prepareTemplate migrates and seeds the template database, with the
// services' login roles and every book's stock at the same high level.
func (e *env) prepareTemplate(ctx context.Context) error {
	if err := migrations.EnsureDatabase(ctx, e.cluster.URL("postgres"), template); err != nil {
		return err
	}
	admin := e.cluster.URL(template)
	if err := migrations.Up(ctx, admin); err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting to the template: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, r := range []struct{ login, group string }{{booksLogin, migrations.BooksRole}, {ordersLogin, migrations.OrdersRole}} {
		if err := migrations.EnsureLoginRole(ctx, conn, r.login, "chaos-"+r.login, r.group); err != nil {
			return err
		}
	}
	if err := migrations.Seed(ctx, conn); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `UPDATE books.books SET stock = $1`, stock); err != nil {
		return fmt.Errorf("setting the stock: %w", err)
	}
	return nil
}

// newDatabase creates a fresh database from the template and returns its
// name.
func (e *env) newDatabase(ctx context.Context) (string, error) {
	e.mu.Lock()
	e.dbs++
	name := fmt.Sprintf("chaos_%d", e.dbs)
	e.mu.Unlock()
	conn, err := pgx.Connect(ctx, e.cluster.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		return "", fmt.Errorf("creating %s: %w", name, err)
	}
	return name, nil
}

// login returns the URL of database db for a service's login role.
func (e *env) login(db, role string) string {
	u, _ := url.Parse(e.cluster.URL(db))
	u.User = url.UserPassword(role, "chaos-"+role)
	return u.String()
}

// stackOptions shape a stack.
type stackOptions struct {
	// subgraphEnv and routerEnv are added to the services' environments.
	subgraphEnv []string
	routerEnv   []string
}

// stack is one scenario's bookstore: two replicas of each subgraph and a
// router (or, while one is replaced, two), real processes on 127.0.0.1,
// over a database of its own.
type stack struct {
	e       *env
	o       stackOptions
	db      string
	admin   string // the database owner's URL
	books   []*service
	orders  []*service
	mu      sync.Mutex
	routers []*service
	nrouter int
	lb      *balancer
}

// service is one process of the stack, which may be restarted on the same
// port.
type service struct {
	name string
	port int
	opts child.Options
	mu   sync.Mutex
	proc *child.Process
}

// base returns the service's base URL.
func (s *service) base() string { return "http://" + child.HostPort(s.port) }

// process returns the current process.
func (s *service) process() *child.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// start starts the process and waits until /readyz answers 200.
func (s *service) start(ctx context.Context) error {
	p, err := child.Start(s.opts)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return p.WaitReady(ctx, s.base()+"/readyz", 60*time.Second)
}

// signal sends sig to the running process.
func (s *service) signal(sig syscall.Signal) error {
	if err := syscall.Kill(s.process().PID(), sig); err != nil {
		return fmt.Errorf("%s: kill -%d: %w", s.name, sig, err)
	}
	return nil
}

// kill sends SIGKILL and waits for the process to be reaped.
func (s *service) kill() error {
	p := s.process()
	if err := s.signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.Done()
	return nil
}

// terminate sends SIGTERM and waits up to grace for the process to exit on
// its own (SIGKILL after that, which is an error).
func (s *service) terminate(grace time.Duration) error {
	return s.process().Stop(grace)
}

// newStack starts a stack over a fresh database; it is stopped when the
// test ends.
func (e *env) newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	ctx := t.Context()
	db, err := e.newDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := &stack{e: e, o: o, db: db, admin: e.cluster.URL(db)}
	t.Cleanup(func() { st.stop(t) })
	// No drain unless the scenario asks: only the rolling restart sends
	// SIGTERM under load, and the cleanup need not wait.
	common := append([]string{"ADMIN_TOKEN=" + e.token, "LOG_LEVEL=warn", "DRAIN_PERIOD=0"}, o.subgraphEnv...)
	ports, err := freePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		st.books = append(st.books, e.service(fmt.Sprintf("%s-books-%d", db, i+1), "books-subgraph", ports[i], nil,
			append([]string{"DATABASE_URL=" + e.login(db, booksLogin)}, common...)))
		st.orders = append(st.orders, e.service(fmt.Sprintf("%s-orders-%d", db, i+1), "orders-subgraph", ports[2+i], nil,
			append([]string{"DATABASE_URL=" + e.login(db, ordersLogin), "ORDERS_LIST_PUBLIC=true"}, common...)))
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, s := range st.subgraphs() {
		wg.Go(func() { errs[i] = s.start(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	st.lb = newBalancer()
	t.Cleanup(st.lb.close)
	if _, err := st.addRouter(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// service describes one process of the stack; it is not started.
func (e *env) service(name, bin string, port int, args, environ []string) *service {
	env := append([]string{"ADDR=" + child.HostPort(port)}, environ...)
	return &service{name: name, port: port, opts: child.Options{
		Name: name, Bin: filepath.Join(e.bin, bin), Args: args, Env: env, LogDir: e.logDir,
	}}
}

// subgraphs returns every subgraph replica.
func (st *stack) subgraphs() []*service {
	return append(append([]*service{}, st.books...), st.orders...)
}

// addRouter starts one more router in front of the subgraphs, waits until
// it is ready and puts it behind the balancer.
func (st *stack) addRouter(ctx context.Context) (*service, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	urls := func(ss []*service) string {
		var u []string
		for _, s := range ss {
			u = append(u, s.base()+"/query")
		}
		return strings.Join(u, ",")
	}
	st.mu.Lock()
	st.nrouter++
	name := fmt.Sprintf("%s-router-%d", st.db, st.nrouter)
	st.mu.Unlock()
	args := []string{"--listen", child.HostPort(ports[0]), "--subgraph", "books=" + urls(st.books), "--subgraph", "orders=" + urls(st.orders)}
	r := st.e.service(name, "router", ports[0], args, append([]string{"LOG_LEVEL=warn", "DRAIN_PERIOD=0"}, st.o.routerEnv...))
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	st.mu.Lock()
	st.routers = append(st.routers, r)
	st.mu.Unlock()
	st.lb.add(r.base())
	return r, nil
}

// router returns the first router.
func (st *stack) router() *service {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.routers[0]
}

// replaceRouter replaces the first router as a rolling update with
// maxSurge 1 does: a new router first, ready and behind the balancer, then
// SIGTERM to the old one, which the balancer drops once its /readyz fails.
func (st *stack) replaceRouter(ctx context.Context, grace time.Duration) error {
	old := st.router()
	if _, err := st.addRouter(ctx); err != nil {
		return err
	}
	err := old.terminate(grace)
	st.lb.remove(old.base())
	st.mu.Lock()
	st.routers = st.routers[1:]
	st.mu.Unlock()
	return err
}

// stop stops every process, routers first, and reports any that did not
// stop within its grace period.
func (st *stack) stop(t *testing.T) {
	st.mu.Lock()
	routers := st.routers
	st.mu.Unlock()
	for _, group := range [][]*service{routers, st.subgraphs()} {
		var wg sync.WaitGroup
		for _, s := range group {
			if p := s.process(); p != nil {
				// A stopped process ignores SIGTERM until it is continued.
				_ = syscall.Kill(p.PID(), syscall.SIGCONT)
				wg.Go(func() {
					if err := p.Stop(20 * time.Second); err != nil {
						t.Errorf("%v", err)
					}
				})
			}
		}
		wg.Wait()
	}
}

// checkRunning fails the test for a process that died when it should not
// have.
func (st *stack) checkRunning(t *testing.T) {
	t.Helper()
	st.mu.Lock()
	all := append(append([]*service{}, st.routers...), st.subgraphs()...)
	st.mu.Unlock()
	for _, s := range all {
		if p := s.process(); p != nil && !p.Running() {
			t.Errorf("%v", p.DeathReport())
		}
	}
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for len(ports) < n {
		p, err := child.FreePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
