package gateway

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// measure parses query and measures its operation.
func measure(t *testing.T, query string) (*ast.QueryDocument, complexity) {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatal(err)
	}
	m := measurer{doc: doc, memo: map[string]complexity{}, visiting: map[string]bool{}}
	return doc, m.set(doc.Operations[0].SelectionSet)
}

func TestComplexity(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		want        complexity
	}{
		{"flat", `{ a b c }`, complexity{depth: 1, fields: 3}},
		{"nested", `{ a { b { c } } d }`, complexity{depth: 3, fields: 4}},
		{"aliases", `{ x: a y: a { z: b } a }`, complexity{depth: 2, aliases: 3, fields: 4}},
		{"an alias equal to the name is no alias", `{ a: a }`, complexity{depth: 1, fields: 1}},
		{"inline fragments add no depth", `{ a { ... on T { b { c } } } }`, complexity{depth: 3, fields: 3}},
		{"a fragment counts where it is spread", `{ a { ...F } b { ...F } } fragment F on T { x: c d { e } }`, complexity{depth: 3, aliases: 2, fields: 8}},
		{"nested spreads multiply", `{ ...A } fragment A on Q { ...B ...B } fragment B on Q { ...C ...C } fragment C on Q { f }`, complexity{depth: 1, fields: 4}},
		{"a cycle ends (the validator reports it)", `{ a { ...F } } fragment F on T { b { ...F } }`, complexity{depth: 2, fields: 2}},
		{"an unknown fragment counts nothing", `{ a { ...Nope } }`, complexity{depth: 1, fields: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := measure(t, tc.query); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A fragment bomb's counts saturate instead of overflowing, and measuring
// it takes one pass per fragment.
func TestComplexitySaturates(t *testing.T) {
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	const levels = 80 // 2^80 fields
	for i := range levels {
		b.WriteString("fragment F" + strconv.Itoa(i) + " on Q { a ...F" + strconv.Itoa(i+1) + " ...F" + strconv.Itoa(i+1) + " }\n")
	}
	b.WriteString("fragment F" + strconv.Itoa(levels) + " on Q { a }\n")
	doc, c := measure(t, b.String())
	if c.fields != saturate {
		t.Errorf("fields = %d, want the saturation value", c.fields)
	}
	if msg := New(Options{}).checkLimits(doc, doc.Operations[0]); !strings.Contains(msg, "fields") {
		t.Errorf("checkLimits = %q", msg)
	}
}
