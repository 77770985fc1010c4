package main

import (
	"testing"

	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/testdb"
)

func TestMain(m *testing.M) { gqltest.Main(m, main, testdb.Main) }

func TestSIGTERMDrainsRequestsInFlight(t *testing.T) {
	db := testdb.New(t)
	gqltest.CheckGracefulShutdown(t, map[string]string{"DATABASE_URL": db.OrdersURL, "ORDERS_LIST_PUBLIC": "true"},
		db.Admin, "orders.orders", `{ orders(first: 3) { totalCount } }`)
}

func TestBadOrdersListPublicExits(t *testing.T) {
	db := testdb.New(t)
	out, err := gqltest.RunProcess(t, map[string]string{"DATABASE_URL": db.OrdersURL, "ORDERS_LIST_PUBLIC": "maybe"})
	if err == nil {
		t.Fatalf("exited 0 with ORDERS_LIST_PUBLIC=maybe:\n%s", out)
	}
}
