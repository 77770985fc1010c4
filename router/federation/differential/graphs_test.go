package differential

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/oracle"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

// TestGraphs runs the graphs of router/federation/oracle's testdata/graphs through the
// Go router, twice per graph: composing the running subgraphs itself, and
// serving the graph's supergraph.graphql (Apollo's composition) pointed at
// them. Each case's answer must be the expected one, which the oracle's
// TestGraphs keeps equal to Apollo Gateway's: the same data, object key
// order included, and errors at the same paths. The router's own
// composition must also give the client schema and federation metadata of
// Apollo's. A graph with router-refuses.txt must instead be refused by both
// router modes, with that text in the error.
//
// router-pending.txt lists what the router is known to get wrong; there
// the test asserts that it still does, and logs it. All subgraphs of all
// graphs run in one Node process. GRAPHS=a,b limits the run to some graphs.
func TestGraphs(t *testing.T) {
	graphs := oracle.Graphs(t)
	if len(graphs) == 0 {
		t.Skip("no graphs")
	}
	running := oracle.StartGraphs(t, graphs)
	var total graphTally
	t.Run("graph", func(t *testing.T) {
		for _, g := range graphs {
			t.Run(g.Name, func(t *testing.T) {
				t.Parallel()
				counts := runGraph(t, g, running[g.Name])
				t.Logf("graph %s: %s", g.Name, counts)
				total.add(counts)
			})
		}
	})
	t.Logf("%d graphs: %s", len(graphs), &total)
}

// graphCounts tallies one graph's cases.
type graphCounts struct {
	cases, pass, pending, fail int
	// refused is set for a graph the router must refuse: its cases are
	// not run.
	refused bool
}

func (c graphCounts) String() string {
	if c.refused {
		return fmt.Sprintf("refused by the router, as router-refuses.txt says (%d cases not run)", c.cases)
	}
	return fmt.Sprintf("%d cases, %d pass, %d pending, %d fail", c.cases, c.pass, c.pending, c.fail)
}

// graphTally sums graphCounts from parallel subtests.
type graphTally struct {
	mu      sync.Mutex
	sum     graphCounts
	refused int
}

func (t *graphTally) add(c graphCounts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c.refused {
		t.refused++
		return
	}
	t.sum.cases += c.cases
	t.sum.pass += c.pass
	t.sum.pending += c.pending
	t.sum.fail += c.fail
}

func (t *graphTally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%s; %d graphs refused", t.sum, t.refused)
}

// runGraph checks one graph and counts its cases.
func runGraph(t *testing.T, g *oracle.Graph, subgraphs []oracle.Subgraph) graphCounts {
	t.Helper()
	if g.Refuses != "" {
		settle(t, g.Pending.All, "the graph", refusalProblems(t, g, subgraphs))
		return graphCounts{refused: true, cases: len(g.Cases)}
	}
	whole := compositionProblems(t, g, subgraphs)
	routers, problems := startRouters(t, g, subgraphs)
	whole = append(whole, problems...)
	if len(whole) > 0 && !g.Pending.All {
		for _, p := range whole {
			t.Error(p)
		}
		if len(routers) < 2 {
			return graphCounts{cases: len(g.Cases), fail: len(g.Cases)}
		}
	}
	wrong := len(whole) > 0
	for _, p := range whole {
		if g.Pending.All {
			t.Logf("pending (router-pending.txt: *): %s", p)
		}
	}
	counts := graphCounts{cases: len(g.Cases)}
	for _, c := range g.Cases {
		t.Run(c.Name, func(t *testing.T) {
			want, err := g.Expected(c.Name)
			if err != nil {
				t.Fatal(err)
			}
			var problems []string
			for _, r := range routers {
				problems = append(problems, caseProblems(t, r, c, want)...)
			}
			if len(routers) < 2 {
				problems = append(problems, "a router mode did not start")
			}
			switch {
			case len(problems) > 0 && g.Pending.Has(c.Name):
				wrong = true
				counts.pending++
				t.Logf("pending (router-pending.txt): the router still gets it wrong:\n%s", strings.Join(problems, "\n"))
			case len(problems) > 0:
				counts.fail++
				t.Errorf("%s\nquery:\n%s\nvariables: %v", strings.Join(problems, "\n"), c.Query, c.Variables)
			case g.Pending.Lists(c.Name):
				counts.fail++
				t.Errorf("router-pending.txt lists %s, but both router modes now answer it correctly: remove it", c.Name)
			default:
				counts.pass++
			}
		})
	}
	if g.Pending.All && !wrong {
		t.Errorf("router-pending.txt has \"*\", but the router now composes the graph and answers every case correctly: remove it")
	}
	return counts
}

// settle reports problems found on something router-pending.txt may list:
// errors when it does not, and when it does, a log line, or an error if
// there are none left.
func settle(t *testing.T, pending bool, what string, problems []string) {
	t.Helper()
	switch {
	case pending && len(problems) > 0:
		t.Logf("pending (router-pending.txt): the router still gets %s wrong:\n%s", what, strings.Join(problems, "\n"))
	case pending:
		t.Errorf("router-pending.txt lists %s, but the router now gets it right: remove the entry", what)
	default:
		for _, p := range problems {
			t.Error(p)
		}
	}
}

