package compose

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Error lists every problem composition found. Each names the subgraph,
// the type and the field concerned.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	return "composition failed:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Compose merges Federation v2 subgraph schemas into a supergraph.
func Compose(subgraphs []Subgraph) (*Supergraph, error) {
	if len(subgraphs) == 0 {
		return nil, errors.New("composition needs at least one subgraph")
	}
	c := &composer{types: map[string]*mergedType{}, labels: map[string]bool{}}
	names := map[string]bool{}
	for _, s := range subgraphs {
		if names[s.Name] {
			return nil, fmt.Errorf("subgraph %q is listed twice", s.Name)
		}
		names[s.Name] = true
		sg, err := parseSubgraph(s)
		if err != nil {
			return nil, err
		}
		c.subs = append(c.subs, sg)
	}
	return c.compose()
}

type composer struct {
	subs     []*subgraph
	types    map[string]*mergedType
	order    []string
	problems []string
	// labels collects the progressive override labels seen.
	labels map[string]bool
}

// mergedType gathers one type's definitions across subgraphs.
type mergedType struct {
	name   string
	kind   ast.DefinitionKind
	graphs []string
	defs   map[string]*ast.Definition
	// interfaceObject holds the subgraphs that declare this interface as
	// an object type with @interfaceObject.
	interfaceObject map[string]bool
}

