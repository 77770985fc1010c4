package executetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"bookstore/router/federation/benchgraph"
	"bookstore/router/federation/compose"
	"bookstore/router/federation/plan"
)

// Workload is an operation over a graph of fake subgraphs, sized for a
// benchmark: the executor's (package execute), the server's (package
// router/server).
type Workload struct {
	Name       string
	Supergraph *compose.Supergraph
	Subgraphs  map[string]*Subgraph
	Query      string
	// Passthrough is whether the plan must be a passthrough.
	Passthrough bool
}

// Memo returns a Memo over fake subgraphs that answer from w's Subgraphs.
func (w Workload) Memo(tb testing.TB) *Memo {
	tb.Helper()
	f, err := New(w.Supergraph, w.Subgraphs)
	if err != nil {
		tb.Fatal(err)
	}
	return NewMemo(f)
}

// Plan plans w's query as the gateway does (see Plan), and fails the
// test unless the plan is a passthrough exactly when w says.
func (w Workload) Plan(tb testing.TB) (*plan.Plan, map[string]any) {
	tb.Helper()
	p, vars := Plan(tb, w.Supergraph, w.Query, nil)
	if p.Passthrough != w.Passthrough {
		tb.Fatalf("Passthrough = %v, want %v", p.Passthrough, w.Passthrough)
	}
	return p, vars
}

// Workloads returns the benchmarks' workloads:
//
//   - federated: an order page of 50 orders of the bookstore, with the
//     books of their 100 lines (80 distinct) from the other subgraph;
//   - passthrough: a page of 50 books from one subgraph, its answer the
//     response as it is;
//   - entity-heavy: the federation benchmarks' query (Apollo's, The
//     Guild's, WunderGraph's) over their four subgraphs, 13 fetches three
//     hops of entities deep, about 1,300 entity objects merged, ~100 KB;
//   - big-passthrough and big-shaped: one subgraph's list of 20,000 objects
//     of eight fields, ~8 MiB, answered as it is, and shaped value by value
//     (the list is of an interface, so the router asks __typename).
func Workloads(tb testing.TB) []Workload {
	bs := Bookstore(tb)
	fed, fedSubs := FederationBenchmark(tb, 20, 30, 10)
	big, bigSubs := bigCatalog(tb)
	fields := "id sku name description price quantity active category"
	return []Workload{
		{Name: "federated", Supergraph: bs, Subgraphs: orderPage(tb), Query: `query OrderPage {
			orders(first: 50) {
				totalCount
				pageInfo { hasNextPage endCursor }
				edges { cursor node {
					id customerEmail status totalCents currency createdAt cancelledAt
					items { quantity unitPriceCents lineTotalCents book { id title author priceCents currency inStock } }
				} }
			}
		}`},
		{Name: "passthrough", Supergraph: bs, Subgraphs: bookPage(tb), Passthrough: true, Query: `query BookPage {
			books(first: 50) {
				totalCount
				pageInfo { hasNextPage endCursor }
				edges { cursor node { id isbn title author priceCents currency inStock } }
			}
		}`},
		{Name: "entity-heavy", Supergraph: fed, Subgraphs: fedSubs, Query: FederationBenchmarkQuery},
		{Name: "big-passthrough", Supergraph: big, Subgraphs: bigSubs, Passthrough: true, Query: "{ items { " + fields + " } }"},
		{Name: "big-shaped", Supergraph: big, Subgraphs: bigSubs, Query: "{ nodes { ... on Item { " + fields + " } } }"},
	}
}

// Bookstore returns the bookstore's supergraph, as @apollo/composition
// composed it (router/federation/oracle/testdata/supergraphs).
func Bookstore(tb testing.TB) *compose.Supergraph {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "oracle", "testdata", "supergraphs", "bookstore.graphql"))
	if err != nil {
		tb.Fatal(err)
	}
	sg, err := compose.ParseSupergraph(string(raw))
	if err != nil {
		tb.Fatal(err)
	}
	return sg
}

