package compose

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// ParseFieldSet parses a federation field set such as "id",
// "sku vendor { id }", `price(currency: "USD")` or
// "media { ... on Book { pages } }" into a selection set. A field set holds
// fields (with literal arguments) and inline fragments; it has no aliases,
// variables, directives or named fragments.
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
	if err := checkFieldSetSyntax(set); err != nil {
		return nil, fmt.Errorf("field set %q: %w", fields, err)
	}
	return set, nil
}

func checkFieldSetSyntax(set ast.SelectionSet) error {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != s.Name {
				return fmt.Errorf("field %q has an alias", s.Name)
			}
			if len(s.Directives) > 0 {
				return fmt.Errorf("field %q has directives", s.Name)
			}
			for _, a := range s.Arguments {
				if hasVariable(a.Value) {
					return fmt.Errorf("argument %s of field %q uses a variable", a.Name, s.Name)
				}
			}
			if err := checkFieldSetSyntax(s.SelectionSet); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if len(s.Directives) > 0 {
				return fmt.Errorf("an inline fragment has directives")
			}
			if err := checkFieldSetSyntax(s.SelectionSet); err != nil {
				return err
			}
		default:
			return fmt.Errorf("named fragments are not allowed")
		}
	}
	return nil
}

func hasVariable(v *ast.Value) bool {
	if v == nil {
		return false
	}
	if v.Kind == ast.Variable {
		return true
	}
	for _, c := range v.Children {
		if hasVariable(c.Value) {
			return true
		}
	}
	return false
}

// FieldSetString prints a parsed field set back in canonical form:
// "sku vendor { code }", `price(currency: "USD")`,
// "media { ... on Book { pages } }".
func FieldSetString(set ast.SelectionSet) string {
	var b strings.Builder
	writeFieldSet(&b, set)
	return b.String()
}

func writeFieldSet(b *strings.Builder, set ast.SelectionSet) {
	for i, sel := range set {
		if i > 0 {
			b.WriteByte(' ')
		}
		var sub ast.SelectionSet
		switch s := sel.(type) {
		case *ast.Field:
			b.WriteString(s.Name)
			if len(s.Arguments) > 0 {
				b.WriteByte('(')
				for j, a := range s.Arguments {
					if j > 0 {
						b.WriteString(", ")
					}
					b.WriteString(a.Name + ": " + a.Value.String())
				}
				b.WriteByte(')')
			}
			sub = s.SelectionSet
		case *ast.InlineFragment:
			b.WriteString("...")
			if s.TypeCondition != "" {
				b.WriteString(" on " + s.TypeCondition)
			}
			sub = s.SelectionSet
		}
		if len(sub) > 0 {
			b.WriteString(" { ")
			writeFieldSet(b, sub)
			b.WriteString(" }")
		}
	}
}

// FieldSetFields calls fn for every field of a field set's top level,
// fragments included, with the type condition it sits under ("" at the
// top).
func FieldSetFields(set ast.SelectionSet, fn func(f *ast.Field, typeCondition string)) {
	var walk func(set ast.SelectionSet, cond string)
	walk = func(set ast.SelectionSet, cond string) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				fn(s, cond)
			case *ast.InlineFragment:
				c := cond
				if s.TypeCondition != "" {
					c = s.TypeCondition
				}
				walk(s.SelectionSet, c)
			}
		}
	}
	walk(set, "")
}

// unbrace strips the braces around a selection written "{ a b }", as
// @fromContext and contextArguments may write it; "... on A { a }" is
// left as it is.
func unbrace(sel string) string {
	sel = strings.TrimSpace(sel)
	if strings.HasPrefix(sel, "{") && strings.HasSuffix(sel, "}") {
		return strings.TrimSpace(sel[1 : len(sel)-1])
	}
	return sel
}
