package gateway

import (
	"fmt"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
)

// gqlparser checks Int literals and variables against 64 bits, and coerces
// a JSON string to an Int or a Float; GraphQL's Int is 32 bits and takes no
// strings (spec §3.5.1, §3.5.2). The router checks both itself, so that an
// operation a subgraph would refuse, or worse silently clamp, is refused
// before execution as every GraphQL server refuses it.

// intLiteralError returns the first Int literal of doc outside 32 bits,
// with its location. doc must be validated: validation sets each value's
// expected type.
func intLiteralError(doc *ast.QueryDocument) *Error {
	var found *Error
	var value func(v *ast.Value)
	value = func(v *ast.Value) {
		if v == nil || found != nil {
			return
		}
		if v.Kind == ast.IntValue && v.ExpectedType != nil && v.ExpectedType.NamedType == "Int" {
			if _, err := strconv.ParseInt(v.Raw, 10, 32); err != nil {
				found = &Error{
					Message:    "Int cannot represent non 32-bit signed integer value: " + v.Raw,
					Extensions: map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"},
				}
				if v.Position != nil {
					found.Locations = []Location{{Line: v.Position.Line, Column: v.Position.Column}}
				}
				return
			}
		}
		for _, c := range v.Children {
			value(c.Value)
		}
	}
	arguments := func(args ast.ArgumentList, dirs ast.DirectiveList) {
		for _, a := range args {
			value(a.Value)
		}
		for _, d := range dirs {
			for _, a := range d.Arguments {
				value(a.Value)
			}
		}
	}
	var selections func(set ast.SelectionSet)
	selections = func(set ast.SelectionSet) {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				arguments(s.Arguments, s.Directives)
				selections(s.SelectionSet)
			case *ast.InlineFragment:
				arguments(nil, s.Directives)
				selections(s.SelectionSet)
			case *ast.FragmentSpread:
				arguments(nil, s.Directives)
			}
		}
	}
	for _, op := range doc.Operations {
		for _, v := range op.VariableDefinitions {
			value(v.DefaultValue)
		}
		arguments(nil, op.Directives)
		selections(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		arguments(nil, f.Directives)
		selections(f.SelectionSet)
	}
	return found
}

// variableError checks the coerced variables of op against GraphQL's Int
// and Float: an Int is a whole number within 32 bits, and neither is a
// string. It returns a message naming the variable and the path in it.
func variableError(schema *ast.Schema, op *ast.OperationDefinition, vars map[string]any) string {
	for _, def := range op.VariableDefinitions {
		v, ok := vars[def.Variable]
		if !ok {
			continue
		}
		if msg := checkValue(schema, def.Type, v, "$"+def.Variable); msg != "" {
			return msg
		}
	}
	return ""
}

func checkValue(schema *ast.Schema, typ *ast.Type, v any, path string) string {
	if v == nil {
		return ""
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok { // a single value coerced to a list of one
			return checkValue(schema, typ.Elem, v, path)
		}
		for i, item := range list {
			if msg := checkValue(schema, typ.Elem, item, fmt.Sprintf("%s[%d]", path, i)); msg != "" {
				return msg
			}
		}
		return ""
	}
	bad := func(why string) string {
		return fmt.Sprintf("Variable %q got invalid value %s; %s", path, show(v), why)
	}
	switch typ.NamedType {
	case "Int":
		switch n := v.(type) {
		case int64:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return bad("Int cannot represent non 32-bit signed integer value")
			}
		case int:
			if n < math.MinInt32 || n > math.MaxInt32 {
				return bad("Int cannot represent non 32-bit signed integer value")
			}
		case float64:
			if n != math.Trunc(n) || n < math.MinInt32 || n > math.MaxInt32 {
				return bad("Int cannot represent non 32-bit signed integer value")
			}
		case string:
			return bad("Int cannot represent a string")
		}
		return ""
	case "Float":
		if _, ok := v.(string); ok {
			return bad("Float cannot represent a string")
		}
		return ""
	}
	def := schema.Types[typ.NamedType]
	obj, ok := v.(map[string]any)
	if def == nil || def.Kind != ast.InputObject || !ok {
		return ""
	}
	for _, f := range def.Fields {
		if fv, ok := obj[f.Name]; ok {
			if msg := checkValue(schema, f.Type, fv, path+"."+f.Name); msg != "" {
				return msg
			}
		}
	}
	return ""
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}