func jsonText(tb testing.TB, v any) string {
	tb.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(raw)
}

// bookData is book i of the catalogue, every field books-subgraph has.
func bookData(i int) map[string]any {
	return map[string]any{
		"id": fmt.Sprintf("b%04d", i), "isbn": fmt.Sprintf("978-0-%06d-%d", i*37, i%10),
		"title": fmt.Sprintf("The Book of Things, volume %d", i), "author": fmt.Sprintf("Author %d", i%40),
		"description": "A book about things, and about other things too.", "publishedYear": 1950 + i%70,
		"priceCents": 999 + i*10, "currency": "EUR", "stock": i % 17, "inStock": i%17 != 0,
		"createdAt": "2024-01-02T03:04:05Z", "updatedAt": "2024-05-06T07:08:09Z",
	}
}

// orderPage is the bookstore's data for 50 orders of two lines each, over
// 80 books.
func orderPage(tb testing.TB) map[string]*Subgraph {
	const nBooks = 80
	var books []any
	for i := range nBooks {
		books = append(books, bookData(i))
	}
	var edges []any
	line := 0
	for i := range 50 {
		var items []any
		for range 2 {
			book := line % nBooks
			line++
			items = append(items, map[string]any{"book": map[string]any{"id": fmt.Sprintf("b%04d", book)},
				"quantity": 1 + line%3, "unitPriceCents": 999 + book*10, "lineTotalCents": (1 + line%3) * (999 + book*10)})
		}
		edges = append(edges, map[string]any{"cursor": fmt.Sprintf("c%d", i), "node": map[string]any{
			"id": fmt.Sprintf("0f8fad5b-d9cb-469f-a165-70867728%04d", i), "customerEmail": fmt.Sprintf("buyer%d@example.com", i),
			"status": "PLACED", "items": items, "totalCents": 4242, "currency": "EUR",
			"createdAt": "2024-03-04T05:06:07Z", "cancelledAt": nil,
		}})
	}
	return map[string]*Subgraph{
		"orders": {Query: jsonText(tb, map[string]any{"orders": map[string]any{
			"edges": edges, "totalCount": 1000, "pageInfo": map[string]any{"hasNextPage": true, "endCursor": "c49"},
		}})},
		"books": {Entities: jsonText(tb, map[string]any{"Book": books})},
	}
}

// bookPage is the bookstore's data for a page of 50 books.
func bookPage(tb testing.TB) map[string]*Subgraph {
	var edges []any
	for i := range 50 {
		edges = append(edges, map[string]any{"cursor": fmt.Sprintf("c%d", i), "node": bookData(i)})
	}
	return map[string]*Subgraph{
		"books": {Query: jsonText(tb, map[string]any{"books": map[string]any{
			"edges": edges, "totalCount": 1000, "pageInfo": map[string]any{"hasNextPage": true, "endCursor": "c49"},
		}})},
	}
}

// FederationBenchmarkQuery is the federation benchmarks' query.
const FederationBenchmarkQuery = `
	fragment User on User { id username name }
	fragment Review on Review { id body }
	fragment Product on Product { inStock name price shippingEstimate upc weight }
	query TestQuery {
		users { ...User reviews { ...Review product { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } } } }
		topProducts { ...Product reviews { ...Review author { ...User reviews { ...Review product { ...Product } } } } }
	}`

