package plan

import (
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
)

// fieldSetSelection normalizes a federation field set (a key, a @requires,
// the selection of a contextual argument) on typ into a selection of
// internal fields, as the client's selections are: per runtime type, with
// the field set's inline fragments applied. The field set may name fields
// the client schema hides (@inaccessible), so types come from the
// supergraph's metadata. On an interface that the subgraph at hand knows
// as an @interfaceObject (or when typ is an object type) the fields are
// selected on typ itself.
func (p *planner) fieldSetSelection(typ string, set ast.SelectionSet) *Selection {
	if len(set) == 0 {
		return &Selection{TypeName: typ, Fields: map[string][]*Field{typ: nil}}
	}
	// Field sets are the supergraph's, so their selections are shared by
	// every plan: the planner never changes a selection.
	k := fieldSetKey{typ, &set[0]}
	if sel, ok := known(p, fieldSetsOf, k); ok {
		return sel
	}
	sel := p.normalizeFieldSet(typ, set)
	learn(p, fieldSetsOf, k, sel)
	return sel
}

// fieldSetKey names a field set of the supergraph (by its first
// selection) read on typ.
type fieldSetKey struct {
	typ string
	set *ast.Selection
}

func fieldSetsOf(f *facts) map[fieldSetKey]*Selection { return f.fieldSets }

func (p *planner) normalizeFieldSet(typ string, set ast.SelectionSet) *Selection {
	sel := &Selection{TypeName: typ, Fields: map[string][]*Field{}}
	meta := p.sg.Type(typ)
	if meta == nil || meta.Kind == ast.Object || meta.Kind == ast.Interface && len(meta.InterfaceObject) > 0 && p.typeOnlyInterfaceLevel(set) {
		sel.Fields[typ] = p.fieldSetFields(typ, typ, set)
		return sel
	}
	sel.Abstract = true
	for _, rt := range p.runtimeTypes(typ) {
		sel.Fields[rt] = p.fieldSetFields(typ, rt, set)
	}
	return sel
}

// typeOnlyInterfaceLevel reports whether a field set on an interface has
// no fragment: it can then be read on the interface itself.
func (p *planner) typeOnlyInterfaceLevel(set ast.SelectionSet) bool {
	for _, s := range set {
		if _, ok := s.(*ast.InlineFragment); ok {
			return false
		}
	}
	return true
}

// fieldSetFields collects the fields of a field set on typ that apply to
// runtime type rt, merging repeated fields.
func (p *planner) fieldSetFields(typ, rt string, set ast.SelectionSet) []*Field {
	var out []*Field
	var subs [][]ast.SelectionSet
	var walk func(set ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				args := argumentsText(s.Arguments)
				i := slices.IndexFunc(out, func(f *Field) bool { return f.Name == s.Name && argumentsText(f.Arguments) == args })
				if i < 0 {
					out = append(out, &Field{Key: s.Name, Name: s.Name, Arguments: s.Arguments, Internal: true})
					subs = append(subs, nil)
					i = len(out) - 1
				}
				if len(s.SelectionSet) > 0 {
					subs[i] = append(subs[i], s.SelectionSet)
				}
			case *ast.InlineFragment:
				if s.TypeCondition == "" || s.TypeCondition == rt || s.TypeCondition == typ || slices.Contains(p.runtimeTypes(s.TypeCondition), rt) {
					walk(s.SelectionSet)
				}
			}
		}
	}
	walk(set)
	owner := p.sg.Type(rt)
	for i, f := range out {
		fm := owner.Field(f.Name)
		if fm == nil {
			fm = p.sg.Type(typ).Field(f.Name)
		}
		if fm != nil {
			f.Type = fm.Type
		}
		if len(subs[i]) == 0 || f.Type == nil {
			continue
		}
		var merged ast.SelectionSet
		for _, s := range subs[i] {
			merged = append(merged, s...)
		}
		f.Sub = p.fieldSetSelection(f.Type.Name(), merged)
	}
	return out
}

// repBuilder is a representation being planned, by the type it names.
type repBuilder struct {
	typename string
	fields   []*RepField
}

// repFields describes how to read a planned field set's values from the
// data, by the response keys its fields were placed under.
func (p *planner) repFields(s *Selection, optional bool) []*RepField {
	var out []*RepField
	for _, f := range s.Fields[s.TypeName] {
		if f.Name == "__typename" {
			continue
		}
		key, ok := p.keyOf[f]
		if !ok {
			continue
		}
		out = append(out, &RepField{Name: f.Name, Key: key, Optional: optional, Sub: p.repObject(f.Sub, optional)})
	}
	return out
}

// repObject describes an object value of a field set; nil for a leaf.
func (p *planner) repObject(s *Selection, optional bool) *RepObject {
	if s == nil {
		return nil
	}
	if !s.Abstract {
		return &RepObject{Fields: p.repFields(s, optional), Typename: namesTypename(s.Fields[s.TypeName])}
	}
	o := &RepObject{Typename: true, ByType: map[string][]*RepField{}}
	for rt, fields := range s.Fields {
		o.ByType[rt] = p.repFields(&Selection{TypeName: rt, Fields: map[string][]*Field{rt: fields}}, optional)
	}
	return o
}

// namesTypename reports whether a field set selects __typename itself.
func namesTypename(fields []*Field) bool {
	for _, f := range fields {
		if f.Name == "__typename" {
			return true
		}
	}
	return false
}

// mergeReps adds b's fields to a, merging fields of one name.
func mergeReps(a, b []*RepField) []*RepField {
	for _, r := range b {
		i := slices.IndexFunc(a, func(x *RepField) bool { return x.Name == r.Name })
		if i < 0 {
			a = append(a, r)
			continue
		}
		a[i].Optional = a[i].Optional && r.Optional
		a[i].Sub = mergeRepObjects(a[i].Sub, r.Sub)
	}
	return a
}

func mergeRepObjects(a, b *RepObject) *RepObject {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := &RepObject{Typename: a.Typename || b.Typename, Fields: mergeReps(slices.Clone(a.Fields), b.Fields)}
	for _, m := range []map[string][]*RepField{a.ByType, b.ByType} {
		for t, fs := range m {
			if out.ByType == nil {
				out.ByType = map[string][]*RepField{}
			}
			out.ByType[t] = mergeReps(slices.Clone(out.ByType[t]), fs)
		}
	}
	return out
}

// addRep sets the representation of objects whose data says __typename
// dataType, merging with what other fields of the fetch need of them.
func (e *Entities) addRep(dataType string, r *repBuilder) {
	old := e.reps[dataType]
	if old == nil {
		e.reps[dataType] = &repBuilder{typename: r.typename, fields: slices.Clone(r.fields)}
		return
	}
	old.fields = mergeReps(old.fields, r.fields)
}
