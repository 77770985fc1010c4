package plan

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// subSelection is a selection set of a subgraph operation being built.
type subSelection struct {
	fields    []*subField
	byKey     map[string]*subField
	fragments []*subFragment
	aliases   *aliases
}

type subField struct {
	alias, name string
	args        ast.ArgumentList
	argsText    string
	internal    bool
	sel         *subSelection
	aliases     *aliases
}

// aliases hands out the response keys of the fields the planner adds to
// subgraph selections (keys and @requires fields). None is a response key
// the client uses anywhere in the operation, so that in the data the
// fetches merge into, and in the paths of subgraph errors, a key is
// either surely the client's or surely the planner's. Each field name and
// type has its own key, so that two fields of one key never return
// different types, which GraphQL validation refuses even in fragments on
// different types.
type aliases struct {
	// client holds the client's response keys that could be taken for
	// internal ones (those starting with "_k").
	client map[string]bool
	// internal holds the keys handed out, and byField each by field name
	// and type.
	internal map[string]bool
	byField  map[string]string
	// typename is the key of the __typename fields the planner adds:
	// __typename, unless the client gives that key to another field.
	typename string
}

func newAliases(root *Selection) *aliases {
	a := &aliases{client: map[string]bool{}, internal: map[string]bool{}, byField: map[string]string{}, typename: "__typename"}
	taken := false
	var walk func(s *Selection)
	walk = func(s *Selection) {
		for _, fields := range s.Fields {
			for _, f := range fields {
				if strings.HasPrefix(f.Key, "_k") {
					a.client[f.Key] = true
				}
				taken = taken || (f.Key == "__typename" && f.Name != "__typename")
				if f.Sub != nil {
					walk(f.Sub)
				}
			}
		}
	}
	walk(root)
	if taken {
		a.typename = a.alias("__typename", "String!")
	}
	return a
}

// alias returns the key of the internal fields named name of type typ:
// the first of _k_NAME, _k1_NAME, ... that no client field uses and no
// field of another type has.
func (a *aliases) alias(name, typ string) string {
	k := name + " " + typ
	if alias, ok := a.byField[k]; ok {
		return alias
	}
	for i := 0; ; i++ {
		alias := "_k_" + name
		if i > 0 {
			alias = "_k" + itoa(i) + "_" + name
		}
		if !a.client[alias] && !a.internal[alias] {
			a.byField[k] = alias
			a.internal[alias] = true
			return alias
		}
	}
}

type subFragment struct {
	typeName string
	sel      *subSelection
}

func newSubSelection(a *aliases) *subSelection {
	return &subSelection{byKey: map[string]*subField{}, aliases: a}
}

func (f *subField) sub() *subSelection {
	if f.sel == nil {
		f.sel = newSubSelection(f.aliases)
	}
	return f.sel
}

// field adds a field, or returns the one already there with the same
// response key. internal marks a field the planner adds: __typename, under
// the key the caller gives (the aliases' typename).
func (s *subSelection) field(key, name string, args ast.ArgumentList, internal bool) *subField {
	text := argumentsText(args)
	if f := s.byKey[key]; f != nil && f.name == name && f.argsText == text {
		return f
	}
	return s.add(key, name, args, text, internal)
}

// internalField adds a field the planner needs (a key or a @requires
// field), of type typ, or returns the one already there: a client field
// that selects it under its own name, or the internal field added before.
// Otherwise the field takes the aliases' key for its name and type.
func (s *subSelection) internalField(name, typ string) *subField {
	if f := s.byKey[name]; f != nil && f.name == name && f.argsText == "" {
		return f
	}
	key := s.aliases.alias(name, typ)
	if f := s.byKey[key]; f != nil {
		return f
	}
	return s.add(key, name, nil, "", true)
}

func (s *subSelection) add(key, name string, args ast.ArgumentList, text string, internal bool) *subField {
	f := &subField{alias: key, name: name, args: args, argsText: text, internal: internal, aliases: s.aliases}
	s.byKey[key] = f
	s.fields = append(s.fields, f)
	return f
}

// fragment returns the inline fragment on typeName, creating it.
func (s *subSelection) fragment(typeName string) *subSelection {
	for _, f := range s.fragments {
		if f.typeName == typeName {
			return f.sel
		}
	}
	f := &subFragment{typeName: typeName, sel: newSubSelection(s.aliases)}
	s.fragments = append(s.fragments, f)
	return f.sel
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// write prints the selection set; used collects the variables it uses.
func (s *subSelection) write(b *strings.Builder, used map[string]bool) {
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(' ')
		}
		first = false
	}
	for _, f := range s.fields {
		sep()
		if f.alias != f.name {
			b.WriteString(f.alias)
			b.WriteString(": ")
		}
		b.WriteString(f.name)
		if len(f.args) > 0 {
			b.WriteString(f.argsText)
			for _, a := range f.args {
				collectVariables(a.Value, used)
			}
		}
		if f.sel != nil {
			b.WriteByte(' ')
			f.sel.write(b, used)
		}
	}
	for _, fr := range s.fragments {
		sep()
		b.WriteString("... on ")
		b.WriteString(fr.typeName)
		b.WriteByte(' ')
		fr.sel.write(b, used)
	}
	if first {
		// An empty selection (every field came from elsewhere) still needs
		// one field to be valid GraphQL.
		b.WriteString("__typename")
	}
	b.WriteByte('}')
}

func argumentsText(args ast.ArgumentList) string {
	if len(args) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Name)
		b.WriteString(": ")
		b.WriteString(a.Value.String())
	}
	b.WriteByte(')')
	return b.String()
}

func collectVariables(v *ast.Value, used map[string]bool) {
	if v == nil {
		return
	}
	if v.Kind == ast.Variable {
		used[v.Raw] = true
		return
	}
	for _, c := range v.Children {
		collectVariables(c.Value, used)
	}
}

// hasInternal reports whether the planner added any field to the client's
// selection.
func (s *subSelection) hasInternal() bool {
	for _, f := range s.fields {
		if f.internal || (f.sel != nil && f.sel.hasInternal()) {
			return true
		}
	}
	for _, fr := range s.fragments {
		if fr.sel.hasInternal() {
			return true
		}
	}
	return false
}
