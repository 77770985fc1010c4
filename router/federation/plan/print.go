package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// finish prints each fetch's query and freezes its representations.
func (p *planner) finish() {
	for i, f := range p.fetches {
		used := map[string]bool{}
		var body strings.Builder
		// sels holds where each _entities field's selection is in body.
		var selBuf [8][2]int
		sels := selBuf[:0]
		if f.Entities == nil {
			f.root.write(&body, used)
		} else {
			body.WriteByte('{')
			for i, e := range f.Entities {
				e.Alias = "_" + itoa(i)
				e.Variable = p.freeVariable("representations" + itoa(i))
				if i > 0 {
					body.WriteByte(' ')
				}
				fmt.Fprintf(&body, "%s: _entities(representations: $%s) ", e.Alias, e.Variable)
				start := body.Len()
				e.fragments.write(&body, used)
				sels = append(sels, [2]int{start, body.Len()})
				e.Types = make(map[string]*Representation, len(e.reps))
				for t, r := range e.reps {
					e.Types[t] = &Representation{Typename: r.typename, Fields: r.fields}
				}
			}
			body.WriteByte('}')
		}
		var q strings.Builder
		if f.Mutation {
			q.WriteString("mutation")
		} else {
			q.WriteString("query")
		}
		var name [2]int
		if p.opName != "" {
			q.WriteByte(' ')
			name[0] = q.Len()
			fmt.Fprintf(&q, "%s__%s__%d", p.opName, nameSafe(f.Graph), i)
			name[1] = q.Len()
		}
		var decls []string
		for name := range used {
			if _, mine := p.extraVars[name]; !mine {
				f.Variables = append(f.Variables, name)
			}
		}
		slices.Sort(f.Variables)
		for _, name := range f.Variables {
			decls = append(decls, "$"+name+": "+p.vars[name].String())
		}
		for _, c := range f.Context {
			decls = append(decls, "$"+c.Variable+": "+c.Type.String())
		}
		for _, e := range f.Entities {
			decls = append(decls, "$"+e.Variable+": [_Any!]!")
		}
		if len(decls) > 0 {
			q.WriteString("(" + strings.Join(decls, ", ") + ")")
		}
		q.WriteByte(' ')
		bodyAt := q.Len()
		q.WriteString(body.String())
		f.Query = q.String()
		f.QueryJSON, _ = json.Marshal(f.Query)
		f.Name = f.Query[name[0]:name[1]]
		for i, e := range f.Entities {
			e.Selection = f.Query[bodyAt+sels[i][0] : bodyAt+sels[i][1]]
		}
	}
}

// nameSafe maps a subgraph's name onto GraphQL's name characters.
func nameSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// freeVariable returns name, or a variant of it that no client variable
// or planner variable uses.
func (p *planner) freeVariable(name string) string {
	for n := name; ; n = "_" + n {
		_, client := p.vars[n]
		_, mine := p.extraVars[n]
		if !client && !mine {
			return n
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
