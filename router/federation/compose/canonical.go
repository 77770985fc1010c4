package compose

import (
	"fmt"
	"maps"
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

// CanonicalMetadata prints what the planner uses of a supergraph's
// federation metadata, one fact a line, sorted: the keys, which subgraphs
// resolve each field, @requires, @provides and each abstract type's possible
// types per subgraph. Two supergraphs the planner cannot tell apart print
// the same, whether composed by Compose or read by ParseSupergraph.
func CanonicalMetadata(sg *Supergraph) string {
	var lines []string
	for _, name := range metadataTypes(sg) {
		t := sg.Type(name)
		for _, k := range t.Keys {
			lines = append(lines, fmt.Sprintf("%s key %s in %s resolvable=%v", name, FieldSetString(k.Fields), k.Graph, k.Resolvable))
		}
		for g, types := range t.Possible {
			lines = append(lines, fmt.Sprintf("%s possible in %s: %s", name, g, strings.Join(slices.Sorted(slices.Values(types)), ",")))
		}
		for _, g := range slices.Sorted(maps.Keys(t.InterfaceObject)) {
			lines = append(lines, fmt.Sprintf("%s is an @interfaceObject in %s", name, g))
		}
		for _, c := range t.Contexts {
			lines = append(lines, fmt.Sprintf("%s sets context %s", name, c))
		}
		for fname, f := range t.Fields {
			resolvers := f.Resolvers()
			slices.Sort(resolvers)
			lines = append(lines, fmt.Sprintf("%s.%s resolved by %s", name, fname, strings.Join(resolvers, ",")))
			for _, s := range f.Sources {
				if s.Requires != nil {
					lines = append(lines, fmt.Sprintf("%s.%s in %s requires %s", name, fname, s.Graph, FieldSetString(s.Requires)))
				}
				if s.Provides != nil {
					lines = append(lines, fmt.Sprintf("%s.%s in %s provides %s", name, fname, s.Graph, FieldSetString(s.Provides)))
				}
				if s.Type != nil {
					lines = append(lines, fmt.Sprintf("%s.%s in %s is %s", name, fname, s.Graph, s.Type.String()))
				}
				if s.OverrideLabel != "" {
					lines = append(lines, fmt.Sprintf("%s.%s in %s: override from %q, label %q", name, fname, s.Graph, s.Override, s.OverrideLabel))
				}
				for _, c := range s.Context {
					lines = append(lines, fmt.Sprintf("%s.%s in %s: argument %s: %s from context %s { %s }", name, fname, s.Graph, c.Name, c.Type.String(), c.Context, FieldSetString(c.Selection)))
				}
			}
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

// metadataTypes lists, sorted, the types of the client schema that have
// federation metadata. (Inaccessible types have metadata but are not in
// the client schema.)
func metadataTypes(sg *Supergraph) []string {
	var out []string
	for name, def := range sg.Schema.Types {
		if !def.BuiltIn && sg.Type(name) != nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
