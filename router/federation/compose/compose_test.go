package compose_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/graph/contract"
	"bookstore/router/federation/compose"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func bookstore(t *testing.T) []compose.Subgraph {
	return []compose.Subgraph{
		{Name: "books", SDL: readFile(t, "books-subgraph/graph/schema.graphqls")},
		{Name: "orders", SDL: readFile(t, "orders-subgraph/graph/schema.graphqls")},
	}
}

func testgraph(t *testing.T) []compose.Subgraph {
	var subs []compose.Subgraph
	for _, name := range []string{"fleet", "missions", "telemetry"} {
		subs = append(subs, compose.Subgraph{Name: name, SDL: readFile(t, "router/federation/oracle/testdata/testgraph/"+name+".graphql")})
	}
	return subs
}

func clientSchema(t *testing.T) *ast.Schema {
	t.Helper()
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "contract", Input: contract.SDL})
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// The bookstore's composition is the contract, up to ordering and
// descriptions, whether composed here or read from Apollo's supergraph.
func TestBookstoreIsTheContract(t *testing.T) {
	want := compose.Canonical(clientSchema(t))
	sg, err := compose.Compose(bookstore(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := compose.Canonical(sg.Schema); got != want {
		t.Errorf("composed schema differs from the contract:\n%s", compose.LineDiff(want, got))
	}
	// The printed SDL reloads to the same schema.
	printed, err := gqlparser.LoadSchema(&ast.Source{Name: "printed", Input: sg.ClientSDL()})
	if err != nil {
		t.Fatalf("ClientSDL does not load: %v", err)
	}
	if got := compose.Canonical(printed); got != want {
		t.Errorf("ClientSDL differs from the contract:\n%s", compose.LineDiff(want, got))
	}
	apollo, err := compose.ParseSupergraph(readFile(t, "router/federation/oracle/testdata/supergraphs/bookstore.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	if got := compose.Canonical(apollo.Schema); got != want {
		t.Errorf("Apollo's supergraph differs from the contract:\n%s", compose.LineDiff(want, got))
	}
}

// Composing the test graph gives the schema and the federation metadata
// that Apollo's composition gives.
func TestCompositionAgreesWithApollo(t *testing.T) {
	for _, tc := range []struct {
		name    string
		subs    []compose.Subgraph
		fixture string
	}{
		{"bookstore", bookstore(t), "bookstore.graphql"},
		{"testgraph", testgraph(t), "testgraph.graphql"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, err := compose.Compose(tc.subs)
			if err != nil {
				t.Fatal(err)
			}
			apollo, err := compose.ParseSupergraph(readFile(t, "router/federation/oracle/testdata/supergraphs/"+tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range compose.Differences(apollo, ours) {
				t.Errorf("Apollo's supergraph (want) and ours (got): %s", d)
			}
		})
	}
}

const fed = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@inaccessible", "@interfaceObject"])
`

func TestCompositionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		subs []compose.Subgraph
		// want are fragments the error must contain: the subgraph, the
		// type and the field concerned.
		want []string
	}{
		{
			name: "two types for one field",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: T } type T @key(fields: "id") { id: ID! n: Int @shareable }`},
				{Name: "b", SDL: fed + `type Query { b: T } type T @key(fields: "id") { id: ID! n: String @shareable }`},
			},
			want: []string{"T.n", `"a"`, `"b"`, "Int", "String"},
		},
		{
			name: "non-shareable field resolved in two subgraphs",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: T } type T @key(fields: "id") { id: ID! title: String }`},
				{Name: "b", SDL: fed + `type Query { b: T } type T @key(fields: "id") { id: ID! title: String }`},
			},
			want: []string{"T.title", "not @shareable", `subgraph "a"`},
		},
		{
			name: "non-shareable root field in two subgraphs",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { hello: String }`},
				{Name: "b", SDL: fed + `type Query { hello: String }`},
			},
			want: []string{"Query.hello", "not @shareable"},
		},
		{
			name: "key on a field that does not exist",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: T } type T @key(fields: "isbn") { id: ID! }`},
			},
			want: []string{`subgraph "a"`, "type T", `"isbn"`},
		},
		{
			name: "nested key field that does not exist",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: T } type T @key(fields: "v { code }") { v: V! } type V { id: ID! }`},
			},
			want: []string{`subgraph "a"`, "type V", `"code"`},
		},
		{
			name: "key selecting a composite field without a sub-selection",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: T } type T @key(fields: "v") { v: V! } type V { id: ID! }`},
			},
			want: []string{`subgraph "a"`, "T.v", "sub-selection"},
		},
		{
			name: "requires a field that does not exist",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: T } type T @key(fields: "id") { id: ID! w: Int @shareable }`},
				{Name: "b", SDL: fed + `type T @key(fields: "id") { id: ID! x: Int @requires(fields: "weight") }`},
			},
			want: []string{`subgraph "b"`, "type T", `"weight"`},
		},
		{
			name: "a type that is an object in one subgraph and an enum in another",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: Color } enum Color { RED }`},
				{Name: "b", SDL: fed + `type Query { b: Color } type Color { id: ID }`},
			},
			want: []string{"Color", `"a"`, `"b"`},
		},
		{
			name: "enum used as input and output with different values",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a(c: Color): Color } enum Color { RED GREEN }`},
				{Name: "b", SDL: fed + `type Query { b: Color } enum Color { RED }`},
			},
			want: []string{"enum Color", "GREEN", `"b"`},
		},
		{
			name: "required input field missing in one subgraph",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a(i: In): Int } input In { x: Int! y: Int }`},
				{Name: "b", SDL: fed + `type Query { b(i: In): Int } input In { y: Int }`},
			},
			want: []string{"In.x", "required"},
		},
		{
			name: "a field returning an inaccessible type",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: Secret } type Secret @inaccessible { id: ID }`},
			},
			want: []string{"Query.a", "Secret", "@inaccessible"},
		},
		{
			name: "unsupported @interfaceObject",
			subs: []compose.Subgraph{
				{Name: "a", SDL: fed + `type Query { a: Int } type I @key(fields: "id") @interfaceObject { id: ID! }`},
			},
			want: []string{`subgraph "a"`, "type I", "@interfaceObject"},
		},
		{
			name: "SDL that does not parse",
			subs: []compose.Subgraph{{Name: "broken", SDL: `type Query { a: }`}},
			want: []string{`subgraph "broken"`, "does not parse"},
		},
		{
			name: "undefined type",
			subs: []compose.Subgraph{{Name: "a", SDL: fed + `type Query { a: Missing }`}},
			want: []string{`subgraph "a"`, "Missing"},
		},
		{
			name: "no Query type anywhere",
			subs: []compose.Subgraph{{Name: "a", SDL: fed + `type T @key(fields: "id") { id: ID! }`}},
			want: []string{"Query"},
		},
		{
			name: "a subgraph listed twice",
			subs: []compose.Subgraph{{Name: "a", SDL: fed + `type Query { a: Int }`}, {Name: "a", SDL: fed + `type Query { b: Int }`}},
			want: []string{`"a"`, "twice"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compose.Compose(tc.subs)
			if err == nil {
				t.Fatal("composition succeeded; want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestCompositionFeatures(t *testing.T) {
	subs := []compose.Subgraph{
		{Name: "a", SDL: fed + `
			type Query { item(id: ID!): Item  things: [Thing!]! }
			type Item @key(fields: "id") @key(fields: "sku vendor { code }") {
				id: ID!
				sku: String!
				vendor: Vendor!
				weight: Int @shareable
				secret: String @inaccessible
			}
			type Vendor @shareable { code: String! name: String }
			union Thing = Item | Gadget
			type Gadget { id: ID! }
			enum Size { S M L }
			input Range { from: Int to: Int }
			extend type Query { sized(s: Size, r: Range): [Item!]! }
		`},
		{Name: "b", SDL: fed + `
			type Item @key(fields: "sku vendor { code }", resolvable: false) {
				sku: String!
				vendor: Vendor!
				weight: Int @external
			}
			type Vendor @shareable { code: String! name: String }
			type Review @key(fields: "id") { id: ID! item: Item! @provides(fields: "weight") }
			type Query { reviews: [Review!]! }
			enum Size { S M L XL }
			input Range { from: Int to: Int step: Int }
			type Item2 @key(fields: "id") { id: ID! }
		`},
		{Name: "c", SDL: fed + `
			type Item @key(fields: "id") {
				id: ID!
				weight: Int @external
				shipping: Int @requires(fields: "weight")
			}
			enum Size { S M L }
		`},
	}
	sg, err := compose.Compose(subs)
	if err != nil {
		t.Fatal(err)
	}
	item := sg.Type("Item")
	var keys []string
	for _, k := range item.Keys {
		keys = append(keys, fmt.Sprintf("%s:%s:%v", k.Graph, compose.FieldSetString(k.Fields), k.Resolvable))
	}
	wantKeys := []string{"a:id:true", "a:sku vendor { code }:true", "b:sku vendor { code }:false", "c:id:true"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("keys = %v, want %v", keys, wantKeys)
	}
	if r := item.Field("weight").Resolvers(); !slices.Equal(r, []string{"a"}) {
		t.Errorf("weight resolved by %v, want [a] (external in c)", r)
	}
	if src := item.Field("shipping").Source("c"); src == nil || compose.FieldSetString(src.Requires) != "weight" {
		t.Errorf("shipping's @requires was not recorded: %+v", src)
	}
	if src := sg.Type("Review").Field("item").Source("b"); src == nil || compose.FieldSetString(src.Provides) != "weight" {
		t.Errorf("Review.item's @provides was not recorded: %+v", src)
	}
	client := sg.Schema
	if client.Types["Item"].Fields.ForName("secret") != nil {
		t.Error("@inaccessible field is in the client schema")
	}
	if item.Field("secret") == nil {
		t.Error("@inaccessible field is missing from the metadata (keys and @requires may use it)")
	}
	// An enum only returned takes the union of values; used as input,
	// the intersection.
	var sizes []string
	for _, v := range client.Types["Size"].EnumValues {
		sizes = append(sizes, v.Name)
	}
	if !slices.Equal(sizes, []string{"S", "M", "L"}) {
		t.Errorf("Size = %v, want the intersection [S M L] (it is an input)", sizes)
	}
	if f := client.Types["Range"].Fields.ForName("step"); f != nil {
		t.Error("input field defined in one subgraph only is in the client schema")
	}
	if got := sg.Type("Thing").Possible["a"]; !slices.Equal(got, []string{"Item", "Gadget"}) {
		t.Errorf("Thing's members in a = %v", got)
	}
}

// A supergraph that guards fields with access control directives is
// refused: the router does not enforce them.
func TestSupergraphWithAccessControlIsRefused(t *testing.T) {
	sdl := `schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)
{ query: Query }
directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { A @join__graph(name: "a", url: "http://a") }
type Query @join__type(graph: A) { me: String @authenticated }
`
	_, err := compose.ParseSupergraph(sdl)
	if err == nil || !strings.Contains(err.Error(), "Query.me") || !strings.Contains(err.Error(), "@authenticated") {
		t.Fatalf("got %v, want a refusal naming Query.me and @authenticated", err)
	}
}
