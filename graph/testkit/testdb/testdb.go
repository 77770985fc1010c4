// Package testdb gives tests real PostgreSQL databases.
//
// A test package calls Main from its TestMain. Main uses DATABASE_URL (a
// superuser URL) when set, and otherwise starts a throwaway cluster, and
// stops it when the tests end, failed or not. It then migrates one template
// database for the package; New clones it for each test that asks, so every
// test starts from a known, migrated schema in ~50 ms. The cluster, the
// template and the clones are package graph/testkit/stack's steps, as for
// make run.
//
// Services in tests connect as the least-privilege login roles, as in
// production, through DB.BooksURL and DB.OrdersURL.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"bookstore/graph/testkit/stack"
	"bookstore/migrations"
)

// Environment variables Main sets for New.
const (
	envAdmin    = "DATABASE_URL"
	envTemplate = "BOOKSTORE_TEST_TEMPLATE"
)

// Login roles the services use in tests, and their password (used only when
// the server asks for one).
const (
	BooksLogin   = "bookstore_books_test"
	OrdersLogin  = "bookstore_orders_test"
	testPassword = "bookstore-test"
)

// roles are the login roles of the services in tests.
var roles = stack.Roles{
	Books:  stack.Login{User: BooksLogin, Password: testPassword},
	Orders: stack.Login{User: OrdersLogin, Password: testPassword},
}

// Main prepares PostgreSQL, runs the package's tests and cleans up. Use it
// as: func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }.
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := stack.StartServer(ctx, stack.ServerOptions{URL: os.Getenv(envAdmin)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testdb:", err)
		}
	}()
	os.Setenv(envAdmin, srv.URL(""))
	tmpl := "bookstore_tmpl_" + randomSuffix()
	if _, err := stack.PrepareDatabase(ctx, srv, tmpl, stack.DatabaseOptions{Roles: roles}); err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	os.Setenv(envTemplate, tmpl)
	code := m.Run()
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	if err := stack.DropDatabase(dctx, srv, tmpl); err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
	}
	return code
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AdminURL returns the superuser URL of the tests' server, for database db
// ("" keeps the URL's own database).
func AdminURL(db string) string {
	return server().URL(db)
}

// server is the tests' server, as Main left it in DATABASE_URL.
func server() *stack.Server { return stack.ServerAt(os.Getenv(envAdmin)) }

// DB is one test's database.
type DB struct {
	Name string
	// AdminURL connects as the superuser; BooksURL and OrdersURL as the
	// services' least-privilege login roles.
	AdminURL, BooksURL, OrdersURL string
	// Admin is a superuser pool for a test's own checks and set-up.
	Admin *pgxpool.Pool
}

// New returns a fresh, migrated database (a clone of the package's
// template), dropped when the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	tmpl := os.Getenv(envTemplate)
	if tmpl == "" {
		t.Fatal("testdb: call testdb.Main from the package's TestMain")
	}
	return create(t, tmpl)
}

// NewEmpty returns a fresh database with no migration applied, dropped
// when the test ends. Its BooksURL and OrdersURL work once it is migrated.
func NewEmpty(t testing.TB) *DB {
	t.Helper()
	return create(t, "template0")
}

func create(t testing.TB, tmpl string) *DB {
	t.Helper()
	ctx := context.Background()
	srv := server()
	sd, err := stack.CloneDatabase(ctx, srv, "bookstore_test_"+randomSuffix(), tmpl, roles)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	db := &DB{Name: sd.Name, AdminURL: sd.URL, BooksURL: sd.BooksURL(), OrdersURL: sd.OrdersURL()}
	db.Admin, err = pgxpool.New(ctx, db.AdminURL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		db.Admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := stack.DropDatabase(ctx, srv, db.Name); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	return db
}

// Seed loads the demo catalogue into db.
func (db *DB) Seed(t testing.TB) {
	t.Helper()
	if err := migrations.Seed(context.Background(), db.Admin); err != nil {
		t.Fatal(err)
	}
}

// Querier runs a query: a pool, a connection or a transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Strings runs sql, a query of one text column, with args, and returns its
// values. It fails the test on an error.
func Strings(t testing.TB, q Querier, sql string, args ...any) []string {
	t.Helper()
	rows, err := q.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

// ISBN returns a valid ISBN-13 (978 prefix, correct check digit) made from
// n, for tests that need many distinct books.
func ISBN(n int) string {
	base := fmt.Sprintf("978%09d", n%1_000_000_000)
	sum := 0
	for i, c := range base {
		d := int(c - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return base + strconv.Itoa((10-sum%10)%10)
}
