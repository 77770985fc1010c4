package main

import (
	"strings"
	"testing"

	"bookstore/graph/gqltest"
	"bookstore/graph/testdb"
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
