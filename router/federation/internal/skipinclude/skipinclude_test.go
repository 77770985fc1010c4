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
	for _, c := range []struct {
		dirs      string
		vars      map[string]any
		want      bool
		wantErr   bool
		missingIf string
	}{
		{dirs: "", want: true},
		{dirs: "@deprecated", want: true},
		{dirs: "@skip(if: true)", want: false},
		{dirs: "@skip(if: false)", want: true},
		{dirs: "@include(if: true)", want: true},
		{dirs: "@include(if: false)", want: false},
		{dirs: "@skip(if: $s)", vars: map[string]any{"s": true}, want: false},
		{dirs: "@skip(if: $s)", want: true},          // unset: not a Boolean
		{dirs: "@include(if: $s)", want: false},      // likewise
		{dirs: "@include(if: \"yes\")", want: false}, // not a Boolean
		{dirs: "@skip(if: false) @include(if: false)", want: false},
		{dirs: "@skip", want: true, missingIf: "@skip without if"},
		{dirs: "@skip(if: true) @include", want: false, missingIf: "@include without if"},
		{dirs: "@include(if: 99999999999999999999)", wantErr: true},
	} {
		dirs := directives(t, c.dirs)
		got, err := skipinclude.Included(dirs, c.vars)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("Included(%s) = %v, %v; want %v, error %v", c.dirs, got, err, c.want, c.wantErr)
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
