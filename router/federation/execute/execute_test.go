package execute_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/execute/executetest"
)

// The shop is the graph most cases run on: products owns Product, and
// inventory, reviews and users extend it; reviews points at users'
// User, two levels of entities down from a product.
const (
	productsSDL = `
		type Query {
			product(id: ID!): Product
			products: [Product!]!
			topProduct: Product!
			node(id: ID!): Node
			search: [SearchResult!]!
		}
		interface Node { id: ID! }
		type Product implements Node @key(fields: "id") {
			id: ID!
			name: String!
			price: Int
			tags: [String!]
		}
		type Article implements Node { id: ID! title: String! }
		union SearchResult = Product | Article
	`
	inventorySDL = `
		type Product @key(fields: "id") {
			id: ID!
			stock: Int!
			shipping: Int
		}
	`
	reviewsSDL = `
		type Query {
			review(id: ID!): Review
			latestReviews: [Review!]
		}
		type Mutation { addReview(productId: ID!, body: String!): Review! }
		type Product @key(fields: "id") {
			id: ID!
			reviews: [Review!]!
			rating: Float
		}
		type Review @key(fields: "id") {
			id: ID!
			body: String!
			stars: Int
			author: User!
			product: Product
		}
		type User @key(fields: "id") { id: ID! }
	`
	usersSDL = `
		type Query { me: User }
		type User @key(fields: "id") { id: ID! name: String! email: String }
	`
)

func shop(t *testing.T) *compose.Supergraph {
	return executetest.Compose(t, map[string]string{
		"products":  productsSDL,
		"inventory": inventorySDL,
		"reviews":   reviewsSDL,
		"users":     usersSDL,
	})
}

type subgraphs = map[string]*executetest.Subgraph

// shopData is the shop's data, fresh for each case to change.
func shopData() subgraphs {
	return subgraphs{
		"products": {
			Query: `{
				"product": {
					"1": {"id": "1", "name": "Pen", "price": 3, "tags": ["office"]},
					"2": {"id": "2", "name": "Ink", "price": 5, "tags": []},
					"3": {"id": "3", "name": "Pad", "price": null, "tags": null}
				},
				"products": [
					{"id": "1", "name": "Pen", "price": 3, "tags": ["office"]},
					{"id": "2", "name": "Ink", "price": 5, "tags": []},
					{"id": "3", "name": "Pad", "price": null, "tags": null}
				],
				"topProduct": {"id": "1", "name": "Pen", "price": 3, "tags": ["office"]},
				"node": {
					"1": {"__typename": "Product", "id": "1", "name": "Pen"},
					"a1": {"__typename": "Article", "id": "a1", "title": "On ink"}
				},
				"search": [
					{"__typename": "Product", "id": "1", "name": "Pen"},
					{"__typename": "Article", "id": "a1", "title": "On ink"}
				]
			}`,
			Entities: `{"Product": [
				{"id": "1", "name": "Pen", "price": 3, "tags": ["office"]},
				{"id": "2", "name": "Ink", "price": 5, "tags": []},
				{"id": "3", "name": "Pad", "price": null, "tags": null}
			]}`,
			Resolve: executetest.ByArgument("id"),
		},
		"inventory": {
			Entities: `{"Product": [
				{"id": "1", "stock": 7, "shipping": 2},
				{"id": "2", "stock": 0, "shipping": 4},
				{"id": "3", "stock": 12, "shipping": null}
			]}`,
		},
		"reviews": {
			Query: `{
				"review": {
					"r1": {"id": "r1", "body": "Writes well", "stars": 5, "author": {"id": "u1"}, "product": {"id": "1"}},
					"r2": {"id": "r2", "body": "Leaks", "stars": 2, "author": {"id": "u2"}, "product": {"id": "1"}},
					"r3": {"id": "r3", "body": "Dark blue", "stars": 4, "author": {"id": "u1"}, "product": {"id": "2"}}
				},
				"latestReviews": [
					{"id": "r3", "body": "Dark blue", "stars": 4, "author": {"id": "u1"}, "product": {"id": "2"}},
					{"id": "r1", "body": "Writes well", "stars": 5, "author": {"id": "u1"}, "product": {"id": "1"}}
				]
			}`,
			Mutation: `{"addReview": {"id": "r9", "body": "Fine", "stars": null, "author": {"id": "u2"}, "product": {"id": "2"}}}`,
			Entities: `{"Product": [
				{"id": "1", "rating": 4.5, "reviews": [
					{"id": "r1", "body": "Writes well", "stars": 5, "author": {"id": "u1"}},
					{"id": "r2", "body": "Leaks", "stars": 2, "author": {"id": "u2"}}
				]},
				{"id": "2", "rating": null, "reviews": [
					{"id": "r3", "body": "Dark blue", "stars": 4, "author": {"id": "u1"}}
				]},
				{"id": "3", "rating": 3.0, "reviews": []}
			]}`,
			Resolve: executetest.ByArgument("id"),
		},
		"users": {
			Query: `{"me": {"id": "u1", "name": "Ann", "email": "ann@example.com"}}`,
			Entities: `{"User": [
				{"id": "u1", "name": "Ann", "email": "ann@example.com"},
				{"id": "u2", "name": "Bob", "email": null}
			]}`,
		},
	}
}

// rep is the representation of an entity keyed by id, as the fake
// records it (JSON with sorted keys).
func rep(typename, id string) string {
	return fmt.Sprintf(`{"__typename":%q,"id":%q}`, typename, id)
}