func (c *composer) errorf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *composer) sub(name string) *subgraph {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

func (c *composer) compose() (*Supergraph, error) {
	for _, s := range c.subs {
		for _, own := range s.own {
			def := s.schema.Types[own]
			name := s.typeName(own)
			kind := def.Kind
			ifaceObject := def.Kind == ast.Object && def.Directives.ForName("interfaceObject") != nil
			if ifaceObject {
				kind = ast.Interface
			}
			m := c.types[name]
			if m == nil {
				m = &mergedType{name: name, kind: kind, defs: map[string]*ast.Definition{}, interfaceObject: map[string]bool{}}
				c.types[name] = m
				c.order = append(c.order, name)
			}
			if m.kind != kind {
				c.errorf("type %s is %s in subgraph %q but %s in subgraph %q", name, m.kind, m.graphs[0], def.Kind, s.name)
				continue
			}
			m.graphs = append(m.graphs, s.name)
			m.defs[s.name] = def
			if ifaceObject {
				m.interfaceObject[s.name] = true
			}
		}
	}
	if c.types["Query"] == nil {
		c.errorf("no subgraph defines a Query type")
	}
	c.checkInterfaceObjects()
	inputUse, outputUse := c.enumUsage()

	sg := &Supergraph{types: map[string]*Type{}, contexts: map[string][]string{}, hidesEnumValues: map[string]bool{}}
	for _, s := range c.subs {
		sg.Graphs = append(sg.Graphs, Graph{Name: s.name, URL: s.url})
	}
	inaccessible := map[string]bool{}
	for _, name := range c.order {
		m := c.types[name]
		for _, d := range m.defs {
			if d.Directives.ForName("inaccessible") != nil {
				inaccessible[name] = true
			}
		}
	}
	var defs ast.DefinitionList
	for _, name := range c.order {
		m := c.types[name]
		var def *ast.Definition
		switch m.kind {
		case ast.Object, ast.Interface:
			def = c.mergeObject(m, sg, inaccessible)
		case ast.Union:
			def = c.mergeUnion(m, sg, inaccessible)
		case ast.Enum:
			def = c.mergeEnum(m, inputUse[name], outputUse[name])
			if def != nil && c.enumHidesValues(m) {
				sg.hidesEnumValues[name] = true
			}
		case ast.InputObject:
			def = c.mergeInput(m)
		case ast.Scalar:
			def = &ast.Definition{Kind: ast.Scalar, Name: name, Description: firstDescription(m)}
		}
		if def != nil && !inaccessible[name] {
			defs = append(defs, def)
		}
	}
	c.addInterfaceObjectFields(sg, defs)
	sg.OverrideLabels = sortedSet(c.labels)
	if len(c.problems) > 0 {
		return nil, &Error{Problems: c.problems}
	}
	// Types in name order, as Apollo's composition prints the supergraph:
	// the order shows in introspection (__schema.types, and an
	// interface's possibleTypes), which must not depend on which subgraph
	// defined a type first.
	slices.SortStableFunc(defs, func(a, b *ast.Definition) int { return strings.Compare(a.Name, b.Name) })
	schema, err := clientSchema(defs, c.directives(), c.types["Mutation"] != nil && !inaccessible["Mutation"])
	if err != nil {
		return nil, err
	}
	sg.Schema = schema
	return sg, nil
}

func firstDescription(m *mergedType) string {
	for _, g := range m.graphs {
		if d := m.defs[g].Description; d != "" {
			return d
		}
	}
	return ""
}

// clientDirectives keeps the directives a client schema shows.
func clientDirectives(list ast.DirectiveList) ast.DirectiveList {
	var out ast.DirectiveList
	for _, d := range list {
		if d.Name == "deprecated" || d.Name == "specifiedBy" {
			out = append(out, d)
		}
	}
	return out
}

type fieldDef struct {
	graph string
	def   *ast.FieldDefinition
}

func (c *composer) mergeObject(m *mergedType, sg *Supergraph, inaccessibleType map[string]bool) *ast.Definition {
	t := &Type{Name: m.name, Kind: m.kind, Graphs: m.graphs, Fields: map[string]*Field{}, Possible: map[string][]string{}}
	if len(m.interfaceObject) > 0 {
		t.InterfaceObject = m.interfaceObject
	}
	sg.types[m.name] = t
	out := &ast.Definition{Kind: m.kind, Name: m.name, Description: firstDescription(m)}

	var order []string
	byName := map[string][]fieldDef{}
	for _, g := range m.graphs {
		def := m.defs[g]
		c.addContexts(sg, t, g, def)
		for _, k := range def.Directives.ForNames("key") {
			c.addKey(t, g, def, k)
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") || (m.name == "Query" && (f.Name == "_service" || f.Name == "_entities")) {
				continue
			}
			if byName[f.Name] == nil {
				order = append(order, f.Name)
			}
			byName[f.Name] = append(byName[f.Name], fieldDef{g, f})
		}
		for _, i := range def.Interfaces {
			if !slices.Contains(out.Interfaces, i) && !inaccessibleType[i] {
				out.Interfaces = append(out.Interfaces, i)
			}
		}
	}
	for _, name := range order {
		defs := byName[name]
		field := c.mergeFieldMeta(m, defs)
		c.setSourceTypes(field, defs)
		t.Fields[name] = field
		cf := c.mergeFieldDef(m, defs)
		if cf == nil {
			continue
		}
		named := cf.Type.Name()
		if inaccessibleType[named] {
			c.errorf("field %s.%s returns %s, which is @inaccessible, but the field is not @inaccessible", m.name, name, named)
		}
		out.Fields = append(out.Fields, cf)
	}
	if m.kind == ast.Interface {
		for _, g := range m.graphs {
			if m.interfaceObject[g] {
				continue
			}
			s := c.sub(g)
			for _, impl := range s.schema.PossibleTypes[m.defs[g].Name] {
				if impl.Kind == ast.Object {
					t.Possible[g] = append(t.Possible[g], s.typeName(impl.Name))
				}
			}
		}
	}
	if m.kind == ast.Object {
		c.checkShareable(m, t)
	}
	return out
}

