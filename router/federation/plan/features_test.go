package plan_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/plan"
)

// fed28 links Federation 2.8 with every directive these graphs use.
const fed28 = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@interfaceObject", "@override", "@inaccessible", "@context", "@fromContext"])
`

// compose builds a supergraph of inline subgraphs, named a, b, c, ... in
// order.
func composeInline(t *testing.T, sdls ...string) *compose.Supergraph {
	t.Helper()
	var subs []compose.Subgraph
	for i, sdl := range sdls {
		subs = append(subs, compose.Subgraph{Name: string(rune('a' + i)), SDL: fed28 + sdl})
	}
	sg, err := compose.Compose(subs)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

func buildWith(t *testing.T, sg *compose.Supergraph, query string, vars map[string]any, labels ...string) string {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(sg.Schema, query)
	if errs != nil {
		t.Fatalf("query does not validate: %v", errs)
	}
	on := map[string]bool{}
	for _, l := range labels {
		on[l] = true
	}
	p, err := plan.New(sg).Build(doc, doc.Operations[0], vars, plan.Options{Labels: func(l string) bool { return on[l] }})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return dump(p)
}

// Media is an entity interface owned by a; b and c add fields to every
// implementation through @interfaceObject.
var (
	mediaA = `
type Query { media: [Media!]! user(id: ID!): User }
interface Media @key(fields: "id") { id: ID! title: String! }
type Book implements Media @key(fields: "id") { id: ID! title: String! pages: Int }
type Movie implements Media @key(fields: "id") { id: ID! title: String! minutes: Int }
type User @key(fields: "id") { id: ID! favorite: Media }
`
	mediaB = `
type Query { top: Media }
type Media @key(fields: "id") @interfaceObject {
  id: ID!
  reviews: [String!]!
  score(scale: Int!): Float @requires(fields: "price(currency: \"USD\") info { ... on Pricy { p } }")
  price(currency: String!): Float @external
  info: Info @external
}
interface Info { x: Int }
type Pricy implements Info @shareable { x: Int p: Int }
`
	mediaC = `
type Media @key(fields: "id") @interfaceObject { id: ID! price(currency: String!): Float info: Info }
interface Info { x: Int }
type Pricy implements Info @shareable { x: Int p: Int }
`
	// d knows Book alone, and one field of it.
	mediaD = `
type Book @key(fields: "id") { id: ID! isbn: String }
`
)

// Product's fields require one another across subgraphs: b's shipping
// needs a's weight, c's tax needs b's shipping (requires-requires), a's
// label needs b's code which needs a's sku (back and forth), and d's
// estimate needs a field only c resolves, reached through a.
var (
	chainA = `
type Query { products: [Product!]! }
type Product @key(fields: "id") {
  id: ID!
  sku: String!
  weight: Int
  code: String @external
  label: String @requires(fields: "code")
}
`
	chainB = `
type Product @key(fields: "id") {
  id: ID!
  weight: Int @external
  sku: String! @external
  shipping: Int @requires(fields: "weight")
  code: String @requires(fields: "sku")
}
`
	chainC = `
type Product @key(fields: "id") {
  id: ID!
  shipping: Int @external
  tax: Int @requires(fields: "shipping")
  origin: String
}
`
	chainD = `
type Product @key(fields: "id") {
  id: ID!
  origin: String @external
  estimate: String @requires(fields: "origin")
}
`
)

// Shareable root fields and keys from elsewhere: a and b both serve
// Query.item; a's Item has the name, b's has the price and the vendor's
// key; c knows Item only by its composite key (sku and vendor id), whose
// parts come from different subgraphs.
var (
	shareA = `
type Query { item(id: ID!): Item @shareable }
type Item @key(fields: "id") { id: ID! name: String sku: String! @shareable }
`
	shareB = `
type Query { item(id: ID!): Item @shareable }
type Item @key(fields: "id") { id: ID! price: Int vendor: Vendor! @shareable }
type Vendor @key(fields: "id") { id: ID! }
`
	shareC = `
type Item @key(fields: "sku vendor { id }") { sku: String! vendor: Vendor! stock: Int }
type Vendor @key(fields: "id") { id: ID! }
`
)

// Differing definitions: a returns any Animal, b's version of the union
// lacks Fish, and c's field says Dog where the supergraph says Animal.
var (
	diffA = `
