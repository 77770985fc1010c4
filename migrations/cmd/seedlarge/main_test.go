package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"bookstore/graph/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// seedlarge refuses a database that is not the dev one unless told, then
// loads it, and a second run says it is loaded.
func TestRefusesAnotherDatabaseUnlessTold(t *testing.T) {
	db := testdb.New(t)
	getenv := func(string) string { return "" }
	small := []string{"-database", db.AdminURL, "-books", "100", "-orders", "200", "-data", t.TempDir()}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"not the dev database", small, "refusing to load: this is not the make run database", ""},
		{"told explicitly", append(small, "-any-database"), "", "loaded 100 books and 200 orders"},
		{"a second run", append(small, "-any-database"), "", "already loaded: 100 generated books and 200 generated orders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := run(context.Background(), tc.args, getenv, &out, &errOut)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v\n%s", err, out.String())
			case !strings.Contains(out.String(), tc.wantOut):
				t.Fatalf("output lacks %q:\n%s", tc.wantOut, out.String())
			}
		})
	}
	var n int
	if err := db.Admin.QueryRow(context.Background(), `SELECT count(*) FROM orders.orders`).Scan(&n); err != nil || n != 200 {
		t.Fatalf("%d orders (%v), want 200", n, err)
	}
}
