package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/router/federation/compose"
)

// planner builds one plan. It walks the client's normalized selection from
// the root, placing each field in the fetch of the subgraph it is read
// from. A field the current subgraph cannot resolve is read from another
// one through _entities: that fetch waits for the fetches that bring its
// objects, their key, the fields its @requires names and the values of its
// contextual arguments, each of which is planned the same way, as internal
// fields, from the position the objects are at.
type planner struct {
	sg     *compose.Supergraph
	vars   map[string]*ast.Type
	opName string
	labels func(string) bool
	// prefix starts every internal response key, and typenameKey is the
	// key of the __typename the planner asks.
	prefix, typenameKey string
	err                 error
	// fetches are every fetch, in the order they were made: each after
	// the fetches it depends on.
	fetches []*Fetch
	// nodes finds an entity fetch by its subgraph and dependencies, so
	// that entity fetches that can go together are one request.
	nodes map[string]*Fetch
	// aliases gives each internal field (name and arguments) one response
	// key for the whole plan; aliasCount numbers the variants of a name.
	aliases    map[string]string
	aliasCount map[string]int
	// keyOf is the response key each internal field was placed under.
	keyOf map[*Field]string
	// active holds the entity jumps whose key is being planned (path,
	// subgraph, type), so that a key that can only be fetched through
	// itself fails rather than recursing forever; requiring holds the
	// fields whose @requires is being planned (path, type, field), so that
	// a requirement that needs itself does.
	active, requiring map[string]bool
	// extraVars are the variables the planner declares itself (contextual
	// arguments), with their types.
	extraVars map[string]*ast.Type
	estimates map[estimateKey]int
	// facts are what the plans over this supergraph, with these override
	// labels, have learnt of it.
	facts *facts
	// signatures memoizes fieldSignature.
	signatures map[*Field]string
}

func newPlanner(sg *compose.Supergraph, f *facts, op *ast.OperationDefinition, opts Options) *planner {
	p := &planner{
		sg: sg, vars: map[string]*ast.Type{}, opName: op.Name, labels: opts.Labels,
		facts: f, nodes: map[string]*Fetch{}, aliases: map[string]string{}, aliasCount: map[string]int{},
		keyOf: map[*Field]string{}, active: map[string]bool{}, requiring: map[string]bool{}, extraVars: map[string]*ast.Type{},
		estimates: map[estimateKey]int{}, signatures: map[*Field]string{},
	}
	for _, v := range op.VariableDefinitions {
		p.vars[v.Variable] = v.Type
	}
	return p
}

func (p *planner) fail(format string, args ...any) {
	if p.err == nil {
		p.err = &Error{Msg: fmt.Sprintf(format, args...)}
	}
}

// position is where the planner stands: an object (or a list of them) at
// path in the response, read by fetch from graph, whose fields go into sel.
type position struct {
	graph string
	// typ is the object's type: an object type, or an interface when the
	// fields are selected on the interface itself (the subgraph knows it
	// as an @interfaceObject, or an _entities call on an entity interface).
	typ   string
	fetch *Fetch
	sel   *subSelection
	path  []string
	// declared is the type the subgraph's field declares, when it is not
	// typ (an abstract type, or a type that differs from the supergraph's).
	declared string
	// provided is the @provides field set in force here.
	provided ast.SelectionSet
	// parent is the position of the enclosing object (for @fromContext).
	parent *position
	// satisfied holds the fields of an _entities selection whose
	// @requires and contextual arguments the representations carry, and
	// ctxArgs the variables of those arguments.
	satisfied map[*Field]bool
	ctxArgs   map[*Field]ast.ArgumentList
	// typenameAsked is set when the object's __typename is already in the
	// fetch (a runtime type's fragment of an abstract selection).
	typenameAsked bool
}

// fetchList collects the fetches a selection was placed in: the
// dependencies of an entity fetch that needs that selection's data.
type fetchList struct{ list []*Fetch }

func (l *fetchList) add(f *Fetch) {
	if l != nil && f != nil && !slices.Contains(l.list, f) {
		l.list = append(l.list, f)
	}
}

// target is a subgraph an entity fetch can go to, and the type the
// representation names there.
type target struct {
	graph string
	// typ is the entity type the subgraph knows: the object's own type, an
	// interface it declares as an @interfaceObject, or (from an
	// @interfaceObject position) the interface whose owner resolves the
	// concrete type.
	typ string
	// hops is how many fetches it takes before the objects' key for this
	// target can be had (0: the subgraph they come from has it).
	hops int
}

func isRoot(typ string) bool { return typ == "Query" || typ == "Mutation" }

