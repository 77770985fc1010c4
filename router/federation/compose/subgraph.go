package compose

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// Subgraph is one subgraph's schema as its _service { sdl } answers it.
type Subgraph struct {
	Name string
	URL  string
	SDL  string
}

// federationDefs declares the Federation v2 directives and scalars, so that a
// subgraph's SDL validates on its own. A subgraph that declares any of these
// itself keeps its own declaration.
const federationDefs = `
scalar FieldSet
scalar _FieldSet
scalar federation__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
scalar federation__Scope
scalar federation__Policy
scalar federation__ContextFieldValue
directive @link(url: String!, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @requires(fields: FieldSet!) on FIELD_DEFINITION
directive @provides(fields: FieldSet!) on FIELD_DEFINITION
directive @external(reason: String) on OBJECT | FIELD_DEFINITION
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
directive @extends on OBJECT | INTERFACE
directive @override(from: String!, label: String) on FIELD_DEFINITION
directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA
directive @interfaceObject on OBJECT
directive @composeDirective(name: String!) repeatable on SCHEMA
directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @requiresScopes(scopes: [[federation__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @policy(policies: [[federation__Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @context(name: String!) repeatable on INTERFACE | OBJECT | UNION
directive @fromContext(field: federation__ContextFieldValue) on ARGUMENT_DEFINITION
directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
`

// fedDirective names the directives of federation and link, which a
// subgraph may declare itself and which never reach the client schema.
var fedDirective = map[string]bool{
	"link": true, "key": true, "requires": true, "provides": true, "external": true, "shareable": true,
	"extends": true, "override": true, "inaccessible": true, "tag": true, "interfaceObject": true,
	"composeDirective": true, "authenticated": true, "requiresScopes": true, "policy": true,
	"context": true, "fromContext": true, "cost": true, "listSize": true, "entityResolver": true,
}

// internalTypes are the federation plumbing types a subgraph may print; they
// never reach the supergraph.
var internalTypes = map[string]bool{
	"_Service": true, "_Any": true, "_Entity": true, "FieldSet": true, "_FieldSet": true,
	"federation__FieldSet": true, "link__Import": true, "link__Purpose": true,
	"federation__Scope": true, "federation__Policy": true, "federation__ContextFieldValue": true,
}

// unsupported directives: composition refuses them rather than serve a
// schema whose rules the router would silently not enforce.
var unsupported = map[string]string{
	"authenticated":  "@authenticated is not enforced by this router",
	"requiresScopes": "@requiresScopes is not enforced by this router",
	"policy":         "@policy is not enforced by this router",
}

// subgraph is a parsed, validated subgraph schema.
type subgraph struct {
	name, url string
	schema    *ast.Schema
	// own lists the names of the types the subgraph defines, in order.
	own []string
	// roots maps the subgraph's root type names to Query and Mutation.
	roots map[string]string
	// directives are the directive definitions the subgraph writes itself,
	// and composed the names it keeps in the supergraph
	// (@composeDirective).
	directives ast.DirectiveDefinitionList
	composed   []string
}

func parseSubgraph(s Subgraph) (*subgraph, error) {
	if s.Name == "" {
		return nil, fmt.Errorf("a subgraph has no name")
	}
	doc, err := parser.ParseSchema(&ast.Source{Name: s.Name, Input: s.SDL})
	if err != nil {
		return nil, fmt.Errorf("subgraph %q: the SDL does not parse: %w", s.Name, err)
	}
	renames := federationRenames(doc)
	renameDirectives(doc, renames)

	declared := map[string]bool{}
	for _, d := range doc.Directives {
		declared["@"+d.Name] = true
	}
	for _, d := range append(append(ast.DefinitionList{}, doc.Definitions...), doc.Extensions...) {
		declared[d.Name] = true
	}
	fed, err := parser.ParseSchema(&ast.Source{Name: "federation", Input: federationDefs, BuiltIn: true})
	if err != nil {
		return nil, fmt.Errorf("federation definitions: %w", err)
	}
	full := validator.PreludeDocument()
	for _, d := range fed.Directives {
		if !declared["@"+d.Name] {
			full.Directives = append(full.Directives, d)
		}
	}
	for _, d := range fed.Definitions {
		if !declared[d.Name] {
			full.Definitions = append(full.Definitions, d)
		}
	}
	full.Merge(doc)
	schema, err := validator.ValidateSchemaDocument(full)
	if err != nil {
		return nil, fmt.Errorf("subgraph %q: invalid schema: %w", s.Name, err)
	}

	sg := &subgraph{name: s.Name, url: s.URL, schema: schema, roots: map[string]string{}}
	for _, d := range doc.Directives {
		if !fedDirective[d.Name] {
			sg.directives = append(sg.directives, d)
		}
	}
	for _, list := range []ast.SchemaDefinitionList{doc.Schema, doc.SchemaExtension} {
		for _, sd := range list {
			for _, cd := range sd.Directives.ForNames("composeDirective") {
				if name := strings.TrimPrefix(argString(cd, "name"), "@"); name != "" {
					sg.composed = append(sg.composed, name)
				}
			}
		}
	}
	if schema.Query != nil {
		sg.roots[schema.Query.Name] = "Query"
	}
	if schema.Mutation != nil {
		sg.roots[schema.Mutation.Name] = "Mutation"
	}
	if schema.Subscription != nil {
		return nil, fmt.Errorf("subgraph %q: subscriptions are not supported", s.Name)
	}
	seen := map[string]bool{}
	for _, d := range append(append(ast.DefinitionList{}, doc.Definitions...), doc.Extensions...) {
		if seen[d.Name] || internalTypes[d.Name] {
			continue
		}
		seen[d.Name] = true
		sg.own = append(sg.own, d.Name)
		def := schema.Types[d.Name]
		for _, dir := range def.Directives {
			if msg, bad := unsupported[dir.Name]; bad {
				return nil, fmt.Errorf("subgraph %q, type %s: %s", s.Name, d.Name, msg)
			}
		}
		for _, f := range def.Fields {
			for _, dir := range f.Directives {
				if msg, bad := unsupported[dir.Name]; bad {
					return nil, fmt.Errorf("subgraph %q, field %s.%s: %s", s.Name, d.Name, f.Name, msg)
				}
			}
		}
	}
	return sg, nil
}

