package gateway

import (
	"fmt"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// gqlparser checks Int literals and variables against 64 bits, and coerces
// a JSON string to an Int or a Float; GraphQL's Int is 32 bits and takes no
// strings (spec §3.5.1, §3.5.2). The router checks both itself, so that an
// operation a subgraph would refuse, or worse silently clamp, is refused
// before execution as every GraphQL server refuses it.

// validationRules are gqlparser's rules and one of the router's own: an
// Int literal, wherever it stands, fits 32 bits.
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.AddRule("Int32Literals", func(observers *core.Events, addError core.AddErrFunc) {
		// The walker visits a fragment's values once per spread too.
		seen := map[*ast.Value]bool{}
		observers.OnValue(func(_ *core.Walker, v *ast.Value) {
			if v.Kind != ast.IntValue || v.Definition == nil || v.Definition.Name != "Int" || seen[v] {
				return
			}
			seen[v] = true
			if _, err := strconv.ParseInt(v.Raw, 10, 32); err != nil {
				addError(core.Message("Int cannot represent non 32-bit signed integer value: %s", v.Raw), core.At(v.Position))
			}
		})
	})
	return r
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