// addKey parses and checks one @key.
func (c *composer) addKey(t *Type, graph string, def *ast.Definition, k *ast.Directive) {
	arg := k.Arguments.ForName("fields")
	if arg == nil || arg.Value == nil || arg.Value.Kind != ast.StringValue {
		c.errorf("subgraph %q, type %s: @key needs a string fields argument", graph, t.Name)
		return
	}
	set, err := ParseFieldSet(arg.Value.Raw)
	if err != nil {
		c.errorf("subgraph %q, type %s: @key: %v", graph, t.Name, err)
		return
	}
	if !c.checkFieldSet(graph, t.Name, def, set, "@key(fields: "+fmt.Sprintf("%q", arg.Value.Raw)+")") {
		return
	}
	resolvable := true
	if r := k.Arguments.ForName("resolvable"); r != nil && r.Value != nil && r.Value.Raw == "false" {
		resolvable = false
	}
	t.Keys = append(t.Keys, Key{Graph: graph, Fields: set, Source: arg.Value.Raw, Resolvable: resolvable})
}

// checkFieldSet checks that every field of a field set exists on def in the
// subgraph, with sub-selections exactly on composite fields.
func (c *composer) checkFieldSet(graph, typeName string, def *ast.Definition, set ast.SelectionSet, what string) bool {
	s := c.sub(graph)
	ok := true
	for _, sel := range set {
		if frag, isFrag := sel.(*ast.InlineFragment); isFrag {
			on := def
			if frag.TypeCondition != "" {
				on = s.schema.Types[frag.TypeCondition]
			}
			switch {
			case on == nil:
				c.errorf("subgraph %q, type %s: %s has a fragment on %s, which subgraph %q does not define", graph, typeName, what, frag.TypeCondition, graph)
				ok = false
			case !on.IsCompositeType():
				c.errorf("subgraph %q, type %s: %s has a fragment on %s, which is not an object, interface or union", graph, typeName, what, on.Name)
				ok = false
			default:
				ok = c.checkFieldSet(graph, on.Name, on, frag.SelectionSet, what) && ok
			}
			continue
		}
		f := sel.(*ast.Field)
		if f.Name == "__typename" && len(f.SelectionSet) == 0 {
			continue // any composite type has it
		}
		fd := def.Fields.ForName(f.Name)
		if fd == nil {
			c.errorf("subgraph %q, type %s: %s names field %q, which %s does not have in that subgraph", graph, typeName, what, f.Name, typeName)
			ok = false
			continue
		}
		sub := s.schema.Types[fd.Type.Name()]
		switch {
		case sub == nil:
			ok = false
		case sub.IsCompositeType() && len(f.SelectionSet) == 0:
			c.errorf("subgraph %q, type %s: %s selects %s.%s without a sub-selection", graph, typeName, what, typeName, f.Name)
			ok = false
		case !sub.IsCompositeType() && len(f.SelectionSet) > 0:
			c.errorf("subgraph %q, type %s: %s selects fields of leaf field %s.%s", graph, typeName, what, typeName, f.Name)
			ok = false
		case len(f.SelectionSet) > 0:
			ok = c.checkFieldSet(graph, sub.Name, sub, f.SelectionSet, what) && ok
		}
	}
	return ok
}

