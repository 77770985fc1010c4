package oracle

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The graphs of testdata/graphs: small federated graphs, each a folder of
// subgraph SDLs, their data, requests and Apollo Gateway's recorded answers.
// testdata/README.md describes the format.

const (
	// UpdateEnv names the environment variable that, set to 1, makes the
	// oracle's graph test rewrite each graph's supergraph.graphql and
	// expected answers from Apollo (never from the Go router).
	UpdateEnv = "BOOKSTORE_UPDATE_GRAPHS"
	// FilterEnv names the environment variable that limits a run to some
	// graphs: a comma-separated list of graph names.
	FilterEnv = "GRAPHS"
)

// Well-known files of a graph folder.
const (
	supergraphFile  = "supergraph.graphql"
	readmeFile      = "README.md"
	refusesFile     = "router-refuses.txt"
	pendingFile     = "router-pending.txt"
	resolversFile   = "resolvers.mjs"
	routerFile      = "router.json"
	unsupportedFile = "apollo-unsupported.txt"
	queriesDir      = "queries"
	expectedDir     = "expected"
)

// subgraphName is what a subgraph name (an SDL file name) may be: it
// becomes a host name in the supergraph's routing URLs.
var subgraphName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Graph is one graph folder.
type Graph struct {
	// Name is the folder's name.
	Name string
	// Dir is the folder's absolute path.
	Dir string
	// Subgraphs are the subgraph SDL files (every *.graphql but
	// supergraph.graphql), in name order, each with the routing URL the
	// committed supergraph uses: http://NAME.invalid/graphql.
	Subgraphs []SubgraphSDL
	// Cases are the requests of queries/, in file name order.
	Cases []Case
	// Supergraph is supergraph.graphql; empty when the file is missing.
	Supergraph string
	// Refuses is the text of router-refuses.txt, trimmed: the graph
	// composes in Apollo, and the Go router's composition must refuse it
	// with an error containing this text. Empty when the file is missing.
	Refuses string
	// Pending is router-pending.txt: what the Go router is known to get
	// wrong (temporary; see Pending).
	Pending Pending
	// Covers lists the features of the README's "covers:" line.
	Covers []string
	// ApolloUnsupported is the text of apollo-unsupported.txt, trimmed:
	// the graph composes in Apollo, but Apollo Gateway refuses to serve
	// the supergraph with an error containing this text, so its expected
	// answers are written by hand. Empty when the file is missing.
	ApolloUnsupported string
	// Router holds the options of router.json for the Go router's runs
	// of the graph; zero when the file is missing.
	Router RouterOptions
}

// RouterOptions are a graph's router.json: options for the Go router's
// runs of the graph (Apollo Gateway has no such knobs; they make the router
// behave as Apollo does by default).
type RouterOptions struct {
	// OverrideLabels forces progressive @override labels on (true) or off
	// (false), as server.Config.OverrideLabels.
	OverrideLabels map[string]bool `json:"overrideLabels,omitempty"`
}

// parseRouterOptions decodes router.json, refusing unknown keys; empty text
// (no file) is no options.
func parseRouterOptions(text string) (RouterOptions, error) {
	var o RouterOptions
	if strings.TrimSpace(text) == "" {
		return o, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return RouterOptions{}, fmt.Errorf("%s: %w", routerFile, err)
	}
	if dec.More() {
		return RouterOptions{}, fmt.Errorf("%s: more than one JSON value", routerFile)
	}
	return o, nil
}

// Pending lists what the Go router is known to get wrong in a graph, read
// from its router-pending.txt: one case name a line, or "*" for the whole
// graph (composition included); "#" starts a comment. The differential test
// asserts that the router still gets each of them wrong, so an entry must
// go once the router is fixed. It is a temporary mechanism: the goal is no
// such file.
type Pending struct {
	// All is set by a "*" line.
	All bool
	// Cases maps each listed case name to the comment on its line.
	Cases map[string]string
}

// Has reports whether the case is pending (listed, or the whole graph is).
func (p Pending) Has(name string) bool { return p.All || p.Lists(name) }

// Lists reports whether the case is listed by name.
func (p Pending) Lists(name string) bool {
	_, ok := p.Cases[name]
	return ok
}

// GraphsDir returns the absolute path of testdata/graphs.
func GraphsDir() string { return filepath.Join(NodeDir(), "graphs") }

// Updating reports whether the update mode is on (UpdateEnv=1).
func Updating() bool { return os.Getenv(UpdateEnv) == "1" }

// GraphNames lists the graph folders of testdata/graphs in name order,
// limited to those FilterEnv names when it is set; a name it gives that is
// no graph fails the test.
func GraphNames(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(GraphsDir())
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var all []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			all = append(all, e.Name())
		}
	}
	filter := strings.TrimSpace(os.Getenv(FilterEnv))
	if filter == "" {
		return all
	}
	var names []string
	for _, n := range strings.Split(filter, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.Contains(all, n) {
			t.Fatalf("oracle: %s names %q, which is not a graph of %s", FilterEnv, n, GraphsDir())
		}
		names = append(names, n)
	}
	return names
}

