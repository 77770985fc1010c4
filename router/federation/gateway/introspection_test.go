package gateway

import (
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// usesIntrospection finds __schema and __type at any depth, in inline
// fragments and in fragments spread (once each, however often spread, and
// with cycles), and nothing else.
func TestUsesIntrospection(t *testing.T) {
	for query, want := range map[string]bool{
		`{ books { title } }`:                 false,
		`{ __typename books { __typename } }`: false,
		`{ __schema { types { name } } }`:     true,
		`{ books { edges { node { ... on Book { __type(name: "Book") { name } } } } } }`:                                   true,
		`{ ...F } fragment F on Query { books { ...G } } fragment G on BookConnection { __schema { queryType { name } } }`: true,
		`{ ...F ...F } fragment F on Query { books { totalCount } }`:                                                       false,
		`{ ...F } fragment F on Query { ...G } fragment G on Query { ...F }`:                                               false,
		`{ ...Missing }`: false,
	} {
		doc, err := parser.ParseQuery(&ast.Source{Input: query})
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if got := usesIntrospection(doc, doc.Operations[0]); got != want {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
}