// planRoot plans the root fields. A query groups them by subgraph, each
// field going to the subgraph that serves it with the fewest fetches; a
// mutation keeps their order, consecutive fields of one subgraph sharing a
// fetch. It returns the root fetches in order.
func (p *planner) planRoot(out *Plan, rootType string, fields []*Field, mutation bool) []*Fetch {
	meta := p.sg.Type(rootType)
	var planned []*Field
	for _, f := range fields {
		switch f.Name {
		case "__typename":
		case "__schema", "__type":
			out.Introspection = true
		default:
			planned = append(planned, f)
		}
	}
	chosen := map[*Field]string{}
	if mutation {
		for _, f := range planned {
			if r := p.activeSources(meta.Field(f.Name)); len(r) > 0 {
				chosen[f] = r[0]
			}
		}
	} else {
		p.chooseRootGraphs(meta, planned, chosen)
	}
	var roots []*Fetch
	byGraph := map[string]*Fetch{}
	var last *Fetch
	for _, f := range planned {
		graph, ok := chosen[f]
		if !ok {
			p.fail("no subgraph resolves %s.%s", rootType, f.Name)
			return nil
		}
		var fetch *Fetch
		switch {
		case mutation && last != nil && last.Graph == graph:
			fetch = last
		case !mutation && byGraph[graph] != nil:
			fetch = byGraph[graph]
		default:
			fetch = p.newFetch(graph)
			fetch.root, fetch.Mutation = newSubSelection(), mutation
			roots = append(roots, fetch)
			byGraph[graph] = fetch
		}
		last = fetch
		left := p.planObject(position{graph: graph, typ: rootType, fetch: fetch, sel: fetch.root}, []*Field{f}, nil)
		// What the chosen subgraph lacks of a shareable value below the
		// root field (no key to reach it by) is read through the root
		// field again, from another subgraph that serves it.
		tried := []string{graph}
		for len(left) > 0 && p.err == nil {
			if mutation {
				p.fail("cannot plan %s.%s: subgraph %q does not serve all of its selection, and a mutation field is not run twice", rootType, f.Name, graph)
				return nil
			}
			again := left[0]
			other := ""
			for _, g := range p.activeSources(meta.Field(again.Name)) {
				if !slices.Contains(tried, g) {
					other = g
					break
				}
			}
			if other == "" {
				p.fail("cannot plan %s.%s: no subgraph serves all of its selection", rootType, f.Name)
				return nil
			}
			tried = append(tried, other)
			fetch := byGraph[other]
			if fetch == nil {
				fetch = p.newFetch(other)
				fetch.root = newSubSelection()
				roots = append(roots, fetch)
				byGraph[other] = fetch
			}
			left = p.planObject(position{graph: other, typ: rootType, fetch: fetch, sel: fetch.root}, left, nil)
		}
		if p.err != nil {
			return nil
		}
	}
	return roots
}

// chooseRootGraphs picks the subgraph of each root field of a query: the
// fields with the fewest candidates first, each to the subgraph already
// chosen or the one whose selection costs the fewest further fetches.
func (p *planner) chooseRootGraphs(meta *compose.Type, fields []*Field, chosen map[*Field]string) {
	order := slices.Clone(fields)
	slices.SortStableFunc(order, func(a, b *Field) int {
		return len(p.activeSources(meta.Field(a.Name))) - len(p.activeSources(meta.Field(b.Name)))
	})
	used := map[string]bool{}
	for _, f := range order {
		best, bestCost := "", 0
		sources := p.activeSources(meta.Field(f.Name))
		if len(sources) == 1 {
			chosen[f] = sources[0]
			used[sources[0]] = true
			continue
		}
		for _, g := range sources {
			cost := p.estimate(g, f.Sub, declaredName(meta.Field(f.Name).Source(g), f))
			if !used[g] {
				cost++
			}
			if best == "" || cost < bestCost {
				best, bestCost = g, cost
			}
		}
		if best != "" {
			chosen[f] = best
			used[best] = true
		}
	}
}

// activeSources lists the subgraphs that resolve a field with the current
// override labels.
func (p *planner) activeSources(f *compose.Field) []string {
	if f == nil {
		return nil
	}
	var out []string
	for i := range f.Sources {
		if f.Sources[i].ActiveIn(p.labels) {
			out = append(out, f.Sources[i].Graph)
		}
	}
	return out
}

// declaredName is the named type a subgraph declares for a field: its own
// when it differs from the supergraph's.
func declaredName(src *compose.FieldSource, f *Field) string {
	if src != nil && src.Type != nil {
		return src.Type.Name()
	}
	if f.Sub != nil {
		return f.Sub.TypeName
	}
	return ""
}

func (p *planner) newFetch(graph string) *Fetch {
	f := &Fetch{ID: len(p.fetches), Graph: graph}
	p.fetches = append(p.fetches, f)
	return f
}

// planSelection plans a composite field's selection at pos. It returns
// the part of it that pos's subgraph cannot serve and no subgraph can be
// asked for from there (fields of a shareable value type, which has no
// key): the caller reads it again through the nearest entity. Nil when
// everything is planned.
func (p *planner) planSelection(pos position, s *Selection, need *fetchList) *Selection {
	if !s.Abstract {
		pos.typ = s.TypeName
		if left := p.planObject(pos, s.Fields[s.TypeName], need); left != nil {
			return &Selection{TypeName: s.TypeName, Fields: map[string][]*Field{s.TypeName: left}}
		}
		return nil
	}
	if meta := p.sg.Type(s.TypeName); meta != nil && meta.InterfaceObject[pos.graph] {
		pos.typ = s.TypeName
		p.planInterfaceObject(pos, s, need)
		return nil
	}
	return p.planAbstract(pos, s, need)
}