// mergeFieldMeta records which subgraphs resolve a field.
func (c *composer) mergeFieldMeta(m *mergedType, defs []fieldDef) *Field {
	field := &Field{Name: defs[0].def.Name, Type: defs[0].def.Type}
	for _, d := range defs[1:] {
		if t, ok := c.mergeOutputType(field.Type, d.def.Type); ok {
			field.Type = t
		}
	}
	for _, a := range defs[0].def.Arguments {
		if a.Directives.ForName("fromContext") == nil {
			field.Arguments = append(field.Arguments, a)
		}
	}
	// overridden maps each subgraph a field was taken from to the label of
	// a progressive override ("" for a plain one).
	overridden := map[string]string{}
	for _, d := range defs {
		if o := d.def.Directives.ForName("override"); o != nil {
			if from := argString(o, "from"); from != "" {
				overridden[from] = argString(o, "label")
			}
		}
	}
	for _, d := range defs {
		label, isOverridden := overridden[d.graph]
		if isOverridden && label == "" {
			continue
		}
		src := FieldSource{Graph: d.graph, OverrideLabel: label}
		typeDef := m.defs[d.graph]
		// An @external key field is still the subgraph's own: it gets the
		// key in every representation (Apollo's composition agrees).
		src.External = (d.def.Directives.ForName("external") != nil || typeDef.Directives.ForName("external") != nil) &&
			!isKeyField(typeDef, d.def.Name)
		if o := d.def.Directives.ForName("override"); o != nil {
			if l := argString(o, "label"); l != "" {
				src.Override, src.OverrideLabel = argString(o, "from"), l
			}
		}
		if src.OverrideLabel != "" {
			c.labels[src.OverrideLabel] = true
		}
		if r := d.def.Directives.ForName("requires"); r != nil {
			src.Requires = c.directiveFieldSet(d.graph, m.name, typeDef, r, "@requires")
		}
		if p := d.def.Directives.ForName("provides"); p != nil {
			s := c.sub(d.graph)
			target := s.schema.Types[d.def.Type.Name()]
			if target == nil || !target.IsCompositeType() {
				c.errorf("subgraph %q, field %s.%s: @provides on a field that does not return an object", d.graph, m.name, d.def.Name)
			} else {
				src.Provides = c.directiveFieldSet(d.graph, target.Name, target, p, "@provides on "+m.name+"."+d.def.Name)
			}
		}
		src.Context = c.contextArguments(d.graph, m.name, d.def)
		field.Sources = append(field.Sources, src)
	}
	return field
}

// setSourceTypes records, on each source whose type differs from the
// merged one, the subgraph's own type.
func (c *composer) setSourceTypes(field *Field, defs []fieldDef) {
	for i := range field.Sources {
		src := &field.Sources[i]
		for _, d := range defs {
			if d.graph == src.Graph && d.def.Type.String() != field.Type.String() {
				src.Type = c.sub(d.graph).supergraphType(d.def.Type)
			}
		}
	}
}

// contextArguments reads a field's @fromContext arguments.
func (c *composer) contextArguments(graph, typeName string, def *ast.FieldDefinition) []ContextArgument {
	var out []ContextArgument
	for _, a := range def.Arguments {
		fc := a.Directives.ForName("fromContext")
		if fc == nil {
			continue
		}
		where := fmt.Sprintf("subgraph %q, argument %s.%s(%s:)", graph, typeName, def.Name, a.Name)
		text := strings.TrimSpace(argString(fc, "field"))
		name, sel, ok := strings.Cut(strings.TrimPrefix(text, "$"), " ")
		if !strings.HasPrefix(text, "$") || !ok {
			c.errorf("%s: @fromContext(field: %q) must be \"$context { selection }\"", where, text)
			continue
		}
		sel = strings.TrimSpace(sel)
		sel = unbrace(sel)
		set, err := ParseFieldSet(sel)
		if err != nil {
			c.errorf("%s: @fromContext: %v", where, err)
			continue
		}
		out = append(out, ContextArgument{Name: a.Name, Type: a.Type, Context: graph + "__" + name, Selection: set})
	}
	return out
}

// addContexts records the contexts a subgraph's definition sets.
func (c *composer) addContexts(sg *Supergraph, t *Type, graph string, def *ast.Definition) {
	for _, d := range def.Directives.ForNames("context") {
		if name := argString(d, "name"); name != "" {
			full := graph + "__" + name
			t.Contexts = append(t.Contexts, full)
			sg.contexts[full] = append(sg.contexts[full], t.Name)
		}
	}
}

func isKeyField(def *ast.Definition, field string) bool {
	for _, k := range def.Directives.ForNames("key") {
		if set, err := ParseFieldSet(argString(k, "fields")); err == nil {
			for _, sel := range set {
				if f, ok := sel.(*ast.Field); ok && f.Name == field {
					return true
				}
			}
		}
	}
	return false
}

func argString(d *ast.Directive, name string) string {
	if a := d.Arguments.ForName(name); a != nil && a.Value != nil {
		return a.Value.Raw
	}
	return ""
}