// testCase is one operation on a graph: the data its subgraphs hold, and
// the response and requests it must make.
type testCase struct {
	name string
	// edit changes the graph's data for this case.
	edit  func(s subgraphs)
	query string
	vars  map[string]any
	// data is the response's data, compared as compact JSON, key order
	// included; errs its errors, in any order.
	data string
	errs []executetest.WantError
	// calls, when set, is how many requests each subgraph got; a
	// subgraph not listed must get none.
	calls map[string]int
	// reps, when set, lists the representations each subgraph listed got,
	// in the order sent.
	reps map[string][]string
	// check, when set, makes further checks.
	check func(t *testing.T, o *executetest.Outcome)
	// bug, when set, names a known bug that makes the case fail: it is
	// skipped.
	bug string
}

func run(t *testing.T, sg *compose.Supergraph, data func() subgraphs, cases []testCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bug != "" {
				t.Skip("known bug: " + tc.bug)
			}
			s := data()
			if tc.edit != nil {
				tc.edit(s)
			}
			o := executetest.Run(t, sg, s, tc.query, tc.vars)
			o.Check(t, tc.data, tc.errs)
			if tc.calls != nil {
				for _, g := range sg.Graphs {
					if got, want := len(o.Fetcher.Calls(g.Name)), tc.calls[g.Name]; got != want {
						t.Errorf("subgraph %s got %d requests, want %d", g.Name, got, want)
					}
				}
			}
			for _, g := range slices.Sorted(maps.Keys(tc.reps)) {
				var got []string
				for _, r := range o.Fetcher.Calls(g) {
					got = append(got, r.Representations...)
				}
				if !slices.Equal(got, tc.reps[g]) {
					t.Errorf("subgraph %s got representations\n %v\nwant\n %v", g, got, tc.reps[g])
				}
			}
			if tc.check != nil {
				tc.check(t, o)
			}
			if t.Failed() {
				for _, r := range o.Fetcher.Requests() {
					t.Logf("request to %s: %s %v", r.Subgraph, r.Query, r.Representations)
				}
			}
		})
	}
}

// noValueCompletion checks that the response has no
// extensions.valueCompletion: its nulls are errors.
func noValueCompletion(t *testing.T, o *executetest.Outcome) {
	t.Helper()
	if v, ok := o.Result.Extensions["valueCompletion"]; ok {
		t.Errorf("extensions.valueCompletion = %v; want the nulls as errors", v)
	}
}

func passthrough(want bool) func(t *testing.T, o *executetest.Outcome) {
	return func(t *testing.T, o *executetest.Outcome) {
		t.Helper()
		if o.Plan.Passthrough != want {
			t.Errorf("Passthrough = %v, want %v", o.Plan.Passthrough, want)
		}
	}
}

func TestMerge(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name:  "entity fields of three subgraphs merge into one object, in the client's order",
			query: `{ product(id: "1") { stock name rating price shipping } }`,
			data:  `{"product":{"stock":7,"name":"Pen","rating":4.5,"price":3,"shipping":2}}`,
			calls: map[string]int{"products": 1, "inventory": 1, "reviews": 1},
			reps: map[string][]string{
				"products":  nil,
				"inventory": {rep("Product", "1")},
				"reviews":   {rep("Product", "1")},
			},
		},
		{
			name:  "list items keep their order, each completed by its own entity",
			query: `{ products { name stock } }`,
			data:  `{"products":[{"name":"Pen","stock":7},{"name":"Ink","stock":0},{"name":"Pad","stock":12}]}`,
			calls: map[string]int{"products": 1, "inventory": 1},
			reps:  map[string][]string{"inventory": {rep("Product", "1"), rep("Product", "2"), rep("Product", "3")}},
		},
		{
			name:  "entities nested two levels deep",
			query: `{ products { name reviews { body author { name } } } }`,
			data: `{"products":[
				{"name":"Pen","reviews":[{"body":"Writes well","author":{"name":"Ann"}},{"body":"Leaks","author":{"name":"Bob"}}]},
				{"name":"Ink","reviews":[{"body":"Dark blue","author":{"name":"Ann"}}]},
				{"name":"Pad","reviews":[]}]}`,
			calls: map[string]int{"products": 1, "reviews": 1, "users": 1},
			reps: map[string][]string{
				"reviews": {rep("Product", "1"), rep("Product", "2"), rep("Product", "3")},
				"users":   {rep("User", "u1"), rep("User", "u2")},
			},
		},
		{
			name: "root fields answer in the client's order, whichever subgraph answers first",
			edit: func(s subgraphs) {
				s["users"].Delay = 5 * time.Millisecond
			},
			query: `{ me { name } topProduct { name } }`,
			data:  `{"me":{"name":"Ann"},"topProduct":{"name":"Pen"}}`,
			calls: map[string]int{"products": 1, "users": 1},
		},
		{
			name:  "aliases, and one field under two aliases",
			query: `{ p: product(id: "2") { a: stock n: name b: stock } }`,
			data:  `{"p":{"a":0,"n":"Ink","b":0}}`,
			calls: map[string]int{"products": 1, "inventory": 1},
		},
		{
			name:  "two root aliases of one field, each completed by its own entity path",
			query: `{ a: product(id: "1") { stock } b: product(id: "2") { name stock } }`,
			data:  `{"a":{"stock":7},"b":{"name":"Ink","stock":0}}`,
			calls: map[string]int{"products": 1, "inventory": 1},
			reps:  map[string][]string{"inventory": {rep("Product", "1"), rep("Product", "2")}},
		},
		{
			name:  "fragments are flattened in the client's order",
			query: `{ product(id: "1") { ...P stock } } fragment P on Product { name stock rating }`,
			data:  `{"product":{"name":"Pen","stock":7,"rating":4.5}}`,
		},
		{
			name:  "an interface's implementations: only entities are fetched",
			query: `{ a: node(id: "a1") { id ... on Product { stock } } p: node(id: "1") { id ... on Product { stock } } }`,
			data:  `{"a":{"id":"a1"},"p":{"id":"1","stock":7}}`,
			reps:  map[string][]string{"inventory": {rep("Product", "1")}},
		},
		{
			name:  "union members each get their own fields and entities",
			query: `{ search { __typename ... on Product { name stock } ... on Article { title } } }`,
			data:  `{"search":[{"__typename":"Product","name":"Pen","stock":7},{"__typename":"Article","title":"On ink"}]}`,
			calls: map[string]int{"products": 1, "inventory": 1},
			reps:  map[string][]string{"inventory": {rep("Product", "1")}},
		},
		{
			name:  "a mutation's result is completed by entity fetches",
			query: `mutation { addReview(productId: "2", body: "Fine") { body author { name } product { name stock } } }`,
			data:  `{"addReview":{"body":"Fine","author":{"name":"Bob"},"product":{"name":"Ink","stock":0}}}`,
			calls: map[string]int{"reviews": 1, "users": 1, "products": 1, "inventory": 1},
			check: func(t *testing.T, o *executetest.Outcome) {
				if r := o.Fetcher.Calls("reviews"); len(r) != 1 || !r[0].Mutation {
					t.Errorf("the mutation was not sent as one: %+v", r)
				}
			},
		},
	})
}