// planAbstract plans an interface or union selection in a subgraph that
// knows the concrete types: __typename, then each runtime type's fields
// in a fragment, for the runtime types the subgraph can return here.
func (p *planner) planAbstract(pos position, s *Selection, need *fetchList) *Selection {
	var left *Selection
	pos.sel.field(p.typenameKey, "__typename", nil, nil, true)
	need.add(pos.fetch)
	declared := pos.declared
	if declared == "" {
		declared = s.TypeName
	}
	possible := p.possibleIn(pos.graph, declared)
	fragments := p.isAbstract(declared)
	for _, rt := range sortedKeys(s.Fields) {
		if !slices.Contains(possible, rt) {
			continue
		}
		fields := s.Fields[rt]
		if len(fields) == 0 || (len(fields) == 1 && fields[0].Name == "__typename") {
			continue
		}
		at := pos
		at.typ, at.declared, at.typenameAsked = rt, "", true
		if fragments {
			at.sel = pos.sel.fragment(rt)
		}
		if rest := p.planObject(at, fields, need); rest != nil {
			if left == nil {
				left = &Selection{TypeName: s.TypeName, Abstract: true, Fields: map[string][]*Field{}}
			}
			left.Fields[rt] = rest
		}
	}
	return left
}

func (p *planner) isAbstract(typ string) bool {
	meta := p.sg.Type(typ)
	return meta != nil && meta.Kind != ast.Object
}

// possibleIn returns the object types a value of type typ may have when
// graph returns it.
func (p *planner) possibleIn(graph, typ string) []string {
	meta := p.sg.Type(typ)
	if meta == nil {
		return nil
	}
	if meta.Kind == ast.Object {
		return []string{typ}
	}
	return meta.Possible[graph]
}

