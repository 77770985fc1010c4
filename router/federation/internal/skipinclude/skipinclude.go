// Package skipinclude evaluates the @skip and @include directives of a
// selection: the planner (package plan), the executor's fake subgraphs
// (package executetest) and the benchmark's subgraphs (package benchgraph)
// decide with it which selections a request leaves out.
package skipinclude

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
)

// Included reports whether a selection with the directives dirs is
// included under vars: it is not when a @skip's if is true or an
// @include's if is false (a value that is not a Boolean counts as false).
// Other directives are passed over, and so is a @skip or an @include
// without an if, which validation rejects; an error is the if's value's.
func Included(dirs ast.DirectiveList, vars map[string]any) (bool, error) {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		arg := d.Arguments.ForName("if")
		if arg == nil {
			continue
		}
		v, err := arg.Value.Value(vars)
		if err != nil {
			return false, err
		}
		b, _ := v.(bool)
		if (d.Name == "skip") == b {
			return false, nil
		}
	}
	return true, nil
}

// MissingIf returns an error for the first @skip or @include in dirs
// without an if argument, nil when there is none: for a caller that does
// not validate its documents.
func MissingIf(dirs ast.DirectiveList) error {
	for _, d := range dirs {
		if (d.Name == "skip" || d.Name == "include") && d.Arguments.ForName("if") == nil {
			return fmt.Errorf("@%s without if", d.Name)
		}
	}
	return nil
}