func TestDedup(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name:  "an entity at several list positions is sent once and lands in each",
			query: `{ products { reviews { author { name } } } }`,
			data: `{"products":[
				{"reviews":[{"author":{"name":"Ann"}},{"author":{"name":"Bob"}}]},
				{"reviews":[{"author":{"name":"Ann"}}]},
				{"reviews":[]}]}`,
			calls: map[string]int{"products": 1, "reviews": 1, "users": 1},
			reps:  map[string][]string{"users": {rep("User", "u1"), rep("User", "u2")}},
		},
		{
			name: "a list item repeated is one representation",
			edit: func(s subgraphs) {
				s["products"].Query = `{"products": [{"id": "1", "name": "Pen"}, {"id": "2", "name": "Ink"}, {"id": "1", "name": "Pen"}]}`
			},
			query: `{ products { id stock } }`,
			data:  `{"products":[{"id":"1","stock":7},{"id":"2","stock":0},{"id":"1","stock":7}]}`,
			reps:  map[string][]string{"inventory": {rep("Product", "1"), rep("Product", "2")}},
		},
		{
			name:  "each path has its own representations, each deduplicated",
			query: `{ latestReviews { author { name } } review(id: "r2") { author { name } } }`,
			data:  `{"latestReviews":[{"author":{"name":"Ann"}},{"author":{"name":"Ann"}}],"review":{"author":{"name":"Bob"}}}`,
			calls: map[string]int{"reviews": 1, "users": 1},
			reps:  map[string][]string{"users": {rep("User", "u1"), rep("User", "u2")}},
		},
	})
}