// Graphs reads the graphs GraphNames lists; one that cannot be read fails
// the test.
func Graphs(t testing.TB) []*Graph {
	t.Helper()
	var out []*Graph
	for _, name := range GraphNames(t) {
		g, err := ReadGraph(filepath.Join(GraphsDir(), name))
		if err != nil {
			t.Fatalf("oracle: %v", err)
		}
		out = append(out, g)
	}
	return out
}

// ReadGraph reads a graph folder. It reads what is there; the oracle's
// tests check that the folder is complete and well-formed.
func ReadGraph(dir string) (*Graph, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", dir, err)
	}
	g := &Graph{Name: filepath.Base(dir), Dir: dir}
	files, err := filepath.Glob(filepath.Join(dir, "*.graphql"))
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", g.Name, err)
	}
	sort.Strings(files)
	for _, f := range files {
		base := filepath.Base(f)
		if base == supergraphFile {
			continue
		}
		sdl, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("graph %s: %w", g.Name, err)
		}
		name := strings.TrimSuffix(base, ".graphql")
		g.Subgraphs = append(g.Subgraphs, SubgraphSDL{Name: name, URL: "http://" + name + ".invalid/graphql", SDL: string(sdl)})
	}
	if g.Cases, err = readCases(filepath.Join(dir, queriesDir)); err != nil {
		return nil, fmt.Errorf("graph %s: %w", g.Name, err)
	}
	// The optional files, each read whole ("" when missing).
	opt := map[string]string{}
	for _, name := range []string{supergraphFile, refusesFile, pendingFile, readmeFile, unsupportedFile, routerFile} {
		if opt[name], err = readOptional(filepath.Join(dir, name)); err != nil {
			return nil, fmt.Errorf("graph %s: %w", g.Name, err)
		}
	}
	g.Supergraph = opt[supergraphFile]
	g.Refuses = strings.TrimSpace(opt[refusesFile])
	g.Pending = parsePending(opt[pendingFile])
	g.Covers = parseCovers(opt[readmeFile])
	g.ApolloUnsupported = strings.TrimSpace(opt[unsupportedFile])
	if g.Router, err = parseRouterOptions(opt[routerFile]); err != nil {
		return nil, fmt.Errorf("graph %s: %w", g.Name, err)
	}
	return g, nil
}

// readOptional reads a file; a missing file reads as "".
func readOptional(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return string(b), nil
}

func parsePending(text string) Pending {
	p := Pending{Cases: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line, comment, _ := strings.Cut(sc.Text(), "#")
		name := strings.TrimSpace(line)
		switch name {
		case "":
		case "*":
			p.All = true
		default:
			p.Cases[name] = strings.TrimSpace(comment)
		}
	}
	return p
}

// parseCovers reads the README's first line that starts with "covers:": a
// comma-separated list of features.
func parseCovers(readme string) []string {
	for _, line := range strings.Split(readme, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "covers:")
		if !ok {
			continue
		}
		var out []string
		for _, f := range strings.Split(rest, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		return out
	}
	return nil
}

