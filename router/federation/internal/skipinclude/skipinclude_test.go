package skipinclude_test

import (
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"bookstore/router/federation/internal/skipinclude"
)

// directives parses a query of one field with the directives dirs and
// returns them.
func directives(t *testing.T, dirs string) ast.DirectiveList {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: "{ f " + dirs + " }"})
	if err != nil {
		t.Fatal(err)
	}
	return doc.Operations[0].SelectionSet[0].(*ast.Field).Directives
}

func TestIncluded(t *testing.T) {
	vars := map[string]any{"yes": true, "no": false}
	// want is "in", "out" or "error" (Included's); missingIf is
	// MissingIf's error.
	for _, c := range []struct{ dirs, want, missingIf string }{
		{dirs: "", want: "in"},
		{dirs: "@deprecated", want: "in"},
		{dirs: "@skip(if: true)", want: "out"},
		{dirs: "@skip(if: false)", want: "in"},
		{dirs: "@include(if: true)", want: "in"},
		{dirs: "@include(if: false)", want: "out"},
		{dirs: "@skip(if: $yes)", want: "out"},
		{dirs: "@include(if: $no)", want: "out"},
		{dirs: "@skip(if: $unset)", want: "in"},     // not a Boolean
		{dirs: "@include(if: $unset)", want: "out"}, // likewise
		{dirs: `@include(if: "yes")`, want: "out"},  // likewise
		{dirs: "@skip(if: false) @include(if: false)", want: "out"},
		{dirs: "@skip", want: "in", missingIf: "@skip without if"},
		{dirs: "@skip(if: true) @include", want: "out", missingIf: "@include without if"},
		{dirs: "@include(if: 99999999999999999999)", want: "error"},
	} {
		dirs := directives(t, c.dirs)
		got := "out"
		if ok, err := skipinclude.Included(dirs, vars); err != nil {
			got = "error"
		} else if ok {
			got = "in"
		}
		if got != c.want {
			t.Errorf("Included(%s): %s, want %s", c.dirs, got, c.want)
		}
		var missing string
		if err := skipinclude.MissingIf(dirs); err != nil {
			missing = err.Error()
		}
		if missing != c.missingIf {
			t.Errorf("MissingIf(%s) = %q, want %q", c.dirs, missing, c.missingIf)
		}
	}
}