// graphRouter is one router mode serving a graph.
type graphRouter struct {
	name, url string
}

// startRouters starts the router composing the running subgraphs and the
// router serving the graph's supergraph pointed at them, and returns those
// that started, with a problem for each that did not.
func startRouters(t *testing.T, g *oracle.Graph, subgraphs []oracle.Subgraph) ([]graphRouter, []string) {
	t.Helper()
	var routers []graphRouter
	var problems []string
	for _, mode := range routerModes(t, g, subgraphs) {
		r, err := routertest.TryStartRouter(t, mode.cfg)
		if err != nil {
			problems = append(problems, fmt.Sprintf("router (%s) did not start: %v", mode.name, err))
			continue
		}
		routers = append(routers, graphRouter{"router (" + mode.name + ")", r.URL + "/graphql"})
	}
	return routers, problems
}

type routerMode struct {
	name string
	cfg  server.Config
}

func routerModes(t *testing.T, g *oracle.Graph, subgraphs []oracle.Subgraph) []routerMode {
	t.Helper()
	urls := oracle.SubgraphURLs(subgraphs)
	replicas := map[string][]string{}
	for name, u := range urls {
		replicas[name] = []string{u}
	}
	return []routerMode{
		{"composing", server.Config{Subgraphs: replicas, Introspection: true, PollInterval: time.Hour, OverrideLabels: g.Router.OverrideLabels}},
		{"supergraph file", server.Config{
			SupergraphFile: pointedSupergraph(t, g.Name+".graphql", g.Supergraph, urls),
			Introspection:  true,
			OverrideLabels: g.Router.OverrideLabels,
		}},
	}
}

// refusalProblems checks that both router modes refuse the graph with its
// router-refuses.txt text in the error.
func refusalProblems(t *testing.T, g *oracle.Graph, subgraphs []oracle.Subgraph) []string {
	t.Helper()
	var problems []string
	for _, mode := range routerModes(t, g, subgraphs) {
		_, err := routertest.TryStartRouter(t, mode.cfg)
		switch {
		case err == nil:
			problems = append(problems, fmt.Sprintf("router (%s) serves the graph; router-refuses.txt says it must refuse it with %q", mode.name, g.Refuses))
		case !strings.Contains(err.Error(), g.Refuses):
			problems = append(problems, fmt.Sprintf("router (%s) refuses the graph, but its error does not contain %q: %v", mode.name, g.Refuses, err))
		default:
			t.Logf("router (%s) refuses the graph: %v", mode.name, err)
		}
	}
	return problems
}

// compositionProblems composes the SDLs the running subgraphs serve with
// the router's composition and compares the client schema and federation
// metadata with those of Apollo's supergraph.
func compositionProblems(t *testing.T, g *oracle.Graph, subgraphs []oracle.Subgraph) []string {
	t.Helper()
	apollo, err := compose.ParseSupergraph(g.Supergraph)
	if err != nil {
		return []string{fmt.Sprintf("the router cannot read Apollo's supergraph: %v", err)}
	}
	var subs []compose.Subgraph
	for _, s := range subgraphs {
		subs = append(subs, compose.Subgraph{Name: s.Name, URL: s.URL, SDL: serviceSDL(t, s)})
	}
	ours, err := compose.Compose(subs)
	if err != nil {
		return []string{fmt.Sprintf("the router's composition fails: %v", err)}
	}
	var problems []string
	for _, d := range compose.Differences(apollo, ours) {
		problems = append(problems, "Apollo's supergraph (want) and the router's composition (got): "+d)
	}
	return problems
}

// serviceSDL asks a subgraph for its SDL ({ _service { sdl } }).
func serviceSDL(t *testing.T, s oracle.Subgraph) string {
	t.Helper()
	res := oracle.Post(t, s.URL, oracle.Case{Query: "{ _service { sdl } }"}, nil)
	var data struct {
		Service struct {
			SDL string `json:"sdl"`
		} `json:"_service"`
	}
	if err := json.Unmarshal(res.Data, &data); err != nil || data.Service.SDL == "" {
		t.Fatalf("subgraph %s: no SDL in %s", s.Name, res.Body)
	}
	return data.Service.SDL
}

// caseProblems posts a case to a router and describes how its answer
// departs from the expected one: the case's expectation (errors or clean
// data), the data (object key order included) and the errors' paths.
func caseProblems(t *testing.T, r graphRouter, c oracle.Case, want oracle.Expected) []string {
	t.Helper()
	res := oracle.Post(t, r.url, c, nil)
	var problems []string
	switch {
	case c.ExpectErrors && len(res.Errors) == 0:
		problems = append(problems, "the case expects errors, got none")
	case !c.ExpectErrors && (res.Status != http.StatusOK || len(res.Errors) > 0 || res.Data == nil || string(res.Data) == "null"):
		problems = append(problems, fmt.Sprintf("want 200 with data and no errors, got %d", res.Status))
	}
	if err := want.Mismatch(oracle.Reduce(res), false); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: %s\n  want: %s\n  got:  %s", r.name, strings.Join(problems, "; "), want, res.Body)}
}
