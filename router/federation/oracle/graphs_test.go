package oracle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"bookstore/router/federation/compose"
)

// TestGraphs checks every graph of testdata/graphs against Apollo: its
// supergraph.graphql is what @apollo/composition makes of its subgraphs
// now, and Apollo Gateway's answer to each case is the expected one (or,
// for a deviation, still differs from the specification's answer written
// there). All subgraphs run in one Node process, all gateways in another.
//
// With BOOKSTORE_UPDATE_GRAPHS=1 it rewrites the supergraphs and the
// expected answers from Apollo instead (deviations are kept), and removes
// expected answers without a query. GRAPHS=a,b limits it to some graphs.
func TestGraphs(t *testing.T) {
	graphs := Graphs(t)
	if len(graphs) == 0 {
		t.Skip("no graphs")
	}
	update := Updating()
	composed := ComposeGraphs(t, graphs)
	var live []*Graph
	for _, g := range graphs {
		c := composed[g.Name]
		if len(c.Errors) > 0 {
			continue
		}
		if update && c.Supergraph != g.Supergraph {
			if err := g.WriteSupergraph(c.Supergraph); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", filepath.Join(g.Dir, supergraphFile))
		}
		if g.Supergraph != "" && g.ApolloUnsupported == "" {
			live = append(live, g)
		}
	}
	t.Run("supergraph", func(t *testing.T) {
		for _, g := range graphs {
			t.Run(g.Name, func(t *testing.T) { checkSupergraph(t, g, composed[g.Name]) })
		}
	})
	t.Run("unsupported", func(t *testing.T) {
		for _, g := range graphs {
			if g.ApolloUnsupported != "" && g.Supergraph != "" {
				t.Run(g.Name, func(t *testing.T) { checkUnsupported(t, g) })
			}
		}
	})
	if len(live) == 0 {
		return
	}
	running := StartGraphs(t, live)
	supergraphs := map[string]string{}
	for _, g := range live {
		sdl, err := PointSupergraph(g.Supergraph, SubgraphURLs(running[g.Name]))
		if err != nil {
			t.Fatalf("graph %s: %v", g.Name, err)
		}
		supergraphs[g.Name] = sdl
	}
	gateways := StartGateways(t, supergraphs)
	t.Run("answers", func(t *testing.T) {
		for _, g := range live {
			t.Run(g.Name, func(t *testing.T) {
				for _, c := range g.Cases {
					t.Run(c.Name, func(t *testing.T) { checkApolloAnswer(t, g, c, gateways[g.Name], update) })
				}
				if update {
					removeOrphans(t, g)
				}
			})
		}
	})
}

// checkSupergraph checks that the committed supergraph is what Apollo's
// composition makes now.
func checkSupergraph(t *testing.T, g *Graph, c Composition) {
	t.Helper()
	switch {
	case len(c.Errors) > 0:
		t.Errorf("Apollo's composition fails; every graph must compose in Apollo:\n%s", joinLines(c.Errors))
	case c.Supergraph == g.Supergraph:
	case g.Supergraph == "":
		t.Errorf("%s is missing: record it with %s=1 (see testdata/README.md)", supergraphFile, UpdateEnv)
	default:
		t.Errorf("%s is stale (not what @apollo/composition makes of the subgraphs now): rerecord it with %s=1", supergraphFile, UpdateEnv)
	}
}