type Query { pets: [Animal!]! best: Animal @shareable }
union Animal = Dog | Cat | Fish
type Dog @key(fields: "id") { id: ID! name: String }
type Cat @key(fields: "id") { id: ID! name: String }
type Fish @key(fields: "id") { id: ID! name: String }
`
	diffB = `
type Query { owned: [Animal!]! }
union Animal = Dog | Cat
type Dog @key(fields: "id") { id: ID! barks: Boolean @shareable }
type Cat @key(fields: "id") { id: ID! }
`
	diffC = `
type Query { best: Dog @shareable }
type Dog @key(fields: "id") { id: ID! barks: Boolean @shareable }
`
)

// Progressive override and contexts: b takes User.name from a for 25% of
// requests; Cart.total takes its currency from the user above it.
var (
	ctxA = `
type Query { user(id: ID!): User }
type User @key(fields: "id") @context(name: "userCtx") { id: ID! currency: String! name: String cart: Cart! }
type Cart @key(fields: "id") {
  id: ID!
  total(currency: String @fromContext(field: "$userCtx { currency }")): Float!
}
`
	ctxB = `
type User @key(fields: "id") { id: ID! name: String @override(from: "a", label: "percent(25)") }
`
)

// An entity interface that two subgraphs define, each with its
// implementations; a third knows one implementation's extra field. And an
// executable directive every subgraph defines.
var (
	nodeA = `
directive @trim on FIELD
type Query { node(id: ID!): Node search: [Node!]! }
interface Node @key(fields: "id") { id: ID! label: String }
type Article implements Node @key(fields: "id") { id: ID! label: String title: String }
type Video implements Node @key(fields: "id") { id: ID! label: String length: Int }
`
	nodeB = `
directive @trim on FIELD
interface Node @key(fields: "id") { id: ID! views: Int }
type Article implements Node @key(fields: "id") { id: ID! views: Int }
type Video implements Node @key(fields: "id") { id: ID! views: Int }
`
	nodeC = `
directive @trim on FIELD
type Video @key(fields: "id") { id: ID! codec: String }
`
)

func TestPlanFeatures(t *testing.T) {
	media := composeInline(t, mediaA, mediaB, mediaC, mediaD)
	chain := composeInline(t, chainA, chainB, chainC, chainD)
	share := composeInline(t, shareA, shareB, shareC)
	diff := composeInline(t, diffA, diffB, diffC)
	ctx := composeInline(t, ctxA, ctxB)
	node := composeInline(t, nodeA, nodeB, nodeC)
	for _, tc := range []struct {
		name   string
		sg     *compose.Supergraph
		query  string
		vars   map[string]any
		labels []string
		want   string
	}{
		{
			name:  "interfaceObject: its fields on objects the owner returned, sent under the interface's name",
			sg:    media,
			query: `{ media { id reviews } }`,
			want: `a: query {media {__typename ... on Book {id} ... on Movie {id}}}
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {reviews}}}
      _0 at media: Book as Media(id) Movie as Media(id)
`,
		},
		{
			name:  "interfaceObject: __typename and an implementation's fields come from the owner, the shared fields from the object",
			sg:    media,
			query: `{ top { __typename id reviews ... on Movie { minutes } } }`,
			want: `b: query {top {id reviews __typename}}
    a: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {__typename ... on Movie {minutes}}}}
      _0 at top: Book as Media(id) Media(id) Movie as Media(id)
`,
		},
		{
			name:  "interfaceObject: __typename alone still asks the owner",
			sg:    media,
			query: `{ top { __typename } }`,
			want: `b: query {top {__typename _k_id: id}}
    a: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {__typename}}}
      _0 at top: Book as Media(id<-_k_id) Media(id<-_k_id) Movie as Media(id<-_k_id)
`,
		},
		{
			name:  "interfaceObject: a field of one implementation that a third subgraph resolves waits for the concrete type",
			sg:    media,
			query: `{ top { id ... on Book { isbn } } }`,
			want: `b: query {top {id __typename}}
    a: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {__typename ... on Book {_k_id: id}}}}
      _0 at top: Book as Media(id) Media(id) Movie as Media(id)
        d: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Book {isbn}}}
          _0 at top: Book(id<-_k_id)
