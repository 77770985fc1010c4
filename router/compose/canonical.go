package compose

import (
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Canonical prints a schema's own types (not the built-in ones) in a form
// that ignores ordering and descriptions: types, fields, arguments, enum
// values, union members and interfaces are sorted, and defaults kept. Two
// schemas a client cannot tell apart print the same.
func Canonical(schema *ast.Schema) string {
	var lines []string
	for name, def := range schema.Types {
		if def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		var b strings.Builder
		b.WriteString(strings.ToLower(string(def.Kind)) + " " + name)
		if len(def.Interfaces) > 0 {
			ifaces := slices.Sorted(slices.Values(def.Interfaces))
			b.WriteString(" implements " + strings.Join(ifaces, " & "))
		}
		if len(def.Types) > 0 {
			b.WriteString(" = " + strings.Join(slices.Sorted(slices.Values(def.Types)), " | "))
		}
		var members []string
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			m := f.Name
			if len(f.Arguments) > 0 {
				var args []string
				for _, a := range f.Arguments {
					args = append(args, a.Name+": "+a.Type.String()+defaultText(a.DefaultValue))
				}
				slices.Sort(args)
				m += "(" + strings.Join(args, ", ") + ")"
			}
			m += ": " + f.Type.String() + defaultText(f.DefaultValue)
			if d := f.Directives.ForName("deprecated"); d != nil {
				m += " @deprecated"
			}
			members = append(members, m)
		}
		for _, v := range def.EnumValues {
			members = append(members, v.Name)
		}
		slices.Sort(members)
		if len(members) > 0 {
			b.WriteString(" { " + strings.Join(members, "; ") + " }")
		}
		lines = append(lines, b.String())
	}
	for name, d := range schema.Directives {
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		var b strings.Builder
		b.WriteString("directive @" + name)
		if len(d.Arguments) > 0 {
			var args []string
			for _, a := range d.Arguments {
				args = append(args, a.Name+": "+a.Type.String()+defaultText(a.DefaultValue))
			}
			slices.Sort(args)
			b.WriteString("(" + strings.Join(args, ", ") + ")")
		}
		var locs []string
		for _, l := range d.Locations {
			locs = append(locs, string(l))
		}
		slices.Sort(locs)
		b.WriteString(" on " + strings.Join(locs, " | "))
		lines = append(lines, b.String())
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

func defaultText(v *ast.Value) string {
	if v == nil {
		return ""
	}
	return " = " + v.String()
}
