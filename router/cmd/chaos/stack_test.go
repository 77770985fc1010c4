package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/nodetest"
	"bookstore/graph/testkit/pgcluster"
	"bookstore/graph/testkit/stack"
)

const (
	template = "chaos_template"
	// stock is every book's stock in a scenario's database: the load never
	// runs a book out, so every order outcome is the faults' doing.
	stock = 100_000
	// binEnv names a directory of prebuilt books-subgraph, orders-subgraph
	// and router binaries to run instead of building the module's.
	binEnv = "BOOKSTORE_CHAOS_BIN"
)

// roles are the services' login roles, as devstack and the Makefile name
// them.
var roles = stack.Roles{
	Books:  stack.Login{User: "books_app", Password: "chaos-books_app"},
	Orders: stack.Login{User: "orders_app", Password: "chaos-orders_app"},
}

// env is what the scenarios share: the services' binaries, one durable
// PostgreSQL cluster (fsync on: the crash scenario needs it) holding a
// migrated, seeded template database, and the log directory.
type env struct {
	bin     stack.Binaries
	logDir  string
	server  *stack.Server
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
	root, err := stack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pgcluster.FindBinDir(); err != nil {
		t.Skipf("no PostgreSQL: %v", err)
	}
	e := &env{logDir: filepath.Join(nodetest.OutDir(t, "chaos"), "logs"), token: randomHex(16)}
	if err := os.MkdirAll(e.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Other binaries, such as an earlier commit's, to measure them.
	dir := os.Getenv(binEnv)
	if dir != "" {
		t.Logf("the services' binaries: %s (%s)", dir, binEnv)
	} else {
		dir = filepath.Join(t.TempDir(), "bin")
	}
	if e.bin, err = stack.FindBinaries(ctx, stack.BuildOptions{Dir: dir, Build: os.Getenv(binEnv) == "", Root: root}); err != nil {
		t.Fatal(err)
	}
	if e.server, err = stack.StartServer(ctx, stack.ServerOptions{Cluster: pgcluster.Options{Durable: true}}); err != nil {
		t.Fatal(err)
	}
	e.cluster = e.server.Cluster
	t.Cleanup(func() {
		if err := e.server.Stop(); err != nil {
			t.Error(err)
		}
	})
	// The template: migrated, seeded, with the login roles and every
	// book's stock at the same high level.
	tmpl, err := stack.PrepareDatabase(ctx, e.server, template, stack.DatabaseOptions{Roles: roles, Seed: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := execSQL(ctx, tmpl.URL, `UPDATE books.books SET stock = $1`, stock); err != nil {
		t.Fatalf("setting the stock: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the services' logs: %s", e.logDir)
		}
	})
	return e
}

// stackOptions shape a stack.
type stackOptions struct {
	// subgraphEnv and routerEnv are added to the services' environments.
	subgraphEnv []string
	routerEnv   []string
}

// bookstore is one scenario's stack: two replicas of each subgraph and a
// router (or, while one is replaced, two), real processes on 127.0.0.1,
// over a database of its own, with a balancer in front of the routers.
type bookstore struct {
	*stack.Services
	db    string
	admin string // the database owner's URL
	lb    *balancer
}

// newStack starts a stack over a fresh database, a copy of the template;
// it is stopped when the test ends.
func (e *env) newStack(t *testing.T, o stackOptions) *bookstore {
	t.Helper()
	ctx := t.Context()
	e.mu.Lock()
	e.dbs++
	name := fmt.Sprintf("chaos_%d", e.dbs)
	e.mu.Unlock()
	db, err := stack.CloneDatabase(ctx, e.server, name, template, roles)
	if err != nil {
		t.Fatal(err)
	}
	st := &bookstore{db: name, admin: db.URL, lb: newBalancer()}
	t.Cleanup(st.lb.close)
	st.Services, err = stack.StartServices(ctx, stack.ServicesOptions{
		Bin: e.bin, DB: db, LogDir: e.logDir, Replicas: 2, Prefix: name + "-", AdminToken: e.token,
		// No drain unless the scenario asks: only the rolling restart sends
		// SIGTERM under load, and the cleanup need not wait.
		Env:         []string{"LOG_LEVEL=warn", "DRAIN_PERIOD=0"},
		SubgraphEnv: o.subgraphEnv, RouterEnv: o.routerEnv,
		Grace: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Stop(); err != nil {
			t.Error(err)
		}
	})
	st.lb.add(st.Router().URL())
	return st
}

// replaceRouter replaces the first router as a rolling update with
// maxSurge 1 does: a new router first, ready and behind the balancer, then
// SIGTERM to the old one, which the balancer drops once its /readyz fails.
func (st *bookstore) replaceRouter(ctx context.Context, grace time.Duration) error {
	old := st.Router()
	r, err := st.AddRouter(ctx)
	if err != nil {
		return err
	}
	st.lb.add(r.URL())
	err = st.StopRouter(old, grace)
	st.lb.remove(old.URL())
	return err
}

// checkRunning fails the test for a process that died when it should not
// have.
func (st *bookstore) checkRunning(t *testing.T) {
	t.Helper()
	if err := st.Check(); err != nil {
		t.Error(err)
	}
}

// execSQL runs SQL on the database at url.
func execSQL(ctx context.Context, url, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
