package executetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/execute"
	"bookstore/router/federation/execute/executetest"
)

func graph(t *testing.T) *compose.Supergraph {
	return executetest.Compose(t, map[string]string{
		"a": `
			type Query { item(id: ID!): Item  items: [Item!]!  thing: Thing  things: [Thing] }
			interface Thing { id: ID! }
			type Item implements Thing @key(fields: "id") @key(fields: "sku vendor { code }") {
				id: ID!
				sku: String!
				vendor: Vendor!
				name: String
				brand: String!
			}
			type Gadget implements Thing { id: ID! size: Int }
			type Vendor @shareable { code: String! name: String }`,
		"b": `
			type Item @key(fields: "id") { id: ID! price: Float }
			type Vendor @shareable { code: String! name: String }
			type Tag { label: String }`,
	})
}

// body is a GraphQL request body.
func body(t *testing.T, query string, vars map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compact(t *testing.T, s []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, s); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return b.String()
}

// The fake projects its data onto each request's selection.
func TestProjection(t *testing.T) {
	sg := graph(t)
	a := &executetest.Subgraph{
		Query: `{
			"items": [
				{"id": "1", "sku": "S1", "vendor": {"code": "V", "name": "Vee"}, "name": "One"},
				{"id": "2", "sku": "S2", "vendor": {"code": "W"}, "name": {"$error": "no name", "$code": "HIDDEN"}}
			],
			"item": {"1": {"id": "1", "name": "One"}},
			"thing": {"__typename": "Gadget", "id": "g", "size": 3},
			"things": [{"__typename": "Item", "id": "1", "name": "One"}, null, {"$error": "lost"}]
		}`,
		Entities: `{"Item": [
			{"id": "1", "sku": "S1", "vendor": {"code": "V", "name": "Vee"}, "name": "One"},
			{"id": "2", "sku": "S2", "vendor": {"code": "W"}, "$error": "item gone"}
		]}`,
		Resolve: executetest.ByArgument("id"),
	}
	b := &executetest.Subgraph{
		Entities: `{"Item": [{"id": "1", "price": 9.5}, {"id": 2, "price": 1}]}`,
		Keys:     map[string][]string{"Item": {"id"}},
	}
	for _, tc := range []struct {
		name, graph, query string
		vars               map[string]any
		want               string
	}{
		{
			name:  "aliases, nested selections and the query's key order",
			graph: "a",
			query: `{ items { n: name id v: vendor { code } } }`,
			want: `{"data":{"items":[{"n":"One","id":"1","v":{"code":"V"}},{"n":null,"id":"2","v":{"code":"W"}}]},` +
				`"errors":[{"message":"no name","path":["items",1,"n"],"extensions":{"code":"HIDDEN"}}]}`,
		},
		{
			name:  "__typename, from the schema or the data",
			graph: "a",
			query: `{ __typename items { __typename } thing { __typename } }`,
			want:  `{"data":{"__typename":"Query","items":[{"__typename":"Item"},{"__typename":"Item"}],"thing":{"__typename":"Gadget"}}}`,
		},
		{
			name:  "inline fragments and fragment spreads by runtime type",
			graph: "a",
			query: `{ thing { ... on Item { name } ... on Gadget { size } ...T } things { ... on Thing { id } ... on Item { name } } } fragment T on Thing { id }`,
			want: `{"data":{"thing":{"size":3,"id":"g"},"things":[{"id":"1","name":"One"},null,null]},` +
				`"errors":[{"message":"lost","path":["things",2]}]}`,
		},
		{
			name:  "arguments answered through Resolve, variables substituted",
			graph: "a",
			query: `query($id: ID!) { x: item(id: $id) { name } y: item(id: "9") { name } }`,
			vars:  map[string]any{"id": "1"},
			want:  `{"data":{"x":{"name":"One"},"y":null}}`,
		},
		{
			name:  "@skip and @include",
			graph: "a",
			query: `query($s: Boolean!) { items { id @skip(if: $s) name @include(if: $s) } }`,
			vars:  map[string]any{"s": true},
			want:  `{"data":{"items":[{"name":"One"},{"name":null}]},"errors":[{"message":"no name","path":["items",1,"name"],"extensions":{"code":"HIDDEN"}}]}`,
		},
		{
			name:  "_entities by any of the type's keys, composite ones by subset",
			graph: "a",
			query: `query($r: [_Any!]!) { _0: _entities(representations: $r) { ... on Item { id name } } }`,
			vars: map[string]any{"r": []any{
				map[string]any{"__typename": "Item", "sku": "S1", "vendor": map[string]any{"code": "V"}},
				map[string]any{"__typename": "Item", "id": "1"},
				map[string]any{"__typename": "Item", "id": "404"},
				map[string]any{"__typename": "Item", "sku": "S1", "vendor": map[string]any{"code": "X"}},
			}},
			want: `{"data":{"_0":[{"id":"1","name":"One"},{"id":"1","name":"One"},null,null]}}`,
		},
		{
			name:  "an entity with an error marker is null, its error at its index",
			graph: "a",
			query: `query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Item { id } } }`,
			vars:  map[string]any{"r": []any{map[string]any{"__typename": "Item", "id": "2"}, map[string]any{"__typename": "Item", "id": "1"}}},
			want:  `{"data":{"_entities":[null,{"__typename":"Item","id":"1"}]},"errors":[{"message":"item gone","path":["_entities",0]}]}`,
		},
		{
			name:  "explicit keys, and numbers compared by value",
			graph: "b",
			query: `query($r: [_Any!]!) { _0: _entities(representations: $r) { ... on Item { price } } }`,
			vars:  map[string]any{"r": []any{map[string]any{"__typename": "Item", "id": 2.0}, map[string]any{"__typename": "Item", "id": "1", "extra": true}}},
			want:  `{"data":{"_0":[{"price":1},{"price":9.5}]}}`,
		},
		{
			name:  "two fields of one response key that conflict refuse the request",
			graph: "a",
			query: `{ items { x: sku x: brand } }`,
			want:  `{"errors":[{"message":"fields \"x\" conflict because sku and brand are different fields or have different arguments","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "so do two of one key and different types, even on different types",
			graph: "a",
			query: `{ thing { ... on Item { x: id } ... on Gadget { x: size } } }`,
			want:  `{"errors":[{"message":"fields \"x\" conflict because they return conflicting types ID! and Int","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "a query that does not parse",
			graph: "a",
			query: `{ items { `,
			want:  `PARSE_FAILED`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := executetest.New(sg, map[string]*executetest.Subgraph{"a": a, "b": b})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.Do(context.Background(), execute.FetchRequest{Subgraph: tc.graph, Body: body(t, tc.query, tc.vars)})
			if err != nil {
				t.Fatal(err)
			}
			got := compact(t, resp.Body)
			if strings.HasPrefix(tc.want, "{") {
				if got != tc.want {
					t.Errorf("got  %s\nwant %s", got, tc.want)
				}
			} else if !strings.Contains(got, tc.want) {
				t.Errorf("got %s, want it to mention %s", got, tc.want)
			}
		})
	}
}

// The fake fails as it is told to.
func TestFailures(t *testing.T) {
	sg := graph(t)
	query := body(t, `{ items { id } }`, nil)
	for _, tc := range []struct {
		name string
		sub  *executetest.Subgraph
		ctx  func() (context.Context, context.CancelFunc)
		// wantErr is an error Do's error must match; want, otherwise,
		// the status and body.
		wantErr    error
		wantStatus int
		want       string
	}{
		{
			name:    "unavailable",
			sub:     &executetest.Subgraph{Unavailable: true},
			wantErr: execute.ErrUnavailable,
		},
		{
			name:       "a body as it is",
			sub:        &executetest.Subgraph{Body: "<html>", Status: http.StatusBadGateway},
			wantStatus: http.StatusBadGateway,
			want:       "<html>",
		},
		{
			name:       "data null with errors",
			sub:        &executetest.Subgraph{Errors: []string{"no", "never"}},
			wantStatus: http.StatusOK,
			want:       `{"data":null,"errors":[{"message":"no"},{"message":"never"}]}`,
		},
		{
			name: "a delay longer than the context",
			sub:  &executetest.Subgraph{Delay: time.Hour},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), time.Millisecond)
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "an answer of the test's own, only for some requests",
			sub: &executetest.Subgraph{
				Query: `{"items": []}`,
				Answer: func(_ context.Context, r executetest.Request) (*execute.FetchResponse, error) {
					if strings.Contains(r.Query, "items") {
						return &execute.FetchResponse{Status: 200, Body: []byte(`{"data":{"items":null}}`)}, nil
					}
					return nil, nil
				},
			},
			wantStatus: http.StatusOK,
			want:       `{"data":{"items":null}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := executetest.New(sg, map[string]*executetest.Subgraph{"a": tc.sub})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			resp, err := f.Do(ctx, execute.FetchRequest{Subgraph: "a", Body: query})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tc.wantStatus || string(resp.Body) != tc.want {
				t.Errorf("got %d %s, want %d %s", resp.Status, resp.Body, tc.wantStatus, tc.want)
			}
			if n := len(f.Calls("a")); n != 1 {
				t.Errorf("%d requests recorded, want 1", n)
			}
		})
	}
}

// Every request is recorded, with its representations in sorted-key JSON.
func TestRecording(t *testing.T) {
	f, err := executetest.New(graph(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	reps := []any{
		map[string]any{"id": "1", "__typename": "Item"},
		map[string]any{"__typename": "Item", "id": "2"},
	}
	q := `query($r0: [_Any!]!, $r1: [_Any!]!) { _0: _entities(representations: $r0) { __typename } _1: _entities(representations: $r1) { __typename } }`
	h := http.Header{"X-Test": {"1"}}
	for _, r := range []execute.FetchRequest{
		{Subgraph: "b", Body: body(t, q, map[string]any{"r0": reps, "r1": reps[:1]}), Header: h},
		{Subgraph: "a", Body: body(t, `mutation { x }`, nil), Mutation: true},
	} {
		if _, err := f.Do(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	all := f.Requests()
	if len(all) != 2 || all[0].Subgraph != "b" || all[1].Subgraph != "a" || !all[1].Mutation || all[0].Header.Get("X-Test") != "1" {
		t.Fatalf("requests = %+v", all)
	}
	want := []string{`{"__typename":"Item","id":"1"}`, `{"__typename":"Item","id":"2"}`, `{"__typename":"Item","id":"1"}`}
	if got := f.Calls("b")[0].Representations; !slices.Equal(got, want) {
		t.Errorf("representations = %v, want %v", got, want)
	}
	if _, err := f.Do(context.Background(), execute.FetchRequest{Subgraph: "nope"}); err == nil {
		t.Error("a request to an unknown subgraph succeeded")
	}
}

func TestNewRefusesBadData(t *testing.T) {
	sg := graph(t)
	for name, subs := range map[string]map[string]*executetest.Subgraph{
		"not JSON":           {"a": {Query: `{"items": [}`}},
		"not an object":      {"a": {Query: `[]`}},
		"entities not lists": {"a": {Entities: `{"Item": {}}`}},
		"a bad key":          {"b": {Keys: map[string][]string{"Item": {"id {"}}}},
		"an unknown graph":   {"c": {}},
	} {
		if _, err := executetest.New(sg, subs); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
