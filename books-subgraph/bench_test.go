package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"bookstore/books-subgraph/graph"
	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/testdb"
)

// The requests the router sends books-subgraph, as it plans them: the
// books page of make bench's comparison (A), and the entity fetch of a
// federated order page (make bench's comparison (B)).
const (
	benchBooksPage = `query {books(first: 20) {edges {node {id title author priceCents}}}}`
	benchEntities  = `query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Book {title priceCents}}}`
)

// BenchmarkRequests measures what books-subgraph spends on one request,
// from its HTTP handler down (the routes, request log, metrics, GraphQL
// and pgx; a real PostgreSQL answers): time, the process's CPU time
// (cpu-ns/op, which leaves out the wait for PostgreSQL), allocations, and
// the SQL statements it sends (statements/op).
func BenchmarkRequests(b *testing.B) {
	db := testdb.New(b)
	db.Seed(b)
	// The seed has 32 books; an order page may name up to 100.
	for i := range 28 {
		if _, err := db.Admin.Exec(context.Background(), `INSERT INTO books.books (isbn, title, author, price_cents, stock)
VALUES ($1, $2, 'Bench Author', $3, 10)`, testdb.ISBN(900+i), fmt.Sprintf("Bench Book %d", i), 1000+i); err != nil {
			b.Fatal(err)
		}
	}
	h := gqltest.NewHandler(b, "books-subgraph", db.BooksURL, map[string]string{"ADMIN_TOKEN": adminToken}, graph.Build)
	var all struct {
		Data struct {
			Books struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
	}
	if err := json.Unmarshal(h.Do(b, gqltest.Body(b, `{ books(first: 100) { edges { node { id } } } }`, nil)), &all); err != nil {
		b.Fatal(err)
	}
	reps := func(n int) map[string]any {
		if n > len(all.Data.Books.Edges) {
			b.Fatalf("want %d books, have %d", n, len(all.Data.Books.Edges))
		}
		out := make([]any, n)
		for i := range n {
			out[i] = map[string]any{"__typename": "Book", "id": all.Data.Books.Edges[i].Node.ID}
		}
		return map[string]any{"representations0": out}
	}
	for _, bc := range []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"books-page-20", benchBooksPage, nil},
		{"entities-20", benchEntities, reps(20)},
		{"entities-60", benchEntities, reps(60)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h.Bench(b, gqltest.Body(b, bc.query, bc.vars))
		})
	}
}
