package oracle

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// testgraphSDLs returns the committed SDL of the testgraph's subgraphs, with
// the routing URLs the committed supergraph uses.
func testgraphSDLs(t *testing.T) []SubgraphSDL {
	t.Helper()
	var out []SubgraphSDL
	for _, name := range []string{"fleet", "missions", "telemetry"} {
		sdl, err := os.ReadFile(filepath.Join(NodeDir(), "testgraph", name+".graphql"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, SubgraphSDL{Name: name, URL: "http://" + name + ".invalid/graphql", SDL: string(sdl)})
	}
	return out
}

// bookstoreSDLs returns the bookstore's subgraph SDLs, with the routing URLs
// the committed supergraph uses.
func bookstoreSDLs(t *testing.T) []SubgraphSDL {
	t.Helper()
	root := filepath.Join(NodeDir(), "..", "..", "..", "..")
	var out []SubgraphSDL
	for _, name := range []string{"books", "orders"} {
		sdl, err := os.ReadFile(filepath.Join(root, name+"-subgraph", "graph", "schema.graphqls"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, SubgraphSDL{Name: name, URL: "http://" + name + ".invalid/query", SDL: string(sdl)})
	}
	return out
}

// TestFixturesCurrent fails when a committed supergraph is not what
// compose.mjs makes of the subgraphs' SDL now. To refresh them, from
// testdata/:
//
//	node compose.mjs fleet=http://fleet.invalid/graphql=testgraph/fleet.graphql \
//	  missions=http://missions.invalid/graphql=testgraph/missions.graphql \
//	  telemetry=http://telemetry.invalid/graphql=testgraph/telemetry.graphql \
//	  > supergraphs/testgraph.graphql
//	node compose.mjs books=http://books.invalid/query=../../../books-subgraph/graph/schema.graphqls \
//	  orders=http://orders.invalid/query=../../../orders-subgraph/graph/schema.graphqls \
//	  > supergraphs/bookstore.graphql
func TestFixturesCurrent(t *testing.T) {
	Install(t)
	t.Run("testgraph supergraph", func(t *testing.T) {
		assertSameText(t, Compose(t, testgraphSDLs(t)), filepath.Join(NodeDir(), "supergraphs", "testgraph.graphql"))
	})
	t.Run("bookstore supergraph", func(t *testing.T) {
		assertSameText(t, Compose(t, bookstoreSDLs(t)), filepath.Join(NodeDir(), "supergraphs", "bookstore.graphql"))
	})
}

func assertSameText(t *testing.T, got, wantFile string) {
	t.Helper()
	want, err := os.ReadFile(wantFile)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s is stale: regenerate it (see TestFixturesCurrent)", wantFile)
	}
}

func TestTryComposeReportsErrors(t *testing.T) {
	a := `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { a: T }
type T @key(fields: "id") { id: ID! name: String! }`
	b := `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { b: T }
type T @key(fields: "id") { id: ID! name: Int! }`
	_, err := TryCompose(t, []SubgraphSDL{{"a", "http://a.invalid/", a}, {"b", "http://b.invalid/", b}})
	var ce *CompositionError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a *CompositionError", err)
	}
	if !strings.Contains(ce.Error(), "T.name") {
		t.Errorf("errors do not name T.name:\n%v", ce)
	}
}

// TestTestgraphCorpus runs the testgraph corpus through Apollo Gateway, once
// composed by introspection and once from a supergraph file: every case
// must answer 200 with data and no errors unless it expects errors, and the
// two gateways must agree. This checks the corpus, not the Go router.
func TestTestgraphCorpus(t *testing.T) {
	subgraphs := StartTestSubgraphs(t)
	introspected := StartGateway(t, subgraphs)

	live := testgraphSDLs(t)
	for i := range live {
		live[i].URL = subgraphs[i].URL
		if live[i].Name != subgraphs[i].Name {
			t.Fatalf("subgraph %d is %s, want %s", i, subgraphs[i].Name, live[i].Name)
		}
	}
	file := filepath.Join(t.TempDir(), "supergraph.graphql")
	if err := os.WriteFile(file, []byte(Compose(t, live)), 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile := StartGatewaySupergraph(t, file)

	cases := Corpus(t, "testgraph")
	if len(cases) < 40 {
		t.Errorf("the testgraph corpus has %d cases, want at least 40", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := Post(t, introspected, c, nil)
			t.Logf("%d %s", got.Status, got.Body)
			checkExpectation(t, c, got)
			Compare(t, got, Post(t, fromFile, c, nil))
		})
	}
}

