package compose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// ParseSupergraph reads a supergraph SDL in Apollo's join v0.3 format (as
// @apollo/composition and rover print it).
func ParseSupergraph(sdl string) (*Supergraph, error) {
	doc, err := parser.ParseSchema(&ast.Source{Name: "supergraph", Input: sdl})
	if err != nil {
		return nil, fmt.Errorf("the supergraph does not parse: %w", err)
	}
	j := &joinReader{enumToGraph: map[string]string{}, labels: map[string]bool{}}
	names := linkNames(doc)
	j.inaccessible, j.join, j.context = names["inaccessible"], names["join"], names["context"]
	if j.join == "" {
		return nil, fmt.Errorf("the supergraph has no @link to the join spec (https://specs.apollo.dev/join/v0.x)")
	}

	defs := map[string]*ast.Definition{}
	var order []string
	for _, d := range append(append(ast.DefinitionList{}, doc.Definitions...), doc.Extensions...) {
		if existing := defs[d.Name]; existing != nil {
			existing.Fields = append(existing.Fields, d.Fields...)
			existing.Directives = append(existing.Directives, d.Directives...)
			existing.EnumValues = append(existing.EnumValues, d.EnumValues...)
			existing.Types = append(existing.Types, d.Types...)
			existing.Interfaces = append(existing.Interfaces, d.Interfaces...)
			continue
		}
		defs[d.Name] = d
		order = append(order, d.Name)
	}
	graphEnum := defs[j.join+"__Graph"]
	if graphEnum == nil {
		return nil, fmt.Errorf("the supergraph has no %s__Graph enum", j.join)
	}
	sg := &Supergraph{types: map[string]*Type{}, contexts: map[string][]string{}, hidesEnumValues: map[string]bool{}}
	for _, v := range graphEnum.EnumValues {
		d := v.Directives.ForName(j.join + "__graph")
		if d == nil {
			return nil, fmt.Errorf("%s__Graph.%s has no @%s__graph", j.join, v.Name, j.join)
		}
		name, url := argString(d, "name"), argString(d, "url")
		j.enumToGraph[v.Name] = name
		sg.Graphs = append(sg.Graphs, Graph{Name: name, URL: url})
	}

	queryName, mutationName := "Query", "Mutation"
	for _, list := range []ast.SchemaDefinitionList{doc.Schema, doc.SchemaExtension} {
		for _, sd := range list {
			for _, op := range sd.OperationTypes {
				switch op.Operation {
				case ast.Query:
					queryName = op.Type
				case ast.Mutation:
					mutationName = op.Type
				case ast.Subscription:
					return nil, fmt.Errorf("subscriptions are not supported")
				}
			}
		}
	}
	if queryName != "Query" || (defs[mutationName] != nil && mutationName != "Mutation") {
		return nil, fmt.Errorf("root types must be named Query and Mutation")
	}

	var client ast.DefinitionList
	hidden := map[string]bool{}
	for _, name := range order {
		if j.isSpecType(name) || j.hidden(defs[name].Directives) {
			hidden[name] = true
		}
	}
	for _, name := range order {
		d := defs[name]
		if j.isSpecType(name) {
			continue
		}
		out := j.readType(sg, d, hidden)
		if out != nil && !hidden[name] {
			client = append(client, out)
		}
	}
	j.implementations(sg, defs, order)
	j.refuseUnenforced(names, defs, order)
	sg.OverrideLabels = sortedSet(j.labels)
	if len(j.problems) > 0 {
		return nil, &Error{Problems: j.problems}
	}
	schema, err := clientSchema(client, customDirectives(doc), defs["Mutation"] != nil && !hidden["Mutation"])
	if err != nil {
		return nil, err
	}
	sg.Schema = schema
	return sg, nil
}

type joinReader struct {
	join, inaccessible, context string
	enumToGraph                 map[string]string
	// labels collects the progressive override labels seen.
	labels   map[string]bool
	problems []string
}

// refuseUnenforced refuses a supergraph that uses access control
// directives (@authenticated, @requiresScopes, @policy): this router does
// not enforce them, and serving such a graph would serve what they guard.
func (j *joinReader) refuseUnenforced(names map[string]string, defs map[string]*ast.Definition, order []string) {
	for _, spec := range []string{"authenticated", "requiresScopes", "policy"} {
		name, linked := names[spec]
		if !linked {
			continue
		}
		for _, tn := range order {
			d := defs[tn]
			if d.Directives.ForName(name) != nil {
				j.problems = append(j.problems, fmt.Sprintf("type %s: @%s is not enforced by this router", tn, spec))
			}
			for _, f := range d.Fields {
				if f.Directives.ForName(name) != nil {
					j.problems = append(j.problems, fmt.Sprintf("field %s.%s: @%s is not enforced by this router", tn, f.Name, spec))
				}
			}
		}
	}
}

