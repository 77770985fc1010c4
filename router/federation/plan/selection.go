package plan

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/router/federation/internal/skipinclude"
)

// Selection is a client selection set, normalized: fragments expanded per
// runtime type, @skip/@include applied, fields with one response key merged.
// The executor shapes the response from it, in the client's field order.
type Selection struct {
	// TypeName is the static type: an object, interface or union.
	TypeName string
	// Abstract is true for interfaces and unions: the runtime type comes
	// from the data's __typename.
	Abstract bool
	// Fields lists the fields to answer for each possible runtime type.
	Fields map[string][]*Field
	// Uniform, on an interface some subgraph knows as an
	// @interfaceObject, holds the fields every runtime type selects alike
	// when nothing else is selected: an object whose data still carries
	// the interface's own name (no subgraph was asked its concrete type,
	// as nothing needed it) is answered with them.
	Uniform []*Field
}

// Field is one field of the response.
type Field struct {
	// Key is the response key: the alias, or the field's name.
	Key  string
	Name string
	// Type is the field's client-facing type, with list and non-null
	// wrappers; nil for __typename.
	Type *ast.Type
	// Sub is the normalized selection of a composite field; nil for leaves.
	Sub *Selection
	// Arguments are the client's arguments (introspection fields use them).
	Arguments ast.ArgumentList
	// Definition is the field's schema definition (nil for a field the
	// planner added).
	Definition *ast.FieldDefinition
	// Directives are the client's directives on the field other than
	// @skip and @include; they are passed on to the subgraph.
	Directives ast.DirectiveList
	// Internal is set on the fields of a key, a @requires or a contextual
	// argument: the planner fetches them for itself, under its own keys.
	Internal bool
}

// normalizer turns client selection sets into Selections.
type normalizer struct {
	schema    *ast.Schema
	fragments ast.FragmentDefinitionList
	vars      map[string]any
	// fields counts the fields normalized, to stop a fragment bomb that
	// slipped past the complexity limits.
	fields int
	// keys collects every response key of the operation.
	keys map[string]bool
	// typenameTaken is set when the client puts a field other than
	// __typename under the response key "__typename".
	typenameTaken bool
}

const maxNormalizedFields = 100_000

func (n *normalizer) selection(typeName string, sets []ast.SelectionSet) (*Selection, error) {
	def := n.schema.Types[typeName]
	if def == nil {
		return nil, fmt.Errorf("unknown type %s", typeName)
	}
	sel := &Selection{TypeName: typeName, Abstract: def.IsAbstractType(), Fields: map[string][]*Field{}}
	runtimes := []*ast.Definition{def}
	if sel.Abstract {
		runtimes = n.schema.PossibleTypes[typeName]
	}
	for _, rt := range runtimes {
		fields, err := n.collect(rt, sets)
		if err != nil {
			return nil, err
		}
		sel.Fields[rt.Name] = fields
	}
	return sel, nil
}

// directives returns a selection's directives.
func directives(s ast.Selection) ast.DirectiveList {
	switch s := s.(type) {
	case *ast.Field:
		return s.Directives
	case *ast.InlineFragment:
		return s.Directives
	case *ast.FragmentSpread:
		return s.Directives
	}
	return nil
}

