package plan_test

import (
	"os"
	"testing"

	"bookstore/router/federation/compose"
)

func TestScratch(t *testing.T) {
	dir := os.Getenv("SCRATCH")
	if dir == "" {
		t.Skip()
	}
	var subs []compose.Subgraph
	for _, n := range []string{"a", "b", "c"} {
		raw, _ := os.ReadFile(dir + "/" + n + ".graphql")
		subs = append(subs, compose.Subgraph{Name: n, SDL: string(raw)})
	}
	sg, err := compose.Compose(subs)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(dir + "/supergraph.graphql")
	sg2, err := compose.ParseSupergraph(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := compose.Canonical(sg.Schema), compose.Canonical(sg2.Schema); a != b {
		t.Errorf("schemas differ:\n%s\n---\n%s", a, b)
	}
	q, _ := os.ReadFile(dir + "/q.graphql")
	t.Logf("composed:\n%s", build(t, sg, string(q), nil))
	t.Logf("supergraph:\n%s", build(t, sg2, string(q), nil))
}
