package service

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"bookstore/graph/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// The pool's connections: statement_timeout and the other settings, and a
// statement whose context ends stops on the server too, not only in Go.
func TestPoolStopsStatements(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	pool, err := OpenPool(ctx, Config{DatabaseURL: db.OrdersURL, MaxConns: 2, StatementTimeout: 300 * time.Millisecond, IdleInTransactionTimeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	for setting, want := range map[string]string{
		"statement_timeout": "300ms", "max_parallel_workers_per_gather": "0",
		"client_connection_check_interval": "1s", "idle_in_transaction_session_timeout": "1min",
		"application_name": "bookstore", "jit": "off",
	} {
		var got string
		if err := pool.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", setting, got, err, want)
		}
	}

	_, err = pool.Exec(ctx, "SELECT pg_sleep(5)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("a statement over statement_timeout: %v, want query_canceled (57014)", err)
	}

	// A request that gives up: its statement must not go on running.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SET statement_timeout = '1min'"); err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = conn.Exec(short, "SELECT pg_sleep(30)")
	cancel()
	conn.Release()
	if err == nil {
		t.Fatal("pg_sleep(30) returned within 200 ms")
	}
	// The wait only bounds a failure: without the cancel the server would
	// sleep on for 30 s.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var active bool
		if err := db.Admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep(30)%')`, pid).Scan(&active); err != nil {
			t.Fatal(err)
		}
		if !active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the abandoned statement still runs on the server")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