`,
		},
		{
			name:  "interfaceObject with @requires whose fields (with arguments and a fragment) another interface object resolves",
			sg:    media,
			query: `{ media { title score(scale: 10) } }`,
			want: `a: query {media {__typename ... on Book {title _k_id: id} ... on Movie {title _k_id: id}}}
    c: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {_k_price: price(currency: "USD") _k_info: info {__typename ... on Pricy {_k_p: p}}}}}
      _0 at media: Book as Media(id<-_k_id) Movie as Media(id<-_k_id)
        b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {score(scale: 10)}}}
          _0 at media: Book as Media(id<-_k_id price<-_k_price? info<-_k_info? { __typename ... on Pricy { p<-_k_p? } }) Movie as Media(id<-_k_id price<-_k_price? info<-_k_info? { __typename ... on Pricy { p<-_k_p? } })
`,
		},
		{
			name:  "the client's own arguments and the requirement's are two fields",
			sg:    media,
			query: `{ top { price(currency: "EUR") score(scale: 1) } }`,
			want: `b: query {top {__typename _k_id: id}}
    c: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {price(currency: "EUR") _k_price: price(currency: "USD") _k_info: info {__typename ... on Pricy {_k_p: p}}}}}
      _0 at top: Book as Media(id<-_k_id) Media(id<-_k_id) Movie as Media(id<-_k_id)
        b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {score(scale: 1)}}}
          _0 at top: Book as Media(id<-_k_id price<-_k_price? info<-_k_info? { __typename ... on Pricy { p<-_k_p? } }) Media(id<-_k_id price<-_k_price? info<-_k_info? { __typename ... on Pricy { p<-_k_p? } }) Movie as Media(id<-_k_id price<-_k_price? info<-_k_info? { __typename ... on Pricy { p<-_k_p? } })
`,
		},
		{
			name:  "interfaceObject reached through another entity",
			sg:    media,
			query: `query($u: ID!) { user(id: $u) { favorite { title reviews } } }`,
			want: `a: query($u: ID!) {user(id: $u) {favorite {__typename ... on Book {title _k_id: id} ... on Movie {title _k_id: id}}}}
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Media {reviews}}}
      _0 at user.favorite: Book as Media(id<-_k_id) Movie as Media(id<-_k_id)
`,
		},
		{
			name:  "requires-requires: tax waits for shipping, which waits for weight",
			sg:    chain,
			query: `{ products { tax } }`,
			want: `a: query {products {__typename _k_id: id _k_weight: weight}}
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Product {_k_shipping: shipping}}}
      _0 at products: Product(id<-_k_id weight<-_k_weight?)
        c: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Product {tax}}}
          _0 at products: Product(id<-_k_id shipping<-_k_shipping?)
`,
		},
		{
			name:  "back and forth: a's label needs b's code, which needs a's sku",
			sg:    chain,
			query: `{ products { label } }`,
			want: `a: query {products {__typename _k_id: id _k_sku: sku}}
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Product {_k_code: code}}}
      _0 at products: Product(id<-_k_id sku<-_k_sku?)
        a: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Product {label}}}
          _0 at products: Product(id<-_k_id code<-_k_code?)
`,
		},
		{
			name:  "a requirement from a third subgraph, fetched with the others that need no more than the root",
			sg:    chain,
			query: `{ products { estimate shipping } }`,
			want: `a: query {products {__typename _k_id: id _k_weight: weight}}
    c: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Product {_k_origin: origin}}}
      _0 at products: Product(id<-_k_id)
        d: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Product {estimate}}}
          _0 at products: Product(id<-_k_id origin<-_k_origin?)
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Product {shipping}}}
      _0 at products: Product(id<-_k_id weight<-_k_weight?)
`,
		},
		{
			name:  "a shareable root field goes where the selection needs the fewest fetches",
			sg:    share,
			query: `{ item(id: "1") { price vendor { id } } }`,
			want: `b: query {item(id: "1") {price vendor {id}}}
