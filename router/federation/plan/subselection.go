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
	dirs        ast.DirectiveList
	// argsText is the arguments and directives as printed; two fields
	// with the same name and argsText select the same thing.
	argsText string
	internal bool
	sel      *subSelection
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

// field adds a field under response key key, or returns the field already
// there that selects the same thing. An internal field (a key, a @requires
// field) reuses any field of the selection with the same name, arguments
// and directives; key is then only its key when it is new. It returns nil
// when a client field's key is taken by a different field.
func (s *subSelection) field(key, name string, args ast.ArgumentList, dirs ast.DirectiveList, internal bool) *subField {
	text := argumentsText(args) + directivesText(dirs)
	if internal && name != "__typename" {
		for _, f := range s.fields {
			if f.name == name && f.argsText == text {
				return f
			}
		}
	}
	if f := s.byKey[key]; f != nil {
		if f.name == name && f.argsText == text {
			return f
		}
		return nil
	}
	f := &subField{alias: key, name: name, args: args, dirs: dirs, argsText: text, internal: internal}
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
		if f.argsText != "" {
			b.WriteString(f.argsText)
			for _, a := range f.args {
				collectVariables(a.Value, used)
			}
			for _, d := range f.dirs {
				for _, a := range d.Arguments {
					collectVariables(a.Value, used)
				}
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

func directivesText(dirs ast.DirectiveList) string {
	if len(dirs) == 0 {
		return ""
	}
	var b strings.Builder
	for _, d := range dirs {
		b.WriteString(" @")
		b.WriteString(d.Name)
		b.WriteString(argumentsText(d.Arguments))
	}
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