// customDirectives returns the directive definitions of a supergraph that
// are not federation's own (those of specs.apollo.dev specs): directives
// composed with @composeDirective, and executable directives every
// subgraph defines. The client schema keeps them.
func customDirectives(doc *ast.SchemaDocument) ast.DirectiveDefinitionList {
	spec := map[string]bool{}
	for _, l := range links(doc) {
		if !strings.Contains(l.url, "specs.apollo.dev/") {
			continue
		}
		spec[l.name] = true
		if imports := l.d.Arguments.ForName("import"); imports != nil && imports.Value != nil {
			for _, item := range imports.Value.Children {
				v := item.Value
				if v.Kind == ast.ObjectValue {
					if as := v.Children.ForName("as"); as != nil {
						spec[strings.TrimPrefix(as.Raw, "@")] = true
						continue
					}
					v = v.Children.ForName("name")
				}
				if v != nil {
					spec[strings.TrimPrefix(v.Raw, "@")] = true
				}
			}
		}
	}
	var out ast.DirectiveDefinitionList
	for _, d := range doc.Directives {
		prefix, _, namespaced := strings.Cut(d.Name, "__")
		if spec[d.Name] || namespaced && spec[prefix] || d.Name == "link" || d.Name == "core" {
			continue
		}
		if e := executableOnly(d); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// executableOnly returns a directive as the client schema shows it: with
// its executable locations only, or nil when it has none (a type system
// directive, kept in the supergraph for the subgraphs but not served to
// clients, as Apollo's API schema does).
func executableOnly(d *ast.DirectiveDefinition) *ast.DirectiveDefinition {
	var locs []ast.DirectiveLocation
	for _, l := range d.Locations {
		if executableLocations[l] {
			locs = append(locs, l)
		}
	}
	if len(locs) == 0 {
		return nil
	}
	if len(locs) == len(d.Locations) {
		return d
	}
	out := *d
	out.Locations = locs
	return &out
}

// linkNames maps each linked spec (join, inaccessible, tag, link) to the
// name it is used under in the document.
func linkNames(doc *ast.SchemaDocument) map[string]string {
	out := map[string]string{}
	for _, l := range links(doc) {
		if l.hasSpec {
			out[l.spec] = l.name
		}
	}
	return out
}

// link is a @link (or @core) of a document's schema.
type link struct {
	d *ast.Directive
	// url is its url (or feature).
	url string
	// spec is the spec it links, the URL's last segment but one ("join"
	// of https://specs.apollo.dev/join/v0.3), when it has one (hasSpec).
	spec    string
	hasSpec bool
	// name is what the document uses the spec under: its "as", else spec.
	name string
}

// links lists the @link and @core directives of a document's schema
// definitions and extensions.
func links(doc *ast.SchemaDocument) []link {
	var out []link
	for _, list := range []ast.SchemaDefinitionList{doc.Schema, doc.SchemaExtension} {
		for _, sd := range list {
			for _, d := range append(sd.Directives.ForNames("link"), sd.Directives.ForNames("core")...) {
				l := link{d: d, url: argString(d, "url")}
				if l.url == "" {
					l.url = argString(d, "feature")
				}
				if parts := strings.Split(strings.TrimRight(l.url, "/"), "/"); len(parts) >= 2 {
					l.spec, l.hasSpec = parts[len(parts)-2], true
				}
				l.name = l.spec
				if as := argString(d, "as"); as != "" {
					l.name = as
				}
				out = append(out, l)
			}
		}
	}
	return out
}

func (j *joinReader) isSpecType(name string) bool {
	for _, p := range []string{j.join + "__", "link__", "core__", "inaccessible__", "tag__", "context__"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (j *joinReader) hidden(list ast.DirectiveList) bool {
	return j.inaccessible != "" && list.ForName(j.inaccessible) != nil
}

func (j *joinReader) graph(d *ast.Directive) string {
	g := argString(d, "graph")
	if g == "" {
		return ""
	}
	name, ok := j.enumToGraph[g]
	if !ok {
		j.problems = append(j.problems, fmt.Sprintf("@%s names unknown graph %s", d.Name, g))
	}
	return name
}

// readType records one type's join metadata and returns its client
// definition.
func (j *joinReader) readType(sg *Supergraph, d *ast.Definition, hidden map[string]bool) *ast.Definition {
	out := &ast.Definition{Kind: d.Kind, Name: d.Name, Description: d.Description}
	var graphs []string
	t := &Type{Name: d.Name, Kind: d.Kind, Fields: map[string]*Field{}, Possible: map[string][]string{}}
	if j.context != "" {
		for _, c := range d.Directives.ForNames(j.context) {
			if name := argString(c, "name"); name != "" {
				t.Contexts = append(t.Contexts, name)
				sg.contexts[name] = append(sg.contexts[name], d.Name)
			}
		}
	}
	for _, jt := range d.Directives.ForNames(j.join + "__type") {
		g := j.graph(jt)
		if g == "" {
			continue
		}
		if argString(jt, "isInterfaceObject") == "true" {
			if t.InterfaceObject == nil {
				t.InterfaceObject = map[string]bool{}
			}
			t.InterfaceObject[g] = true
		}
		if !slices.Contains(graphs, g) {
			graphs = append(graphs, g)
		}
		if keySrc := argString(jt, "key"); keySrc != "" {
			set, err := ParseFieldSet(keySrc)
			if err != nil {
				j.problems = append(j.problems, fmt.Sprintf("type %s, subgraph %q: key: %v", d.Name, g, err))
				continue
			}
			t.Keys = append(t.Keys, Key{Graph: g, Fields: set, Source: keySrc, Resolvable: argString(jt, "resolvable") != "false"})
		}
	}
	t.Graphs = graphs
	switch d.Kind {
	case ast.Object, ast.Interface:
		sg.types[d.Name] = t
		for _, i := range d.Interfaces {
			if !hidden[i] {
				out.Interfaces = append(out.Interfaces, i)
			}
		}
		for _, f := range d.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			t.Fields[f.Name] = j.readField(d, f, graphs)
			if j.hidden(f.Directives) {
				continue
			}
			out.Fields = append(out.Fields, j.clientField(f, hidden))
		}
	case ast.Union:
		sg.types[d.Name] = t
		for _, m := range d.Directives.ForNames(j.join + "__unionMember") {
			if g := j.graph(m); g != "" {
				t.Possible[g] = append(t.Possible[g], argString(m, "member"))
			}
		}
		if len(t.Possible) == 0 {
			for _, g := range graphs {
				t.Possible[g] = append(t.Possible[g], d.Types...)
			}
		}
		for _, m := range d.Types {
			if !hidden[m] {
				out.Types = append(out.Types, m)
			}
		}
	case ast.Enum:
		for _, v := range d.EnumValues {
			if !j.hidden(v.Directives) {
				out.EnumValues = append(out.EnumValues, &ast.EnumValueDefinition{Name: v.Name, Description: v.Description, Directives: clientDirectives(v.Directives)})
			} else {
				sg.hidesEnumValues[d.Name] = true
			}
		}
	case ast.InputObject:
		for _, f := range d.Fields {
			if !j.hidden(f.Directives) {
				out.Fields = append(out.Fields, &ast.FieldDefinition{Name: f.Name, Description: f.Description, Type: f.Type, DefaultValue: f.DefaultValue, Directives: clientDirectives(f.Directives)})
			}
		}
	}
	return out
}

func (j *joinReader) clientField(f *ast.FieldDefinition, hidden map[string]bool) *ast.FieldDefinition {
	out := &ast.FieldDefinition{Name: f.Name, Description: f.Description, Type: f.Type, Directives: clientDirectives(f.Directives)}
	for _, a := range f.Arguments {
		if j.hidden(a.Directives) {
			continue
		}
		out.Arguments = append(out.Arguments, &ast.ArgumentDefinition{Name: a.Name, Description: a.Description, DefaultValue: a.DefaultValue, Type: a.Type, Directives: clientDirectives(a.Directives)})
	}
	if hidden[f.Type.Name()] {
		j.problems = append(j.problems, fmt.Sprintf("field %s returns @inaccessible type %s", f.Name, f.Type.Name()))
	}
	return out
}

// readField reads a field's @join__field directives. A field without any is
// resolved by every subgraph that defines its type; one whose only
// @join__field names no graph is resolved by none directly (an
// @interfaceObject adds it to the implementations of its interface).
func (j *joinReader) readField(d *ast.Definition, f *ast.FieldDefinition, typeGraphs []string) *Field {
	field := &Field{Name: f.Name, Type: f.Type, Arguments: f.Arguments}
	jfs := f.Directives.ForNames(j.join + "__field")
	if len(jfs) == 0 {
		for _, g := range typeGraphs {
			field.Sources = append(field.Sources, FieldSource{Graph: g})
		}
		return field
	}
	for _, jf := range jfs {
		g := j.graph(jf)
		if g == "" {
			continue
		}
		if argString(jf, "usedOverridden") == "true" {
			// The overridden subgraph still serves the field for its own
			// @requires or keys; the router never routes the field there.
			field.Sources = append(field.Sources, FieldSource{Graph: g, External: true})
			continue
		}
		src := FieldSource{
			Graph:         g,
			External:      argString(jf, "external") == "true",
			Override:      argString(jf, "override"),
			OverrideLabel: argString(jf, "overrideLabel"),
		}
		if src.OverrideLabel != "" {
			j.labels[src.OverrideLabel] = true
		}
		where := fmt.Sprintf("field %s.%s, subgraph %q", d.Name, f.Name, g)
		if r := argString(jf, "requires"); r != "" {
			src.Requires = j.fieldSet(where+": requires", r)
		}
		if p := argString(jf, "provides"); p != "" {
			src.Provides = j.fieldSet(where+": provides", p)
		}
		if t := argString(jf, "type"); t != "" && t != f.Type.String() {
			typ, err := parseType(t)
			if err != nil {
				j.problems = append(j.problems, fmt.Sprintf("%s: type %q: %v", where, t, err))
			}
			src.Type = typ
		}
		if ca := jf.Arguments.ForName("contextArguments"); ca != nil && ca.Value != nil {
			for _, item := range ca.Value.Children {
				arg, err := j.contextArgument(item.Value)
				if err != nil {
					j.problems = append(j.problems, fmt.Sprintf("%s: contextArguments: %v", where, err))
					continue
				}
				src.Context = append(src.Context, arg)
			}
		}
		field.Sources = append(field.Sources, src)
	}
	return field
}

func (j *joinReader) fieldSet(where, text string) ast.SelectionSet {
	set, err := ParseFieldSet(text)
	if err != nil {
		j.problems = append(j.problems, fmt.Sprintf("%s: %v", where, err))
	}
	return set
}

// contextArgument reads one join__ContextArgument:
// {context: "a__userCtx", name: "currency", type: "String", selection: " { currency }"}.
func (j *joinReader) contextArgument(v *ast.Value) (ContextArgument, error) {
	if v == nil || v.Kind != ast.ObjectValue {
		return ContextArgument{}, fmt.Errorf("not an object")
	}
	get := func(name string) string {
		if c := v.Children.ForName(name); c != nil {
			return c.Raw
		}
		return ""
	}
	arg := ContextArgument{Name: get("name"), Context: get("context")}
	if arg.Name == "" || arg.Context == "" {
		return arg, fmt.Errorf("a context argument lacks its name or context")
	}
	typ, err := parseType(get("type"))
	if err != nil {
		return arg, fmt.Errorf("argument %s: %w", arg.Name, err)
	}
	arg.Type = typ
	sel := strings.TrimSpace(get("selection"))
	sel = unbrace(sel)
	if arg.Selection, err = ParseFieldSet(sel); err != nil {
		return arg, fmt.Errorf("argument %s: %w", arg.Name, err)
	}
	return arg, nil
}

// parseType parses a type reference such as "[String!]!".
func parseType(text string) (*ast.Type, error) {
	doc, err := parser.ParseQuery(&ast.Source{Name: "type", Input: "query($v: " + text + ") { __typename }"})
	if err != nil {
		return nil, fmt.Errorf("%q is not a type: %w", text, err)
	}
	return doc.Operations[0].VariableDefinitions[0].Type, nil
}

func sortedSet(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// implementations fills each interface's possible types per subgraph from
// @join__implements, or, without it, from the objects that implement the
// interface and are defined in that subgraph.
func (j *joinReader) implementations(sg *Supergraph, defs map[string]*ast.Definition, order []string) {
	for _, name := range order {
		d := defs[name]
		if d.Kind != ast.Object || sg.types[name] == nil {
			continue
		}
		obj := sg.types[name]
		impls := d.Directives.ForNames(j.join + "__implements")
		if len(impls) > 0 {
			for _, im := range impls {
				g, iface := j.graph(im), argString(im, "interface")
				if it := sg.types[iface]; it != nil && g != "" {
					it.Possible[g] = append(it.Possible[g], name)
				}
			}
			continue
		}
		for _, iface := range d.Interfaces {
			it := sg.types[iface]
			if it == nil {
				continue
			}
			for _, g := range obj.Graphs {
				if it.DefinedIn(g) {
					it.Possible[g] = append(it.Possible[g], name)
				}
			}
		}
	}
}
