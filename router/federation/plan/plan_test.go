package plan_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/plan"
)

func supergraph(t *testing.T, files map[string]string) *compose.Supergraph {
	t.Helper()
	var subs []compose.Subgraph
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join("..", "..", "..", files[n]))
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, compose.Subgraph{Name: n, SDL: string(raw)})
	}
	sg, err := compose.Compose(subs)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// dump prints a plan's fetch graph: one line per fetch, each under the
// last fetch it waits for (with the others it waits for in "after"), with
// the _entities paths and representation fields.
func dump(p *plan.Plan) string {
	var b strings.Builder
	roots, under := p.Tree()
	var walk func(f *plan.Fetch, indent string)
	walk = func(f *plan.Fetch, indent string) {
		fmt.Fprintf(&b, "%s%s: %s\n", indent, f.Graph, f.Query)
		if len(f.Deps) > 1 && !f.Mutation {
			var ids []string
			for _, d := range f.Deps {
				ids = append(ids, d.Graph+"#"+fmt.Sprint(d.ID))
			}
			fmt.Fprintf(&b, "%s  after %s\n", indent, strings.Join(ids, ", "))
		}
		for _, e := range f.Entities {
			var types []string
			for t, r := range e.Types {
				s := t + "(" + repString(r.Fields) + ")"
				if r.Typename != t {
					s = t + " as " + r.Typename + "(" + repString(r.Fields) + ")"
				}
				types = append(types, s)
			}
			sort.Strings(types)
			fmt.Fprintf(&b, "%s  %s at %s: %s\n", indent, e.Alias, strings.Join(e.Path, "."), strings.Join(types, " "))
		}
		for _, c := range under[f] {
			walk(c, indent+"    ")
		}
	}
	for _, f := range roots {
		walk(f, "")
	}
	return b.String()
}

