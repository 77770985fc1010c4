package oracle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// StartGraphs serves every subgraph of the graphs in one Node process
// (graphs.mjs serve) and returns, by graph name, its subgraphs in name
// order. The graphs must share a parent folder. The process is stopped when
// the test ends.
func StartGraphs(t testing.TB, graphs []*Graph) map[string][]Subgraph {
	t.Helper()
	args := append([]string{"graphs.mjs", "--dir", graphsParent(t, graphs), "serve"}, graphNames(graphs)...)
	p := start(t, args, func(line string) bool { return line == "READY" })
	out := map[string][]Subgraph{}
	for _, line := range p.lines {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "SUBGRAPH" {
			out[f[1]] = append(out[f[1]], Subgraph{Name: f[2], URL: f[3]})
		}
	}
	for _, g := range graphs {
		if len(out[g.Name]) != len(g.Subgraphs) {
			t.Fatalf("oracle: graphs.mjs serves %d subgraphs of %s, want %d", len(out[g.Name]), g.Name, len(g.Subgraphs))
		}
	}
	return out
}

// Composition is the outcome of composing one graph with Apollo's
// composition: a supergraph SDL, or the errors ("CODE: message").
type Composition struct {
	Supergraph string   `json:"supergraph"`
	Errors     []string `json:"errors"`
}

// ComposeGraphs composes each graph's subgraph SDL files with
// @apollo/composition in one Node process (graphs.mjs compose), with the
// routing URLs http://SUBGRAPH.invalid/graphql, and returns the outcome by
// graph name. A graph that fails to compose is an outcome, not a test
// failure.
func ComposeGraphs(t testing.TB, graphs []*Graph) map[string]Composition {
	t.Helper()
	args := append([]string{"graphs.mjs", "--dir", graphsParent(t, graphs), "compose"}, graphNames(graphs)...)
	stdout, stderr, err := runNode(t, nil, args...)
	if err != nil {
		t.Fatalf("oracle: node graphs.mjs compose: %v\n%s", err, stderr)
	}
	var out map[string]Composition
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("oracle: graphs.mjs compose printed no JSON object: %v\n%s", err, stdout)
	}
	return out
}

// StartGateways starts one Apollo Gateway per supergraph SDL (by name), all
// in one Node process (gateways.mjs), and returns each gateway's GraphQL
// URL by name. Each forwards the Authorization header to its subgraphs.
// The process is stopped when the test ends.
func StartGateways(t testing.TB, supergraphs map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	for name, sdl := range supergraphs {
		if err := os.WriteFile(filepath.Join(dir, name+".graphql"), []byte(sdl), 0o644); err != nil {
			t.Fatalf("oracle: %v", err)
		}
	}
	p := start(t, []string{"gateways.mjs", "--supergraphs", dir}, func(line string) bool { return line == "READY" })
	out := map[string]string{}
	for _, line := range p.lines {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "LISTENING" {
			out[f[1]] = f[2]
		}
	}
	if len(out) != len(supergraphs) {
		t.Fatalf("oracle: gateways.mjs started %d gateways, want %d", len(out), len(supergraphs))
	}
	return out
}

var joinGraph = regexp.MustCompile(`@join__graph\(name: "([^"]+)", url: "([^"]*)"\)`)

// PointSupergraph rewrites the routing URL of every subgraph of a
// supergraph SDL (its @join__graph directives) to urls[name]. Every
// subgraph must have a URL, and every URL given must be used.
func PointSupergraph(sdl string, urls map[string]string) (string, error) {
	used := map[string]bool{}
	var missing []string
	out := joinGraph.ReplaceAllStringFunc(sdl, func(m string) string {
		name := joinGraph.FindStringSubmatch(m)[1]
		u, ok := urls[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		used[name] = true
		return fmt.Sprintf(`@join__graph(name: %q, url: %q)`, name, u)
	})
	var unused []string
	for name := range urls {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	if len(missing) > 0 || len(unused) > 0 {
		return "", fmt.Errorf("point the supergraph at its subgraphs: no URL for %v; no subgraph for the URLs of %v", missing, unused)
	}
	return out, nil
}

// SubgraphURLs maps each subgraph's name to its URL.
func SubgraphURLs(subgraphs []Subgraph) map[string]string {
	urls := make(map[string]string, len(subgraphs))
	for _, s := range subgraphs {
		urls[s.Name] = s.URL
	}
	return urls
}

func graphNames(graphs []*Graph) []string {
	names := make([]string, len(graphs))
	for i, g := range graphs {
		names[i] = g.Name
	}
	return names
}

// graphsParent returns the folder the graphs share.
func graphsParent(t testing.TB, graphs []*Graph) string {
	t.Helper()
	if len(graphs) == 0 {
		t.Fatal("oracle: no graphs given")
	}
	parent := filepath.Dir(graphs[0].Dir)
	for _, g := range graphs[1:] {
		if filepath.Dir(g.Dir) != parent {
			t.Fatalf("oracle: graphs %s and %s are in different folders", graphs[0].Name, g.Name)
		}
	}
	return parent
}