func checkExpectation(t *testing.T, c Case, r Result) {
	t.Helper()
	if c.ExpectErrors {
		if len(r.Errors) == 0 {
			t.Errorf("want errors, got none: %s", r.Body)
		}
		return
	}
	if r.Status != http.StatusOK || len(r.Errors) > 0 || r.Data == nil || string(r.Data) == "null" {
		t.Errorf("want 200 with data and no errors (or mark the case \"# expect: errors\"), got %d: %s", r.Status, r.Body)
	}
}

func TestGatewayForwardsAuthorization(t *testing.T) {
	gw := StartGateway(t, StartTestSubgraphs(t))
	c := Case{Query: "{ echoAuthorization }"}
	got := Post(t, gw, c, http.Header{"Authorization": {"Bearer t0ken"}})
	if want := `{"echoAuthorization":"Bearer t0ken"}`; string(got.Data) != want {
		t.Errorf("with a header: got %s, want data %s", got.Body, want)
	}
	got = Post(t, gw, c, nil)
	if want := `{"echoAuthorization":null}`; string(got.Data) != want {
		t.Errorf("without a header: got %s, want data %s", got.Body, want)
	}
}

// TestBookstoreCorpusValidates checks that every bookstore case parses and
// validates against the contract's supergraph, unless it expects errors (a
// case may be invalid on purpose).
func TestBookstoreCorpusValidates(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(NodeDir(), "..", "..", "..", "..", "graph", "contract", "supergraph.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	schema, gerr := gqlparser.LoadSchema(&ast.Source{Name: "supergraph.graphql", Input: string(src)})
	if gerr != nil {
		t.Fatalf("load the contract: %v", gerr)
	}
	total := 0
	for _, corpus := range []string{"bookstore", "bookstore-mutations"} {
		cases := Corpus(t, corpus)
		if corpus == "bookstore" {
			total = len(cases)
		}
		for _, c := range cases {
			t.Run(corpus+"/"+c.Name, func(t *testing.T) {
				doc, errs := gqlparser.LoadQuery(schema, c.Query)
				if c.ExpectErrors {
					return
				}
				if len(errs) > 0 {
					t.Fatalf("invalid: %v", errs)
				}
				if c.OperationName == "" && len(doc.Operations) != 1 {
					t.Errorf("%d operations and no operationName header", len(doc.Operations))
				}
				if c.OperationName != "" && doc.Operations.ForName(c.OperationName) == nil {
					t.Errorf("no operation named %q", c.OperationName)
				}
				op := doc.Operations.ForName(c.OperationName)
				for name := range c.Variables {
					if op != nil && op.VariableDefinitions.ForName(name) == nil {
						t.Errorf("variable $%s is not defined by the operation", name)
					}
				}
			})
		}
	}
	if total < 40 {
		t.Errorf("the bookstore corpus has %d cases, want at least 40", total)
	}
}

func TestCompare(t *testing.T) {
	res := func(data string, errs ...string) Result {
		r := Result{Status: 200, Body: []byte(data)}
		if data != "" {
			r.Data = json.RawMessage(data)
		}
		for _, e := range errs {
			r.Errors = append(r.Errors, json.RawMessage(e))
		}
		return r
	}
	for _, tc := range []struct {
		name      string
		want, got Result
		equal     bool
	}{
		{"same", res(`{"a":1,"b":[true,null,"x"]}`), res(`{ "a": 1, "b": [true, null, "x"] }`), true},
		{"key order", res(`{"a":1,"b":2}`), res(`{"b":2,"a":1}`), false},
		{"number spelling", res(`{"a":1.0,"b":1e2}`), res(`{"a":1,"b":100}`), true},
		{"number value", res(`{"a":1}`), res(`{"a":2}`), false},
		{"null vs object", res(`{"a":null}`), res(`{"a":{}}`), false},
		{"extra key", res(`{"a":1}`), res(`{"a":1,"b":2}`), false},
		{"missing data", res(``, `{}`), res(`null`, `{}`), false},
		{"both missing", res(``, `{}`), res(``, `{"message":"x"}`), true},
		{"errors on one side", res(`{"a":null}`, `{}`), res(`{"a":null}`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			Compare(rec, tc.want, tc.got)
			if rec.failed == tc.equal {
				t.Errorf("Compare failed=%v, want equal=%v", rec.failed, tc.equal)
			}
		})
	}
}

// recorder is a testing.TB that notes failures instead of reporting them.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}
