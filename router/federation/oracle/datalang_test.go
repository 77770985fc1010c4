package oracle

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
)

// TestDataLanguage checks the generic resolvers of testdata/datalang.mjs
// (the data language of the graphs' data files) on the subgraph of
// testdata/graphs-selftest/datalang, queried directly: each rule of
// testdata/README.md, and the federation directives they must work with.
func TestDataLanguage(t *testing.T) {
	g, err := ReadGraph(filepath.Join(NodeDir(), "graphs-selftest", "datalang"))
	if err != nil {
		t.Fatal(err)
	}
	url := StartGraphs(t, []*Graph{g})[g.Name][0].URL
	const entities = `query ($r: [_Any!]!) { _entities(representations: $r) { __typename
		... on Product { id name shipping vendor { code name country } }
		... on Media { id title } ... on Book { pages } ... on Account { flagged }
		... on Visitor { token greeting } } }`
	for _, tc := range []struct {
		name  string
		query string
		vars  string
		data  string
		// errors are "path code message", in order.
		errors []string
	}{
		{
			name:  "values as they are",
			query: `{ plain { a b c { x y } } }`,
			data:  `{"plain":{"a":1,"b":[1.5,null,2],"c":{"x":"x","y":false}}}`,
		},
		{
			name:  "references completed from rows, by a composite key too",
			query: `{ products { id sku vendor { code name } name } }`,
			data: `{"products":[{"id":"p1","sku":"S-1","vendor":{"code":"acme","name":"Acme"},"name":"Anvil"},` +
				`{"id":"p2","sku":"S-2","vendor":{"code":"acme","name":"Acme"},"name":"Rocket"},` +
				`{"id":"p3","sku":"S-1","vendor":{"code":"globex","name":"Globex"},"name":"Magnet"}]}`,
		},
		{
			name:  "lookup of one object",
			query: `{ product(id: "p2") { name color } none: product(id: "zz") { name } }`,
			data:  `{"product":{"name":"Rocket","color":"red"},"none":null}`,
		},
		{
			name:  "lookup of a list: arguments that name no field and null ones are ignored, input objects are contained",
			query: `{ red: productsBy(color: "red", limit: 1) { id } acme: productsBy(vendor: {code: "acme"}) { id } all: productsBy(color: null) { id } }`,
			data:  `{"red":[{"id":"p2"},{"id":"p3"}],"acme":[{"id":"p1"},{"id":"p2"}],"all":[{"id":"p1"},{"id":"p2"},{"id":"p3"},{"id":"p4"}]}`,
		},
		{
			name:  "lookup of an interface searches every implementation",
			query: `{ node(id: "a1") { __typename id ... on Author { bio } } p: node(id: "p3") { __typename ... on Product { name } } n: node(id: "x") { id } }`,
			data:  `{"node":{"__typename":"Author","id":"a1","bio":"Writes."},"p":{"__typename":"Product","name":"Magnet"},"n":null}`,
		},
		{
			name:  "a union resolves by __typename",
			query: `{ search { __typename ... on Author { bio } ... on Product { name } } }`,
			data:  `{"search":[{"__typename":"Author","bio":"Writes."},{"__typename":"Product","name":"Rocket"}]}`,
		},
		{
			name:   "cases by argument, a missing argument is null, the default may be an error",
			query:  `{ a: pick(n: 1) b: pick(n: 2, filter: {color: "red", size: M}) c: pick d: pick(n: 3) }`,
			data:   `{"a":"one","b":"two, red M","c":"no n","d":null}`,
			errors: []string{`["d"] NO_CASE no case`},
		},
		{
			name:  "a case's value may be a lookup",
			query: `{ one: pickProduct(n: 1) { id } two: pickProduct(n: 2) { id } }`,
			data:  `{"one":{"id":"p1"},"two":null}`,
		},
		{
			name:  "echo of the arguments, as received, keys sorted",
			query: `{ echo(n: 2, filter: {size: L, color: "blue"}, tags: ["x", "y"]) none: echo }`,
			data:  `{"echo":"{\"filter\":{\"color\":\"blue\",\"size\":\"L\"},\"n\":2,\"tags\":[\"x\",\"y\"]}","none":"{}"}`,
		},
		{
			name:  "mutations answer like queries",
			query: `mutation { rename(name: "z", id: "p1") }`,
			data:  `{"rename":"{\"id\":\"p1\",\"name\":\"z\"}"}`,
		},
		{
			name:   "errors at a field and at a list item",
			query:  `{ failing items }`,
			data:   `{"failing":null,"items":["a",null,null,"d"]}`,
			errors: []string{`["failing"] BROKEN it failed`, `["items",1] ITEM item 1 failed`},
		},
		{
			name:   "an error in a non-null field, without a code",
			query:  `{ failingNonNull }`,
			data:   `null`,
			errors: []string{`["failingNonNull"] INTERNAL_SERVER_ERROR it failed too`},
		},
		{
			name:   "an error in a row",
			query:  `{ product(id: "p2") { price } }`,
			data:   `{"product":{"price":null}}`,
			errors: []string{`["product","price"] INTERNAL_SERVER_ERROR price is secret`},
		},
		{
			name:  "@fromContext arrives as an argument",
			query: `{ stores { id stock { sku price(currency: "EUR") } } }`,
			data:  `{"stores":[{"id":"st1","stock":[{"sku":"S-1","price":"{\"currency\":\"EUR\"}"}]}]}`,
		},
		{
			name:  "echo of @requires outside a representation is null",
			query: `{ product(id: "p1") { shipping } }`,
			data:  `{"product":{"shipping":null}}`,
		},
		{
			name:  "entities by either key, with the representation merged over the row and echoed for @requires",
			query: entities,
			vars: `{"r":[{"__typename":"Product","id":"p1","weight":2.5,"vendor":{"__typename":"Vendor","country":"FR"}},` +
				`{"__typename":"Product","sku":"S-1","vendor":{"code":"globex"}}]}`,
			data: `{"_entities":[{"__typename":"Product","id":"p1","name":"Anvil",` +
				`"shipping":"{\"vendor\":{\"__typename\":\"Vendor\",\"country\":\"FR\"},\"weight\":2.5}",` +
				`"vendor":{"code":"acme","name":"Acme","country":"FR"}},` +
				`{"__typename":"Product","id":"p3","name":"Magnet","shipping":"{\"vendor\":{\"code\":\"globex\"}}",` +
				`"vendor":{"code":"globex","name":"Globex","country":null}}]}`,
		},
		{
			name:   "an unknown entity is null, a row with $error fails its entity only",
			query:  entities,
			vars:   `{"r":[{"__typename":"Product","id":"p9"},{"__typename":"Product","id":"p4"},{"__typename":"Product","id":"p2"}]}`,
			data:   `{"_entities":[null,null,{"__typename":"Product","id":"p2","name":"Rocket","shipping":"free","vendor":{"code":"acme","name":"Acme","country":null}}]}`,
			errors: []string{`["_entities",1] QUARANTINE p4 is quarantined`},
		},
		{
			name:  "entity interfaces, @interfaceObject and $any rows",
			query: entities,
			vars: `{"r":[{"__typename":"Media","id":"m2"},{"__typename":"Media","id":"m1"},` +
				`{"__typename":"Account","id":"ac1"},{"__typename":"Visitor","token":"t-42"}]}`,
			data: `{"_entities":[{"__typename":"Film","id":"m2","title":"Alien"},{"__typename":"Book","id":"m1","title":"Dune","pages":412},` +
				`{"__typename":"Account","flagged":true},{"__typename":"Visitor","token":"t-42","greeting":"hello"}]}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Case{Query: tc.query}
			if tc.vars != "" {
				if err := json.Unmarshal([]byte(tc.vars), &c.Variables); err != nil {
					t.Fatal(err)
				}
			}
			got := Post(t, url, c, nil)
			if err := SameJSON(json.RawMessage(tc.data), got.Data); err != nil {
				t.Errorf("data: %v\nwant %s\ngot  %s", err, tc.data, got.Body)
			}
			if errs := errorLines(t, got); !slices.Equal(errs, tc.errors) {
				t.Errorf("errors:\nwant %q\ngot  %q", tc.errors, errs)
			}
		})
	}
}

// errorLines prints each error of a response as "path code message".
func errorLines(t *testing.T, r Result) []string {
	t.Helper()
	var out []string
	for _, raw := range r.Errors {
		var e struct {
			Message    string `json:"message"`
			Path       []any  `json:"path"`
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		path, _ := json.Marshal(e.Path)
		out = append(out, string(path)+" "+e.Extensions.Code+" "+e.Message)
	}
	return out
}
