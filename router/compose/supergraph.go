// Package compose builds a supergraph: the client-facing schema the router
// serves, plus the federation metadata its planner needs (which subgraph
// resolves which field, entity keys, @requires and @provides).
//
// A supergraph comes either from composing Federation v2 subgraph schemas
// (Compose) or from a supergraph SDL in Apollo's join v0.3 format
// (ParseSupergraph), as @apollo/composition and rover write it.
package compose

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// Graph is one subgraph of a supergraph.
type Graph struct {
	Name string
	// URL is the subgraph's GraphQL endpoint as the supergraph names it.
	// Composition from running subgraphs leaves it to the router's config.
	URL string
}

// Supergraph is a composed schema with its federation metadata. It is
// immutable once built and safe for concurrent use.
type Supergraph struct {
	// Graphs are the subgraphs, in a stable order.
	Graphs []Graph
	// Schema is the client-facing schema: no federation internals and no
	// @inaccessible elements. Operations are validated against it and
	// introspection answers from it.
	Schema *ast.Schema
	types  map[string]*Type
}

// Type is the federation metadata of one object, interface or union type.
type Type struct {
	Name string
	Kind ast.DefinitionKind
	// Graphs are the subgraphs that define the type.
	Graphs []string
	// Keys are the entity keys, per subgraph. A type without keys is a
	// value type: each subgraph resolves the fields it defines.
	Keys []Key
	// Fields hold, per field, the subgraphs that know it.
	Fields map[string]*Field
	// Possible lists, per subgraph, the object types an abstract type may
	// be in that subgraph (an interface's implementations, a union's
	// members).
	Possible map[string][]string
}

// Key is one @key of an entity in one subgraph.
type Key struct {
	Graph string
	// Fields is the key's field set, parsed.
	Fields ast.SelectionSet
	// Source is the field set as written, e.g. "id" or "sku vendor { id }".
	Source string
	// Resolvable is false for @key(resolvable: false): the subgraph
	// references the entity but cannot fetch it.
	Resolvable bool
}

// Field is the federation metadata of one field.
type Field struct {
	Name string
	// Type is the field's type in the supergraph (known for inaccessible
	// fields too, which @requires and keys may use).
	Type    *ast.Type
	Sources []FieldSource
}

// FieldSource is one subgraph's view of a field.
type FieldSource struct {
	Graph string
	// External fields are defined in the subgraph but resolved elsewhere
	// (they may still be provided by a @provides on the path).
	External bool
	// Requires and Provides are parsed field sets; nil when absent.
	Requires ast.SelectionSet
	Provides ast.SelectionSet
}

// Type returns the metadata of a type, or nil.
func (s *Supergraph) Type(name string) *Type { return s.types[name] }

// Graph returns the graph with that name, or false.
func (s *Supergraph) Graph(name string) (Graph, bool) {
	for _, g := range s.Graphs {
		if g.Name == name {
			return g, true
		}
	}
	return Graph{}, false
}

// Source returns the field's source in graph, or nil when the graph does
// not know the field.
func (f *Field) Source(graph string) *FieldSource {
	if f == nil {
		return nil
	}
	for i := range f.Sources {
		if f.Sources[i].Graph == graph {
			return &f.Sources[i]
		}
	}
	return nil
}

// ResolvedIn reports whether graph resolves the field itself.
func (f *Field) ResolvedIn(graph string) bool {
	s := f.Source(graph)
	return s != nil && !s.External
}

// Resolvers returns the graphs that resolve the field themselves.
func (f *Field) Resolvers() []string {
	var out []string
	if f == nil {
		return nil
	}
	for _, s := range f.Sources {
		if !s.External {
			out = append(out, s.Graph)
		}
	}
	return out
}

// Field returns a field's metadata, or nil.
func (t *Type) Field(name string) *Field {
	if t == nil {
		return nil
	}
	return t.Fields[name]
}

// DefinedIn reports whether graph defines the type.
func (t *Type) DefinedIn(graph string) bool {
	return t != nil && slices.Contains(t.Graphs, graph)
}

// IsEntity reports whether the type has a key in any subgraph.
func (t *Type) IsEntity() bool { return t != nil && len(t.Keys) > 0 }

// KeysIn returns the type's keys in graph.
func (t *Type) KeysIn(graph string) []Key {
	var out []Key
	for _, k := range t.Keys {
		if k.Graph == graph {
			out = append(out, k)
		}
	}
	return out
}

// ClientSDL prints the client-facing schema.
func (s *Supergraph) ClientSDL() string {
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatSchema(s.Schema)
	return buf.String()
}

// ParseFieldSet parses a federation field set such as "id" or
// "sku vendor { id }" into a selection set.
func ParseFieldSet(fields string) (ast.SelectionSet, error) {
	doc, err := parser.ParseQuery(&ast.Source{Name: "fieldset", Input: "{" + fields + "}"})
	if err != nil {
		return nil, fmt.Errorf("field set %q does not parse: %w", fields, err)
	}
	if len(doc.Operations) != 1 || len(doc.Fragments) > 0 {
		return nil, fmt.Errorf("field set %q is not a plain selection", fields)
	}
	set := doc.Operations[0].SelectionSet
	if len(set) == 0 {
		return nil, fmt.Errorf("field set %q is empty", fields)
	}
	if err := checkPlainFieldSet(set); err != nil {
		return nil, fmt.Errorf("field set %q: %w", fields, err)
	}
	return set, nil
}

func checkPlainFieldSet(set ast.SelectionSet) error {
	for _, sel := range set {
		f, ok := sel.(*ast.Field)
		if !ok {
			// Inline fragments on abstract keys are legal federation, but
			// this router does not plan them.
			return fmt.Errorf("fragments in field sets are not supported")
		}
		if len(f.Arguments) > 0 || f.Alias != f.Name || len(f.Directives) > 0 {
			return fmt.Errorf("field %q has arguments, an alias or directives", f.Name)
		}
		if err := checkPlainFieldSet(f.SelectionSet); err != nil {
			return err
		}
	}
	return nil
}

// FieldSetString prints a parsed field set back in canonical form.
func FieldSetString(set ast.SelectionSet) string {
	var b strings.Builder
	writeFieldSet(&b, set)
	return b.String()
}

func writeFieldSet(b *strings.Builder, set ast.SelectionSet) {
	for i, sel := range set {
		f := sel.(*ast.Field)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Name)
		if len(f.SelectionSet) > 0 {
			b.WriteString(" { ")
			writeFieldSet(b, f.SelectionSet)
			b.WriteString(" }")
		}
	}
}

// clientSchema validates the client-facing definitions into a schema.
func clientSchema(defs ast.DefinitionList, directives ast.DirectiveDefinitionList, hasMutation bool) (*ast.Schema, error) {
	doc := validator.PreludeDocument()
	doc.Definitions = append(doc.Definitions, defs...)
	doc.Directives = append(doc.Directives, directives...)
	sd := &ast.SchemaDefinition{OperationTypes: ast.OperationTypeDefinitionList{{Operation: ast.Query, Type: "Query"}}}
	if hasMutation {
		sd.OperationTypes = append(sd.OperationTypes, &ast.OperationTypeDefinition{Operation: ast.Mutation, Type: "Mutation"})
	}
	doc.Schema = ast.SchemaDefinitionList{sd}
	schema, err := validator.ValidateSchemaDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("the composed client schema is invalid: %w", err)
	}
	return schema, nil
}
