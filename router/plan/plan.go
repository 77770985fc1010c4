// Package plan turns a validated client operation into a tree of subgraph
// fetches: root fields grouped by subgraph, and _entities fetches for the
// fields that other subgraphs resolve, with the keys and @requires fields
// they need added to the fetches before them.
//
// A plan depends on the operation, the supergraph and the values of the
// variables that @skip and @include use; nothing else. It is immutable and
// may be cached and shared between requests.
package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/router/compose"
)

// Plan is the fetch tree of one operation, and the normalized selection the
// executor shapes the response with.
type Plan struct {
	Operation ast.Operation
	// Root is the normalized selection on the root type.
	Root *Selection
	// Fetches are the root fetches: run in parallel for a query, one after
	// another for a mutation.
	Fetches []*Fetch
	// Introspection is true when a root field is __schema or __type: the
	// executor answers those from the schema.
	Introspection bool
	// Passthrough is true when the plan is one fetch whose selection is
	// exactly the client's (no key, @requires or __typename field added, no
	// entity fetch): the subgraph's data is then the response as it is.
	Passthrough bool
	// VariableTypes holds the client's variable definitions by name.
	VariableTypes map[string]*ast.Type

	// internal holds the response keys of the fields the planner added,
	// and typename the key of its __typename fields.
	internal map[string]bool
	typename string
}

// IsInternal reports whether a response key is one the planner gave a
// field it added to a subgraph selection (a key or a @requires field).
// No client field of the operation has such a key, so a subgraph error's
// path that reaches one has left the client's selection there.
func (p *Plan) IsInternal(key string) bool { return p.internal[key] }

// TypenameKey is the response key under which the fetches answer the
// __typename of the objects whose type the executor needs: __typename,
// unless the client's operation gives that key to another field.
func (p *Plan) TypenameKey() string { return p.typename }

// Fetch is one request to one subgraph.
type Fetch struct {
	Graph string
	// Query is the subgraph operation's text, and QueryJSON the same as a
	// JSON string, ready for a request body.
	Query     string
	QueryJSON []byte
	// Variables are the client variables Query uses.
	Variables []string
	// Entities are the _entities selections of an entity fetch, one per
	// path; nil for a root fetch.
	Entities []*Entities
	// Children run once this fetch's data is merged.
	Children []*Fetch
	// Mutation is true for a root fetch of a mutation: the transport
	// retries it only when it surely never reached the subgraph.
	Mutation bool

	root    *subSelection // root fetch: the selection on the root type
	byPath  map[string]*Entities
	aliases *aliases
}

// Entities is one _entities field of an entity fetch: the objects found at
// Path in the response so far whose __typename is one of Types.
type Entities struct {
	// Alias is the _entities field's alias in the fetch, and Variable the
	// name of its representations variable.
	Alias, Variable string
	// Path is the response keys from the root to the objects; lists on the
	// way are walked through.
	Path []string
	// Types maps each entity type to the fields of its representations.
	Types map[string][]*RepField

	fragments *subSelection
	reps      map[string][]*repField
}

// RepField is one field of an entity representation: its name in the
// representation, its response key in the data already fetched, and its
// sub-fields for a composite key.
type RepField struct {
	Name, Key string
	Sub       []*RepField
	// Nullable is true for a field only @requires asks for: its null is
	// sent as it is. A key field that is null makes the object one that
	// cannot be fetched.
	Nullable bool
}

type repField struct {
	name     string
	field    *subField
	sub      []*repField
	nullable bool
}