// typeName maps a subgraph type name to its supergraph name (root types are
// always Query and Mutation).
func (s *subgraph) typeName(name string) string {
	if r, ok := s.roots[name]; ok {
		return r
	}
	return name
}

// def returns the subgraph's definition of a supergraph type name.
func (s *subgraph) def(name string) *ast.Definition {
	for sub, root := range s.roots {
		if root == name {
			return s.schema.Types[sub]
		}
	}
	return s.schema.Types[name]
}

// federationRenames reads the federation @link of a subgraph: imported
// directives keep their (possibly aliased) names, the others are spelled
// federation__name. Both map to the plain name.
func federationRenames(doc *ast.SchemaDocument) map[string]string {
	renames := map[string]string{}
	for _, list := range []ast.SchemaDefinitionList{doc.Schema, doc.SchemaExtension} {
		for _, sd := range list {
			for _, link := range sd.Directives.ForNames("link") {
				url := link.Arguments.ForName("url")
				if url == nil || url.Value == nil || !strings.Contains(url.Value.Raw, "specs.apollo.dev/federation/") {
					continue
				}
				imports := link.Arguments.ForName("import")
				if imports == nil || imports.Value == nil {
					continue
				}
				for _, item := range imports.Value.Children {
					v := item.Value
					if v.Kind != ast.ObjectValue {
						continue
					}
					name, as := v.Children.ForName("name"), v.Children.ForName("as")
					if name != nil && as != nil {
						renames[strings.TrimPrefix(as.Raw, "@")] = strings.TrimPrefix(name.Raw, "@")
					}
				}
			}
		}
	}
	return renames
}

// renameDirectives rewrites every directive use to its plain federation name.
func renameDirectives(doc *ast.SchemaDocument, renames map[string]string) {
	fix := func(list ast.DirectiveList) {
		for _, d := range list {
			if to, ok := renames[d.Name]; ok {
				d.Name = to
			} else if strings.HasPrefix(d.Name, "federation__") {
				d.Name = strings.TrimPrefix(d.Name, "federation__")
			}
		}
	}
	for _, defs := range []ast.DefinitionList{doc.Definitions, doc.Extensions} {
		for _, def := range defs {
			fix(def.Directives)
			for _, f := range def.Fields {
				fix(f.Directives)
				for _, a := range f.Arguments {
					fix(a.Directives)
				}
			}
			for _, v := range def.EnumValues {
				fix(v.Directives)
			}
		}
	}
	for _, list := range []ast.SchemaDefinitionList{doc.Schema, doc.SchemaExtension} {
		for _, sd := range list {
			fix(sd.Directives)
		}
	}
}

// supergraphType maps a type reference of the subgraph to the
// supergraph's names (its root types are Query and Mutation there).
func (s *subgraph) supergraphType(t *ast.Type) *ast.Type {
	if t == nil {
		return nil
	}
	if t.Elem != nil {
		return &ast.Type{Elem: s.supergraphType(t.Elem), NonNull: t.NonNull}
	}
	return &ast.Type{NamedType: s.typeName(t.NamedType), NonNull: t.NonNull}
}