func TestEntityErrors(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name: "an entity field's error lands at its client path",
			edit: func(s subgraphs) {
				s["inventory"].Entities = `{"Product": [
					{"id": "1", "shipping": 2},
					{"id": "2", "shipping": {"$error": "no rates", "$code": "RATES_DOWN"}},
					{"id": "3", "shipping": null}]}`
			},
			query: `{ products { name shipping } }`,
			data:  `{"products":[{"name":"Pen","shipping":2},{"name":"Ink","shipping":null},{"name":"Pad","shipping":null}]}`,
			errs:  []executetest.WantError{{Message: "no rates", Path: []any{"products", 1, "shipping"}, Code: "RATES_DOWN"}},
		},
		{
			name: "a deduplicated representation's error lands at every path it stood for",
			edit: func(s subgraphs) {
				s["products"].Query = `{"products": [{"id": "1", "name": "Pen"}, {"id": "2", "name": "Ink"}, {"id": "1", "name": "Pen"}]}`
				s["inventory"].Entities = `{"Product": [
					{"id": "1", "shipping": {"$error": "no rates"}},
					{"id": "2", "shipping": 4}]}`
			},
			query: `{ products { name shipping } }`,
			data:  `{"products":[{"name":"Pen","shipping":null},{"name":"Ink","shipping":4},{"name":"Pen","shipping":null}]}`,
			errs: []executetest.WantError{
				{Message: "no rates", Path: []any{"products", 0, "shipping"}, Code: "INTERNAL_SERVER_ERROR"},
				{Message: "no rates", Path: []any{"products", 2, "shipping"}, Code: "INTERNAL_SERVER_ERROR"},
			},
			reps: map[string][]string{"inventory": {rep("Product", "1"), rep("Product", "2")}},
		},
		{
			name: "the client's aliases are honoured",
			edit: func(s subgraphs) {
				s["inventory"].Entities = `{"Product": [
					{"id": "1", "shipping": 2},
					{"id": "2", "shipping": {"$error": "no rates"}},
					{"id": "3", "shipping": 1}]}`
			},
			query: `{ list: products { cost: shipping } }`,
			data:  `{"list":[{"cost":2},{"cost":null},{"cost":1}]}`,
			errs:  []executetest.WantError{{Message: "no rates", Path: []any{"list", 1, "cost"}}},
		},
		{
			name: "two levels down, one representation for two paths",
			edit: func(s subgraphs) {
				s["users"].Entities = `{"User": [
					{"id": "u1", "email": {"$error": "hidden"}},
					{"id": "u2", "email": null}]}`
			},
			query: `{ products { reviews { author { email } } } }`,
			data: `{"products":[
				{"reviews":[{"author":{"email":null}},{"author":{"email":null}}]},
				{"reviews":[{"author":{"email":null}}]},
				{"reviews":[]}]}`,
			errs: []executetest.WantError{
				{Message: "hidden", Path: []any{"products", 0, "reviews", 0, "author", "email"}},
				{Message: "hidden", Path: []any{"products", 1, "reviews", 0, "author", "email"}},
			},
			reps: map[string][]string{"users": {rep("User", "u1"), rep("User", "u2")}},
		},
		{
			name: "an error on the whole entity nulls it and bubbles from the non-null field",
			edit: func(s subgraphs) {
				s["users"].Entities = `{"User": [{"id": "u2", "$error": "user banned", "$code": "FORBIDDEN"}]}`
			},
			query: `{ review(id: "r2") { body author { name } } product(id: "1") { name } }`,
			data:  `{"review":null,"product":{"name":"Pen"}}`,
			errs:  []executetest.WantError{{Message: "user banned", Path: []any{"review", "author"}, Code: "FORBIDDEN"}},
		},
		{
			name: "an error deep inside an entity's answer",
			edit: func(s subgraphs) {
				s["reviews"].Entities = `{"Product": [{"id": "1", "reviews": [
					{"id": "r1", "body": "Writes well", "stars": 5},
					{"id": "r2", "body": {"$error": "body lost"}, "stars": 2}]}]}`
			},
			query: `{ product(id: "1") { name reviews { stars body } } }`,
			// body is String! in [Review!]! of a non-null field: the
			// product, the nearest nullable position, is null.
			data: `{"product":null}`,
			errs: []executetest.WantError{{Message: "body lost", Path: []any{"product", "reviews", 1, "body"}}},
		},
		{
			name: "an error under a key the planner added is pathed at its object",
			edit: func(s subgraphs) {
				s["products"].Query = `{"product": {"1": {"id": {"$error": "id lost"}, "name": "Pen"}}}`
			},
			query: `{ product(id: "1") { name shipping } }`,
			// With no key the product cannot be completed: shipping is
			// null, and no request is made for it.
			data:  `{"product":{"name":"Pen","shipping":null}}`,
			errs:  []executetest.WantError{{Message: "id lost", Path: []any{"product"}}},
			calls: map[string]int{"products": 1},
		},
		{
			name: "an entity fetch's error with no path keeps none",
			edit: func(s subgraphs) {
				s["inventory"].Errors = []string{"inventory is rebuilding"}
			},
			query: `{ product(id: "1") { name shipping } }`,
			data:  `{"product":{"name":"Pen","shipping":null}}`,
			errs:  []executetest.WantError{{Message: "inventory is rebuilding", Code: "INTERNAL_SERVER_ERROR"}},
		},
	})
}

func TestNullPropagation(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			// The specification's CompleteValue: a null in a non-null
			// position is a field error. (Apollo Gateway reports it only
			// in extensions.valueCompletion.)
			name: "an unknown entity nulls the nearest nullable parent, with an error at the non-null field",
			edit: func(s subgraphs) {
				s["inventory"].Entities = `{"Product": [{"id": "2", "stock": 0}]}`
			},
			query: `{ product(id: "1") { name stock } }`,
			data:  `{"product":null}`,
			errs: []executetest.WantError{{Message: "Cannot return null for non-nullable field Product.stock.",
				Path: []any{"product", "stock"}, Code: "INTERNAL_SERVER_ERROR"}},
			check: noValueCompletion,
		},
		{
			name: "a null item of a non-null list nulls the list's parent, up to data",
			edit: func(s subgraphs) {
				s["inventory"].Entities = `{"Product": [
					{"id": "1", "stock": 7},
					{"id": "2", "stock": {"$error": "count failed"}},
					{"id": "3", "stock": 12}]}`
			},
			query: `{ products { name stock } }`,
			data:  `null`,
			errs:  []executetest.WantError{{Message: "count failed", Path: []any{"products", 1, "stock"}}},
		},
		{
			name: "a non-null root field's null makes data null",
			edit: func(s subgraphs) {
				s["products"].Query = `{"topProduct": {"$error": "no top product"}}`
			},
			query: `{ topProduct { name } me { name } }`,
			data:  `null`,
			errs:  []executetest.WantError{{Message: "no top product", Path: []any{"topProduct"}}},
		},
		{
			name: "siblings of a nulled field survive",
			edit: func(s subgraphs) {
				s["users"].Entities = `{"User": [{"id": "u1", "name": "Ann"}]}`
			},
			query: `{ product(id: "1") { name } review(id: "r2") { body author { name } } me { name } }`,
			data:  `{"product":{"name":"Pen"},"review":null,"me":{"name":"Ann"}}`,
			errs: []executetest.WantError{{Message: "Cannot return null for non-nullable field User.name.",
				Path: []any{"review", "author", "name"}, Code: "INTERNAL_SERVER_ERROR"}},
		},
		{
			name: "a null item of a nullable list nulls the list only",
			edit: func(s subgraphs) {
				s["users"].Entities = `{"User": [{"id": "u1", "name": {"$error": "name withheld"}}]}`
			},
			query: `{ latestReviews { body author { name } } me { name } }`,
			data:  `{"latestReviews":null,"me":{"name":"Ann"}}`,
			errs: []executetest.WantError{
				{Message: "name withheld", Path: []any{"latestReviews", 0, "author", "name"}},
				{Message: "name withheld", Path: []any{"latestReviews", 1, "author", "name"}},
			},
		},
		{
			name: "a nullable list with a null non-null item is null, its siblings stay",
			edit: func(s subgraphs) {
				s["products"].Query = `{"product": {"1": {"id": "1", "name": "Pen", "tags": ["office", {"$error": "bad tag"}]}}}`
			},
			query: `{ product(id: "1") { name tags stock } }`,
			data:  `{"product":{"name":"Pen","tags":null,"stock":7}}`,
			errs:  []executetest.WantError{{Message: "bad tag", Path: []any{"product", "tags", 1}}},
		},
	})
}