func repString(reps []*plan.RepField) string {
	var parts []string
	for _, r := range reps {
		s := r.Name
		if r.Key != r.Name {
			s += "<-" + r.Key
		}
		if r.Optional {
			s += "?"
		}
		if o := r.Sub; o != nil {
			var inner []string
			if o.Typename {
				inner = append(inner, "__typename")
			}
			if len(o.Fields) > 0 {
				inner = append(inner, repString(o.Fields))
			}
			var types []string
			for t := range o.ByType {
				types = append(types, t)
			}
			sort.Strings(types)
			for _, t := range types {
				if len(o.ByType[t]) > 0 {
					inner = append(inner, "... on "+t+" { "+repString(o.ByType[t])+" }")
				}
			}
			s += " { " + strings.Join(inner, " ") + " }"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func build(t *testing.T, sg *compose.Supergraph, query string, vars map[string]any) string {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(sg.Schema, query)
	if errs != nil {
		t.Fatalf("query does not validate: %v", errs)
	}
	p, err := plan.Build(sg, doc, doc.Operations[0], vars)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return dump(p)
}

func testgraph(t *testing.T) *compose.Supergraph {
	return supergraph(t, map[string]string{
		"fleet":     "router/federation/oracle/testdata/testgraph/fleet.graphql",
		"missions":  "router/federation/oracle/testdata/testgraph/missions.graphql",
		"telemetry": "router/federation/oracle/testdata/testgraph/telemetry.graphql",
	})
}

func bookstore(t *testing.T) *compose.Supergraph {
	return supergraph(t, map[string]string{
		"books":  "books-subgraph/graph/schema.graphqls",
		"orders": "orders-subgraph/graph/schema.graphqls",
	})
}

// Each case is a query and the fetches it must plan to: one line per
// fetch, its _entities paths and representations under it, and the
// fetches that depend on it indented below.
func TestPlans(t *testing.T) {
	tg, bs := testgraph(t), bookstore(t)
	for _, tc := range []struct {
		name  string
		sg    *compose.Supergraph
		query string
		vars  map[string]any
		want  string
	}{
		{
			name:  "key fields only need no fetch",
			sg:    bs,
			query: `{ order(id: "x") { items { book { id } } } }`,
			want: `orders: query {order(id: "x") {items {book {id}}}}
`,
		},
		{
			name:  "root fields of two subgraphs fetch in parallel, each with its entities",
			sg:    bs,
			query: `{ books(first: 2) { edges { node { title unitsSold } } } o: order(id: "x") { items { book { title } } } }`,
			want: `books: query {books(first: 2) {edges {node {title __typename _k_id: id}}}}
    orders: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Book {unitsSold}}}
      _0 at books.edges.node: Book(id<-_k_id)
orders: query {o: order(id: "x") {items {book {__typename _k_id: id}}}}
    books: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Book {title}}}
      _0 at o.items.book: Book(id<-_k_id)
`,
		},
		{
			name:  "fragments are flattened and a client key field is reused",
			sg:    bs,
			query: `query($id: ID!) { order(id: $id) { id ...F } } fragment F on Order { items { quantity book { __typename id title } } }`,
			want: `orders: query($id: ID!) {order(id: $id) {id items {quantity book {__typename id}}}}
    books: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Book {title}}}
      _0 at order.items.book: Book(id)
`,
		},
		{
			name:  "@provides serves an external field with no extra fetch",
			sg:    tg,
			query: `{ mission(id:"m1") { name commander { name } } }`,
			want: `missions: query {mission(id: "m1") {name commander {name}}}
`,
		},
		{
			name:  "without @provides the owner is fetched",
			sg:    tg,
			query: `{ mission(id:"m1") { crew { name callsign } } }`,
			want: `missions: query {mission(id: "m1") {crew {__typename _k_id: id}}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Astronaut {name callsign}}}
      _0 at mission.crew: Astronaut(id<-_k_id)
`,
		},
		{
			name:  "@requires with a nested field is fetched with the key",
			sg:    tg,
			query: `{ craft(id:"x") { fuelRemainingKg } }`,
			want: `fleet: query {craft(id: "x") {__typename _k_registry: registry _k_specs: specs {_k_fuelCapacityKg: fuelCapacityKg}}}
    telemetry: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {fuelRemainingKg}}}
      _0 at craft: Spacecraft(registry<-_k_registry specs<-_k_specs? { fuelCapacityKg<-_k_fuelCapacityKg? })
`,
		},
		{
			name:  "@requires fields another subgraph owns are fetched before the field, even in its own subgraph",
			sg:    tg,
			query: `{ reading(id:"r1") { spacecraft { name thrustToWeight } } }`,
			want: `telemetry: query {reading(id: "r1") {__typename ... on ImageCapture {spacecraft {__typename _k_registry: registry}} ... on TemperatureReading {spacecraft {__typename _k_registry: registry}}}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {name _k_massKg: massKg _k_specs: specs {_k_thrustKn: thrustKn}}}}
      _0 at reading.spacecraft: Spacecraft(registry<-_k_registry)
        telemetry: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {thrustToWeight}}}
          _0 at reading.spacecraft: Spacecraft(registry<-_k_registry massKg<-_k_massKg? specs<-_k_specs? { thrustKn<-_k_thrustKn? })
`,
		},
		{
			name:  "a key the parent lacks is fetched through a subgraph that knows both keys",
			sg:    tg,
			query: `{ missions { spacecraft { lastContact } } }`,
			want: `missions: query {missions {spacecraft {__typename _k_id: id}}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {_k_registry: registry}}}
      _0 at missions.spacecraft: Spacecraft(id<-_k_id)
        telemetry: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {lastContact}}}
          _0 at missions.spacecraft: Spacecraft(registry<-_k_registry)
`,
		},
		{
			name:  "an interface is planned per implementation",
			sg:    tg,
			query: `{ vehicles { __typename name ... on Spacecraft { missions { name } } ... on Rover { wheels } } }`,
			want: `fleet: query {vehicles {__typename ... on Rover {name wheels} ... on Spacecraft {name _k_id: id}}}
    missions: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {missions {name}}}}
      _0 at vehicles: Spacecraft(id<-_k_id)
`,
		},
		{
			name:  "a union, a composite key and a shareable field taken where it is",
			sg:    tg,
			query: `{ timeline(missionId:"m1") { ... on Launch { vehicle weather { windKph } } ... on Docking { spacecraft { name registry } } } }`,
			want: `missions: query {timeline(missionId: "m1") {__typename ... on Docking {spacecraft {name __typename _k_id: id}} ... on Launch {vehicle _k_site: site {_k_code: code} _k_number: number}}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {registry}}}
      _0 at timeline.spacecraft: Spacecraft(id<-_k_id)
    telemetry: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Launch {weather {windKph}}}}
      _0 at timeline: Launch(site<-_k_site { code<-_k_code } number<-_k_number)
`,
		},
		{
			name:  "mutations run in order, each with its entity fetches",
			sg:    tg,
			query: `mutation { planBurn(input:{spacecraftId:"s", deltaV: 1}) { id spacecraft { name registry } } annotateReading(id:"r1", note:"x") { note } }`,
			want: `missions: mutation {planBurn(input: {spacecraftId:"s",deltaV:1}) {id spacecraft {name __typename _k_id: id}}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {registry}}}
      _0 at planBurn.spacecraft: Spacecraft(id<-_k_id)
telemetry: mutation {annotateReading(id: "r1", note: "x") {note}}
`,
		},
		{
			name:  "aliases keep their arguments, and an internal field never takes a client's key",
			sg:    tg,
			query: `{ a: craft(id:"x") { registry } b: craft(id:"y") { registry: name lastContact } }`,
			want: `fleet: query {a: craft(id: "x") {registry} b: craft(id: "y") {registry: name __typename _k_registry: registry}}
    telemetry: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {lastContact}}}
      _0 at b: Spacecraft(registry<-_k_registry)
`,
		},
		{
			name:  "an internal field never takes a client key that looks like an internal one, in any fetch",
			sg:    tg,
			query: `{ missions { spacecraft { lastContact _k_registry: name _k_id: id } } }`,
			want: `missions: query {missions {spacecraft {_k_registry: name _k_id: id __typename}}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {_k0_registry: registry}}}
      _0 at missions.spacecraft: Spacecraft(id<-_k_id)
        telemetry: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Spacecraft {lastContact}}}
          _0 at missions.spacecraft: Spacecraft(registry<-_k0_registry)
`,
		},
		{
			name:  "when the client gives __typename to another field, the planner's __typename takes an alias",
			sg:    tg,
			query: `{ mission(id: "m1") { crew { __typename: callsign name } } vehicles { __typename name } }`,
			want: `missions: query {mission(id: "m1") {crew {_k___typename: __typename _k_id: id}}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Astronaut {__typename: callsign name}}}
      _0 at mission.crew: Astronaut(id<-_k_id)
fleet: query {vehicles {_k___typename: __typename ... on Rover {name} ... on Spacecraft {name}}}
`,
		},
		{
			name:  "@skip with a variable decides the plan",
			sg:    tg,
			query: `query($s: Boolean!) { mission(id:"m1") { name crew @skip(if: $s) { callsign } } }`,
			vars:  map[string]any{"s": true},
			want: `missions: query {mission(id: "m1") {name}}
`,
		},
		{
			name:  "@include with a variable decides the plan",
			sg:    tg,
			query: `query($s: Boolean!) { mission(id:"m1") { name crew @include(if: $s) { callsign } } }`,
			vars:  map[string]any{"s": true},
			want: `missions: query {mission(id: "m1") {name crew {__typename _k_id: id}}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Astronaut {callsign}}}
      _0 at mission.crew: Astronaut(id<-_k_id)
`,
		},
		{
			name:  "variables are declared where they are used",
			sg:    tg,
			query: `query($f: PatchFormat, $n: Int, $id: ID!) { mission(id: $id) { crew { name } patch(format: $f, scale: $n) } }`,
			want: `missions: query($f: PatchFormat, $id: ID!, $n: Int) {mission(id: $id) {crew {__typename _k_id: id} patch(format: $f, scale: $n)}}
    fleet: query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Astronaut {name}}}
      _0 at mission.crew: Astronaut(id<-_k_id)
`,
		},
		{
			name:  "introspection and __typename need no fetch",
			sg:    bs,
			query: `{ __typename __type(name: "Book") { name } }`,
			want:  ``,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := build(t, tc.sg, tc.query, tc.vars); got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// A representation variable never takes a client variable's name.
func TestRepresentationVariableAvoidsClientNames(t *testing.T) {
	got := build(t, bookstore(t), `query($representations0: ID!) { order(id: $representations0) { items { book { title } } } }`, nil)
	if !strings.Contains(got, "$_representations0: [_Any!]!") {
		t.Errorf("plan:\n%s", got)
	}
}

// A plan of one fetch that adds nothing to the client's selection passes
// the subgraph's data through.
func TestPassthrough(t *testing.T) {
	tg, bs := testgraph(t), bookstore(t)
	for _, tc := range []struct {
		sg    *compose.Supergraph
		query string
		want  bool
	}{
		{bs, `{ books(first: 3) { edges { node { __typename id title } } totalCount } }`, true},
		{bs, `{ order(id: "x") { items { book { id } } } }`, true},
		{bs, `query($id: ID!) { a: book(id: $id) { title } b: book(id: $id) { author } }`, true},
		{bs, `{ __typename books { totalCount } }`, false},            // the root's name is the router's
		{bs, `{ books { edges { node { unitsSold } } } }`, false},     // an entity fetch
		{bs, `{ books { totalCount } orders { totalCount } }`, false}, // two fetches
		{bs, `{ __type(name: "Book") { name } books { totalCount } }`, false},
		{tg, `{ vehicles { name } }`, false}, // an interface: __typename is added
		{tg, `{ mission(id: "m1") { commander { name } } }`, true},
	} {
		doc, errs := gqlparser.LoadQuery(tc.sg.Schema, tc.query)
		if errs != nil {
			t.Fatal(errs)
		}
		p, err := plan.Build(tc.sg, doc, doc.Operations[0], map[string]any{"id": "x"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Passthrough != tc.want {
			t.Errorf("%s: Passthrough = %v, want %v", tc.query, p.Passthrough, tc.want)
		}
	}
}

// IsInternalKey tells the planner's keys from the client's, even when the
// client's look alike.
func TestIsInternalKey(t *testing.T) {
	sg := testgraph(t)
	query := `{ missions { spacecraft { lastContact _k_registry: name } } m: missions { _k_id: name } }`
	doc, errs := gqlparser.LoadQuery(sg.Schema, query)
	if errs != nil {
		t.Fatal(errs)
	}
	p, err := plan.Build(sg, doc, doc.Operations[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]bool{
		"_k0_registry": true, "_k0_unplanned": false,
		"_k_id": false, "_k_registry": false, "lastContact": false, "spacecraft": false, "__typename": false,
	} {
		if got := p.IsInternalKey(key); got != want {
			t.Errorf("IsInternalKey(%q) = %v, want %v\n%s", key, got, want, dump(p))
		}
	}
}