func (c *composer) directiveFieldSet(graph, typeName string, def *ast.Definition, d *ast.Directive, what string) ast.SelectionSet {
	set, err := ParseFieldSet(argString(d, "fields"))
	if err != nil {
		c.errorf("subgraph %q, type %s: %s: %v", graph, typeName, what, err)
		return nil
	}
	if !c.checkFieldSet(graph, typeName, def, set, what) {
		return nil
	}
	return set
}

// mergeFieldDef merges a field's client-facing definition, or returns nil
// when it is @inaccessible.
func (c *composer) mergeFieldDef(m *mergedType, defs []fieldDef) *ast.FieldDefinition {
	out := &ast.FieldDefinition{Name: defs[0].def.Name}
	hidden := false
	for i, d := range defs {
		if d.def.Directives.ForName("inaccessible") != nil {
			hidden = true
		}
		if out.Description == "" {
			out.Description = d.def.Description
		}
		if dep := d.def.Directives.ForName("deprecated"); dep != nil && out.Directives.ForName("deprecated") == nil {
			out.Directives = append(out.Directives, dep)
		}
		if i == 0 {
			out.Type = d.def.Type
			for _, a := range d.def.Arguments {
				if a.Directives.ForName("fromContext") != nil {
					continue
				}
				out.Arguments = append(out.Arguments, &ast.ArgumentDefinition{
					Name: a.Name, Description: a.Description, DefaultValue: a.DefaultValue, Type: a.Type,
					Directives: clientDirectives(a.Directives),
				})
			}
			continue
		}
		merged, ok := c.mergeOutputType(out.Type, d.def.Type)
		if !ok {
			c.errorf("field %s.%s has type %s in subgraph %q but %s in subgraph %q",
				m.name, out.Name, defs[0].def.Type.String(), defs[0].graph, d.def.Type.String(), d.graph)
			continue
		}
		out.Type = merged
		// Arguments: those every subgraph accepts, with the same type.
		var kept ast.ArgumentDefinitionList
		for _, a := range out.Arguments {
			other := d.def.Arguments.ForName(a.Name)
			if other != nil && other.Directives.ForName("fromContext") != nil {
				other = nil
			}
			if other == nil {
				if a.Type.NonNull && a.DefaultValue == nil {
					c.errorf("argument %s.%s(%s:) is required in subgraph %q but missing in subgraph %q", m.name, out.Name, a.Name, defs[0].graph, d.graph)
				}
				continue
			}
			merged, ok := mergeInputType(a.Type, other.Type)
			if !ok {
				c.errorf("argument %s.%s(%s:) has type %s in subgraph %q but %s in subgraph %q", m.name, out.Name, a.Name, a.Type.String(), defs[0].graph, other.Type.String(), d.graph)
			} else if merged.String() != a.Type.String() {
				copied := *a
				copied.Type = merged
				a = &copied
			}
			kept = append(kept, a)
		}
		out.Arguments = kept
	}
	var args ast.ArgumentDefinitionList
	for _, a := range out.Arguments {
		inacc := false
		for _, d := range defs {
			if da := d.def.Arguments.ForName(a.Name); da != nil && da.Directives.ForName("inaccessible") != nil {
				inacc = true
			}
		}
		if !inacc {
			args = append(args, a)
		}
	}
	out.Arguments = args
	if hidden {
		return nil
	}
	return out
}

// mergeOutputType merges two output types of one field: the same list
// shape, nullable where either is nullable, and the more general of two
// named types when one is a subtype of the other (an implementation of an
// interface, a member of a union).
func (c *composer) mergeOutputType(a, b *ast.Type) (*ast.Type, bool) {
	switch {
	case a.Elem != nil && b.Elem != nil:
		elem, ok := c.mergeOutputType(a.Elem, b.Elem)
		return &ast.Type{Elem: elem, NonNull: a.NonNull && b.NonNull}, ok
	case a.Elem == nil && b.Elem == nil:
		named := ""
		switch {
		case a.NamedType == b.NamedType, c.isSubtype(b.NamedType, a.NamedType):
			named = a.NamedType
		case c.isSubtype(a.NamedType, b.NamedType):
			named = b.NamedType
		default:
			return nil, false
		}
		return &ast.Type{NamedType: named, NonNull: a.NonNull && b.NonNull}, true
	}
	return nil, false
}

