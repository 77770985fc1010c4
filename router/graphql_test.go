package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/graph/contract"
	"bookstore/router/federation/compose"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

// The HTTP face of /graphql: every way a request can be wrong gets its
// contract status and code, never a 5xx.
func TestGraphQLOverHTTP(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	r := s.Router
	var aliases strings.Builder
	aliases.WriteString("{ ")
	for i := range 10_000 {
		fmt.Fprintf(&aliases, "a%d: __typename ", i)
	}
	aliases.WriteString("}")
	for _, tc := range []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string
		allow                                 string
	}{
		{name: "query", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ books(first: 1) { totalCount } }"}`, status: 200},
		{name: "charset in content type", method: "POST", path: "/graphql", contentType: "application/json; charset=utf-8", body: `{"query":"{ __typename }"}`, status: 200},
		{name: "GET query", method: "GET", path: "/graphql?query=" + url.QueryEscape(`query($n: Int) { books(first: $n) { totalCount } }`) + "&variables=" + url.QueryEscape(`{"n": 1}`), status: 200},
		{name: "GET mutation", method: "GET", path: "/graphql?query=" + url.QueryEscape(`mutation { restockBook(id: "x", quantity: 1) { id } }`), status: 405, code: "BAD_REQUEST", allow: "POST"},
		{name: "GET bad variables", method: "GET", path: "/graphql?query=" + url.QueryEscape(`{ __typename }`) + "&variables=%7Bnope", status: 400, code: "BAD_REQUEST"},
		{name: "GET without query", method: "GET", path: "/graphql", status: 400, code: "BAD_REQUEST"},
		{name: "wrong method", method: "PUT", path: "/graphql", contentType: "application/json", body: `{"query":"{ __typename }"}`, status: 405, code: "BAD_REQUEST", allow: "GET, POST"},
		{name: "wrong content type", method: "POST", path: "/graphql", contentType: "text/plain", body: `{"query":"{ __typename }"}`, status: 415, code: "BAD_REQUEST"},
		{name: "no content type", method: "POST", path: "/graphql", body: `{"query":"{ __typename }"}`, status: 415, code: "BAD_REQUEST"},
		{name: "body too big", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ __typename }", "x": "` + strings.Repeat("x", 1<<20) + `"}`, status: 413, code: "BAD_REQUEST"},
		{name: "not JSON", method: "POST", path: "/graphql", contentType: "application/json", body: `{query: nope}`, status: 400, code: "BAD_REQUEST"},
		{name: "empty body", method: "POST", path: "/graphql", contentType: "application/json", body: ``, status: 400, code: "BAD_REQUEST"},
		{name: "batch", method: "POST", path: "/graphql", contentType: "application/json", body: `[{"query":"{ __typename }"}]`, status: 400, code: "BAD_REQUEST"},
		{name: "query missing", method: "POST", path: "/graphql", contentType: "application/json", body: `{"variables":{}}`, status: 400, code: "BAD_REQUEST"},
		{name: "query not a string", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query": 42}`, status: 400, code: "BAD_REQUEST"},
		{name: "variables not an object", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ __typename }","variables":[1]}`, status: 400, code: "BAD_REQUEST"},
		{name: "trailing data", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ __typename }"} {}`, status: 400, code: "BAD_REQUEST"},
		{name: "empty query", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"  "}`, status: 400, code: "BAD_REQUEST"},
		{name: "parse error", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ books { "}`, status: 400, code: "GRAPHQL_PARSE_FAILED"},
		{name: "unknown field", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ nope }"}`, status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "internal field", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ _service { sdl } }"}`, status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "entities are not client-facing", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ _entities(representations: []) { __typename } }"}`, status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "two operations without a name", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query A { __typename } query B { __typename }"}`, status: 400, code: "BAD_REQUEST"},
		{name: "operation name picks one", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query A { __typename } query B { nope: __typename }","operationName":"B"}`, status: 200},
		{name: "unknown operation name", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query A { __typename }","operationName":"C"}`, status: 400, code: "BAD_REQUEST"},
		{name: "variable of the wrong type", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query($n: Int) { books(first: $n) { totalCount } }","variables":{"n":"ten"}}`, status: 400, code: "BAD_USER_INPUT"},
		{name: "Int literal past 32 bits", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"{ books(first: 2147483648) { totalCount } }"}`, status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "Int literal at the 32-bit edge", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query($n: Int = -2147483648) { books(first: $n) { totalCount } }","variables":{"n":1}}`, status: 200},
		{name: "Int variable past 32 bits", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query($n: Int) { books(first: $n) { totalCount } }","variables":{"n":2147483648}}`, status: 400, code: "BAD_USER_INPUT"},
		{name: "Int variable past 64 bits", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query($n: Int) { books(first: $n) { totalCount } }","variables":{"n":1e20}}`, status: 400, code: "BAD_USER_INPUT"},
		{name: "Int variable as a string", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query($n: Int) { books(first: $n) { totalCount } }","variables":{"n":"5"}}`, status: 400, code: "BAD_USER_INPUT"},
		{name: "Int variable written 2.0", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query($n: Int) { books(first: $n) { totalCount } }","variables":{"n":2.0}}`, status: 200},
		{name: "Int deep in an input past 32 bits", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id } }","variables":{"in":{"customerEmail":"a@b.co","items":[{"bookId":"x","quantity":99999999999}]}}}`, status: 400, code: "BAD_USER_INPUT"},
		{name: "missing required variable", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"query($id: ID!) { book(id: $id) { title } }"}`, status: 400, code: "BAD_USER_INPUT"},
		{name: "subscription", method: "POST", path: "/graphql", contentType: "application/json", body: `{"query":"subscription { books { totalCount } }"}`, status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "depth 1000", method: "POST", path: "/graphql", contentType: "application/json", body: jsonQuery(nested(1000)), status: 400, code: "QUERY_TOO_COMPLEX"},
		{name: "depth 26", method: "POST", path: "/graphql", contentType: "application/json", body: jsonQuery(nested(26)), status: 400, code: "QUERY_TOO_COMPLEX"},
		{name: "10,000 aliases", method: "POST", path: "/graphql", contentType: "application/json", body: jsonQuery(aliases.String()), status: 400, code: "QUERY_TOO_COMPLEX"},
		{name: "fragment bomb", method: "POST", path: "/graphql", contentType: "application/json", body: jsonQuery(fragmentBomb(12)), status: 400, code: "QUERY_TOO_COMPLEX"},
		{name: "the IDE's introspection query fits the limits", method: "POST", path: "/graphql", contentType: "application/json", body: jsonQuery(introspectionQuery), status: 200},
		{name: "unknown path", method: "GET", path: "/nope", status: 404, code: "NOT_FOUND"},
		{name: "empty path segment", method: "GET", path: "/books//x", status: 404, code: "NOT_FOUND"},
		{name: "dot segment", method: "POST", path: "/orders/./x/cancel", status: 404, code: "NOT_FOUND"},
		{name: "dot-dot segment", method: "GET", path: "/books/../orders", status: 404, code: "NOT_FOUND"},
		{name: "double slash before graphql", method: "POST", path: "//graphql", contentType: "application/json", body: `{"query":"{ __typename }"}`, status: 404, code: "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := r.Do(t, tc.method, tc.path, tc.contentType, tc.body, nil)
			if resp.Status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.Status, tc.status, resp.Body)
			}
			if tc.allow != "" && resp.Header.Get("Allow") != tc.allow {
				t.Errorf("Allow = %q, want %q", resp.Header.Get("Allow"), tc.allow)
			}
			if tc.code == "" {
				if len(resp.Errors) > 0 || resp.Data == nil {
					t.Errorf("want data and no errors: %.300s", resp.Body)
				}
				return
			}
			if !strings.HasPrefix(tc.path, "/graphql") { // the REST error body
				var body struct{ Error struct{ Code string } }
				_ = json.Unmarshal(resp.Body, &body)
				if body.Error.Code != tc.code {
					t.Errorf("code %q, want %q: %s", body.Error.Code, tc.code, resp.Body)
				}
				return
			}
			if codes := resp.Codes(); len(codes) == 0 || codes[0] != tc.code {
				t.Errorf("codes %v, want %s: %.300s", codes, tc.code, resp.Body)
			}
			if resp.Data != nil {
				t.Errorf("a request refused before execution has no data: %.300s", resp.Body)
			}
		})
	}
}

func jsonQuery(q string) string {
	b, _ := json.Marshal(map[string]string{"query": q})
	return string(b)
}

// nested is a selection n levels deep: order → items → book → … is not
// recursive in this schema, so depth comes from __type's ofType chain.
func nested(n int) string {
	var b strings.Builder
	b.WriteString(`{ __type(name: "Book") `)
	for range n - 2 {
		b.WriteString("{ ofType ")
	}
	b.WriteString("{ name }")
	for range n - 2 {
		b.WriteString(" }")
	}
	b.WriteString(" }")
	return b.String()
}

// fragmentBomb is small text that expands to 2^levels fields.
func fragmentBomb(levels int) string {
	var b strings.Builder
	b.WriteString("query { __schema { ...F0 } }\n")
	for i := range levels {
		fmt.Fprintf(&b, "fragment F%d on __Schema { a%d: types { name } ...F%d ...F%d }\n", i, i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on __Schema { description }\n", levels)
	return b.String()
}

const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

// Introspection answers from the composed schema: federation internals are
// hidden, descriptions and defaults kept.
func TestIntrospection(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	resp := s.Router.GraphQL(t, introspectionQuery, nil, nil)
	if resp.Status != 200 || len(resp.Errors) > 0 {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	var got struct {
		Schema struct {
			QueryType struct{ Name string }
			Types     []struct {
				Name   string
				Fields []struct {
					Name string
					Args []struct{ Name, DefaultValue string }
				}
			}
		} `json:"__schema"`
	}
	if err := json.Unmarshal(resp.Data, &got); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, ty := range got.Schema.Types {
		names[ty.Name] = true
		if ty.Name == "Query" {
			for _, f := range ty.Fields {
				if f.Name == "_service" || f.Name == "_entities" {
					t.Errorf("Query.%s is visible to clients", f.Name)
				}
				if f.Name == "books" {
					for _, a := range f.Args {
						if a.Name == "orderBy" && a.DefaultValue != "TITLE_ASC" {
							t.Errorf("books(orderBy:) default = %q", a.DefaultValue)
						}
					}
				}
			}
		}
	}
	for _, want := range []string{"Book", "Order", "BookConnection", "OrderStatus", "DateTime", "__Schema"} {
		if !names[want] {
			t.Errorf("type %s is missing", want)
		}
	}
	for _, hidden := range []string{"_Service", "_Any", "_Entity", "FieldSet", "link__Import"} {
		if names[hidden] {
			t.Errorf("federation type %s is visible", hidden)
		}
	}
	resp = s.Router.GraphQL(t, `{ __type(name: "Book") { name fields { name } } t: __typename b: book(id: "96d4816c-1d71-3e59-2cd2-8f7f36d767b9") { __typename title } }`, nil, nil)
	want := `"__type":{"name":"Book","fields":[{"name":"id"}`
	if !strings.Contains(string(resp.Data), want) || !strings.Contains(string(resp.Data), `"t":"Query","b":{"__typename":"Book","title":"The Go Programming Language"}`) {
		t.Errorf("mixed introspection and data: %s", resp.Data)
	}
}

func TestIntrospectionCanBeTurnedOff(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{Configure: func(c *server.Config) { c.Introspection = false }})
	resp := s.Router.GraphQL(t, `{ __schema { types { name } } }`, nil, nil)
	if resp.Status != 400 || len(resp.Codes()) != 1 || resp.Codes()[0] != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("%d %s", resp.Status, resp.Body)
	}
	// __typename is not introspection of the schema and stays available.
	resp = s.Router.GraphQL(t, `{ __typename }`, nil, nil)
	if resp.Status != 200 || string(resp.Data) != `{"__typename":"Query"}` {
		t.Errorf("%d %s", resp.Status, resp.Body)
	}
}

// Errors keep the client's path (aliases included) and their contract
// code; a null in a non-null position reaches the nearest nullable parent.
func TestErrorsArePathedAndNullsPropagate(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	r := s.Router
	// orders is admin-only here, and non-null: data becomes null.
	resp := r.GraphQL(t, `{ myOrders: orders(first: 1) { totalCount } b: book(id: "96d4816c-1d71-3e59-2cd2-8f7f36d767b9") { title } }`, nil, nil)
	if resp.Status != 200 || string(resp.Data) != "null" {
		t.Fatalf("%d %s", resp.Status, resp.Body)
	}
	if len(resp.Errors) != 1 || resp.Codes()[0] != "UNAUTHENTICATED" || fmt.Sprint(resp.Errors[0].Path) != "[myOrders]" {
		t.Errorf("errors: %s", resp.Body)
	}
	// With the token the same query answers.
	resp = r.GraphQL(t, `{ myOrders: orders(first: 1) { totalCount } }`, nil, routertest.Admin())
	if resp.Status != 200 || len(resp.Errors) > 0 || string(resp.Data) != `{"myOrders":{"totalCount":0}}` {
		t.Errorf("%d %s", resp.Status, resp.Body)
	}
	// A mutation error is pathed under its alias, with its extensions.
	resp = r.GraphQL(t, `mutation { first: placeOrder(input: {customerEmail: "a@example.com", items: [{bookId: "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", quantity: 100}]}) { id } }`, nil, nil)
	if len(resp.Errors) != 1 || resp.Codes()[0] != "INSUFFICIENT_STOCK" || fmt.Sprint(resp.Errors[0].Path) != "[first]" || resp.Errors[0].Extensions["available"] != float64(25) {
		t.Errorf("%s", resp.Body)
	}
	// An unknown id is null with no error.
	resp = r.GraphQL(t, `{ book(id: "not-a-uuid") { title } order(id: "00000000-0000-0000-0000-000000000000") { id } }`, nil, nil)
	if string(resp.Data) != `{"book":null,"order":null}` || len(resp.Errors) > 0 {
		t.Errorf("%s", resp.Body)
	}
}

// A placed order reads back through the federated order → book query, in
// the client's field order, with aliases of one field under different
// arguments, variables with defaults and fragments on the way.
func TestFederatedOrder(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	r := s.Router
	place := r.GraphQL(t, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id status } }`, map[string]any{"in": map[string]any{
		"customerEmail": "Reader@Example.com",
		"items": []any{
			map[string]any{"bookId": "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", "quantity": 2},
		},
	}}, nil)
	var placed struct{ PlaceOrder struct{ ID, Status string } }
	if err := json.Unmarshal(place.Data, &placed); err != nil || placed.PlaceOrder.Status != "PLACED" {
		t.Fatalf("%s", place.Body)
	}
	q := `query Read($id: ID!, $n: Int = 1) {
		order(id: $id) { ...Lines total: totalCents }
		cheap: books(first: $n, orderBy: PRICE_ASC) { edges { node { title } } }
		dear: books(first: $n, orderBy: PRICE_DESC) { edges { node { title } } }
	}
	fragment Lines on Order { status items { quantity book { ... on Book { title unitsSold stock } id } } }`
	resp := r.GraphQL(t, q, map[string]any{"id": placed.PlaceOrder.ID}, nil)
	want := `{"order":{"status":"PLACED","items":[{"quantity":2,"book":{"title":"The Go Programming Language","unitsSold":2,"stock":23,"id":"96d4816c-1d71-3e59-2cd2-8f7f36d767b9"}}],"total":7998},` +
		`"cheap":{"edges":[{"node":{"title":"Pride and Prejudice"}}]},"dear":{"edges":[{"node":{"title":"Introduction to Algorithms"}}]}}`
	if resp.Status != 200 || len(resp.Errors) > 0 || string(resp.Data) != want {
		t.Errorf("got  %s\nwant %s", resp.Data, want)
	}
	// Cancelling needs the admin token, which the router forwards.
	cancel := `mutation($id: ID!) { cancelOrder(id: $id) { status items { book { stock } } } }`
	if resp := r.GraphQL(t, cancel, map[string]any{"id": placed.PlaceOrder.ID}, nil); len(resp.Codes()) != 1 || resp.Codes()[0] != "UNAUTHENTICATED" {
		t.Errorf("cancel without a token: %s", resp.Body)
	}
	resp = r.GraphQL(t, cancel, map[string]any{"id": placed.PlaceOrder.ID}, routertest.Admin())
	if string(resp.Data) != `{"cancelOrder":{"status":"CANCELLED","items":[{"book":{"stock":25}}]}}` {
		t.Errorf("cancel: %s", resp.Body)
	}
}

// The router makes an X-Request-Id when the client sends none, echoes it,
// and forwards it (and traceparent) to the subgraphs.
func TestHeadersAreForwarded(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	resp := s.Router.GraphQL(t, `{ books(first: 1) { totalCount } }`, nil, nil)
	if id := resp.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("made X-Request-Id = %q", id)
	}
	h := http.Header{"X-Request-Id": {"client-chosen-id-42"}, "Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	resp = s.Router.GraphQL(t, `{ books(first: 1) { edges { node { unitsSold } } } }`, nil, h)
	if resp.Header.Get("X-Request-Id") != "client-chosen-id-42" {
		t.Errorf("echoed X-Request-Id = %q", resp.Header.Get("X-Request-Id"))
	}
	for _, sg := range []string{s.Books[0].Logs.String(), s.Orders[0].Logs.String()} {
		if !strings.Contains(sg, `"request_id":"client-chosen-id-42"`) {
			t.Errorf("a subgraph did not get the request id:\n%s", sg)
		}
	}
}

// The second run of a query is served from the plan cache.
func TestPlanCache(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	q := `{ books(first: 3) { edges { node { title unitsSold } } } }`
	for range 3 {
		if resp := s.Router.GraphQL(t, q, nil, nil); resp.Status != 200 {
			t.Fatal(string(resp.Body))
		}
	}
	metrics := s.Router.Do(t, "GET", "/metrics", "", "", nil)
	hits, misses := metric(string(metrics.Body), `router_plan_cache_lookups_total{result="hit"}`), metric(string(metrics.Body), `router_plan_cache_lookups_total{result="miss"}`)
	if hits != 2 || misses != 1 {
		t.Errorf("plan cache hits %v, misses %v; want 2 and 1", hits, misses)
	}
}

func metric(text, name string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, name+" ") {
			v, _ := strconv.ParseFloat(strings.TrimPrefix(line, name+" "), 64)
			return v
		}
	}
	return -1
}

// `router compose` prints the contract for the bookstore's subgraphs, and
// fails on a composition error.
func TestComposeCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"compose", "--sdl", "books=../books-subgraph/graph/schema.graphqls", "--sdl", "orders=../orders-subgraph/graph/schema.graphqls"},
		func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("compose: %v %s", err, errOut.String())
	}
	printed, err := gqlparser.LoadSchema(&ast.Source{Name: "compose output", Input: out.String()})
	if err != nil {
		t.Fatalf("the printed SDL does not load: %v\n%s", err, out.String())
	}
	client, err := gqlparser.LoadSchema(&ast.Source{Name: "contract", Input: contract.SDL})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := compose.Canonical(printed), compose.Canonical(client); got != want {
		t.Errorf("router compose differs from the contract (up to ordering and descriptions):\n got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(out.String(), "@key") || strings.Contains(out.String(), "_service") {
		t.Errorf("federation internals in the client SDL:\n%s", out.String())
	}
	// From Apollo's supergraph of the same subgraphs, the same schema.
	out.Reset()
	if err := run(context.Background(), []string{"compose", "--supergraph", "federation/oracle/testdata/supergraphs/bookstore.graphql"},
		func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("compose --supergraph: %v", err)
	}
	fromFile, err := gqlparser.LoadSchema(&ast.Source{Name: "compose --supergraph", Input: out.String()})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := compose.Canonical(fromFile), compose.Canonical(client); got != want {
		t.Errorf("router compose --supergraph differs from the contract:\n%s", got)
	}
	err = run(context.Background(), []string{"compose", "--sdl", "books=../books-subgraph/graph/schema.graphqls", "--sdl", "again=../books-subgraph/graph/schema.graphqls"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not @shareable") {
		t.Errorf("composing books twice: %v", err)
	}
}

// A browser's GET /graphql gets the IDE, served with its files by the
// router itself; without the files (no `make ide`) the page says how to
// get them.
func TestIDE(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	page := s.Router.Do(t, "GET", "/graphql", "", "", http.Header{"Accept": {"text/html,application/xhtml+xml"}})
	if !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("Content-Type %q", page.Header.Get("Content-Type"))
	}
	switch page.Status {
	case http.StatusOK:
		html := string(page.Body)
		src := regexp.MustCompile(`src="(/ide/[^"]+)"`).FindAllStringSubmatch(html, -1)
		if len(src) == 0 {
			t.Fatalf("the page loads no script of the router's: %s", html)
		}
		for _, m := range src {
			asset := s.Router.Do(t, "GET", strings.ReplaceAll(m[1], "&amp;", "&"), "", "", nil)
			if asset.Status != http.StatusOK || len(asset.Body) == 0 {
				t.Errorf("%s: %d", m[1], asset.Status)
			}
		}
		if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}
	case http.StatusServiceUnavailable:
		if !strings.Contains(string(page.Body), "make ide") {
			t.Errorf("the missing-files page does not name make ide: %s", page.Body)
		}
	default:
		t.Fatalf("status %d", page.Status)
	}
	// A GET with a query is GraphQL, whatever the Accept header says.
	resp := s.Router.Do(t, "GET", "/graphql?query=%7B__typename%7D", "", "", http.Header{"Accept": {"text/html"}})
	if resp.Status != http.StatusOK || string(resp.Data) != `{"__typename":"Query"}` {
		t.Errorf("%d %s", resp.Status, resp.Body)
	}
}
