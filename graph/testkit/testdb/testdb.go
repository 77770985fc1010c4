// Package testdb gives tests real PostgreSQL databases.
//
// A test package calls Main from its TestMain. Main uses DATABASE_URL (a
// superuser URL) when set, and otherwise starts a throwaway cluster with
// pgcluster and stops it when the tests end, failed or not. It then migrates
// one template database for the package; New clones it for each test that
// asks, so every test starts from a known, migrated schema in ~50 ms.
//
// Services in tests connect as the least-privilege login roles, as in
// production, through DB.BooksURL and DB.OrdersURL.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"bookstore/graph/testkit/pgcluster"
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

// Main prepares PostgreSQL, runs the package's tests and cleans up. Use it
// as: func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }.
func Main(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if os.Getenv(envAdmin) == "" {
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "testdb:", err)
			return 1
		}
		defer func() {
			if err := c.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "testdb:", err)
			}
		}()
		os.Setenv(envAdmin, c.URL("postgres"))
	}
	tmpl := "bookstore_tmpl_" + randomSuffix()
	if err := prepareTemplate(ctx, tmpl); err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	os.Setenv(envTemplate, tmpl)
	code := m.Run()
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	if err := dropDatabase(dctx, tmpl); err != nil {
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
	return withDB(os.Getenv(envAdmin), db, "", "")
}

func withDB(raw, db, user, password string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic("testdb: DATABASE_URL is not a URL")
	}
	if db != "" {
		u.Path = "/" + db
	}
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

func adminConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, AdminURL(""))
	if err != nil {
		return nil, fmt.Errorf("connecting to the test server: %w", err)
	}
	return conn, nil
}

func prepareTemplate(ctx context.Context, name string) error {
	conn, err := adminConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return fmt.Errorf("creating template database: %w", err)
	}
	if err := migrations.Up(ctx, AdminURL(name)); err != nil {
		return err
	}
	// Roles are global to the server; packages testing in parallel may race
	// on them, and ALTER ROLE may then fail with "tuple concurrently updated".
	for _, r := range []struct{ login, group string }{{BooksLogin, migrations.BooksRole}, {OrdersLogin, migrations.OrdersRole}} {
		var err error
		for attempt := 0; attempt < 5; attempt++ {
			if err = migrations.EnsureLoginRole(ctx, conn, r.login, testPassword, r.group); err == nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func dropDatabase(ctx context.Context, name string) error {
	conn, err := adminConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}

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
	name := "bookstore_test_" + randomSuffix()
	conn, err := adminConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		// Cloning fails while another session is connected to the template.
		_, lastErr = conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl)
		if lastErr == nil || !strings.Contains(lastErr.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("testdb: creating database: %v", lastErr)
	}
	db := &DB{
		Name:      name,
		AdminURL:  AdminURL(name),
		BooksURL:  withDB(os.Getenv(envAdmin), name, BooksLogin, testPassword),
		OrdersURL: withDB(os.Getenv(envAdmin), name, OrdersLogin, testPassword),
	}
	db.Admin, err = pgxpool.New(ctx, db.AdminURL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		db.Admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := dropDatabase(ctx, name); err != nil {
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
