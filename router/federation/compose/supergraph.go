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

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
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
	// OverrideLabels lists the labels of progressive @override
	// (@override(label:)) in use, sorted: each request turns each of them
	// on or off, and the plan depends on which.
	OverrideLabels []string
	types          map[string]*Type
	// hidesEnumValues holds the enums with values that subgraphs may
	// return but the client schema hides (@inaccessible).
	hidesEnumValues map[string]bool
	// contexts maps a context name (as the supergraph spells it,
	// "subgraph__name") to the types that set it with @context.
	contexts map[string][]string
}

// Type is the federation metadata of one object, interface or union type.
type Type struct {
	Name string
	Kind ast.DefinitionKind
	// Graphs are the subgraphs that define the type. A subgraph that
	// declares an interface as an @interfaceObject is listed too.
	Graphs []string
	// Keys are the entity keys, per subgraph. A type without keys is a
	// value type: each subgraph resolves the fields it defines.
	Keys []Key
	// Fields hold, per field, the subgraphs that know it.
	Fields map[string]*Field
	// Possible lists, per subgraph, the object types an abstract type may
	// be in that subgraph (an interface's implementations, a union's
	// members). A subgraph that knows the interface only as an
	// @interfaceObject has no entry.
	Possible map[string][]string
	// InterfaceObject holds, for an interface, the subgraphs that declare
	// it as an object type with @interfaceObject: they know neither its
	// implementations nor the concrete __typename of its values.
	InterfaceObject map[string]bool
	// Contexts are the context names this type sets (@context).
	Contexts []string
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
	Type *ast.Type
	// Arguments are the field's arguments in the supergraph, inaccessible
	// and contextual ones included.
	Arguments ast.ArgumentDefinitionList
	Sources   []FieldSource
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
	// Type is the field's type in this subgraph when it differs from the
	// supergraph's (a non-null or a more specific type); nil otherwise.
	Type *ast.Type
	// OverrideLabel is the label of a progressive override: with
	// Override set, the subgraph resolves the field only when the label
	// is on; without, only when it is off.
	OverrideLabel string
	// Override names the subgraph this one took the field from.
	Override string
	// Context lists the field's contextual arguments (@fromContext),
	// whose values come from an ancestor in the response.
	Context []ContextArgument
}

// ContextArgument is an argument whose value the router takes from the
// nearest ancestor object that sets Context (@context), by selecting
// Selection on it.
type ContextArgument struct {
	// Name and Type are the argument's, as the subgraph declares it.
	Name string
	Type *ast.Type
	// Context is the context's name in the supergraph.
	Context string
	// Selection is the field set selected on the ancestor; its one leaf
	// value is the argument.
	Selection ast.SelectionSet
}

// ActiveIn reports whether the source resolves the field when the
// override labels in on are on.
func (s *FieldSource) ActiveIn(on func(label string) bool) bool {
	if s.External {
		return false
	}
	if s.OverrideLabel == "" {
		return true
	}
	active := on != nil && on(s.OverrideLabel)
	if s.Override != "" {
		return active
	}
	return !active
}

// HidesEnumValues reports whether a subgraph may return a value of the
// enum that the client schema does not have.
func (s *Supergraph) HidesEnumValues(enum string) bool { return s.hidesEnumValues[enum] }

// TypesWithContext returns the types that set the named context.
func (s *Supergraph) TypesWithContext(name string) []string { return s.contexts[name] }

// Type returns the metadata of a type, or nil.
func (s *Supergraph) Type(name string) *Type { return s.types[name] }

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

// ResolvedIn reports whether graph resolves the field itself, with every
// override label off.
func (f *Field) ResolvedIn(graph string) bool {
	s := f.Source(graph)
	return s != nil && s.ActiveIn(nil)
}

// Resolvers returns the graphs that resolve the field themselves, with
// every override label off.
func (f *Field) Resolvers() []string {
	var out []string
	if f == nil {
		return nil
	}
	for _, s := range f.Sources {
		if s.ActiveIn(nil) {
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

// ClientSDL prints the client-facing schema.
func (s *Supergraph) ClientSDL() string {
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatSchema(s.Schema)
	return buf.String()
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

// Types returns the metadata of every object, interface and union type,
// by name. The map is the supergraph's own: callers must not change it.
func (s *Supergraph) Types() map[string]*Type { return s.types }
