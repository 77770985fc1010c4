package execute

import (
	"fmt"

	"github.com/99designs/gqlgen/graphql/introspection"

	"bookstore/router/federation/plan"
)

// introspect answers the root __schema and __type fields from the client
// schema, into the data tree the response is shaped from.
func (x *execution) introspect(root *plan.Selection) error {
	schema := introspection.WrapSchema(x.ex.Schema)
	for _, f := range root.Fields[root.TypeName] {
		switch f.Name {
		case "__schema":
			x.arena.set(x.data, f.Key, x.arena.fromGo(x.resolve(f.Sub, schema)))
		case "__type":
			name, err := x.stringArg(f, "name")
			if err != nil {
				return err
			}
			if def := x.ex.Schema.Types[name]; def != nil {
				x.arena.set(x.data, f.Key, x.arena.fromGo(x.resolve(f.Sub, introspection.WrapTypeFromDef(x.ex.Schema, def))))
			} else {
				x.arena.set(x.data, f.Key, value{})
			}
		}
	}
	return nil
}

func (x *execution) stringArg(f *plan.Field, name string) (string, error) {
	a := f.Arguments.ForName(name)
	if a == nil {
		return "", fmt.Errorf("%s needs the argument %s", f.Name, name)
	}
	v, err := a.Value.Value(x.req.Variables)
	if err != nil {
		return "", err
	}
	s, _ := v.(string)
	return s, nil
}

func (x *execution) boolArg(f *plan.Field, name string) bool {
	a := f.Arguments.ForName(name)
	if a == nil {
		return false
	}
	v, err := a.Value.Value(x.req.Variables)
	if err != nil {
		return false
	}
	b, _ := v.(bool)
	return b
}

// resolve builds the data of one introspection object for a selection.
func (x *execution) resolve(sel *plan.Selection, obj any) any {
	if obj == nil || sel == nil {
		return nil
	}
	out := &object{}
	for _, f := range sel.Fields[sel.TypeName] {
		if f.Name == "__typename" {
			continue
		}
		out.set(f.Key, x.field(f, obj))
	}
	return out
}

func (x *execution) list(sel *plan.Selection, n int, item func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = x.resolve(sel, item(i))
	}
	return out
}

// listOf resolves each of items, by its address, with sel.
func listOf[T any](x *execution, sel *plan.Selection, items []T) []any {
	return x.list(sel, len(items), func(i int) any { return &items[i] })
}

func str(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

// What several introspection types answer alike.
type (
	described    interface{ Description() *string }
	deprecatable interface {
		IsDeprecated() bool
		DeprecationReason() *string
	}
	withArgs interface {
		VisibleArgs(includeDeprecated bool) []introspection.InputValue
	}
)

// field answers one field of an introspection type.
func (x *execution) field(f *plan.Field, obj any) any {
	switch f.Name {
	case "description":
		if o, ok := obj.(described); ok {
			return str(o.Description())
		}
	case "isDeprecated":
		if o, ok := obj.(deprecatable); ok {
			return o.IsDeprecated()
		}
	case "deprecationReason":
		if o, ok := obj.(deprecatable); ok {
			return str(o.DeprecationReason())
		}
	case "args":
		if o, ok := obj.(withArgs); ok {
			args := o.VisibleArgs(x.boolArg(f, "includeDeprecated"))
			return listOf(x, f.Sub, args)
		}
	}
	switch o := obj.(type) {
	case *introspection.Schema:
		switch f.Name {
		case "types":
			types := o.Types()
			return listOf(x, f.Sub, types)
		case "queryType":
			return x.resolve(f.Sub, nilType(o.QueryType()))
		case "mutationType":
			return x.resolve(f.Sub, nilType(o.MutationType()))
		case "subscriptionType":
			return x.resolve(f.Sub, nilType(o.SubscriptionType()))
		case "directives":
			dirs := servedDirectives(o.Directives())
			return listOf(x, f.Sub, dirs)
		}
	case *introspection.Type:
		switch f.Name {
		case "kind":
			return o.Kind()
		case "name":
			return str(o.Name())
		case "specifiedByURL":
			return str(o.SpecifiedByURL())
		case "isOneOf":
			return o.IsOneOf()
		case "fields":
			if fields := o.Fields(x.boolArg(f, "includeDeprecated")); fields != nil {
				return listOf(x, f.Sub, fields)
			}
		case "interfaces":
			return x.typeList(f, o.Interfaces(), o.Kind() == "OBJECT" || o.Kind() == "INTERFACE")
		case "possibleTypes":
			return x.typeList(f, o.PossibleTypes(), o.Kind() == "UNION" || o.Kind() == "INTERFACE")
		case "enumValues":
			if values := o.EnumValues(x.boolArg(f, "includeDeprecated")); values != nil {
				return listOf(x, f.Sub, values)
			}
		case "inputFields":
			if o.Kind() != "INPUT_OBJECT" {
				return nil
			}
			values := o.VisibleInputFields(x.boolArg(f, "includeDeprecated"))
			return listOf(x, f.Sub, values)
		case "ofType":
			return x.resolve(f.Sub, nilType(o.OfType()))
		}
	case *introspection.Field:
		return x.nameAndType(f, o.Name, o.Type)
	case *introspection.InputValue:
		if f.Name == "defaultValue" {
			return str(o.DefaultValue)
		}
		return x.nameAndType(f, o.Name, o.Type)
	case *introspection.EnumValue:
		if f.Name == "name" {
			return o.Name
		}
	case *introspection.Directive:
		switch f.Name {
		case "name":
			return o.Name
		case "locations":
			out := make([]any, len(o.Locations))
			for i, l := range o.Locations {
				out[i] = l
			}
			return out
		case "isRepeatable":
			return o.IsRepeatable
		}
	}
	return nil
}

// nameAndType answers the name and type of a field or an input value.
func (x *execution) nameAndType(f *plan.Field, name string, typ *introspection.Type) any {
	switch f.Name {
	case "name":
		return name
	case "type":
		return x.resolve(f.Sub, typ)
	}
	return nil
}

func (x *execution) typeList(f *plan.Field, types []introspection.Type, applies bool) any {
	if !applies {
		return nil
	}
	return listOf(x, f.Sub, types)
}

// nilType keeps a nil *Type a nil interface value.
func nilType(t *introspection.Type) any {
	if t == nil {
		return nil
	}
	return t
}

// builtinOrder lists the specification's directives in the order
// graphql-js, and so Apollo, introspects them.
var builtinOrder = []string{"include", "skip", "deprecated", "specifiedBy", "oneOf"}

// servedDirectives orders a schema's directives as clients know them: the
// schema's own first, then the specification's. @defer and @stream, which
// gqlparser declares but the router does not serve, are left out.
func servedDirectives(dirs []introspection.Directive) []introspection.Directive {
	out := make([]introspection.Directive, 0, len(dirs))
	builtin := map[string]int{}
	for i, name := range builtinOrder {
		builtin[name] = i
	}
	for _, d := range dirs {
		if _, ok := builtin[d.Name]; !ok && d.Name != "defer" && d.Name != "stream" {
			out = append(out, d)
		}
	}
	for _, name := range builtinOrder {
		for _, d := range dirs {
			if d.Name == name {
				out = append(out, d)
			}
		}
	}
	return out
}