// mergeInputType merges two input types of one argument or input field:
// the same named type and list shape, non-null where either is non-null
// (a value must suit every subgraph).
func mergeInputType(a, b *ast.Type) (*ast.Type, bool) {
	switch {
	case a.Elem != nil && b.Elem != nil:
		elem, ok := mergeInputType(a.Elem, b.Elem)
		return &ast.Type{Elem: elem, NonNull: a.NonNull || b.NonNull}, ok
	case a.Elem == nil && b.Elem == nil && a.NamedType == b.NamedType:
		return &ast.Type{NamedType: a.NamedType, NonNull: a.NonNull || b.NonNull}, true
	}
	return nil, false
}

// isSubtype reports whether object type sub implements interface super,
// or is a member of union super, in some subgraph.
func (c *composer) isSubtype(sub, super string) bool {
	for _, s := range c.subs {
		def, sup := s.def(sub), s.def(super)
		if def == nil || sup == nil {
			continue
		}
		switch sup.Kind {
		case ast.Interface:
			if slices.Contains(def.Interfaces, sup.Name) {
				return true
			}
		case ast.Union:
			if slices.Contains(sup.Types, def.Name) {
				return true
			}
		}
	}
	return false
}

// checkInterfaceObjects checks that every @interfaceObject stands for an
// interface that some subgraph defines with a @key.
func (c *composer) checkInterfaceObjects() {
	for _, name := range c.order {
		m := c.types[name]
		if len(m.interfaceObject) == 0 {
			continue
		}
		var owners []string
		for _, g := range m.graphs {
			if !m.interfaceObject[g] && m.defs[g].Directives.ForName("key") != nil {
				owners = append(owners, g)
			}
		}
		if len(owners) == 0 {
			objs := slices.Sorted(maps.Keys(m.interfaceObject))
			c.errorf("type %s is an @interfaceObject in subgraph %s, but no subgraph defines interface %s with a @key",
				name, quoteList(objs), name)
		}
	}
}

// addInterfaceObjectFields adds the fields that @interfaceObject types
// contribute to an interface to every object type implementing it, as
// Apollo's composition does: they are resolved through the interface
// object, so they have no subgraph of their own on the object type.
func (c *composer) addInterfaceObjectFields(sg *Supergraph, defs ast.DefinitionList) {
	byName := map[string]*ast.Definition{}
	for _, d := range defs {
		byName[d.Name] = d
	}
	for _, name := range c.order {
		m := c.types[name]
		if len(m.interfaceObject) == 0 {
			continue
		}
		iface := sg.types[name]
		for _, objName := range c.order {
			obj := sg.types[objName]
			if obj == nil || obj.Kind != ast.Object || !c.implementsAnywhere(objName, name) {
				continue
			}
			for _, g := range m.graphs {
				if !m.interfaceObject[g] {
					continue
				}
				for _, f := range m.defs[g].Fields {
					if strings.HasPrefix(f.Name, "__") || obj.Fields[f.Name] != nil {
						continue
					}
					meta := iface.Fields[f.Name]
					obj.Fields[f.Name] = &Field{Name: f.Name, Type: meta.Type, Arguments: meta.Arguments}
					clientIface, clientObj := byName[name], byName[objName]
					if clientIface == nil || clientObj == nil {
						continue
					}
					if cf := clientIface.Fields.ForName(f.Name); cf != nil {
						clientObj.Fields = append(clientObj.Fields, cf)
					}
				}
			}
		}
	}
}

// implementsAnywhere reports whether some subgraph declares that object
// type obj implements interface iface.
func (c *composer) implementsAnywhere(obj, iface string) bool {
	for _, s := range c.subs {
		if d := s.def(obj); d != nil && d.Kind == ast.Object && slices.Contains(d.Interfaces, iface) {
			return true
		}
	}
	return false
}

