package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/plan"
)

// overlapping builds a supergraph of n subgraphs over a chain of entity
// types L0 → L1 → … → L(depth-1). Every type is an entity with key id in
// every subgraph; each of its fields is @shareable and resolved by three of
// the subgraphs, and its link to the next level by two, so that a query can
// be served by many different combinations of subgraphs and a greedy
// planner can easily make too many fetches.
func overlapping(tb testing.TB, n, depth, fields int) *compose.Supergraph {
	tb.Helper()
	var subs []compose.Subgraph
	for s := 0; s < n; s++ {
		var b strings.Builder
		b.WriteString(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])` + "\n")
		if s < 2 {
			b.WriteString("type Query { root: L0 @shareable }\n")
		}
		for l := 0; l < depth; l++ {
			fmt.Fprintf(&b, "type L%d @key(fields: \"id\") {\n  id: ID!\n", l)
			for f := 0; f < fields; f++ {
				if owners := []int{(f + l) % n, (f + l + 1) % n, (f + l + 3) % n}; contains(owners, s) {
					fmt.Fprintf(&b, "  f%d: String @shareable\n", f)
				}
			}
			if l+1 < depth && contains([]int{l % n, (l + 2) % n}, s) {
				fmt.Fprintf(&b, "  next: L%d @shareable\n", l+1)
			}
			b.WriteString("}\n")
		}
		subs = append(subs, compose.Subgraph{Name: fmt.Sprintf("s%d", s), SDL: b.String()})
	}
	sg, err := compose.Compose(subs)
	if err != nil {
		tb.Fatal(err)
	}
	return sg
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// deepQuery selects every field of every level down the chain.
func deepQuery(depth, fields int) string {
	var b strings.Builder
	b.WriteString("{ root ")
	for l := 0; l < depth; l++ {
		b.WriteString("{ id")
		for f := 0; f < fields; f++ {
			fmt.Fprintf(&b, " f%d", f)
		}
		if l+1 < depth {
			b.WriteString(" next ")
		}
	}
	b.WriteString(strings.Repeat(" }", depth))
	b.WriteString(" }")
	return b.String()
}

// BenchmarkPlanDeepOverlapping plans a deep query over many subgraphs that
// share most fields, and reports the subgraph requests the plan makes
// (fetches/op) beside the time to plan it.
func BenchmarkPlanDeepOverlapping(b *testing.B) {
	for _, tc := range []struct{ subgraphs, depth, fields int }{
		{4, 6, 8},
		{8, 10, 12},
		{12, 16, 16},
	} {
		b.Run(fmt.Sprintf("subgraphs=%d/depth=%d/fields=%d", tc.subgraphs, tc.depth, tc.fields), func(b *testing.B) {
			sg := overlapping(b, tc.subgraphs, tc.depth, tc.fields)
			doc, errs := gqlparser.LoadQuery(sg.Schema, deepQuery(tc.depth, tc.fields))
			if errs != nil {
				b.Fatal(errs)
			}
			// One planner for the supergraph, as the gateway keeps: what it
			// learns of the supergraph serves every plan after the first.
			planner := plan.New(sg)
			var fetches int
			b.ReportAllocs()
			for b.Loop() {
				p, err := planner.Build(doc, doc.Operations[0], nil, plan.Options{})
				if err != nil {
					b.Fatal(err)
				}
				fetches = len(p.Fetches)
			}
			b.ReportMetric(float64(fetches), "fetches/op")
		})
	}
}
