package plan

import (
	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/router/federation/compose"
)

// The planner chooses between subgraphs that can serve a field by what
// each choice costs in fetches: its key's hops, its @requires, and the
// further fetches the field's own selection needs from there. These
// estimates are memoized per subgraph and selection, so that choosing
// stays linear in the size of the operation.

type estimateKey struct {
	graph string
	sel   *Selection
}

// unreachable is the cost of what cannot be had at all.
const unreachable = 1 << 20

// estimate returns how many fetches a selection is likely to need beyond
// the one it starts in, when graph resolves the field it belongs to.
func (p *planner) estimate(graph string, s *Selection, declared string) int {
	if s == nil {
		return 0
	}
	k := estimateKey{graph, s}
	if c, ok := p.estimates[k]; ok {
		return c
	}
	p.estimates[k] = 0 // a selection never contains itself; this guards all the same
	cost := 0
	switch meta := p.sg.Type(s.TypeName); {
	case !s.Abstract:
		cost = p.estimateObject(graph, s.TypeName, s.Fields[s.TypeName])
	case meta != nil && meta.InterfaceObject[graph]:
		common, rest := p.splitInterfaceLevel(s)
		cost = p.estimateObject(graph, s.TypeName, common)
		if rest != nil {
			cost++
		}
	default:
		if declared == "" {
			declared = s.TypeName
		}
		for _, rt := range p.possibleIn(graph, declared) {
			cost += p.estimateObject(graph, rt, s.Fields[rt])
		}
	}
	p.estimates[k] = cost
	return cost
}

// estimateObject estimates the fetches for fields of typ read in graph.
func (p *planner) estimateObject(graph, typ string, fields []*Field) int {
	meta := p.sg.Type(typ)
	if meta == nil {
		return 0
	}
	pos := position{graph: graph, typ: typ}
	cost := 0
	var chosen []target
	for _, f := range fields {
		if f.Name == "__typename" {
			continue
		}
		src, local := p.local(pos, meta, f)
		if local {
			cost += p.estimate(graph, f.Sub, declaredName(src, f))
			continue
		}
		best := unreachable
		if len(meta.Keys) == 0 {
			// A value type: another subgraph reads it through the parent.
			best = 1
		}
		var pick target
		for _, c := range p.candidates(pos, f) {
			c2 := p.estimate(c.graph, f.Sub, "")
			if !containsTarget(chosen, c) {
				c2 += 1 + c.hops
			}
			if c2 < best {
				best, pick = c2, c
			}
		}
		if best < unreachable && !containsTarget(chosen, pick) {
			chosen = append(chosen, pick)
		}
		cost += best
	}
	return min(cost, unreachable)
}

func containsTarget(list []target, t target) bool {
	for _, x := range list {
		if x == t {
			return true
		}
	}
	return false
}

// requiresCost is how many fetches f's @requires in t costs from pos.
func (p *planner) requiresCost(pos position, t target, f *Field) int {
	src := p.sourceIn(t, f)
	if src == nil || src.Requires == nil {
		return 0
	}
	h, ok := p.setReach(pos.graph, pos.typ, src.Requires)
	if !ok {
		return 2
	}
	return h
}

// keyReach reports whether objects of fromTyp that graph from returned can
// be sent to graph to as typ (its type or an interface it knows the type
// by), and after how many fetches.
func (p *planner) keyReach(from, fromTyp, to, typ string) (int, bool) {
	memo := reachKey{from, fromTyp, to, typ}
	if r, ok := known(p, keyReachesOf, memo); ok {
		return r.hops, r.ok
	}
	best, found := p.findKeyReach(from, fromTyp, to, typ)
	learn(p, keyReachesOf, memo, reachResult{best, found})
	return best, found
}

type reachKey struct{ from, fromTyp, to, typ string }

func keyReachesOf(f *facts) map[reachKey]reachResult { return f.keyReaches }
func reachOf(f *facts) map[[2]string]map[string]int  { return f.reach }
func interfacesOf(f *facts) map[string][]string      { return f.interfaces }
func candidatesOf(f *facts) map[[3]string][]target   { return f.candidates }
func setReachesOf(f *facts) map[setKey]reachResult   { return f.setReaches }

type reachResult struct {
	hops int
	ok   bool
}

