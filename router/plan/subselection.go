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
}

type subField struct {
	alias, name string
	args        ast.ArgumentList
	argsText    string
	internal    bool
	sel         *subSelection
}

type subFragment struct {
	typeName string
	sel      *subSelection
}

func newSubSelection() *subSelection {
	return &subSelection{byKey: map[string]*subField{}}
}

func (f *subField) sub() *subSelection {
	if f.sel == nil {
		f.sel = newSubSelection()
	}
	return f.sel
}

// field adds a field, or returns the one already there with the same
// response key. An internal field (a key, a @requires field, __typename)
// reuses a client field that selects the same thing, and otherwise takes an
// alias no client field uses.
func (s *subSelection) field(key, name string, args ast.ArgumentList, internal bool) *subField {
	text := argumentsText(args)
	if f := s.byKey[key]; f != nil && f.name == name && f.argsText == text {
		return f
	}
	if internal && name != "__typename" {
		for i := 0; ; i++ {
			alias := "_k_" + name
			if i > 0 {
				alias = "_k" + itoa(i) + "_" + name
			}
			f := s.byKey[alias]
			if f == nil {
				key = alias
				break
			}
			if f.name == name && f.argsText == text {
				return f
			}
		}
	}
	f := &subField{alias: key, name: name, args: args, argsText: text, internal: internal}
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
	f := &subFragment{typeName: typeName, sel: newSubSelection()}
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

// IsInternalAlias reports whether a response key is one the planner made
// for a field it added (a key or a @requires field).
func IsInternalAlias(key string) bool {
	if !strings.HasPrefix(key, "_k") {
		return false
	}
	i := 2
	for i < len(key) && key[i] >= '0' && key[i] <= '9' {
		i++
	}
	return i < len(key) && key[i] == '_'
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
