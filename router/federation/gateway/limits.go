package gateway

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
)

// complexity is what the limits measure of a selection set, with fragments
// expanded where they are spread.
type complexity struct {
	depth, aliases, fields int
}

// saturate keeps counts of fragment bombs from overflowing.
const saturate = 1 << 40

func add(a, b int) int {
	if a+b > saturate {
		return saturate
	}
	return a + b
}

// checkLimits measures the operation before validation (a fragment bomb
// must not reach the validator) and returns a message when it is over a
// limit.
func (g *Gateway) checkLimits(doc *ast.QueryDocument, op *ast.OperationDefinition) string {
	m := measurer{doc: doc, memo: map[string]complexity{}, visiting: map[string]bool{}}
	c := m.set(op.SelectionSet)
	l := g.opts.Limits
	switch {
	case c.depth > l.MaxDepth:
		return fmt.Sprintf("the operation is %d levels deep; the limit is %d", c.depth, l.MaxDepth)
	case c.aliases > l.MaxAliases:
		return fmt.Sprintf("the operation has %d aliases; the limit is %d", c.aliases, l.MaxAliases)
	case c.fields > l.MaxFields:
		return fmt.Sprintf("the operation selects %d fields once fragments are expanded; the limit is %d", c.fields, l.MaxFields)
	}
	return ""
}

type measurer struct {
	doc      *ast.QueryDocument
	memo     map[string]complexity
	visiting map[string]bool
}

func (m *measurer) set(set ast.SelectionSet) complexity {
	var c complexity
	for _, s := range set {
		var sub complexity
		switch s := s.(type) {
		case *ast.Field:
			sub = m.set(s.SelectionSet)
			sub.depth++
			sub.fields = add(sub.fields, 1)
			if s.Alias != "" && s.Alias != s.Name {
				sub.aliases = add(sub.aliases, 1)
			}
		case *ast.InlineFragment:
			sub = m.set(s.SelectionSet)
		case *ast.FragmentSpread:
			sub = m.fragment(s.Name)
		}
		c.depth = max(c.depth, sub.depth)
		c.aliases = add(c.aliases, sub.aliases)
		c.fields = add(c.fields, sub.fields)
	}
	return c
}

func (m *measurer) fragment(name string) complexity {
	if c, ok := m.memo[name]; ok {
		return c
	}
	f := m.doc.Fragments.ForName(name)
	if f == nil || m.visiting[name] {
		// Unknown fragments and cycles are the validator's to report.
		return complexity{}
	}
	m.visiting[name] = true
	c := m.set(f.SelectionSet)
	delete(m.visiting, name)
	m.memo[name] = c
	return c
}