func (p *planner) findKeyReach(from, fromTyp, to, typ string) (int, bool) {
	meta := p.sg.Type(typ)
	if meta == nil {
		return 0, false
	}
	best, found := 0, false
	for _, k := range meta.Keys {
		if k.Graph != to || !k.Resolvable {
			continue
		}
		if h, ok := p.setReach(from, fromTyp, k.Fields); ok && (!found || h < best) {
			best, found = h, true
		}
	}
	return best, found
}

// setReach reports whether a field set of objects of typ that graph
// returned can be had, and after how many fetches: 0 when graph resolves
// all of it, else through the subgraphs the objects can be sent to.
func (p *planner) setReach(graph, typ string, set ast.SelectionSet) (int, bool) {
	if len(set) == 0 {
		return 0, true
	}
	k := setKey{graph, typ, &set[0]}
	if r, ok := known(p, setReachesOf, k); ok {
		return r.hops, r.ok
	}
	h, ok := p.setHops(p.graphReach(graph, typ), typ, set)
	learn(p, setReachesOf, k, reachResult{h, ok})
	return h, ok
}

// setKey names a field set of the supergraph (by its first selection) read
// on objects of typ that graph returned.
type setKey struct {
	graph, typ string
	set        *ast.Selection
}

// graphReach returns the subgraphs that objects of typ which graph
// returned can be sent to through _entities, with the fetches it takes
// before each (graph itself: 0).
func (p *planner) graphReach(graph, typ string) map[string]int {
	key := [2]string{graph, typ}
	if r, ok := known(p, reachOf, key); ok {
		return r
	}
	reach := map[string]int{graph: 0}
	meta := p.sg.Type(typ)
	if meta == nil {
		return reach
	}
	defer learn(p, reachOf, key, reach)
	for changed := true; changed; {
		changed = false
		for _, g := range p.sg.Graphs {
			if _, done := reach[g.Name]; done {
				continue
			}
			for _, k := range meta.Keys {
				if k.Graph != g.Name || !k.Resolvable {
					continue
				}
				if h, ok := p.setHops(reach, typ, k.Fields); ok {
					reach[g.Name] = h + 1
					changed = true
					break
				}
			}
		}
	}
	return reach
}

// setHops is setReach over a known reach: every field of the set must be
// resolved, with its sub-selection, by one of the subgraphs reached.
func (p *planner) setHops(reach map[string]int, typ string, set ast.SelectionSet) (int, bool) {
	hops := 0
	ok := p.eachSetField(typ, set, func(f *ast.Field, fm *compose.Field) bool {
		best := -1
		for g, h := range reach {
			if p.resolvesLocally(g, f, fm) && (best < 0 || h < best) {
				best = h
			}
		}
		hops = max(hops, best)
		return best >= 0
	})
	return hops, ok
}

// localSet reports whether graph resolves a whole field set of typ itself.
func (p *planner) localSet(graph, typ string, set ast.SelectionSet) bool {
	return p.eachSetField(typ, set, func(f *ast.Field, fm *compose.Field) bool {
		return p.resolvesLocally(graph, f, fm)
	})
}

// eachSetField calls fn with each field of a field set of typ, and its
// metadata (on the fragment's type, for a field under one), until fn
// returns false. It reports whether fn returned true for every field.
func (p *planner) eachSetField(typ string, set ast.SelectionSet, fn func(f *ast.Field, fm *compose.Field) bool) bool {
	ok := true
	compose.FieldSetFields(set, func(f *ast.Field, cond string) {
		if !ok {
			return
		}
		owner := typ
		if cond != "" && p.sg.Type(cond) != nil {
			owner = cond
		}
		ok = fn(f, p.sg.Type(owner).Field(f.Name))
	})
	return ok
}

// resolvesLocally reports whether graph resolves field f (of metadata fm),
// and its sub-selection, by itself: active, with no @requires and no
// context.
func (p *planner) resolvesLocally(graph string, f *ast.Field, fm *compose.Field) bool {
	src := fm.Source(graph)
	if src == nil || !src.ActiveIn(p.labels) || src.Requires != nil || len(src.Context) > 0 {
		return false
	}
	return len(f.SelectionSet) == 0 || p.localSet(graph, fm.Type.Name(), f.SelectionSet)
}
