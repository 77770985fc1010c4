package gqltest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// CheckGracefulShutdown proves, against the service's real main() in a
// child process, that SIGTERM lets a request in flight finish, then exits
// 0. The request is held in flight by a table lock that admin takes on
// lockTable; query must read that table.
func CheckGracefulShutdown(t *testing.T, env map[string]string, admin *pgxpool.Pool, lockTable, query string) {
	t.Helper()
	ctx := context.Background()
	p := StartProcess(t, env)
	resp, err := http.Get(p.URL + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz: %v %v\n%s", err, resp, p.Logs())
	}
	resp.Body.Close()

	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "LOCK TABLE "+lockTable+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	client := &Client{URL: p.URL + "/query"}
	inflight := make(chan Response, 1)
	go func() { inflight <- client.Do(t, query, nil) }()
	// Wait until the request is blocked on the lock inside PostgreSQL.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'bookstore'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the database")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.Terminate(t)
	time.Sleep(300 * time.Millisecond) // the server now drains
	if _, exited := p.Wait(0); exited {
		t.Fatal("the service exited with a request in flight")
	}
	// New connections are refused while draining.
	if resp, err := http.Get(p.URL + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("a new request was accepted after SIGTERM")
	}
	_ = tx.Rollback(ctx)
	r := <-inflight
	if r.Status != 200 || len(r.Errors) > 0 || len(r.Data) == 0 {
		t.Fatalf("the request in flight got %d: %s", r.Status, r.Raw)
	}
	err, exited := p.Wait(15 * time.Second)
	if !exited {
		t.Fatal("the service did not exit after draining")
	}
	if err != nil {
		t.Fatalf("exit: %v\n%s", err, p.Logs())
	}
}
