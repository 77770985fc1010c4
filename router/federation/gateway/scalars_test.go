package gateway

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

const scalarsSchema = `
type Query { f(n: Int, ns: [Int!], x: Float, in: In, m: [[Int]]): Int }
input In { n: Int, deep: [In!], x: Float, s: String }
`

func TestVariableError(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: scalarsSchema})
	op := `query($n: Int, $ns: [Int!], $x: Float, $in: In, $m: [[Int]]) { f(n: $n, ns: $ns, x: $x, in: $in, m: $m) }`
	doc, err := parser.ParseQuery(&ast.Source{Input: op})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		vars map[string]any
		want string // a part of the message; "" for none
	}{
		{"in range", map[string]any{"n": int64(2147483647), "ns": []any{int64(-2147483648)}, "x": 1.5}, ""},
		{"null", map[string]any{"n": nil, "in": nil}, ""},
		{"whole float", map[string]any{"n": 3.0}, ""},
		{"past 32 bits", map[string]any{"n": int64(2147483648)}, `"$n" got invalid value 2147483648`},
		{"below 32 bits", map[string]any{"n": int64(-2147483649)}, "non 32-bit"},
		{"huge float", map[string]any{"n": 1e20}, "non 32-bit"},
		{"fractional", map[string]any{"n": 1.5}, "non 32-bit"},
		{"string Int", map[string]any{"n": "5"}, `"5"; Int cannot represent a string`},
		{"string Float", map[string]any{"x": "1.5"}, "Float cannot represent a string"},
		{"in a list", map[string]any{"ns": []any{int64(1), int64(1) << 40}}, `"$ns[1]"`},
		{"a single value for a list", map[string]any{"ns": int64(1) << 40}, `"$ns"`},
		{"nested lists", map[string]any{"m": []any{[]any{int64(1)}, []any{nil, int64(1) << 33}}}, `"$m[1][1]"`},
		{"in an input", map[string]any{"in": map[string]any{"s": "x", "deep": []any{map[string]any{"n": int64(1) << 31}}}}, `"$in.deep[0].n"`},
		{"a float in an input", map[string]any{"in": map[string]any{"x": "2"}}, `"$in.x"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := variableError(schema, doc.Operations[0], c.vars)
			if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
				t.Errorf("variableError = %q, want %q", got, c.want)
			}
		})
	}
}

func TestInt32Literals(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: scalarsSchema})
	for _, c := range []struct{ query, want string }{
		{`{ f(n: 2147483647) }`, ""},
		{`{ f(n: -2147483648, x: 99999999999) }`, ""}, // a Float may be any size
		{`{ f(n: 2147483648) }`, "2147483648"},
		{`{ f(ns: [1, -2147483649]) }`, "-2147483649"},
		{`{ f(in: {deep: [{n: 4294967296}]}) }`, "4294967296"},
		{`query($n: Int = 2147483648) { f(n: $n) }`, "2147483648"},
		{`{ ...F } fragment F on Query { f(m: [[1], [3000000000]]) }`, "3000000000"},
		{`{ f @include(if: true) }`, ""},
	} {
		doc, err := parser.ParseQuery(&ast.Source{Input: c.query})
		if err != nil {
			t.Fatal(err)
		}
		errs := validator.ValidateWithRules(schema, doc, validationRules())
		switch {
		case c.want == "" && len(errs) > 0:
			t.Errorf("%s: %v", c.query, errs)
		case c.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Message, c.want) || len(errs[0].Locations) != 1):
			t.Errorf("%s: got %v, want one error naming %s at its location", c.query, errs, c.want)
		}
	}
}