// checkShareable refuses a field resolved by several subgraphs unless each
// marks it @shareable (key fields are shareable by nature).
func (c *composer) checkShareable(m *mergedType, t *Type) {
	for name, f := range t.Fields {
		resolvers := f.Resolvers()
		if len(resolvers) < 2 {
			continue
		}
		for _, g := range resolvers {
			def := m.defs[g]
			fd := def.Fields.ForName(name)
			if fd.Directives.ForName("shareable") != nil || def.Directives.ForName("shareable") != nil || isKeyField(def, name) {
				continue
			}
			others := slices.DeleteFunc(slices.Clone(resolvers), func(s string) bool { return s == g })
			c.errorf("field %s.%s is resolved by subgraphs %q and %s but is not @shareable in subgraph %q",
				m.name, name, g, quoteList(others), g)
		}
	}
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

func (c *composer) mergeUnion(m *mergedType, sg *Supergraph, inaccessible map[string]bool) *ast.Definition {
	t := &Type{Name: m.name, Kind: ast.Union, Graphs: m.graphs, Fields: map[string]*Field{}, Possible: map[string][]string{}}
	sg.types[m.name] = t
	out := &ast.Definition{Kind: ast.Union, Name: m.name, Description: firstDescription(m)}
	for _, g := range m.graphs {
		c.addContexts(sg, t, g, m.defs[g])
		for _, member := range m.defs[g].Types {
			t.Possible[g] = append(t.Possible[g], member)
			if !slices.Contains(out.Types, member) && !inaccessible[member] {
				out.Types = append(out.Types, member)
			}
		}
	}
	return out
}

// enumUsage finds which enums appear in input positions and which in
// output positions, in any subgraph.
func (c *composer) enumUsage() (input, output map[string]bool) {
	input, output = map[string]bool{}, map[string]bool{}
	for _, s := range c.subs {
		for _, name := range s.own {
			def := s.schema.Types[name]
			for _, f := range def.Fields {
				if def.Kind == ast.InputObject {
					input[f.Type.Name()] = true
					continue
				}
				output[f.Type.Name()] = true
				for _, a := range f.Arguments {
					input[a.Type.Name()] = true
				}
			}
		}
	}
	return input, output
}

// mergeEnum merges an enum's values: the union when it is only returned,
// the intersection when it is only an input, and identical sets otherwise.
func (c *composer) mergeEnum(m *mergedType, asInput, asOutput bool) *ast.Definition {
	out := &ast.Definition{Kind: ast.Enum, Name: m.name, Description: firstDescription(m)}
	var order []string
	count := map[string]int{}
	vals := map[string]*ast.EnumValueDefinition{}
	hidden := map[string]bool{}
	for _, g := range m.graphs {
		for _, v := range m.defs[g].EnumValues {
			if count[v.Name] == 0 {
				order = append(order, v.Name)
				vals[v.Name] = v
			}
			count[v.Name]++
			if v.Directives.ForName("inaccessible") != nil {
				hidden[v.Name] = true
			}
		}
	}
	n := len(m.graphs)
	for _, name := range order {
		if count[name] < n && asInput {
			if asOutput {
				var missing []string
				for _, g := range m.graphs {
					if m.defs[g].EnumValues.ForName(name) == nil {
						missing = append(missing, g)
					}
				}
				sort.Strings(missing)
				c.errorf("enum %s is used as input and output, so every subgraph must define the same values, but value %s is missing in subgraph %s",
					m.name, name, quoteList(missing))
			}
			continue
		}
		if hidden[name] {
			continue
		}
		v := vals[name]
		out.EnumValues = append(out.EnumValues, &ast.EnumValueDefinition{Name: name, Description: v.Description, Directives: clientDirectives(v.Directives)})
	}
	if len(out.EnumValues) == 0 {
		c.errorf("enum %s has no value common to subgraphs %s", m.name, quoteList(m.graphs))
	}
	return out
}

// executableLocations are the locations of a directive in operations.
var executableLocations = map[ast.DirectiveLocation]bool{
	ast.LocationQuery: true, ast.LocationMutation: true, ast.LocationSubscription: true,
	ast.LocationField: true, ast.LocationFragmentDefinition: true, ast.LocationFragmentSpread: true,
	ast.LocationInlineFragment: true, ast.LocationVariableDefinition: true,
}

// directives returns the custom directive definitions of the client
// schema: the executable directives every subgraph defines, at the
// executable locations they all allow, and the executable locations of
// those a subgraph composes with @composeDirective. (A composed type
// system directive stays in the supergraph only.)
func (c *composer) directives() ast.DirectiveDefinitionList {
	var out ast.DirectiveDefinitionList
	for _, s := range c.subs {
		for _, name := range s.composed {
			if d := s.directives.ForName(name); d != nil && out.ForName(name) == nil {
				if e := executableOnly(d); e != nil {
					out = append(out, e)
				}
			}
		}
	}
	for _, d := range c.subs[0].directives {
		if out.ForName(d.Name) != nil {
			continue
		}
		locs := map[ast.DirectiveLocation]bool{}
		for _, l := range d.Locations {
			if executableLocations[l] {
				locs[l] = true
			}
		}
		for _, s := range c.subs[1:] {
			other := s.directives.ForName(d.Name)
			if other == nil {
				locs = nil
				break
			}
			for l := range locs {
				if !slices.Contains(other.Locations, l) {
					delete(locs, l)
				}
			}
		}
		if len(locs) == 0 {
			continue
		}
		merged := &ast.DirectiveDefinition{Name: d.Name, Description: d.Description, Arguments: d.Arguments, IsRepeatable: d.IsRepeatable}
		for _, l := range d.Locations {
			if locs[l] {
				merged.Locations = append(merged.Locations, l)
			}
		}
		out = append(out, merged)
	}
	return out
}

// enumHidesValues reports whether some subgraph knows a value of the enum
// that the client schema does not show.
func (c *composer) enumHidesValues(m *mergedType) bool {
	for _, g := range m.graphs {
		for _, v := range m.defs[g].EnumValues {
			if v.Directives.ForName("inaccessible") != nil {
				return true
			}
		}
	}
	return false
}

// mergeInput keeps the input fields that every subgraph defines; a required
// field missing in one subgraph is an error.
func (c *composer) mergeInput(m *mergedType) *ast.Definition {
	out := &ast.Definition{Kind: ast.InputObject, Name: m.name, Description: firstDescription(m)}
	first := m.graphs[0]
	var names []string
	for _, g := range m.graphs {
		for _, f := range m.defs[g].Fields {
			if !slices.Contains(names, f.Name) {
				names = append(names, f.Name)
			}
		}
	}
	for _, name := range names {
		keep, hidden := true, false
		var base *ast.FieldDefinition
		for _, g := range m.graphs {
			f := m.defs[g].Fields.ForName(name)
			if f == nil {
				keep = false
				continue
			}
			if f.Directives.ForName("inaccessible") != nil {
				hidden = true
			}
			if base == nil {
				base = f
				continue
			}
			merged, ok := mergeInputType(base.Type, f.Type)
			if !ok {
				c.errorf("input field %s.%s has type %s in subgraph %q but %s in subgraph %q", m.name, name, base.Type.String(), first, f.Type.String(), g)
			} else if merged.String() != base.Type.String() {
				copied := *base
				copied.Type = merged
				base = &copied
			}
		}
		if !keep {
			if base.Type.NonNull && base.DefaultValue == nil {
				c.errorf("input field %s.%s is required but not defined in every subgraph that defines %s", m.name, name, m.name)
			}
			continue
		}
		if hidden {
			continue
		}
		out.Fields = append(out.Fields, &ast.FieldDefinition{
			Name: name, Description: base.Description, Type: base.Type, DefaultValue: base.DefaultValue,
			Directives: clientDirectives(base.Directives),
		})
	}
	return out
}
