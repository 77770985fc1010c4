package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/testdb"
	"bookstore/orders-subgraph/graph"
)

// BenchmarkRequests measures what orders-subgraph spends on one request,
// from its HTTP handler down (the routes, request log, metrics, GraphQL
// and pgx; a real PostgreSQL answers): time, the process's CPU time
// (cpu-ns/op, which leaves out the wait for PostgreSQL), allocations, and
// the SQL statements it sends (statements/op). The requests are the orders
// fetch of a federated order page as the router plans it (make bench's
// comparison (B)), for pages of 20 and 50 orders of two lines each.
func BenchmarkRequests(b *testing.B) {
	db := testdb.New(b)
	db.Seed(b)
	h := gqltest.NewHandler(b, "orders-subgraph", db.OrdersURL,
		map[string]string{"ADMIN_TOKEN": adminToken, "ORDERS_LIST_PUBLIC": "true"}, graph.Build)
	// Every book in stock, so that the orders below can be placed.
	if _, err := db.Admin.Exec(b.Context(), `UPDATE books.books SET stock = 1000`); err != nil {
		b.Fatal(err)
	}
	books := testdb.Strings(b, db.Admin, `SELECT id::text FROM books.books ORDER BY isbn`)
	if len(books) < 2 {
		b.Fatalf("the seed has %d books", len(books))
	}
	for i := range 60 {
		in := input(fmt.Sprintf("bench-%d@example.com", i),
			line{books[(2*i)%len(books)], 1}, line{books[(2*i+1)%len(books)], 1 + i%2})
		var out struct {
			Data struct{ PlaceOrder struct{ ID string } }
		}
		if err := json.Unmarshal(h.Do(b, gqltest.Body(b, placeMutation, map[string]any{"in": in})), &out); err != nil || out.Data.PlaceOrder.ID == "" {
			b.Fatalf("placing order %d: %v", i, err)
		}
	}
	for _, n := range []int{20, 50} {
		b.Run(fmt.Sprintf("orders-page-%d", n), func(b *testing.B) {
			h.Bench(b, gqltest.Body(b, fmt.Sprintf(`query {orders(first: %d) {edges {node {items {quantity book {__typename _k_id: id}}}}}}`, n), nil))
		})
	}
}
