package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

func TestMigrateUpCreatesRolesAndSeeds(t *testing.T) {
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	env := map[string]string{"DATABASE_URL": db.AdminURL, "BOOKS_DB_PASSWORD": "b-secret", "ORDERS_DB_PASSWORD": "o'secret"}
	var out bytes.Buffer
	for range 2 { // re-running is harmless
		out.Reset()
		if err := run(ctx, []string{"-seed", "-books-login", "books_app_t", "-orders-login", "orders_app_t", "up"}, func(k string) string { return env[k] }, &out); err != nil {
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
	conn, err := pgx.Connect(ctx, strings.Replace(db.AdminURL, "postgres@", "orders_app_t:o'secret@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT count(*) FROM orders.orders`); err != nil {
		t.Fatalf("orders_app_t cannot read orders: %v", err)
	}
	if _, err := conn.Exec(ctx, `SELECT count(*) FROM books.books`); err == nil {
		t.Fatal("orders_app_t can read the catalogue")
	}
	out.Reset()
	if err := run(ctx, []string{"version"}, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateRejectsBadUsage(t *testing.T) {
	ctx := context.Background()
	env := func(string) string { return "" }
	for _, args := range [][]string{{}, {"sideways"}, {"up", "down"}, {"-nope", "up"}, {"up"}} {
		if err := run(ctx, args, env, &bytes.Buffer{}); err == nil {
			t.Errorf("migrate %q succeeded", args)
		}
	}
}