`,
		},
		{
			name:  "a composite key whose parts come from two subgraphs",
			sg:    share,
			query: `{ item(id: "1") { name stock } }`,
			want: `a: query {item(id: "1") {name __typename _k_sku: sku _k_id: id}}
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Item {_k_vendor: vendor {_k_id: id}}}}
      _0 at item: Item(id<-_k_id)
        c: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Item {stock}}}
          _0 at item: Item(sku<-_k_sku vendor<-_k_vendor { id<-_k_id })
`,
		},
		{
			name:  "a union member a subgraph does not know is never asked of it",
			sg:    diff,
			query: `{ owned { ... on Dog { name barks } ... on Fish { name } } }`,
			want: `b: query {owned {__typename ... on Dog {barks _k_id: id}}}
    a: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Dog {name}}}
      _0 at owned: Dog(id<-_k_id)
`,
		},
		{
			name:  "a field typed with a member in one subgraph gets no fragment there",
			sg:    diff,
			query: `{ best { ... on Dog { id barks } ... on Cat { id } } }`,
			want: `c: query {best {__typename id barks}}
`,
		},
		{
			name:  "@skip on a field that drives an entity fetch drops the fetch",
			sg:    chain,
			query: `query($s: Boolean!) { products { id tax @skip(if: $s) } }`,
			vars:  map[string]any{"s": true},
			want: `a: query {products {id}}
`,
		},
		{
			name:  "@include on a requirement's field the client also asks",
			sg:    chain,
			query: `query($w: Boolean!) { products { weight @include(if: $w) shipping } }`,
			vars:  map[string]any{"w": false},
			want: `a: query {products {__typename _k_id: id _k_weight: weight}}
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Product {shipping}}}
      _0 at products: Product(id<-_k_id weight<-_k_weight?)
`,
		},
		{
			name:  "a progressive override label off: the field stays where it was",
			sg:    ctx,
			query: `{ user(id: "u") { name } }`,
			want: `a: query {user(id: "u") {name}}
`,
		},
		{
			name:   "a progressive override label on: the field moves",
			sg:     ctx,
			query:  `{ user(id: "u") { name } }`,
			labels: []string{"percent(25)"},
			want: `a: query {user(id: "u") {__typename _k_id: id}}
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on User {name}}}
      _0 at user: User(id<-_k_id)
`,
		},
		{
			name:  "a contextual argument is read from the ancestor that sets the context",
			sg:    ctx,
			query: `{ user(id: "u") { cart { total } } }`,
			want: `a: query {user(id: "u") {cart {__typename _k_id: id} _k_currency: currency}}
    a: query($contextualArgument_0: String, $representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Cart {total(currency: $contextualArgument_0)}}}
      _0 at user.cart: Cart(id<-_k_id)
`,
		},
		{
			name:  "an interface fragment on an entity interface: each implementation's fields from where they live",
			sg:    node,
			query: `{ search { ... on Node { label views } ... on Video { codec } } }`,
			want: `a: query {search {__typename ... on Article {label _k_id: id} ... on Video {label _k_id: id}}}
    b: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Article {views} ... on Video {views}}}
      _0 at search: Article(id<-_k_id) Video(id<-_k_id)
    c: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Video {codec}}}
      _0 at search: Video(id<-_k_id)
`,
		},
		{
			name:  "an executable directive goes to the subgraph that resolves the field",
			sg:    node,
			query: `{ node(id: "1") { label @trim ... on Video { codec @trim } } }`,
			want: `a: query {node(id: "1") {__typename ... on Article {label @trim} ... on Video {label @trim _k_id: id}}}
    c: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Video {codec @trim}}}
      _0 at node: Video(id<-_k_id)
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := buildWith(t, tc.sg, tc.query, tc.vars, tc.labels...); got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestPlanFeaturesPrint prints the plans of FEATURE_QUERY over the media
// graph; a development aid.
func TestPlanFeaturesPrint(t *testing.T) {
	q := os.Getenv("FEATURE_QUERY")
	if q == "" {
		t.Skip("set FEATURE_QUERY")
	}
	t.Log("\n" + buildWith(t, composeInline(t, mediaA, mediaB, mediaC, mediaD), q, nil, strings.Fields(os.Getenv("FEATURE_LABELS"))...))
}
