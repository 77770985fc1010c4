package gqltest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"bookstore/graph/platform/drain"
)

// drainPeriod is the DRAIN_PERIOD CheckGracefulShutdown gives the service.
const drainPeriod = time.Second

// CheckGracefulShutdown proves, against the service's real main() in a
// child process, that SIGTERM drains (see package drain): for the drain
// period the service is unready but serves, marking its answers
// Connection: close; then it refuses new connections, lets a request in
// flight finish, and exits 0. The request is held in flight by a table
// lock that admin takes on lockTable; query must read that table.
func CheckGracefulShutdown(t *testing.T, env map[string]string, admin *pgxpool.Pool, lockTable, query string) {
	t.Helper()
	ctx := context.Background()
	withDrain := map[string]string{"DRAIN_PERIOD": drainPeriod.String()}
	for k, v := range env {
		withDrain[k] = v
	}
	p := StartProcess(t, withDrain)
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(p.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, p.Logs())
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := get("/readyz"); resp.StatusCode != 200 || resp.Header.Get(drain.Header) != "" {
		t.Fatalf("/readyz before SIGTERM: %d, %s %q", resp.StatusCode, drain.Header, resp.Header.Get(drain.Header))
	}

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
	terminated := time.Now()
	p.Terminate(t)
	// Draining: unready, alive, serving, every answer marked.
	for {
		if resp := get("/readyz"); resp.StatusCode == http.StatusServiceUnavailable {
			if !resp.Close || resp.Header.Get(drain.Header) != "true" {
				t.Fatalf("/readyz while draining: Close %v, %s %q", resp.Close, drain.Header, resp.Header.Get(drain.Header))
			}
			break
		}
		if time.Since(terminated) > drainPeriod/2 {
			t.Fatal("/readyz still answers 200 after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp := get("/healthz"); resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("/healthz while draining: %d, Close %v", resp.StatusCode, resp.Close)
	}
	// After the drain period: new connections are refused, the request in
	// flight still runs.
	time.Sleep(time.Until(terminated.Add(drainPeriod + 500*time.Millisecond)))
	if _, exited := p.Wait(0); exited {
		t.Fatal("the service exited with a request in flight")
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		conn.Close()
		t.Fatal("a new connection was accepted after the drain period")
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
