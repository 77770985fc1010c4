package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/testdb"
	"bookstore/migrations"
)

// argsEnv, in a re-executed test binary, holds the arguments to run the
// command with instead of the tests.
const argsEnv = "MIGRATE_TEST_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(argsEnv); args != "" {
		if err := run(context.Background(), strings.Fields(args), os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "migrate:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(testdb.Main(m))
}

// Separate processes (replicas, or Jobs) that migrate one database at once
// leave one correct schema: the advisory lock serialises them.
func TestProcessesMigratingTogether(t *testing.T) {
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	const n = 4
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), argsEnv+"=up", "DATABASE_URL="+db.AdminURL)
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v: %s", i, err, outs[i])
		}
	}
	var rows, version int
	var dirty bool
	if err := db.Admin.QueryRow(ctx, `SELECT count(*), max(version), bool_or(dirty) FROM schema_migrations`).Scan(&rows, &version, &dirty); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || version != int(migrations.Latest()) || dirty {
		t.Fatalf("schema_migrations: %d rows, version %d, dirty %v", rows, version, dirty)
	}
	if err := migrations.Check(ctx, db.Admin); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateUpCreatesRolesAndSeeds(t *testing.T) {
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	env := map[string]string{"DATABASE_URL": db.AdminURL, "BOOKS_DB_PASSWORD": "b-secret", "ORDERS_DB_PASSWORD": "o'secret"}
	var out bytes.Buffer
	for range 2 { // re-running is harmless
		out.Reset()
		if err := run(ctx, []string{"-seed", "-books-login", "books_app_t", "-orders-login", "orders_app_t", "up"}, func(k string) string { return env[k] }, &out, &out); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(out.String(), "demo catalogue loaded") || strings.Contains(out.String(), "secret") {
		t.Fatalf("output: %s", out.String())
	}
	var books int
	if err := db.Admin.QueryRow(ctx, `SELECT count(*) FROM books.books`).Scan(&books); err != nil || books != 32 {
		t.Fatalf("%d books after seeding twice (%v), want 32", books, err)
	}
	// The login role can log in and has the orders role's rights only.
	u, err := url.Parse(db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("orders_app_t", "o'secret")
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT count(*) FROM orders.orders`); err != nil {
		t.Fatalf("orders_app_t cannot read orders: %v", err)
	}
	var user string
	if err := conn.QueryRow(ctx, `SELECT current_user`).Scan(&user); err != nil || user != "orders_app_t" {
		t.Fatalf("connected as %q (%v), want orders_app_t", user, err)
	}
	if _, err := conn.Exec(ctx, `SELECT count(*) FROM books.books`); err == nil {
		t.Fatal("orders_app_t can read the catalogue")
	}
	out.Reset()
	if err := run(ctx, []string{"version"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateRejectsBadUsage(t *testing.T) {
	ctx := context.Background()
	env := func(string) string { return "" }
	for _, args := range [][]string{{}, {"sideways"}, {"up", "down"}, {"-nope", "up"}, {"up"}} {
		var out bytes.Buffer
		if err := run(ctx, args, env, &out, &out); err == nil {
			t.Errorf("migrate %q succeeded", args)
		}
	}
}

// -wait lets a Job start before its database: it retries until the server
// answers, and gives up with a clear error when it never does.
func TestMigrateWaitsForTheDatabase(t *testing.T) {
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	env := map[string]string{"DATABASE_URL": db.AdminURL}
	var out bytes.Buffer
	if err := run(ctx, []string{"-wait=5s", "up"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("up against a running server: %v: %s", err, out.String())
	}

	// Nothing listens on a port the test just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["DATABASE_URL"] = "postgres://postgres@" + addr + "/bookstore?sslmode=disable"
	out.Reset()
	start := time.Now()
	err = run(ctx, []string{"-wait=1500ms", "up"}, func(k string) string { return env[k] }, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 1.5s") {
		t.Fatalf("up against a closed port: %v", err)
	}
	if took := time.Since(start); took < 1400*time.Millisecond || took > 10*time.Second {
		t.Errorf("gave up after %s, want about 1.5s", took)
	}
	if !strings.Contains(out.String(), "waiting for the database") {
		t.Errorf("no progress message: %q", out.String())
	}
}