// runtimeTypes returns every object type a value of abstract type typ may
// have, in any subgraph.
func (p *planner) runtimeTypes(typ string) []string {
	meta := p.sg.Type(typ)
	if meta == nil {
		return nil
	}
	if meta.Kind == ast.Object {
		return []string{typ}
	}
	var out []string
	for _, g := range p.sg.Graphs {
		for _, t := range meta.Possible[g.Name] {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	if def := p.sg.Schema.Types[typ]; def != nil {
		for _, t := range p.sg.Schema.PossibleTypes[typ] {
			if !slices.Contains(out, t.Name) {
				out = append(out, t.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// planObject plans fields of pos.typ at pos: those the subgraph resolves
// here go into its selection, the others to other subgraphs. At the root,
// or on a value type (no key to reach other subgraphs by), the fields it
// cannot place are returned for the caller to read through a parent.
func (p *planner) planObject(pos position, fields []*Field, need *fetchList) []*Field {
	meta := p.sg.Type(pos.typ)
	if meta == nil {
		p.fail("type %s is not in the supergraph", pos.typ)
		return nil
	}
	unresolved := meta.InterfaceObject[pos.graph]
	var pending []*Field
	for _, f := range fields {
		if f.Name == "__typename" {
			switch {
			case isRoot(pos.typ) && len(pos.path) == 0:
				// The router answers it: a subgraph may name its root
				// types otherwise.
			case unresolved:
				// The subgraph would answer the interface's name.
				p.resolveType(pos, &Selection{TypeName: pos.typ, Abstract: true, Fields: p.typenameOnly(pos.typ)}, need)
			case pos.typenameAsked:
				// The abstract selection around already asks it.
			default:
				p.add(pos, f, need)
			}
			continue
		}
		src, local := p.local(pos, meta, f)
		if !local {
			pending = append(pending, f)
			continue
		}
		sf := p.add(pos, f, need)
		if sf == nil || f.Sub == nil {
			continue
		}
		child := position{
			graph: pos.graph, fetch: pos.fetch, sel: sf.sub(), path: append(slices.Clip(pos.path), sf.alias),
			declared: declaredName(src, f), parent: &pos, typ: f.Sub.TypeName,
		}
		if pf := providedField(pos.provided, pos.typ, f.Name); pf != nil {
			child.provided = append(child.provided, pf.SelectionSet...)
		}
		if src != nil && src.Provides != nil {
			child.provided = append(child.provided, src.Provides...)
		}
		if left := p.planSelection(child, f.Sub, need); left != nil {
			// Read f again elsewhere, with just what this subgraph lacks.
			again := *f
			again.Sub = left
			pending = append(pending, &again)
		}
	}
	if len(pending) == 0 || p.err != nil {
		return nil
	}
	if isRoot(pos.typ) && len(pos.path) == 0 || len(meta.Keys) == 0 && !unresolved {
		return pending
	}
	p.jump(pos, pending, need)
	return nil
}

// add places f in pos's selection: a client field under its response key,
// an internal one under the plan's key for it.
func (p *planner) add(pos position, f *Field, need *fetchList) *subField {
	key, args := f.Key, f.Arguments
	if extra := pos.ctxArgs[f]; extra != nil {
		args = append(slices.Clip(args), extra...)
	}
	switch {
	case f.Internal && f.Name == "__typename":
		key = p.typenameKey
	case f.Internal:
		key = p.alias(f.Name, args, f.Type)
	}
	sf := pos.sel.field(key, f.Name, args, f.Directives, f.Internal)
	if sf == nil {
		p.fail("the operation selects different fields under the response key %q of %s, which subgraph %q cannot tell apart", f.Key, pos.typ, pos.graph)
		return nil
	}
	if f.Internal {
		p.keyOf[f] = sf.alias
	}
	need.add(pos.fetch)
	return sf
}

// alias returns the plan's response key for an internal field: one per
// name, arguments and type, so that two fields under one key never differ
// (union members whose keys share a name but not a type).
func (p *planner) alias(name string, args ast.ArgumentList, typ *ast.Type) string {
	id := name + argumentsText(args)
	if typ != nil {
		id += " " + typ.String()
	}
	if a, ok := p.aliases[id]; ok {
		return a
	}
	a := p.prefix + name
	if n := p.aliasCount[name]; n > 0 {
		a = p.prefix + name + "_" + itoa(n)
	}
	p.aliasCount[name]++
	p.aliases[id] = a
	return a
}

// local reports whether pos's subgraph resolves f right there, and
// returns its source there.
func (p *planner) local(pos position, meta *compose.Type, f *Field) (*compose.FieldSource, bool) {
	src := meta.Field(f.Name).Source(pos.graph)
	if src == nil {
		return nil, false
	}
	active := src.ActiveIn(p.labels)
	switch {
	case isRoot(pos.typ) && len(pos.path) == 0:
		return src, active
	case pos.satisfied[f]:
		return src, active
	case active && src.Requires == nil && len(src.Context) == 0:
		return src, true
	case providedField(pos.provided, pos.typ, f.Name) != nil:
		return src, true
	}
	return src, false
}

// providedField finds a field of a @provides field set at the top level
// or in a fragment that applies to typ.
func providedField(set ast.SelectionSet, typ, name string) *ast.Field {
	var found *ast.Field
	compose.FieldSetFields(set, func(f *ast.Field, cond string) {
		if found == nil && f.Name == name && (cond == "" || cond == typ) {
			found = f
		}
	})
	return found
}

// jump reads fields that pos's subgraph cannot resolve from other
// subgraphs, through _entities, grouped by subgraph.
func (p *planner) jump(pos position, pending []*Field, need *fetchList) {
	groups := p.chooseTargets(pos, pending)
	for _, g := range groups {
		if p.err != nil {
			return
		}
		p.jumpTo(pos, g.t, g.fields, need)
	}
}

type targetGroup struct {
	t      target
	fields []*Field
}

// chooseTargets groups pending fields by the subgraph each is read from:
// the fields with the fewest candidates first, each joining a subgraph
// already chosen when it can, else the one that costs the fewest fetches
// (its key's hops, its @requires, and the field's own selection there).
func (p *planner) chooseTargets(pos position, pending []*Field) []*targetGroup {
	cands := make(map[*Field][]target, len(pending))
	for _, f := range pending {
		c := p.candidates(pos, f)
		if len(c) == 0 {
			p.fail("cannot plan %s.%s: subgraph %q does not resolve it here and no subgraph that does can be reached from it", pos.typ, f.Name, pos.graph)
			return nil
		}
		cands[f] = c
	}
	order := slices.Clone(pending)
	slices.SortStableFunc(order, func(a, b *Field) int { return len(cands[a]) - len(cands[b]) })
	var groups []*targetGroup
	find := func(t target) *targetGroup {
		for _, g := range groups {
			if g.t == t {
				return g
			}
		}
		return nil
	}
	// via holds the subgraphs a chosen target's key is fetched from when
	// pos's subgraph lacks it: they are asked anyway, so a field they
	// resolve costs no fetch there (and is had sooner).
	via := map[string]bool{}
	for _, f := range order {
		best := cands[f][0]
		if len(cands[f]) > 1 {
			bestCost := -1
			for _, c := range cands[f] {
				cost := p.estimate(c.graph, f.Sub, "") + p.requiresCost(pos, c, f)
				if find(c) == nil && !via[c.graph] {
					cost += 1 + c.hops
				}
				if bestCost < 0 || cost < bestCost || cost == bestCost && c.hops < best.hops {
					best, bestCost = c, cost
				}
			}
		}
		g := find(best)
		if g == nil {
			g = &targetGroup{t: best}
			groups = append(groups, g)
			if best.hops > 0 {
				for _, x := range p.keyVia(pos, best) {
					via[x] = true
				}
			}
		}
		g.fields = append(g.fields, f)
	}
	// Groups and their fields in the client's order.
	rank := map[*Field]int{}
	for i, f := range pending {
		rank[f] = i
	}
	for _, g := range groups {
		slices.SortFunc(g.fields, func(a, b *Field) int { return rank[a] - rank[b] })
	}
	slices.SortFunc(groups, func(a, b *targetGroup) int { return rank[a.fields[0]] - rank[b.fields[0]] })
	return groups
}

// keyVia lists the subgraphs (other than pos's) that resolve all of one
// of t's keys and that the objects at pos can be sent to sooner than to t:
// where t's key is fetched from.
func (p *planner) keyVia(pos position, t target) []string {
	reach := p.graphReach(pos.graph, pos.typ)
	var out []string
	for _, g := range p.sg.Graphs {
		h, ok := reach[g.Name]
		if !ok || g.Name == pos.graph || h > t.hops {
			continue
		}
		for _, k := range p.sg.Type(t.typ).Keys {
			if k.Graph == t.graph && k.Resolvable && p.localSet(g.Name, pos.typ, k.Fields) {
				out = append(out, g.Name)
				break
			}
		}
	}
	return out
}

// candidates lists the subgraphs that can resolve f for the objects at
// pos through _entities, and the type they know the objects by.
func (p *planner) candidates(pos position, f *Field) []target {
	key := [3]string{pos.graph, pos.typ, f.Name}
	all, ok := known(p, candidatesOf, key)
	if !ok {
		all = p.findCandidates(pos.graph, pos.typ, f.Name)
		learn(p, candidatesOf, key, all)
	}
	if len(p.active) == 0 {
		return all
	}
	var out []target
	for _, t := range all {
		if !p.isActive(pos, t) {
			out = append(out, t)
		}
	}
	return out
}

// findCandidates lists the targets that resolve field of objects of typ
// that graph returned, whatever the path: candidates without the jumps in
// progress.
func (p *planner) findCandidates(graph, typ, field string) []target {
	meta := p.sg.Type(typ)
	var out []target
	add := func(t target) {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	// reachable reports whether the objects can be sent to to as as: it
	// has a resolvable key for as, and the key's fields can be had.
	reachable := func(to, as string) (int, bool) {
		return p.keyReach(graph, typ, to, as)
	}
	viaOwnSubgraph := func(src *compose.FieldSource) bool {
		return src.Graph != graph || src.Requires != nil || len(src.Context) > 0
	}
	fm := meta.Field(field)
	if fm != nil {
		for i := range fm.Sources {
			src := &fm.Sources[i]
			if !src.ActiveIn(p.labels) || !viaOwnSubgraph(src) {
				continue
			}
			if hops, ok := reachable(src.Graph, typ); ok {
				add(target{graph: src.Graph, typ: typ, hops: hops})
			}
		}
	}
	if meta.Kind == ast.Object {
		// An @interfaceObject resolves the fields it adds to every
		// implementation of its interface.
		for _, iface := range p.interfacesOf(typ) {
			im := p.sg.Type(iface)
			ifm := im.Field(field)
			if ifm == nil || len(im.InterfaceObject) == 0 {
				continue
			}
			for i := range ifm.Sources {
				src := &ifm.Sources[i]
				if !src.ActiveIn(p.labels) || !im.InterfaceObject[src.Graph] || !viaOwnSubgraph(src) {
					continue
				}
				if hops, ok := reachable(src.Graph, iface); ok {
					add(target{graph: src.Graph, typ: iface, hops: hops})
				}
			}
		}
	}
	return out
}

// interfacesOf lists the interfaces an object type implements.
func (p *planner) interfacesOf(typ string) []string {
	if out, ok := known(p, interfacesOf, typ); ok {
		return out
	}
	out := p.findInterfaces(typ)
	learn(p, interfacesOf, typ, out)
	return out
}

func (p *planner) findInterfaces(typ string) []string {
	var out []string
	for name, t := range p.sgTypes() {
		if t.Kind != ast.Interface {
			continue
		}
		for _, impls := range t.Possible {
			if slices.Contains(impls, typ) {
				out = append(out, name)
				break
			}
		}
	}
	if def := p.sg.Schema.Types[typ]; def != nil {
		for _, i := range def.Interfaces {
			if !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (p *planner) sgTypes() map[string]*compose.Type { return p.sg.Types() }

// isActive reports whether a jump from pos to t is being planned.
func (p *planner) isActive(pos position, t target) bool {
	return len(p.active) > 0 && p.active[p.jumpKey(pos, t)]
}

func (p *planner) jumpKey(pos position, t target) string {
	return strings.Join(pos.path, "\x00") + "|" + t.graph + "|" + t.typ
}

// jumpTo plans fields of the objects at pos in subgraph t through an
// _entities fetch.
func (p *planner) jumpTo(pos position, t target, fields []*Field, need *fetchList) {
	if !pos.typenameAsked {
		pos.sel.field(p.typenameKey, "__typename", nil, nil, true)
	}
	deps := &fetchList{}
	deps.add(pos.fetch)
	// While the key is planned, this jump is active: fetching the key must
	// not need it.
	guard := p.jumpKey(pos, t)
	p.active[guard] = true
	key := p.planKey(pos, t, deps)
	delete(p.active, guard)
	if key == nil {
		p.fail("cannot plan %s.%s: no key of %s in subgraph %q can be fetched from subgraph %q", pos.typ, fields[0].Name, t.typ, t.graph, pos.graph)
		return
	}
	// Each field's representation (the key, its @requires fields) and the
	// fetches it waits for (the key's, its requirements'). Fields that wait
	// for the same fetches and whose representations agree share an
	// _entities selection: a field with no @requires never waits for
	// another's, and two that need one field with different arguments get
	// one selection each.
	type part struct {
		deps   *fetchList
		rep    *repBuilder
		fields []*Field
		ctx    []*ContextValue
	}
	var parts []*part
	satisfied := map[*Field]bool{}
	ctxArgs := map[*Field]ast.ArgumentList{}
	for _, f := range fields {
		fdeps := &fetchList{list: slices.Clone(deps.list)}
		rep := &repBuilder{typename: key.typename, fields: key.fields}
		var contexts []*ContextValue
		if src := p.sourceIn(t, f); src != nil {
			satisfied[f] = true
			if src.Requires != nil {
				guard := strings.Join(pos.path, "\x00") + "|" + pos.typ + "." + f.Name
				if p.requiring[guard] {
					p.fail("cannot plan %s.%s: its @requires needs the field itself", pos.typ, f.Name)
					return
				}
				p.requiring[guard] = true
				req := p.fieldSetSelection(pos.typ, src.Requires)
				p.planInternal(pos, req, fdeps)
				delete(p.requiring, guard)
				rep = &repBuilder{typename: key.typename, fields: mergeReps(slices.Clone(key.fields), p.repFields(req, true))}
			}
			for _, ca := range src.Context {
				cv, arg := p.planContext(pos, f, ca, fdeps)
				if cv == nil {
					return
				}
				contexts = append(contexts, cv)
				ctxArgs[f] = append(ctxArgs[f], arg)
			}
		}
		joined := false
		for _, pt := range parts {
			if len(contexts) == 0 && len(pt.ctx) == 0 && sameFetches(pt.deps.list, fdeps.list) && agreeingReps(pt.rep.fields, rep.fields) {
				pt.rep.fields = mergeReps(pt.rep.fields, rep.fields)
				pt.fields = append(pt.fields, f)
				joined = true
				break
			}
		}
		if !joined {
			parts = append(parts, &part{deps: fdeps, ctx: contexts, fields: []*Field{f},
				rep: &repBuilder{typename: rep.typename, fields: slices.Clone(rep.fields)}})
		}
	}
	if p.err != nil {
		return
	}
	for _, pt := range parts {
		node := p.entityNode(t.graph, pt.deps.list, len(pt.ctx) > 0)
		node.Context = append(node.Context, pt.ctx...)
		ent := node.entitiesFor(pos.path, p.dataTypenames(pos), pt.rep)
		at := position{
			graph: t.graph, typ: t.typ, fetch: node, sel: ent.fragments.fragment(t.typ), path: pos.path,
			parent: pos.parent, satisfied: satisfied, ctxArgs: ctxArgs,
		}
		if p.isAbstract(t.typ) && !p.sg.Type(t.typ).InterfaceObject[t.graph] {
			// The interface's owner: it tells the concrete type for free.
			at.sel.field(p.typenameKey, "__typename", nil, nil, true)
		}
		if left := p.planObject(at, pt.fields, need); left != nil {
			p.fail("cannot plan %s.%s in subgraph %q", t.typ, left[0].Name, t.graph)
			return
		}
	}
}

// sameFetches reports whether two dependency lists wait for the same
// fetches, once the ones others already wait for are left out.
func sameFetches(a, b []*Fetch) bool {
	a, b = reduceDeps(a), reduceDeps(b)
	if len(a) != len(b) {
		return false
	}
	for _, f := range a {
		if !slices.Contains(b, f) {
			return false
		}
	}
	return true
}

// sourceIn returns f's source in t's subgraph, on t's type.
func (p *planner) sourceIn(t target, f *Field) *compose.FieldSource {
	return p.sg.Type(t.typ).Field(f.Name).Source(t.graph)
}

// dataTypenames lists the __typenames the objects at pos may carry in the
// data: their type, and for an interface also every implementation (an
// object an @interfaceObject subgraph returned says the interface's name
// until its owner tells the concrete one).
func (p *planner) dataTypenames(pos position) []string {
	if !p.isAbstract(pos.typ) {
		return []string{pos.typ}
	}
	return append([]string{pos.typ}, p.runtimeTypes(pos.typ)...)
}

// planInternal plans a selection the planner needs itself (a key, a
// @requires, a contextual argument's selection) at pos.
func (p *planner) planInternal(pos position, s *Selection, need *fetchList) {
	if left := p.planSelection(pos, s, need); left != nil {
		for _, fields := range left.Fields {
			for _, f := range fields {
				p.fail("cannot plan %s.%s, which a field needs, at %s", left.TypeName, f.Name, strings.Join(pos.path, "."))
				return
			}
		}
	}
}

// planKey plans the fields of one of t's keys at pos, preferring a key pos
// resolves itself, and returns the representation that reads them.
func (p *planner) planKey(pos position, t target, deps *fetchList) *repBuilder {
	meta := p.sg.Type(t.typ)
	var best *compose.Key
	bestHops := -1
	for i := range meta.Keys {
		k := &meta.Keys[i]
		if k.Graph != t.graph || !k.Resolvable {
			continue
		}
		hops, ok := p.setReach(pos.graph, pos.typ, k.Fields)
		if ok && (bestHops < 0 || hops < bestHops) {
			best, bestHops = k, hops
		}
	}
	if best == nil {
		return nil
	}
	sel := p.fieldSetSelection(pos.typ, best.Fields)
	p.planInternal(pos, sel, deps)
	if p.err != nil {
		return nil
	}
	return &repBuilder{typename: t.typ, fields: p.repFields(sel, false)}
}

// entityNode returns the entity fetch to graph that runs after deps: an
// existing one, so that entity fetches that can run together are one
// request, unless exclusive (a fetch with contextual arguments is sent per
// value, so it shares with nothing).
func (p *planner) entityNode(graph string, deps []*Fetch, exclusive bool) *Fetch {
	deps = reduceDeps(deps)
	ids := make([]string, len(deps))
	for i, d := range deps {
		ids[i] = itoa(d.ID)
	}
	slices.Sort(ids)
	key := graph + "|" + strings.Join(ids, ",")
	if !exclusive {
		if n := p.nodes[key]; n != nil {
			return n
		}
	}
	n := p.newFetch(graph)
	n.byPath = map[string][]*Entities{}
	for _, d := range deps {
		n.dependOn(d)
	}
	if !exclusive {
		p.nodes[key] = n
	}
	return n
}

// reduceDeps drops every dependency that another one already waits for.
func reduceDeps(deps []*Fetch) []*Fetch {
	var out []*Fetch
	for _, d := range deps {
		redundant := false
		for _, e := range deps {
			if e != d && waitsFor(e, d) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, d)
		}
	}
	return out
}

// waitsFor reports whether f depends on d, directly or not.
func waitsFor(f, d *Fetch) bool {
	for _, x := range f.Deps {
		if x == d || waitsFor(x, d) {
			return true
		}
	}
	return false
}

// entitiesFor returns an _entities selection of the fetch for the objects
// at path whose data says one of dataTypes, with rep added to their
// representations: one already there whose representations agree with
// rep (a field of one name is read from one key), or a new one. Two
// fields that need the same field with different arguments (two
// @requires) thus get separate _entities selections.
func (f *Fetch) entitiesFor(path []string, dataTypes []string, rep *repBuilder) *Entities {
	k := strings.Join(path, "\x00")
	var e *Entities
	for _, c := range f.byPath[k] {
		if c.agrees(dataTypes, rep) {
			e = c
			break
		}
	}
	if e == nil {
		e = &Entities{Path: slices.Clone(path), fragments: newSubSelection(), reps: map[string]*repBuilder{}}
		f.byPath[k] = append(f.byPath[k], e)
		f.Entities = append(f.Entities, e)
	}
	for _, dt := range dataTypes {
		e.addRep(dt, rep)
	}
	return e
}

// agrees reports whether rep can join e's representations.
func (e *Entities) agrees(dataTypes []string, rep *repBuilder) bool {
	for _, dt := range dataTypes {
		old := e.reps[dt]
		if old != nil && (old.typename != rep.typename || !agreeingReps(old.fields, rep.fields)) {
			return false
		}
	}
	return true
}

func agreeingReps(a, b []*RepField) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Name != y.Name {
				continue
			}
			if x.Key != y.Key || !agreeingObjects(x.Sub, y.Sub) {
				return false
			}
		}
	}
	return true
}

func agreeingObjects(a, b *RepObject) bool {
	if a == nil || b == nil {
		return a == b
	}
	if !agreeingReps(a.Fields, b.Fields) {
		return false
	}
	for t, fs := range a.ByType {
		if !agreeingReps(fs, b.ByType[t]) {
			return false
		}
	}
	return true
}

// planInterfaceObject plans a selection on an interface at a position
// whose subgraph knows the interface only as an @interfaceObject: the
// fields every implementation shares are planned on the interface there;
// __typename and the fields of particular implementations need the
// concrete type, which the interface's owner resolves.
func (p *planner) planInterfaceObject(pos position, s *Selection, need *fetchList) {
	common, rest := p.splitInterfaceLevel(s)
	if rest == nil && p.hidesImplementations(s.TypeName) {
		// An object of a type the client schema hides must not be
		// answered: its type has to be known.
		rest = p.typenameOnly(s.TypeName)
	}
	if left := p.planObject(pos, common, need); left != nil {
		p.fail("cannot plan %s.%s at %s", pos.typ, left[0].Name, strings.Join(pos.path, "."))
		return
	}
	if rest != nil && p.err == nil {
		p.resolveType(pos, &Selection{TypeName: s.TypeName, Abstract: true, Fields: rest}, need)
	}
}

// resolveType asks the owner of pos's interface (a subgraph that defines it
// as an entity interface) for the concrete __typename of the objects at
// pos, and plans rest, the fields that need it, from there.
func (p *planner) resolveType(pos position, rest *Selection, need *fetchList) {
	meta := p.sg.Type(pos.typ)
	var t target
	for _, k := range meta.Keys {
		if k.Resolvable && !meta.InterfaceObject[k.Graph] && !p.isActive(pos, target{graph: k.Graph, typ: pos.typ}) {
			if _, ok := p.setReach(pos.graph, pos.typ, k.Fields); ok {
				t = target{graph: k.Graph, typ: pos.typ}
				break
			}
		}
	}
	if t.graph == "" {
		p.fail("cannot resolve the concrete type of %s at %s: no subgraph defines it as an entity interface with a key subgraph %q can fetch", pos.typ, strings.Join(pos.path, "."), pos.graph)
		return
	}
	guard := p.jumpKey(pos, t)
	p.active[guard] = true
	if !pos.typenameAsked {
		pos.sel.field(p.typenameKey, "__typename", nil, nil, true)
	}
	deps := &fetchList{}
	deps.add(pos.fetch)
	rep := p.planKey(pos, t, deps)
	delete(p.active, guard)
	if rep == nil {
		return
	}
	node := p.entityNode(t.graph, deps.list, false)
	ent := node.entitiesFor(pos.path, p.dataTypenames(pos), rep)
	at := position{graph: t.graph, typ: pos.typ, fetch: node, sel: ent.fragments.fragment(pos.typ), path: pos.path, parent: pos.parent, declared: pos.typ}
	if left := p.planAbstract(at, rest, need); left != nil {
		p.fail("cannot plan the fields of %s at %s", pos.typ, strings.Join(pos.path, "."))
	}
}

// hidesImplementations reports whether an interface has implementations
// the client schema does not show (@inaccessible types).
func (p *planner) hidesImplementations(iface string) bool {
	shown := map[string]bool{}
	for _, d := range p.sg.Schema.PossibleTypes[iface] {
		shown[d.Name] = true
	}
	for _, rt := range p.runtimeTypes(iface) {
		if !shown[rt] {
			return true
		}
	}
	return false
}

// typenameOnly is a selection of __typename alone for every runtime type
// of an interface.
func (p *planner) typenameOnly(iface string) map[string][]*Field {
	out := map[string][]*Field{}
	for _, rt := range p.runtimeTypes(iface) {
		out[rt] = []*Field{{Key: "__typename", Name: "__typename", Internal: true}}
	}
	return out
}

// splitInterfaceLevel splits an abstract selection into the fields every
// runtime type selects alike (an interface field with the same key,
// arguments and sub-selection everywhere) and, per runtime type, the rest;
// rest is nil when nothing is left.
func (p *planner) splitInterfaceLevel(s *Selection) (common []*Field, rest map[string][]*Field) {
	rts := sortedKeys(s.Fields)
	if len(rts) == 0 {
		return nil, nil
	}
	iface := p.sg.Type(s.TypeName)
	shared := map[string]bool{}
	for _, f := range s.Fields[rts[0]] {
		if f.Name == "__typename" || iface.Field(f.Name) == nil {
			continue
		}
		sig := p.fieldSignature(f)
		everywhere := true
		for _, rt := range rts[1:] {
			found := false
			for _, g := range s.Fields[rt] {
				if g.Key == f.Key && p.fieldSignature(g) == sig {
					found = true
					break
				}
			}
			if !found {
				everywhere = false
				break
			}
		}
		if everywhere {
			common = append(common, f)
			shared[f.Key] = true
		}
	}
	for _, rt := range rts {
		var left []*Field
		for _, f := range s.Fields[rt] {
			if !shared[f.Key] {
				left = append(left, f)
			}
		}
		if len(left) > 0 {
			if rest == nil {
				rest = map[string][]*Field{}
			}
			rest[rt] = left
		}
	}
	return common, rest
}

// fieldSignature prints what a field selects, sub-selection included, so
// that two fields that read the same data print the same.
func (p *planner) fieldSignature(f *Field) string {
	if s, ok := p.signatures[f]; ok {
		return s
	}
	var b strings.Builder
	b.WriteString(f.Key + ":" + f.Name + argumentsText(f.Arguments) + directivesText(f.Directives))
	if f.Sub != nil {
		for _, rt := range sortedKeys(f.Sub.Fields) {
			b.WriteString("{" + rt)
			for _, g := range f.Sub.Fields[rt] {
				b.WriteString(" " + p.fieldSignature(g))
			}
			b.WriteString("}")
		}
	}
	p.signatures[f] = b.String()
	return p.signatures[f]
}

// planContext plans a contextual argument of f: the nearest ancestor of
// pos that sets the context is asked the argument's selection, and the
// fetch of f gets a variable for its value.
func (p *planner) planContext(pos position, f *Field, ca compose.ContextArgument, deps *fetchList) (*ContextValue, *ast.Argument) {
	types := p.sg.TypesWithContext(ca.Context)
	var anc *position
	for a := pos.parent; a != nil; a = a.parent {
		if p.setsContext(a.typ, types) {
			anc = a
			break
		}
	}
	if anc == nil {
		p.fail("cannot plan %s.%s: no ancestor at %s sets the context its argument %s comes from", pos.typ, f.Name, strings.Join(pos.path, "."), ca.Name)
		return nil, nil
	}
	sel := p.fieldSetSelection(anc.typ, ca.Selection)
	p.planInternal(*anc, sel, deps)
	name := p.freeVariable(fmt.Sprintf("contextualArgument_%d", len(p.extraVars)))
	p.extraVars[name] = ca.Type
	cv := &ContextValue{Variable: name, Type: ca.Type, Depth: len(anc.path), Types: types, Value: p.repObject(sel, true)}
	return cv, &ast.Argument{Name: ca.Name, Value: &ast.Value{Kind: ast.Variable, Raw: name}}
}

// setsContext reports whether objects of typ set the context: typ, one of
// its runtime types, or an interface or union typ belongs to is one of the
// context's types.
func (p *planner) setsContext(typ string, types []string) bool {
	for _, t := range types {
		if t == typ || slices.Contains(p.runtimeTypes(t), typ) || slices.Contains(p.runtimeTypes(typ), t) {
			return true
		}
	}
	return false
}