func TestPassthrough(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name:  "the subgraph's data is the response",
			query: `{ product(id: "1") { id name price } }`,
			data:  `{"product":{"id":"1","name":"Pen","price":3}}`,
			calls: map[string]int{"products": 1},
			check: passthrough(true),
		},
		{
			name: "a subgraph error keeps its path and code",
			edit: func(s subgraphs) {
				s["products"].Query = `{"product": {"1": {"id": "1", "name": "Pen", "price": {"$error": "price gone", "$code": "PRICE_GONE"}}}}`
			},
			query: `{ product(id: "1") { id name price } }`,
			data:  `{"product":{"id":"1","name":"Pen","price":null}}`,
			errs:  []executetest.WantError{{Message: "price gone", Path: []any{"product", "price"}, Code: "PRICE_GONE"}},
			check: passthrough(true),
		},
		{
			name:  "the root's __typename is the router's: no passthrough",
			query: `{ __typename product(id: "1") { name } }`,
			data:  `{"__typename":"Query","product":{"name":"Pen"}}`,
			check: passthrough(false),
		},
		{
			name:  "a subgraph that cannot be reached nulls its fields",
			edit:  func(s subgraphs) { s["products"].Unavailable = true },
			query: `{ product(id: "1") { name } }`,
			data:  `{"product":null}`,
			errs:  []executetest.WantError{{Message: `"products"`, Code: "SUBGRAPH_UNAVAILABLE"}},
		},
		{
			name:  "a subgraph that cannot be reached, under a non-null root field",
			edit:  func(s subgraphs) { s["products"].Unavailable = true },
			query: `{ topProduct { name } }`,
			data:  `null`,
			errs:  []executetest.WantError{{Message: `"products"`, Code: "SUBGRAPH_UNAVAILABLE"}},
		},
		{
			name: "a body that is not GraphQL",
			edit: func(s subgraphs) {
				s["products"].Body, s["products"].Status = "<html>bad gateway</html>", 502
			},
			query: `{ product(id: "1") { name } }`,
			data:  `{"product":null}`,
			errs:  []executetest.WantError{{Message: "invalid response", Code: "INTERNAL_SERVER_ERROR"}},
		},
		{
			name:  "data null with errors",
			edit:  func(s subgraphs) { s["products"].Errors = []string{"not authorized"} },
			query: `{ product(id: "1") { name } }`,
			data:  `{"product":null}`,
			errs:  []executetest.WantError{{Message: "not authorized", Code: "INTERNAL_SERVER_ERROR"}},
		},
	})
}

func TestUnexpectedTypename(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name: "an interface field answered with a type the schema does not know",
			edit: func(s subgraphs) {
				s["products"].Query = `{"node": {"x": {"__typename": "Ghost", "id": "x"}}}`
			},
			query: `{ node(id: "x") { id } me { name } }`,
			data:  `{"node":null,"me":{"name":"Ann"}}`,
			errs:  []executetest.WantError{{Message: `"Ghost"`, Path: []any{"node"}, Code: "INTERNAL_SERVER_ERROR"}},
		},
		{
			name: "a union item of a type that is not a member, in a non-null list",
			edit: func(s subgraphs) {
				s["products"].Query = `{"search": [
					{"__typename": "Product", "id": "1", "name": "Pen"},
					{"__typename": "User", "id": "u1"}]}`
			},
			query: `{ search { __typename ... on Product { name } } }`,
			data:  `null`,
			errs:  []executetest.WantError{{Message: `"User"`, Path: []any{"search", 1}, Code: "INTERNAL_SERVER_ERROR"}},
		},
		{
			name: "an object field answered with another type's name",
			edit: func(s subgraphs) {
				s["products"].Query = `{"product": {"1": {"__typename": "Ghost", "id": "1", "name": "Pen"}}}`
			},
			query: `{ product(id: "1") { name stock } me { name } }`,
			data:  `{"product":null,"me":{"name":"Ann"}}`,
			errs:  []executetest.WantError{{Message: `"Ghost"`, Path: []any{"product"}, Code: "INTERNAL_SERVER_ERROR"}},
			// No representation is made of an object of a type the
			// fetch is not for.
			calls: map[string]int{"products": 1, "users": 1},
		},
	})
}