// Error is a planning failure: the operation asks for something the
// supergraph cannot serve.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Build plans one operation of a validated document. vars are the coerced
// variable values; only those @skip and @include use affect the plan.
func Build(sg *compose.Supergraph, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) (*Plan, error) {
	n := &normalizer{schema: sg.Schema, fragments: doc.Fragments, vars: vars}
	rootType := sg.Schema.Query
	if op.Operation == ast.Mutation {
		rootType = sg.Schema.Mutation
	}
	if rootType == nil || op.Operation == ast.Subscription {
		return nil, &Error{Msg: fmt.Sprintf("the schema does not support %s operations", op.Operation)}
	}
	root, err := n.selection(rootType.Name, []ast.SelectionSet{op.SelectionSet})
	if err != nil {
		return nil, &Error{Msg: err.Error()}
	}
	p := &planner{sg: sg, vars: map[string]*ast.Type{}, opName: op.Name, aliases: newAliases(root)}
	for _, v := range op.VariableDefinitions {
		p.vars[v.Variable] = v.Type
	}
	out := &Plan{Operation: op.Operation, Root: root, VariableTypes: p.vars, internal: p.aliases.internal, typename: p.aliases.typename}
	if err := p.planRoot(out, rootType.Name, root.Fields[rootType.Name], op.Operation == ast.Mutation); err != nil {
		return nil, err
	}
	for _, f := range out.Fetches {
		p.finish(f)
	}
	out.Passthrough = len(out.Fetches) == 1 && !out.Introspection && len(out.Fetches[0].Children) == 0 &&
		!out.Fetches[0].root.hasInternal() && !rootTypename(root, rootType.Name)
	return out, nil
}

type planner struct {
	sg   *compose.Supergraph
	vars map[string]*ast.Type
	err  error
	// opName is the client operation's name; a named operation's fetches
	// are named after it, NAME__SUBGRAPH__N, so that a subgraph's logs,
	// metrics and traces say which client operation asked.
	opName  string
	fetches int
	aliases *aliases
}

func (p *planner) fail(format string, args ...any) {
	if p.err == nil {
		p.err = &Error{Msg: fmt.Sprintf(format, args...)}
	}
}

// planRoot groups root fields by subgraph. A query's fetches run in
// parallel; a mutation's consecutive fields of one subgraph share a fetch,
// and fetches run in field order.
func (p *planner) planRoot(out *Plan, rootType string, fields []*Field, mutation bool) error {
	meta := p.sg.Type(rootType)
	var last *Fetch
	byGraph := map[string]*Fetch{}
	for _, f := range fields {
		switch f.Name {
		case "__typename":
			continue
		case "__schema", "__type":
			out.Introspection = true
			continue
		}
		resolvers := meta.Field(f.Name).Resolvers()
		if len(resolvers) == 0 {
			return &Error{Msg: fmt.Sprintf("no subgraph resolves %s.%s", rootType, f.Name)}
		}
		graph := resolvers[0]
		if !mutation {
			for _, g := range resolvers {
				if byGraph[g] != nil {
					graph = g
					break
				}
			}
		}
		var fetch *Fetch
		switch {
		case mutation && last != nil && last.Graph == graph:
			fetch = last
		case !mutation && byGraph[graph] != nil:
			fetch = byGraph[graph]
		default:
			fetch = &Fetch{Graph: graph, Mutation: mutation, root: newSubSelection(p.aliases), aliases: p.aliases}
			out.Fetches = append(out.Fetches, fetch)
			byGraph[graph] = fetch
		}
		last = fetch
		p.planFields(fetch, graph, rootType, []*Field{f}, fetch.root, nil, nil)
		if p.err != nil {
			return p.err
		}
	}
	return p.err
}

// planFields plans the fields of object type typeName that fetch (in graph)
// reads at path into sel. Fields graph cannot resolve are fetched from other
// subgraphs through _entities.
func (p *planner) planFields(fetch *Fetch, graph, typeName string, fields []*Field, sel *subSelection, path []string, provided ast.SelectionSet) {
	p.planFieldsIn(fetch, graph, typeName, fields, sel, path, provided, false)
}

// planFieldsIn is planFields; entity is true for the fields an _entities
// selection was made for, whose @requires fields are in the
// representations.
func (p *planner) planFieldsIn(fetch *Fetch, graph, typeName string, fields []*Field, sel *subSelection, path []string, provided ast.SelectionSet, entity bool) {
	meta := p.sg.Type(typeName)
	var pending []*Field
	for _, f := range fields {
		if f.Name == "__typename" {
			// The subgraph answers it too, so that a response it alone
			// makes can be passed through; shaping writes it itself.
			if meta.Name != "Query" && meta.Name != "Mutation" {
				sel.field(f.Key, "__typename", nil, false)
			}
			continue
		}
		fm := meta.Field(f.Name)
		src := fm.Source(graph)
		// A field with @requires needs its required fields fetched first,
		// so even its own subgraph serves it through _entities.
		local := src != nil && (src.Requires == nil || entity) && (!src.External || providedField(provided, f.Name) != nil)
		if meta.Name == "Query" || meta.Name == "Mutation" {
			local = src != nil && !src.External
		}
		if !local {
			pending = append(pending, f)
			continue
		}
		sf := sel.field(f.Key, f.Name, f.Arguments, false)
		if f.Sub == nil {
			continue
		}
		var childProvided ast.SelectionSet
		if pf := providedField(provided, f.Name); pf != nil {
			childProvided = append(childProvided, pf.SelectionSet...)
		}
		if src != nil && src.Provides != nil {
			childProvided = append(childProvided, src.Provides...)
		}
		p.planComposite(fetch, graph, f.Sub, sf.sub(), append(slices.Clip(path), f.Key), childProvided)
	}
	if len(pending) > 0 {
		p.jump(fetch, graph, typeName, pending, sel, path)
	}
}