// Case returns the graph's case of that name, or false.
func (g *Graph) Case(name string) (Case, bool) {
	for _, c := range g.Cases {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// ExpectedPath returns the path of a case's expected answer.
func (g *Graph) ExpectedPath(name string) string {
	return filepath.Join(g.Dir, expectedDir, name+".json")
}

// ExpectedNames lists the case names of the files in expected/, in name
// order (whether or not a query goes with them).
func (g *Graph) ExpectedNames() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(g.Dir, expectedDir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", g.Name, err)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(filepath.Base(f), ".json")
	}
	sort.Strings(names)
	return names, nil
}

// Expected reads a case's expected answer.
func (g *Graph) Expected(name string) (Expected, error) {
	raw, err := os.ReadFile(g.ExpectedPath(name))
	if err != nil {
		return Expected{}, fmt.Errorf("graph %s: expected answer of %s: %w", g.Name, name, err)
	}
	e, err := ParseExpected(raw)
	if err != nil {
		return Expected{}, fmt.Errorf("graph %s: %s: %w", g.Name, filepath.Base(g.ExpectedPath(name)), err)
	}
	return e, nil
}

// WriteExpected writes a case's expected answer.
func (g *Graph) WriteExpected(name string, e Expected) error {
	raw, err := e.Marshal()
	if err != nil {
		return fmt.Errorf("graph %s: %s: %w", g.Name, name, err)
	}
	if err := os.MkdirAll(filepath.Join(g.Dir, expectedDir), 0o755); err != nil {
		return fmt.Errorf("graph %s: %w", g.Name, err)
	}
	if err := os.WriteFile(g.ExpectedPath(name), raw, 0o644); err != nil {
		return fmt.Errorf("graph %s: %w", g.Name, err)
	}
	return nil
}

// RemoveExpected deletes a case's expected answer.
func (g *Graph) RemoveExpected(name string) error {
	if err := os.Remove(g.ExpectedPath(name)); err != nil {
		return fmt.Errorf("graph %s: %w", g.Name, err)
	}
	return nil
}

// WriteSupergraph replaces the graph's supergraph.graphql.
func (g *Graph) WriteSupergraph(sdl string) error {
	if err := os.WriteFile(filepath.Join(g.Dir, supergraphFile), []byte(sdl), 0o644); err != nil {
		return fmt.Errorf("graph %s: %w", g.Name, err)
	}
	g.Supergraph = sdl
	return nil
}

// Expected is a case's expected answer, as recorded from Apollo Gateway:
// the response's data, and its errors reduced to their paths and codes.
type Expected struct {
	// Deviation, when set, says why Apollo Gateway departs from the
	// GraphQL specification on this case. Data and Errors then hold the
	// specification's answer, which the Go router must give and Apollo
	// must still not give.
	Deviation string `json:"deviation,omitempty"`
	// Data is the response's data: nil when the response has no "data"
	// key, the JSON null when data is null. Its object keys keep their
	// order.
	Data json.RawMessage `json:"data,omitempty"`
	// Errors are the response's errors, in the response's order.
	Errors []ExpectedError `json:"errors,omitempty"`
}

// ExpectedError is one error of an expected answer.
type ExpectedError struct {
	// Path is the error's path (response keys and list indexes); nil for
	// an error without one, such as a validation error.
	Path []any `json:"path,omitempty"`
	// Code is the error's extensions.code, when it has one.
	Code string `json:"code,omitempty"`
}

// ParseExpected decodes an expected answer, refusing unknown keys.
func ParseExpected(raw []byte) (Expected, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var e Expected
	if err := dec.Decode(&e); err != nil {
		return Expected{}, fmt.Errorf("not an expected answer: %w", err)
	}
	if dec.More() {
		return Expected{}, errors.New("not an expected answer: more than one JSON value")
	}
	// An explicit "data": null decodes as nil: tell it from a missing key.
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return Expected{}, fmt.Errorf("not an expected answer: %w", err)
	}
	if d, ok := keys["data"]; ok && e.Data == nil {
		e.Data = d
	}
	return e, nil
}

// Marshal encodes an expected answer as the file holds it: indented, data's
// object keys in their order, and a final newline.
func (e Expected) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("{")
	sep := "\n"
	member := func(key string, v any) error {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.WriteString(sep)
		fmt.Fprintf(&buf, "%q: %s", key, bytes.TrimSpace(b.Bytes()))
		sep = ",\n"
		return nil
	}
	if e.Deviation != "" {
		if err := member("deviation", e.Deviation); err != nil {
			return nil, err
		}
	}
	if e.Data != nil {
		if err := member("data", e.Data); err != nil {
			return nil, err
		}
	}
	if len(e.Errors) > 0 {
		if err := member("errors", e.Errors); err != nil {
			return nil, err
		}
	}
	buf.WriteString("\n}")
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// Reduce turns a response into the form of an expected answer.
func Reduce(r Result) Expected {
	e := Expected{Data: r.Data}
	for _, raw := range r.Errors {
		var decoded struct {
			Path       []any `json:"path"`
			Extensions struct {
				Code any `json:"code"`
			} `json:"extensions"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		_ = dec.Decode(&decoded)
		code, _ := decoded.Extensions.Code.(string)
		e.Errors = append(e.Errors, ExpectedError{Path: decoded.Path, Code: code})
	}
	return e
}

// Mismatch reports how got differs from want: their data (as JSON, object
// key order included; see SameJSON) and their errors' paths, as multisets
// (order aside), and with codes set also the errors' codes. It returns nil
// when they agree.
func (want Expected) Mismatch(got Expected, codes bool) error {
	var problems []string
	if err := SameJSON(want.Data, got.Data); err != nil {
		problems = append(problems, "data differ: "+err.Error())
	}
	w, g := errorKeys(want.Errors, codes), errorKeys(got.Errors, codes)
	if !slices.Equal(w, g) {
		what := "paths"
		if codes {
			what = "paths and codes"
		}
		problems = append(problems, fmt.Sprintf("error %s differ: want %v, got %v", what, w, g))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// errorKeys prints each error's path (and code) and sorts them.
func errorKeys(errs []ExpectedError, codes bool) []string {
	keys := make([]string, 0, len(errs))
	for _, e := range errs {
		path, _ := json.Marshal(e.Path)
		if e.Path == nil {
			path = []byte("(no path)")
		}
		k := string(path)
		if codes && e.Code != "" {
			k += " " + e.Code
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// String prints an expected answer on one line, for messages.
func (e Expected) String() string {
	raw, err := e.Marshal()
	if err != nil {
		return err.Error()
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return string(raw)
	}
	return out.String()
}