// checkUnsupported checks that Apollo Gateway still refuses to serve a
// graph with apollo-unsupported.txt, with that file's text in its error.
// (The supergraph's URLs need not point anywhere: the gateway refuses it
// before it asks a subgraph.)
func checkUnsupported(t *testing.T, g *Graph) {
	t.Helper()
	file := filepath.Join(t.TempDir(), g.Name+".graphql")
	if err := os.WriteFile(file, []byte(g.Supergraph), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runNode(t, nil, "gateways.mjs", g.Name+"="+file)
	switch {
	case strings.Contains(stdout, "READY"):
		t.Errorf("Apollo Gateway now serves the graph: remove %s and record its answers with %s=1", unsupportedFile, UpdateEnv)
	case err == nil || !strings.Contains(stderr, g.ApolloUnsupported):
		t.Errorf("Apollo Gateway does not refuse the graph with %q (%s says it does): %v\n%s", g.ApolloUnsupported, unsupportedFile, err, stderr)
	default:
		t.Logf("Apollo Gateway refuses the graph, as %s says; its answers are written by hand", unsupportedFile)
	}
}

// checkApolloAnswer posts a case to Apollo Gateway and compares its answer
// with the expected one, or records it when updating.
func checkApolloAnswer(t *testing.T, g *Graph, c Case, gateway string, update bool) {
	t.Helper()
	res := Post(t, gateway, c, nil)
	got := Reduce(res)
	want, err := g.Expected(c.Name)
	missing := errors.Is(err, os.ErrNotExist)
	if err != nil && !(missing && update) {
		if missing {
			t.Fatalf("%v: record it with %s=1 (see testdata/README.md)", err, UpdateEnv)
		}
		t.Fatal(err)
	}
	if want.Deviation != "" {
		checkDeviation(t, c, want, got)
		return
	}
	checkExpectation(t, c, res)
	if update {
		if missing || want.Mismatch(got, true) != nil || !sameFile(t, g, c.Name, got) {
			if err := g.WriteExpected(c.Name, got); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s: %s", g.ExpectedPath(c.Name), got)
		}
		return
	}
	if err := want.Mismatch(got, true); err != nil {
		t.Errorf("Apollo Gateway's answer is not the expected one: %v\nwant: %s\ngot:  %s", err, want, res.Body)
	}
}

// checkDeviation checks a case where Apollo departs from the specification:
// the expected (specification's) answer must meet the case's expectation,
// and Apollo's answer must still differ from it.
func checkDeviation(t *testing.T, c Case, want, got Expected) {
	t.Helper()
	t.Logf("Apollo Gateway deviates from the specification here: %s", want.Deviation)
	if (len(want.Errors) > 0) != c.ExpectErrors {
		t.Errorf("the specification's answer has %d errors, but the case %s", len(want.Errors), expectationText(c))
	}
	if want.Mismatch(got, true) == nil {
		t.Errorf("Apollo Gateway now gives the specification's answer: remove the deviation from %s and rerecord it", c.Name+".json")
		return
	}
	t.Logf("Apollo's answer: %s", got)
}

// sameFile reports whether the expected file holds exactly e as Marshal
// writes it (so that an update also rewrites a file whose data keys or
// error order changed).
func sameFile(t *testing.T, g *Graph, name string, e Expected) bool {
	t.Helper()
	want, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(g.ExpectedPath(name))
	return err == nil && bytes.Equal(have, want)
}

func removeOrphans(t *testing.T, g *Graph) {
	t.Helper()
	for _, name := range orphans(t, g) {
		if err := g.RemoveExpected(name); err != nil {
			t.Fatal(err)
		}
		t.Logf("removed %s: no query goes with it", g.ExpectedPath(name))
	}
}

// orphans lists the graph's expected answers that no case has.
func orphans(t *testing.T, g *Graph) []string {
	t.Helper()
	names, err := g.ExpectedNames()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range names {
		if _, ok := g.Case(name); !ok {
			out = append(out, name)
		}
	}
	return out
}

func expectationText(c Case) string {
	if c.ExpectErrors {
		return "expects errors"
	}
	return "expects none"
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// federationLink matches a schema's @link to Federation v2.x.
var federationLink = regexp.MustCompile(`@link\(\s*url:\s*"https://specs\.apollo\.dev/federation/v2\.\d+"`)

// TestGraphsWellFormed checks each graph folder's shape, without Node: the
// files it may hold, its subgraph SDLs and data files, its README's covers
// line, its queries (which must validate against the supergraph unless they
// expect errors), an expected answer per query and none without one, and
// its router-pending.txt.
func TestGraphsWellFormed(t *testing.T) {
	for _, g := range Graphs(t) {
		t.Run(g.Name, func(t *testing.T) {
			checkFiles(t, g)
			checkSubgraphs(t, g)
			if len(g.Covers) == 0 {
				t.Errorf("%s has no \"covers: feature, ...\" line", readmeFile)
			}
			if g.Supergraph == "" {
				t.Errorf("%s is missing: record it with %s=1", supergraphFile, UpdateEnv)
			}
			if len(g.Cases) == 0 && g.Refuses == "" {
				t.Errorf("no queries in %s/ (only a graph with %s may have none)", queriesDir, refusesFile)
			}
			checkQueries(t, g)
			checkExpectedFiles(t, g)
			for name := range g.Pending.Cases {
				if _, ok := g.Case(name); !ok {
					t.Errorf("%s names %q, which is not a case", pendingFile, name)
				}
			}
		})
	}
}

// checkFiles refuses any file the format does not define.
func checkFiles(t *testing.T, g *Graph) {
	t.Helper()
	entries, err := os.ReadDir(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	subgraphs := map[string]bool{}
	for _, s := range g.Subgraphs {
		subgraphs[s.Name] = true
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && (name == queriesDir || name == expectedDir):
		case e.IsDir():
			t.Errorf("unexpected folder %s", name)
		case slices.Contains([]string{readmeFile, supergraphFile, refusesFile, pendingFile, routerFile, unsupportedFile}, name):
		case name == resolversFile:
			t.Logf("%s overrides the generic resolvers (discouraged: prefer the data language)", resolversFile)
		case filepath.Ext(name) == ".graphql":
		case filepath.Ext(name) == ".json" && subgraphs[name[:len(name)-len(".json")]]:
		default:
			t.Errorf("unexpected file %s (a data file must be named after a subgraph's SDL file)", name)
		}
	}
}

// checkSubgraphs checks the subgraph names, that each SDL parses and links
// Federation v2, and that each data file is a document of the data
// language.
func checkSubgraphs(t *testing.T, g *Graph) {
	t.Helper()
	if len(g.Subgraphs) == 0 {
		t.Errorf("no subgraph SDL (*.graphql)")
	}
	for _, s := range g.Subgraphs {
		if !subgraphName.MatchString(s.Name) {
			t.Errorf("subgraph name %q: want lower-case letters, digits and dashes, starting with a letter", s.Name)
		}
		if _, err := parser.ParseSchema(&ast.Source{Name: s.Name, Input: s.SDL}); err != nil {
			t.Errorf("%s.graphql does not parse: %v", s.Name, err)
		}
		if !federationLink.MatchString(s.SDL) {
			t.Errorf("%s.graphql has no @link to https://specs.apollo.dev/federation/v2.x", s.Name)
		}
		raw, err := os.ReadFile(filepath.Join(g.Dir, s.Name+".json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := checkData(raw); err != nil {
			t.Errorf("%s.json: %v", s.Name, err)
		}
	}
}

// checkData checks a data file's top level: an object with Query,
// Mutation (objects) and entities (an object of lists).
func checkData(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var data struct {
		Query    map[string]json.RawMessage   `json:"Query"`
		Mutation map[string]json.RawMessage   `json:"Mutation"`
		Entities map[string][]json.RawMessage `json:"entities"`
	}
	if err := dec.Decode(&data); err != nil {
		return err
	}
	for typ, rows := range data.Entities {
		for i, row := range rows {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(row, &obj); err != nil || obj == nil {
				return fmt.Errorf("entities.%s: row %d is not an object", typ, i)
			}
		}
	}
	return nil
}

// checkQueries checks that every case that does not expect errors is a
// valid operation of the supergraph's client schema, with the operation
// and variables its header names.
func checkQueries(t *testing.T, g *Graph) {
	t.Helper()
	if g.Supergraph == "" {
		return
	}
	sg, err := compose.ParseSupergraph(g.Supergraph)
	if err != nil {
		t.Logf("the queries are not validated: the Go router does not read the supergraph: %v", err)
		return
	}
	for _, c := range g.Cases {
		if c.ExpectErrors {
			continue
		}
		doc, errs := gqlparser.LoadQuery(sg.Schema, c.Query)
		if len(errs) > 0 {
			t.Errorf("%s: invalid (mark it \"# expect: errors\" if that is the point): %v", c.Name, errs)
			continue
		}
		op := doc.Operations.ForName(c.OperationName)
		if op == nil {
			t.Errorf("%s: no operation %q (set \"# operationName:\")", c.Name, c.OperationName)
			continue
		}
		for name := range c.Variables {
			if op.VariableDefinitions.ForName(name) == nil {
				t.Errorf("%s: variable $%s is not defined by the operation", c.Name, name)
			}
		}
	}
}

// checkExpectedFiles checks that each case has an expected answer that
// meets its expectation, and that no expected answer lacks a case.
func checkExpectedFiles(t *testing.T, g *Graph) {
	t.Helper()
	for _, name := range orphans(t, g) {
		t.Errorf("%s/%s.json has no query %s/%s.graphql", expectedDir, name, queriesDir, name)
	}
	for _, c := range g.Cases {
		e, err := g.Expected(c.Name)
		if errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s has no expected answer: record it with %s=1", c.Name, UpdateEnv)
			continue
		}
		if err != nil {
			t.Error(err)
			continue
		}
		if (len(e.Errors) > 0) != c.ExpectErrors {
			t.Errorf("%s: the expected answer has %d errors, but the case %s", c.Name, len(e.Errors), expectationText(c))
		}
		if !c.ExpectErrors && (e.Data == nil || string(e.Data) == "null") {
			t.Errorf("%s: the expected answer has no data", c.Name)
		}
	}
}