// A client may use response keys that look like the planner's internal
// aliases; they are the client's, errors under them keep their path, and
// the planner's own fields never take them.
func TestInternalAliasLookalikes(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name: "in a passthrough",
			edit: func(s subgraphs) {
				s["products"].Query = `{"product": {"1": {"id": "1", "price": {"$error": "price gone"}}}}`
			},
			query: `{ product(id: "1") { _k_price: price } }`,
			data:  `{"product":{"_k_price":null}}`,
			errs:  []executetest.WantError{{Message: "price gone", Path: []any{"product", "_k_price"}}},
			check: passthrough(true),
		},
		{
			name: "in an entity fetch",
			edit: func(s subgraphs) {
				s["inventory"].Entities = `{"Product": [{"id": "1", "shipping": {"$error": "no rates"}}]}`
			},
			query: `{ product(id: "1") { name _k_shipping: shipping } }`,
			data:  `{"product":{"name":"Pen","_k_shipping":null}}`,
			errs:  []executetest.WantError{{Message: "no rates", Path: []any{"product", "_k_shipping"}}},
		},
		{
			name: "the alias of the key the planner adds",
			edit: func(s subgraphs) {
				s["products"].Query = `{"product": {"1": {"id": "1", "name": "Pen", "price": {"$error": "price gone"}}}}`
			},
			query: `{ product(id: "1") { _k_id: price stock } }`,
			data:  `{"product":{"_k_id":null,"stock":7}}`,
			errs:  []executetest.WantError{{Message: "price gone", Path: []any{"product", "_k_id"}}},
		},
		{
			name:  "the alias of the key the planner adds, on a field of another subgraph",
			query: `{ product(id: "1") { _k_id: rating stock } }`,
			data:  `{"product":{"_k_id":4.5,"stock":7}}`,
			reps:  map[string][]string{"inventory": {rep("Product", "1")}, "reviews": {rep("Product", "1")}},
		},
	})
}

// A client may alias another field __typename; the planner's own
// __typename, which the executor reads types from, must not be that key.
func TestTypenameAlias(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name:  "on an object an entity fetch completes",
			query: `{ product(id: "1") { __typename: name stock } }`,
			data:  `{"product":{"__typename":"Pen","stock":7}}`,
			reps:  map[string][]string{"inventory": {rep("Product", "1")}},
		},
		{
			name:  "on an object of a concrete type, in a plan of two fetches",
			query: `{ product(id: "1") { __typename: name } me { name } }`,
			data:  `{"product":{"__typename":"Pen"},"me":{"name":"Ann"}}`,
		},
		{
			name:  "on an interface",
			query: `{ node(id: "1") { __typename: id ... on Product { stock } } }`,
			data:  `{"node":{"__typename":"1","stock":7}}`,
		},
		{
			name:  "next to a real __typename elsewhere",
			query: `{ product(id: "1") { __typename stock } p: product(id: "2") { __typename: name stock } }`,
			data:  `{"product":{"__typename":"Product","stock":7},"p":{"__typename":"Ink","stock":0}}`,
		},
		{
			name:  "in a passthrough",
			query: `{ product(id: "1") { __typename: name } }`,
			data:  `{"product":{"__typename":"Pen"}}`,
			check: passthrough(true),
		},
	})
}

// The fleet has a key that the subgraph a craft comes from does not have:
// missions knows a craft by id, telemetry by registry, and fleet knows
// both, so telemetry's fields need a hop through fleet.
func fleet(t *testing.T) *compose.Supergraph {
	return executetest.Compose(t, map[string]string{
		"missions": `
			type Query { missions: [Mission!]! }
			type Mission { name: String! craft: Craft! }
			type Craft @key(fields: "id") { id: ID! }`,
		"fleet": `
			type Craft @key(fields: "id") @key(fields: "registry") { id: ID! registry: String! name: String! }`,
		"telemetry": `
			type Craft @key(fields: "registry") { registry: String! lastContact: String }`,
		"crew": `
			type Craft @key(fields: "id") { id: ID! crewSize: Int }`,
	})
}

func fleetData() subgraphs {
	return subgraphs{
		"missions": {Query: `{"missions": [{"name": "M1", "craft": {"id": "c1"}}, {"name": "M2", "craft": {"id": "c2"}}]}`},
		"fleet": {Entities: `{"Craft": [
			{"id": "c1", "registry": "NCC-1", "name": "Endeavour"},
			{"id": "c2", "registry": "NCC-2", "name": "Discovery"}]}`},
		"telemetry": {Entities: `{"Craft": [
			{"registry": "NCC-1", "lastContact": "2026-01-01"},
			{"registry": "NCC-2", "lastContact": "2026-02-02"}]}`},
		"crew": {Entities: `{"Craft": [{"id": "c1", "crewSize": 4}, {"id": "c2", "crewSize": 6}]}`},
	}
}

func TestInternalAliasLookalikesAcrossFetches(t *testing.T) {
	run(t, fleet(t), fleetData, []testCase{
		{
			name:  "a key hop with no lookalike",
			query: `{ missions { craft { lastContact name } } }`,
			data:  `{"missions":[{"craft":{"lastContact":"2026-01-01","name":"Endeavour"}},{"craft":{"lastContact":"2026-02-02","name":"Discovery"}}]}`,
			reps: map[string][]string{
				"fleet":     {rep("Craft", "c1"), rep("Craft", "c2")},
				"telemetry": {`{"__typename":"Craft","registry":"NCC-1"}`, `{"__typename":"Craft","registry":"NCC-2"}`},
			},
		},
		{
			name:  "the hop's key and a client field in one fetch",
			query: `{ missions { craft { lastContact _k_registry: name } } }`,
			data:  `{"missions":[{"craft":{"lastContact":"2026-01-01","_k_registry":"Endeavour"}},{"craft":{"lastContact":"2026-02-02","_k_registry":"Discovery"}}]}`,
		},
		{
			name: "the hop's key and a client field of a parallel fetch",
			edit: func(s subgraphs) {
				// fleet answers last, after crew's data is merged.
				s["fleet"].Delay = 5 * time.Millisecond
			},
			query: `{ missions { craft { lastContact _k_registry: crewSize } } }`,
			data:  `{"missions":[{"craft":{"lastContact":"2026-01-01","_k_registry":4}},{"craft":{"lastContact":"2026-02-02","_k_registry":6}}]}`,
		},
	})
}

