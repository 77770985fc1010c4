package execute_test

import (
	"slices"
	"strings"
	"testing"

	"bookstore/router/federation/execute/executetest"
)

// entitiesFields counts the _entities fields of a subgraph request.
func entitiesFields(r executetest.Request) int {
	return strings.Count(r.Query, "_entities(")
}

// together runs query on sg with the first root requests of graphs
// answered at the same time (executetest.Fetcher.Together) until the run
// merges what became ready at once, as ok says, and returns that run. A
// run whose answers the executor saw one at a time is tried again: when
// answers arrive together is up to the goroutines' scheduling, so a few
// tries may be needed, but not many.
func together(t *testing.T, data func() subgraphs, query string, graphs []string, ok func(*executetest.Outcome) bool) *executetest.Outcome {
	t.Helper()
	sg := shop(t)
	for range 50 {
		f, err := executetest.New(sg, data())
		if err != nil {
			t.Fatal(err)
		}
		f.Together(graphs...)
		o := executetest.RunWith(t, sg, f, query, nil)
		if ok(o) {
			return o
		}
	}
	t.Fatalf("50 runs, and the answers of %v never merged", graphs)
	return nil
}

func TestEntityRequests(t *testing.T) {
	run(t, shop(t), shopData, []testCase{
		{
			name:  "one fetch's paths with the same selection share one _entities field, each object sent once",
			query: `{ products { name stock } topProduct { stock } }`,
			data:  `{"products":[{"name":"Pen","stock":7},{"name":"Ink","stock":0},{"name":"Pad","stock":12}],"topProduct":{"stock":7}}`,
			calls: map[string]int{"products": 1, "inventory": 1},
			reps:  map[string][]string{"inventory": {rep("Product", "1"), rep("Product", "2"), rep("Product", "3")}},
			check: func(t *testing.T, o *executetest.Outcome) {
				if n := entitiesFields(o.Fetcher.Calls("inventory")[0]); n != 1 {
					t.Errorf("inventory's request has %d _entities fields, want 1", n)
				}
			},
		},
		{
			name:  "paths with different selections keep their fields",
			query: `{ products { stock } topProduct { stock shipping } }`,
			data:  `{"products":[{"stock":7},{"stock":0},{"stock":12}],"topProduct":{"stock":7,"shipping":2}}`,
			calls: map[string]int{"products": 1, "inventory": 1},
			check: func(t *testing.T, o *executetest.Outcome) {
				if n := entitiesFields(o.Fetcher.Calls("inventory")[0]); n != 2 {
					t.Errorf("inventory's request has %d _entities fields, want 2", n)
				}
			},
		},
		{
			name: "an error of an object two paths share is reported at both",
			edit: func(s subgraphs) {
				s["inventory"].Entities = `{"Product": [
					{"id": "1", "stock": 7, "shipping": {"$error": "no shipping to there"}},
					{"id": "2", "stock": 0, "shipping": 4},
					{"id": "3", "stock": 12, "shipping": null}
				]}`
			},
			query: `{ products { shipping } topProduct { shipping } }`,
			data:  `{"products":[{"shipping":null},{"shipping":4},{"shipping":null}],"topProduct":{"shipping":null}}`,
			errs: []executetest.WantError{
				{Message: "no shipping to there", Path: []any{"products", 0, "shipping"}},
				{Message: "no shipping to there", Path: []any{"topProduct", "shipping"}},
			},
			calls: map[string]int{"products": 1, "inventory": 1},
			reps:  map[string][]string{"inventory": {rep("Product", "1"), rep("Product", "2"), rep("Product", "3")}},
		},
	})
}