// FederationBenchmark returns the federation benchmarks' four subgraphs
// (accounts, inventory, products, reviews), with the SDLs of the
// benchmark's graph (package benchgraph), and data of their own: users
// users with three reviews each, of products products that share the
// reviews evenly, the first top of them the top products.
func FederationBenchmark(tb testing.TB, users, products, top int) (*compose.Supergraph, map[string]*Subgraph) {
	sdls := map[string]string{}
	for _, sub := range benchgraph.Graph() {
		sdls[sub.Name] = sub.SDL
	}
	sg := Compose(tb, sdls)
	nReviews := users * 3
	userID := func(u int) string { return fmt.Sprintf("u%d", u) }
	upc := func(p int) string { return fmt.Sprintf("p%d", p) }
	productOf := func(r int) int { return (r * 7) % products }
	var review, user, product func(i, depth int) map[string]any
	review = func(r, depth int) map[string]any {
		return map[string]any{"id": fmt.Sprintf("r%d", r), "body": fmt.Sprintf("Review %d: a fine thing, would buy again.", r),
			"author": user(r/3, depth-1), "product": product(productOf(r), depth-1)}
	}
	user = func(u, depth int) map[string]any {
		m := map[string]any{"id": userID(u), "username": fmt.Sprintf("user%d", u)}
		if depth > 0 {
			var list []any
			for r := u * 3; r < u*3+3; r++ {
				list = append(list, review(r, depth-1))
			}
			m["reviews"] = list
		}
		return m
	}
	product = func(p, depth int) map[string]any {
		m := map[string]any{"upc": upc(p)}
		if depth > 0 {
			var list []any
			for r := range nReviews {
				if productOf(r) == p {
					list = append(list, review(r, depth-1))
				}
			}
			m["reviews"] = list
		}
		return m
	}
	var accounts, reviewUsers, reviewProducts, productList, productEnts, stock []any
	for u := range users {
		accounts = append(accounts, map[string]any{"id": userID(u), "name": fmt.Sprintf("User %d", u),
			"username": fmt.Sprintf("user%d", u), "birthday": 1234567890})
		reviewUsers = append(reviewUsers, user(u, 7))
	}
	for p := range products {
		ent := map[string]any{"upc": upc(p), "name": fmt.Sprintf("Product %d", p), "price": 100 + p, "weight": 10 + p%7}
		productEnts = append(productEnts, ent)
		if p < top {
			productList = append(productList, ent)
		}
		reviewProducts = append(reviewProducts, product(p, 7))
		stock = append(stock, map[string]any{"upc": upc(p), "inStock": p%5 != 0, "shippingEstimate": 5 + p%3})
	}
	return sg, map[string]*Subgraph{
		"accounts":  {Query: jsonText(tb, map[string]any{"users": accounts}), Entities: jsonText(tb, map[string]any{"User": accounts})},
		"products":  {Query: jsonText(tb, map[string]any{"topProducts": productList}), Entities: jsonText(tb, map[string]any{"Product": productEnts})},
		"reviews":   {Entities: jsonText(tb, map[string]any{"User": reviewUsers, "Product": reviewProducts})},
		"inventory": {Entities: jsonText(tb, map[string]any{"Product": stock})},
	}
}

// bigCatalog is one subgraph whose list of 20,000 items is ~8 MiB.
func bigCatalog(tb testing.TB) (*compose.Supergraph, map[string]*Subgraph) {
	sg := Compose(tb, map[string]string{"catalog": `
		type Query { items: [Item!]! nodes: [Node!]! }
		interface Node { id: ID! }
		enum Category { BOOKS MUSIC GAMES TOYS }
		type Item implements Node {
			id: ID! sku: String! name: String! description: String!
			price: Float! quantity: Int! active: Boolean! category: Category!
		}`})
	categories := []string{"BOOKS", "MUSIC", "GAMES", "TOYS"}
	desc := strings.Repeat("A thing of some size and some colour, sold by the piece. ", 5)
	items := make([]any, 20000)
	for i := range items {
		items[i] = map[string]any{"__typename": "Item", "id": fmt.Sprintf("item-%05d", i), "sku": fmt.Sprintf("SKU-%08d", i*7919),
			"name": fmt.Sprintf("Item number %d", i), "description": desc, "price": float64(i%1000) + 0.99,
			"quantity": i % 100, "active": i%3 != 0, "category": categories[i%4]}
	}
	return sg, map[string]*Subgraph{"catalog": {Query: jsonText(tb, map[string]any{"items": items, "nodes": items})}}
}
