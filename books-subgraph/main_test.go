package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"bookstore/books-subgraph/graph"
	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/testdb"
)

func TestMain(m *testing.M) { gqltest.Main(m, main, testdb.Main) }

func TestSIGTERMDrainsRequestsInFlight(t *testing.T) {
	db := testdb.New(t)
	db.Seed(t)
	gqltest.CheckGracefulShutdown(t, map[string]string{"DATABASE_URL": db.BooksURL, "ADMIN_TOKEN": adminToken},
		db.Admin, "books.books", `{ books(first: 3) { totalCount edges { node { title } } } }`)
}

func TestBadConfigurationExits(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no DATABASE_URL":    {"DATABASE_URL": ""},
		"bad pool size":      {"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "DB_MAX_CONNS": "lots"},
		"bad timeout":        {"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "REQUEST_TIMEOUT": "-3s"},
		"unparseable DB URL": {"DATABASE_URL": "postgres://%zz"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := gqltest.RunProcess(t, env)
			if err == nil {
				t.Fatalf("exited 0, want an error:\n%s", out)
			}
			if name == "unparseable DB URL" && !contains(out, "DATABASE_URL") {
				t.Fatalf("output does not name DATABASE_URL:\n%s", out)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// A request past REQUEST_TIMEOUT is cut: its SQL is cancelled and the
// client gets a JSON error, SUBGRAPH_UNAVAILABLE (it may retry), not a
// hanging connection.
func TestRequestTimeout(t *testing.T) {
	db := testdb.New(t)
	srv := gqltest.StartSubgraph(t, "books-subgraph", db.BooksURL, map[string]string{"REQUEST_TIMEOUT": "300ms"}, graph.Build)
	ctx := context.Background()
	tx, err := db.Admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "LOCK TABLE books.books IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := (&gqltest.Client{URL: srv.URL + "/query"}).Do(t, `{ books { totalCount } }`, nil)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the request took %v", took)
	}
	if r.Status != 503 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, content type %q: %s", r.Status, r.Header.Get("Content-Type"), r.Raw)
	}
	r.WantError(t, "SUBGRAPH_UNAVAILABLE")
	// The cancelled statement no longer waits on the lock.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var waiting int
		if err := db.Admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = $1`, db.Name).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the timed-out statement still waits in PostgreSQL")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