// TestWaves checks that entity fetches of one subgraph that become ready
// at the same point, from different fetches and paths, are one request.
func TestWaves(t *testing.T) {
	t.Run("two root fetches' entities of one subgraph are one request", func(t *testing.T) {
		o := together(t, shopData, `{ products { stock } latestReviews { product { stock } } }`, []string{"products", "reviews"},
			func(o *executetest.Outcome) bool { return len(o.Fetcher.Calls("inventory")) == 1 })
		o.Check(t, `{"products":[{"stock":7},{"stock":0},{"stock":12}],"latestReviews":[{"product":{"stock":0}},{"product":{"stock":7}}]}`, nil)
		if n := len(o.Plan.Fetches); n != 4 {
			t.Errorf("the plan has %d fetches, want 4 (two of them to inventory)", n)
		}
		r := o.Fetcher.Calls("inventory")[0]
		if n := entitiesFields(r); n != 1 {
			t.Errorf("inventory's request has %d _entities fields, want 1: %s", n, r.Query)
		}
		if want := []string{rep("Product", "1"), rep("Product", "2"), rep("Product", "3")}; !slices.Equal(r.Representations, want) {
			t.Errorf("inventory got representations %v, want %v", r.Representations, want)
		}
	})
	t.Run("errors of a merged request go to every path", func(t *testing.T) {
		data := func() subgraphs {
			s := shopData()
			s["inventory"].Entities = `{"Product": [
				{"id": "1", "stock": 7, "shipping": {"$error": "no shipping to there"}},
				{"id": "2", "stock": 0, "shipping": 4},
				{"id": "3", "stock": 12, "shipping": null}
			]}`
			return s
		}
		o := together(t, data, `{ products { shipping } latestReviews { product { shipping stock } } }`, []string{"products", "reviews"},
			func(o *executetest.Outcome) bool { return len(o.Fetcher.Calls("inventory")) == 1 })
		o.Check(t, `{"products":[{"shipping":null},{"shipping":4},{"shipping":null}],
			"latestReviews":[{"product":{"shipping":4,"stock":0}},{"product":{"shipping":null,"stock":7}}]}`,
			[]executetest.WantError{
				{Message: "no shipping to there", Path: []any{"products", 0, "shipping"}},
				{Message: "no shipping to there", Path: []any{"latestReviews", 1, "product", "shipping"}},
			})
		if r := o.Fetcher.Calls("inventory")[0]; entitiesFields(r) != 2 {
			t.Errorf("inventory's request has %d _entities fields, want 2: %s", entitiesFields(r), r.Query)
		}
	})
	t.Run("a merged request's subgraph down fails every fetch in it once", func(t *testing.T) {
		data := func() subgraphs {
			s := shopData()
			s["inventory"].Unavailable = true
			return s
		}
		o := together(t, data, `{ products { name shipping } latestReviews { product { shipping } } }`, []string{"products", "reviews"},
			func(o *executetest.Outcome) bool { return len(o.Fetcher.Calls("inventory")) == 1 })
		o.Check(t, `{"products":[{"name":"Pen","shipping":null},{"name":"Ink","shipping":null},{"name":"Pad","shipping":null}],
			"latestReviews":[{"product":{"shipping":null}},{"product":{"shipping":null}}]}`,
			[]executetest.WantError{{Message: `subgraph "inventory" is unavailable`, Code: "SUBGRAPH_UNAVAILABLE"}})
	})
}

// TestWavesFederationBenchmark runs the federation benchmarks' query (13
// fetches over four subgraphs, three hops of entities deep; see
// executetest.FederationBenchmark) with the two root fetches' answers
// arriving together: every wave after them sends one request per
// subgraph, 8 in all.
func TestWavesFederationBenchmark(t *testing.T) {
	sg, subs := executetest.FederationBenchmark(t, 4, 5, 3)
	plain := executetest.Run(t, sg, subs, executetest.FederationBenchmarkQuery, nil)
	if len(plain.Result.Errors) > 0 {
		t.Fatalf("errors: %v", plain.Result.Errors)
	}
	if n := len(plain.Plan.Fetches); n != 13 {
		t.Fatalf("the plan has %d fetches, want 13", n)
	}
	var o *executetest.Outcome
	for range 50 {
		f, err := executetest.New(sg, subs)
		if err != nil {
			t.Fatal(err)
		}
		f.Together("accounts", "products")
		o = executetest.RunWith(t, sg, f, executetest.FederationBenchmarkQuery, nil)
		if len(o.Fetcher.Calls("reviews")) == 1 {
			break
		}
	}
	if got, want := o.Data(), plain.Data(); got != want {
		t.Errorf("data:\n got %s\nwant %s", got, want)
	}
	executetest.CheckErrors(t, o.Result.Errors, nil)
	want := map[string]int{"accounts": 2, "products": 2, "reviews": 1, "inventory": 3}
	for g, n := range want {
		if got := len(o.Fetcher.Calls(g)); got != n {
			t.Errorf("%s got %d requests, want %d", g, got, n)
		}
	}
	for _, r := range o.Fetcher.Requests() {
		if entitiesFields(r) == 1 {
			seen := map[string]bool{}
			for _, rep := range r.Representations {
				if seen[rep] {
					t.Errorf("%s got %s twice in one _entities field", r.Subgraph, rep)
				}
				seen[rep] = true
			}
		}
	}
	if t.Failed() {
		for _, r := range o.Fetcher.Requests() {
			t.Logf("%s: %d representations: %s", r.Subgraph, len(r.Representations), r.Query)
		}
	}
}