func TestUnavailable(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name:  "an entity subgraph down nulls the fields it would fill, with one error",
			edit:  func(s subgraphs) { s["inventory"].Unavailable = true },
			query: `{ products { name shipping } }`,
			data:  `{"products":[{"name":"Pen","shipping":null},{"name":"Ink","shipping":null},{"name":"Pad","shipping":null}]}`,
			errs:  []executetest.WantError{{Message: `"inventory"`, Code: "SUBGRAPH_UNAVAILABLE"}},
			calls: map[string]int{"products": 1, "inventory": 1},
		},
		{
			name:  "its non-null fields bubble, with no error of their own",
			edit:  func(s subgraphs) { s["inventory"].Unavailable = true },
			query: `{ product(id: "1") { name stock } me { name } }`,
			data:  `{"product":null,"me":{"name":"Ann"}}`,
			errs:  []executetest.WantError{{Message: `"inventory"`, Code: "SUBGRAPH_UNAVAILABLE"}},
		},
		{
			name:  "the other subgraphs' fields survive",
			edit:  func(s subgraphs) { s["inventory"].Unavailable = true },
			query: `{ product(id: "1") { name rating shipping } }`,
			data:  `{"product":{"name":"Pen","rating":4.5,"shipping":null}}`,
			errs:  []executetest.WantError{{Message: `"inventory"`, Code: "SUBGRAPH_UNAVAILABLE"}},
		},
		{
			name: "an entity subgraph answering a body that is not GraphQL",
			edit: func(s subgraphs) {
				s["inventory"].Body, s["inventory"].Status = "<html>bad gateway</html>", 502
			},
			query: `{ product(id: "1") { name shipping } }`,
			data:  `{"product":{"name":"Pen","shipping":null}}`,
			errs:  []executetest.WantError{{Message: "invalid response", Code: "INTERNAL_SERVER_ERROR"}},
		},
		{
			name:  "a subgraph down two levels down",
			edit:  func(s subgraphs) { s["users"].Unavailable = true },
			query: `{ review(id: "r1") { body author { email } } }`,
			data:  `{"review":{"body":"Writes well","author":{"email":null}}}`,
			errs:  []executetest.WantError{{Message: `"users"`, Code: "SUBGRAPH_UNAVAILABLE"}},
			calls: map[string]int{"reviews": 1, "users": 1},
		},
		{
			name:  "a subgraph down before an entity fetch: nothing to fetch, no request",
			edit:  func(s subgraphs) { s["reviews"].Unavailable = true },
			query: `{ review(id: "r1") { body author { name } } }`,
			data:  `{"review":null}`,
			errs:  []executetest.WantError{{Message: `"reviews"`, Code: "SUBGRAPH_UNAVAILABLE"}},
			calls: map[string]int{"reviews": 1},
		},
	})
}

func TestSkipInclude(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name:  "@skip(if: true) on an entity field: no entity fetch",
			query: `query($s: Boolean!) { product(id: "1") { name stock @skip(if: $s) } }`,
			vars:  map[string]any{"s": true},
			data:  `{"product":{"name":"Pen"}}`,
			calls: map[string]int{"products": 1},
			check: passthrough(true),
		},
		{
			name:  "@skip(if: false) on an entity field",
			query: `query($s: Boolean!) { product(id: "1") { name stock @skip(if: $s) } }`,
			vars:  map[string]any{"s": false},
			data:  `{"product":{"name":"Pen","stock":7}}`,
			calls: map[string]int{"products": 1, "inventory": 1},
		},
		{
			name:  "@include(if: false) on a field two entity levels deep",
			query: `query($i: Boolean!) { products { name reviews @include(if: $i) { author { name } } } }`,
			vars:  map[string]any{"i": false},
			data:  `{"products":[{"name":"Pen"},{"name":"Ink"},{"name":"Pad"}]}`,
			calls: map[string]int{"products": 1},
		},
		{
			name:  "@include(if: true) on a field two entity levels deep",
			query: `query($i: Boolean!) { products { name reviews @include(if: $i) { author { name } } } }`,
			vars:  map[string]any{"i": true},
			data: `{"products":[{"name":"Pen","reviews":[{"author":{"name":"Ann"}},{"author":{"name":"Bob"}}]},
				{"name":"Ink","reviews":[{"author":{"name":"Ann"}}]},{"name":"Pad","reviews":[]}]}`,
			calls: map[string]int{"products": 1, "reviews": 1, "users": 1},
		},
		{
			name:  "@include on an inline fragment",
			query: `query($i: Boolean!) { product(id: "1") { name ... @include(if: $i) { stock } } }`,
			vars:  map[string]any{"i": false},
			data:  `{"product":{"name":"Pen"}}`,
			calls: map[string]int{"products": 1},
		},
		{
			name:  "@skip on one alias keeps the other's entity fetch",
			query: `query($s: Boolean!) { product(id: "1") { a: stock @skip(if: $s) b: shipping } }`,
			vars:  map[string]any{"s": true},
			data:  `{"product":{"b":2}}`,
			calls: map[string]int{"products": 1, "inventory": 1},
		},
	})
}