// collect implements the spec's CollectFields for one runtime type, then
// normalizes each field's merged sub-selection.
func (n *normalizer) collect(rt *ast.Definition, sets []ast.SelectionSet) ([]*Field, error) {
	type group struct {
		first *ast.Field
		sets  []ast.SelectionSet
	}
	var order []string
	groups := map[string]*group{}
	var walk func(set ast.SelectionSet, visiting map[string]bool) error
	walk = func(set ast.SelectionSet, visiting map[string]bool) error {
		for _, s := range set {
			ok, err := skipinclude.Included(directives(s), n.vars)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			switch s := s.(type) {
			case *ast.Field:
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				g := groups[key]
				if g == nil {
					g = &group{first: s}
					groups[key] = g
					order = append(order, key)
				}
				if len(s.SelectionSet) > 0 {
					g.sets = append(g.sets, s.SelectionSet)
				}
			case *ast.InlineFragment:
				if s.TypeCondition != "" && !n.applies(s.TypeCondition, rt) {
					continue
				}
				if err := walk(s.SelectionSet, visiting); err != nil {
					return err
				}
			case *ast.FragmentSpread:
				if visiting[s.Name] {
					continue
				}
				frag := n.fragments.ForName(s.Name)
				if frag == nil {
					return fmt.Errorf("unknown fragment %s", s.Name)
				}
				if !n.applies(frag.TypeCondition, rt) {
					continue
				}
				visiting[s.Name] = true
				err := walk(frag.SelectionSet, visiting)
				delete(visiting, s.Name)
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, set := range sets {
		if err := walk(set, map[string]bool{}); err != nil {
			return nil, err
		}
	}
	fields := make([]*Field, 0, len(order))
	for _, key := range order {
		g := groups[key]
		n.fields++
		if n.fields > maxNormalizedFields {
			return nil, fmt.Errorf("the operation expands to more than %d fields", maxNormalizedFields)
		}
		f := &Field{Key: key, Name: g.first.Name, Arguments: g.first.Arguments, Directives: passedDirectives(g.first.Directives)}
		if n.keys == nil {
			n.keys = map[string]bool{}
		}
		n.keys[key] = true
		if key == "__typename" && f.Name != "__typename" {
			n.typenameTaken = true
		}
		if f.Name == "__typename" {
			fields = append(fields, f)
			continue
		}
		fd := fieldDefinition(n.schema, rt, f.Name)
		if fd == nil {
			return nil, fmt.Errorf("type %s has no field %s", rt.Name, f.Name)
		}
		f.Type, f.Definition = fd.Type, fd
		if sub := n.schema.Types[fd.Type.Name()]; sub != nil && sub.IsCompositeType() {
			s, err := n.selection(sub.Name, g.sets)
			if err != nil {
				return nil, err
			}
			f.Sub = s
		}
		fields = append(fields, f)
	}
	return fields, nil
}

// passedDirectives keeps a field's directives other than @skip, @include
// and @defer: the subgraph that resolves the field gets them.
func passedDirectives(list ast.DirectiveList) ast.DirectiveList {
	var out ast.DirectiveList
	for _, d := range list {
		switch d.Name {
		case "skip", "include", "defer", "stream":
		default:
			out = append(out, d)
		}
	}
	return out
}

func fieldDefinition(schema *ast.Schema, def *ast.Definition, name string) *ast.FieldDefinition {
	if fd := def.Fields.ForName(name); fd != nil {
		return fd
	}
	if def == schema.Query {
		switch name {
		case "__schema":
			return &ast.FieldDefinition{Name: name, Type: ast.NonNullNamedType("__Schema", nil)}
		case "__type":
			return &ast.FieldDefinition{Name: name, Type: ast.NamedType("__Type", nil),
				Arguments: ast.ArgumentDefinitionList{{Name: "name", Type: ast.NonNullNamedType("String", nil)}}}
		}
	}
	return nil
}

// applies reports whether a fragment on typeCondition applies to the
// runtime object type rt.
func (n *normalizer) applies(typeCondition string, rt *ast.Definition) bool {
	if typeCondition == rt.Name {
		return true
	}
	for _, p := range n.schema.PossibleTypes[typeCondition] {
		if p.Name == rt.Name {
			return true
		}
	}
	return false
}

// ConditionVariables lists, in order, the variables an operation's @skip
// and @include use; their values select one of the operation's plans.
func ConditionVariables(doc *ast.QueryDocument, op *ast.OperationDefinition) []string {
	var out []string
	seen := map[string]bool{}
	EachSelection(doc, op, func(s ast.Selection) {
		for _, d := range directives(s) {
			if d.Name != "skip" && d.Name != "include" {
				continue
			}
			if a := d.Arguments.ForName("if"); a != nil && a.Value != nil && a.Value.Kind == ast.Variable && !seen[a.Value.Raw] {
				seen[a.Value.Raw] = true
				out = append(out, a.Value.Raw)
			}
		}
	})
	return out
}

// EachSelection calls visit with every selection of op, in document order,
// fragments' included: a field, an inline fragment or a fragment spread
// before what it selects. A named fragment's selections are visited the
// first time it is spread only; @skip and @include are not applied.
func EachSelection(doc *ast.QueryDocument, op *ast.OperationDefinition, visit func(ast.Selection)) {
	visited := map[string]bool{}
	var walk func(set ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			visit(s)
			switch s := s.(type) {
			case *ast.Field:
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if !visited[s.Name] {
					visited[s.Name] = true
					if f := doc.Fragments.ForName(s.Name); f != nil {
						walk(f.SelectionSet)
					}
				}
			}
		}
	}
	walk(op.SelectionSet)
}