// planComposite plans a composite field's selection in graph.
func (p *planner) planComposite(fetch *Fetch, graph string, s *Selection, sel *subSelection, path []string, provided ast.SelectionSet) {
	if !s.Abstract {
		p.planFields(fetch, graph, s.TypeName, s.Fields[s.TypeName], sel, path, provided)
		return
	}
	sel.field(p.aliases.typename, "__typename", nil, true)
	meta := p.sg.Type(s.TypeName)
	var possible []string
	if meta != nil {
		possible = meta.Possible[graph]
	}
	for _, rt := range sortedKeys(s.Fields) {
		if !slices.Contains(possible, rt) {
			continue
		}
		fields := s.Fields[rt]
		if len(fields) == 0 || (len(fields) == 1 && fields[0].Name == "__typename") {
			continue
		}
		p.planFields(fetch, graph, rt, fields, sel.fragment(rt), path, provided)
	}
}

func providedField(set ast.SelectionSet, name string) *ast.Field {
	for _, s := range set {
		if f, ok := s.(*ast.Field); ok && f.Name == name {
			return f
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jump fetches fields of entity type typeName that graph cannot resolve
// from the subgraphs that can, through _entities. The key and @requires
// fields are added to the selection the objects come from.
func (p *planner) jump(fetch *Fetch, graph, typeName string, pending []*Field, sel *subSelection, path []string) {
	meta := p.sg.Type(typeName)
	// Group the fields by the subgraph that will resolve them, preferring a
	// subgraph already chosen for another field here.
	var order []string
	groups := map[string][]*Field{}
	for _, f := range pending {
		candidates := meta.Field(f.Name).Resolvers()
		var chosen string
		for _, g := range candidates {
			if groups[g] != nil && p.entityKey(meta, g, graph) != nil {
				chosen = g
				break
			}
		}
		if chosen == "" {
			for _, g := range candidates {
				if p.entityKey(meta, g, graph) != nil {
					chosen = g
					break
				}
			}
		}
		if chosen == "" {
			for _, g := range candidates {
				if hasResolvableKey(meta, g) {
					chosen = g
					break
				}
			}
		}
		if chosen == "" {
			p.fail("cannot plan %s.%s: subgraph %q does not resolve it and no subgraph that does has a key for %s", typeName, f.Name, graph, typeName)
			return
		}
		if groups[chosen] == nil {
			order = append(order, chosen)
		}
		groups[chosen] = append(groups[chosen], f)
	}
	sel.field(p.aliases.typename, "__typename", nil, true)
	for _, g := range order {
		fields := groups[g]
		key := p.entityKey(meta, g, graph)
		dep := fetch
		var reps []*repField
		if key != nil {
			reps = p.require(graph, typeName, key.Fields, sel)
		} else {
			// No key of g is available from graph: fetch one from a
			// third subgraph first.
			key = firstResolvableKey(meta, g)
			var via *Fetch
			reps, via = p.hop(fetch, graph, typeName, key.Fields, sel, path)
			if via == nil {
				p.fail("cannot plan %s.%s: no subgraph provides the key %q of subgraph %q", typeName, fields[0].Name, key.Source, g)
				return
			}
			dep = via
		}
		for _, f := range fields {
			src := meta.Field(f.Name).Source(g)
			if src.Requires == nil {
				continue
			}
			local, remote := p.split(meta, graph, src.Requires)
			reps = mergeReps(reps, nullable(p.require(graph, typeName, local, sel)))
			if len(remote) > 0 {
				more, via := p.hop(dep, graph, typeName, remote, sel, path)
				if via == nil {
					p.fail("cannot plan %s.%s: its @requires(fields: %q) cannot be fetched", typeName, f.Name, compose.FieldSetString(src.Requires))
					return
				}
				reps = mergeReps(reps, nullable(more))
				dep = via
			}
		}
		child := dep.child(g)
		ent := child.entities(path)
		ent.reps[typeName] = mergeReps(ent.reps[typeName], reps)
		p.planFieldsIn(child, g, typeName, fields, ent.fragments.fragment(typeName), path, nil, true)
	}
}

// hop fetches field set fields of typeName, which graph does not resolve,
// from another subgraph through a key graph has. It returns the
// representation fields, read from the hop's results, and the hop's fetch.
func (p *planner) hop(fetch *Fetch, graph, typeName string, fields ast.SelectionSet, sel *subSelection, path []string) ([]*repField, *Fetch) {
	meta := p.sg.Type(typeName)
	for _, g := range meta.Graphs {
		if g == graph {
			continue
		}
		key := p.entityKey(meta, g, graph)
		if key == nil || !p.resolvesSet(meta, g, fields) {
			continue
		}
		keyReps := p.require(graph, typeName, key.Fields, sel)
		child := fetch.child(g)
		ent := child.entities(path)
		ent.reps[typeName] = mergeReps(ent.reps[typeName], keyReps)
		frag := ent.fragments.fragment(typeName)
		// The hop's fields land in the same objects, under their own names.
		return p.require(g, typeName, fields, frag), child
	}
	return nil, nil
}

// require adds the fields of a field set to sel (as internal fields) and
// returns how to read them back for a representation.
func (p *planner) require(graph, typeName string, set ast.SelectionSet, sel *subSelection) []*repField {
	var out []*repField
	meta := p.sg.Type(typeName)
	for _, s := range set {
		f := s.(*ast.Field)
		var typ, named string
		if fm := meta.Field(f.Name); fm != nil && fm.Type != nil {
			typ, named = fm.Type.String(), fm.Type.Name()
		}
		sf := sel.internalField(f.Name, typ)
		rf := &repField{name: f.Name, field: sf}
		if len(f.SelectionSet) > 0 {
			rf.sub = p.require(graph, named, f.SelectionSet, sf.sub())
		}
		out = append(out, rf)
	}
	return out
}

// split divides a field set into the fields graph resolves and the others.
func (p *planner) split(meta *compose.Type, graph string, set ast.SelectionSet) (local, remote ast.SelectionSet) {
	for _, s := range set {
		f := s.(*ast.Field)
		if fm := meta.Field(f.Name); fm != nil && fm.ResolvedIn(graph) && p.resolvesSet(p.sg.Type(namedType(fm)), graph, f.SelectionSet) {
			local = append(local, f)
		} else {
			remote = append(remote, f)
		}
	}
	return local, remote
}

func namedType(f *compose.Field) string {
	if f == nil || f.Type == nil {
		return ""
	}
	return f.Type.Name()
}

// resolvesSet reports whether graph resolves every field of a field set.
func (p *planner) resolvesSet(meta *compose.Type, graph string, set ast.SelectionSet) bool {
	for _, s := range set {
		f := s.(*ast.Field)
		fm := meta.Field(f.Name)
		if fm == nil || !fm.ResolvedIn(graph) {
			return false
		}
		if len(f.SelectionSet) > 0 && !p.resolvesSet(p.sg.Type(namedType(fm)), graph, f.SelectionSet) {
			return false
		}
	}
	return true
}

// entityKey returns a resolvable key of meta in target whose fields graph
// resolves, or nil.
func (p *planner) entityKey(meta *compose.Type, target, graph string) *compose.Key {
	for i, k := range meta.Keys {
		if k.Graph == target && k.Resolvable && p.resolvesSet(meta, graph, k.Fields) {
			return &meta.Keys[i]
		}
	}
	return nil
}

func hasResolvableKey(meta *compose.Type, graph string) bool {
	return firstResolvableKey(meta, graph) != nil
}

func firstResolvableKey(meta *compose.Type, graph string) *compose.Key {
	for i, k := range meta.Keys {
		if k.Graph == graph && k.Resolvable {
			return &meta.Keys[i]
		}
	}
	return nil
}

// nullable marks @requires fields, and their sub-fields, as ones whose null
// is sent rather than making the object unfetchable.
func nullable(reps []*repField) []*repField {
	for _, r := range reps {
		r.nullable = true
		nullable(r.sub)
	}
	return reps
}

// mergeReps adds the fields of b that a lacks to a. A field in both keeps
// a's entry, with the sub-fields of both.
func mergeReps(a, b []*repField) []*repField {
	for _, r := range b {
		found := false
		for _, x := range a {
			if x.name == r.name {
				x.sub = mergeReps(x.sub, r.sub)
				found = true
				break
			}
		}
		if !found {
			a = append(a, r)
		}
	}
	return a
}

// child returns the entity fetch to graph that runs after f, creating it:
// one request per subgraph per level.
func (f *Fetch) child(graph string) *Fetch {
	for _, c := range f.Children {
		if c.Graph == graph {
			return c
		}
	}
	c := &Fetch{Graph: graph, byPath: map[string]*Entities{}, aliases: f.aliases}
	f.Children = append(f.Children, c)
	return c
}

// entities returns the fetch's _entities selection for path, creating it.
func (f *Fetch) entities(path []string) *Entities {
	k := strings.Join(path, "\x00")
	if e := f.byPath[k]; e != nil {
		return e
	}
	e := &Entities{Path: slices.Clone(path), fragments: newSubSelection(f.aliases), reps: map[string][]*repField{}}
	f.byPath[k] = e
	f.Entities = append(f.Entities, e)
	return e
}

// finish prints each fetch's query and freezes its representations.
func (p *planner) finish(f *Fetch) {
	used := map[string]bool{}
	var body strings.Builder
	if f.Entities == nil {
		f.root.write(&body, used)
	} else {
		body.WriteByte('{')
		for i, e := range f.Entities {
			e.Alias = fmt.Sprintf("_%d", i)
			e.Variable = p.freeVariable(fmt.Sprintf("representations%d", i))
			if i > 0 {
				body.WriteByte(' ')
			}
			fmt.Fprintf(&body, "%s: _entities(representations: $%s) ", e.Alias, e.Variable)
			e.fragments.write(&body, used)
			e.Types = map[string][]*RepField{}
			for t, reps := range e.reps {
				e.Types[t] = freezeReps(reps)
			}
		}
		body.WriteByte('}')
	}
	var q strings.Builder
	if f.Mutation {
		q.WriteString("mutation")
	} else {
		q.WriteString("query")
	}
	if p.opName != "" {
		fmt.Fprintf(&q, " %s__%s__%d", p.opName, nameSafe(f.Graph), p.fetches)
		p.fetches++
	}
	var decls []string
	for name := range used {
		f.Variables = append(f.Variables, name)
	}
	slices.Sort(f.Variables)
	for _, name := range f.Variables {
		decls = append(decls, "$"+name+": "+p.vars[name].String())
	}
	for _, e := range f.Entities {
		decls = append(decls, "$"+e.Variable+": [_Any!]!")
	}
	if len(decls) > 0 {
		q.WriteString("(" + strings.Join(decls, ", ") + ")")
	}
	q.WriteByte(' ')
	q.WriteString(body.String())
	f.Query = q.String()
	f.QueryJSON, _ = json.Marshal(f.Query)
	for _, c := range f.Children {
		p.finish(c)
	}
}

// nameSafe maps a subgraph's name onto GraphQL's name characters.
func nameSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// freeVariable returns name, or a variant of it that no client variable
// uses.
func (p *planner) freeVariable(name string) string {
	for n := name; ; n = "_" + n {
		if _, taken := p.vars[n]; !taken {
			return n
		}
	}
}

func freezeReps(reps []*repField) []*RepField {
	out := make([]*RepField, len(reps))
	for i, r := range reps {
		out[i] = &RepField{Name: r.name, Key: r.field.alias, Sub: freezeReps(r.sub), Nullable: r.nullable}
	}
	return out
}

// rootTypename reports whether the client selects __typename on the root
// type, which a subgraph may name differently.
func rootTypename(root *Selection, rootType string) bool {
	for _, f := range root.Fields[rootType] {
		if f.Name == "__typename" {
			return true
		}
	}
	return false
}