// The market's Item has a composite key, a field with an argument, and a
// field that requires another subgraph's field.
func market(t *testing.T) *compose.Supergraph {
	return executetest.Compose(t, map[string]string{
		"catalog": `
			type Query { items: [Item!]! }
			type Item @key(fields: "sku vendor { code }") {
				sku: String!
				vendor: Vendor!
				title: String!
				weight: Int
				parts: [Part!]
			}
			type Part @shareable { name: String! weight: Int }
			type Vendor @shareable { code: String! }`,
		"pricing": `
			type Item @key(fields: "sku vendor { code }") {
				sku: String!
				vendor: Vendor!
				price(currency: String!): Int
				weight: Int @external
				shipping: Int @requires(fields: "weight")
				parts: [Part!] @external
				packing: Int @requires(fields: "parts { weight }")
			}
			type Part @shareable { name: String! weight: Int }
			type Vendor @shareable { code: String! }`,
	})
}

func marketData() subgraphs {
	return subgraphs{
		"catalog": {Query: `{"items": [
			{"sku": "A", "vendor": {"code": "V"}, "title": "Anvil", "weight": 20, "parts": [{"name": "horn", "weight": 5}]},
			{"sku": "B", "vendor": {"code": "V"}, "title": "Bell", "weight": null, "parts": null},
			{"sku": "A", "vendor": {"code": "W"}, "title": "Axe", "weight": 3, "parts": [{"name": "head", "weight": 2}, {"name": "haft", "weight": null}]}]}`},
		"pricing": {
			Entities: `{"Item": [
				{"sku": "A", "vendor": {"code": "V"}, "price": {"EUR": 100, "USD": 110}, "shipping": 40, "packing": 1},
				{"sku": "B", "vendor": {"code": "V"}, "price": {"EUR": 20, "USD": 22}, "shipping": 9, "packing": 0},
				{"sku": "A", "vendor": {"code": "W"}, "price": {"EUR": 30, "USD": 33}, "shipping": 6, "packing": 2}]}`,
			Resolve: executetest.ByArgument("currency"),
		},
	}
}

func TestRepresentations(t *testing.T) {
	item := func(sku, vendor string, more string) string {
		return fmt.Sprintf(`{"__typename":"Item","sku":%q,"vendor":{"code":%q}%s}`, sku, vendor, more)
	}
	run(t, market(t), marketData, []testCase{
		{
			name:  "a composite key",
			query: `{ items { title price(currency: "EUR") } }`,
			data:  `{"items":[{"title":"Anvil","price":100},{"title":"Bell","price":20},{"title":"Axe","price":30}]}`,
			reps:  map[string][]string{"pricing": {item("A", "V", ""), item("B", "V", ""), item("A", "W", "")}},
		},
		{
			name:  "a client variable an entity field uses is sent with the entity fetch",
			query: `query($c: String!) { items { title price(currency: $c) } }`,
			vars:  map[string]any{"c": "USD"},
			data:  `{"items":[{"title":"Anvil","price":110},{"title":"Bell","price":22},{"title":"Axe","price":33}]}`,
			check: func(t *testing.T, o *executetest.Outcome) {
				for _, r := range o.Fetcher.Calls("pricing") {
					if r.Variables["c"] != "USD" {
						t.Errorf("pricing got variables %v", r.Variables)
					}
				}
			},
		},
		{
			name:  "a @requires field travels in the representation, null included",
			query: `{ items { title shipping } }`,
			data:  `{"items":[{"title":"Anvil","shipping":40},{"title":"Bell","shipping":9},{"title":"Axe","shipping":6}]}`,
			reps: map[string][]string{"pricing": {
				item("A", "V", `,"weight":20`), item("B", "V", `,"weight":null`), item("A", "W", `,"weight":3`),
			}},
		},
		{
			name:  "a @requires field of a list of objects, null items and fields included",
			query: `{ items { title packing } }`,
			data:  `{"items":[{"title":"Anvil","packing":1},{"title":"Bell","packing":0},{"title":"Axe","packing":2}]}`,
			reps: map[string][]string{"pricing": {
				`{"__typename":"Item","parts":[{"weight":5}],"sku":"A","vendor":{"code":"V"}}`,
				`{"__typename":"Item","parts":null,"sku":"B","vendor":{"code":"V"}}`,
				`{"__typename":"Item","parts":[{"weight":2},{"weight":null}],"sku":"A","vendor":{"code":"W"}}`,
			}},
		},
	})
}

// In the garage, the members of a union key their entities with fields of
// one name and different types.
func garage(t *testing.T) *compose.Supergraph {
	return executetest.Compose(t, map[string]string{
		"lot": `
			type Query { things: [Thing!]! }
			union Thing = Car | Boat
			type Car @key(fields: "id") { id: ID! }
			type Boat @key(fields: "id") { id: Int! }`,
		"specs": `
			type Car @key(fields: "id") { id: ID! wheels: Int }
			type Boat @key(fields: "id") { id: Int! sails: Int }`,
	})
}

func garageData() subgraphs {
	return subgraphs{
		"lot": {Query: `{"things": [{"__typename": "Car", "id": "c1"}, {"__typename": "Boat", "id": 7}]}`},
		"specs": {Entities: `{
			"Car": [{"id": "c1", "wheels": 4}],
			"Boat": [{"id": 7, "sails": 2}]}`},
	}
}

func TestInternalFieldsOfDifferentTypes(t *testing.T) {
	run(t, garage(t), garageData, []testCase{
		{
			name:  "keys of one name and different types on union members",
			query: `{ things { ... on Car { wheels } ... on Boat { sails } } }`,
			data:  `{"things":[{"wheels":4},{"sails":2}]}`,
			reps:  map[string][]string{"specs": {rep("Car", "c1"), `{"__typename":"Boat","id":7}`}},
		},
	})
}
