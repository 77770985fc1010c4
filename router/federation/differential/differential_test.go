// Package differential compares the Go router with Apollo Gateway, the
// reference implementation of Apollo Federation, on the same subgraphs and
// the same requests (the corpora of bookstore/router/federation/oracle), checks the
// router against the answers recorded from Apollo for the oracle's graphs
// (testdata/graphs), and checks the router's failover between subgraph
// replicas.
//
// The tests here are test-only: they need PostgreSQL (through testdb) and
// Node.js with the oracle's npm packages (through oracle.Install).
package differential

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"bookstore/graph/testkit/testdb"
	"bookstore/router/federation/oracle"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// target is one GraphQL endpoint under comparison.
type target struct {
	name string // for messages: "router (introspected)", ...
	url  string // the full GraphQL URL
}

// tally counts the cases of one corpus run against one router mode; the
// test logs it so that a run's outcome reads at a glance.
type tally struct {
	corpus, mode string
	mu           sync.Mutex
	pass, fail   int
	failed       []string
}

func (c *tally) record(t *testing.T, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Failed() {
		c.fail++
		c.failed = append(c.failed, name)
	} else {
		c.pass++
	}
}

func (c *tally) log(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Logf("corpus %s, router %s: %d cases, %d pass, %d fail %v", c.corpus, c.mode, c.pass+c.fail, c.pass, c.fail, c.failed)
}

// compareCorpus compares each case of a corpus on every router with Apollo
// Gateway, sending the headers headerFor gives it: a subtest per router
// and case. It logs each router's tally.
func compareCorpus(t *testing.T, corpus string, cases []oracle.Case, gateway target, routers []target) {
	t.Helper()
	for _, router := range routers {
		counts := &tally{corpus: corpus, mode: router.name}
		t.Run(router.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					defer counts.record(t, c.Name)
					compareCase(t, corpus, c, headerFor(corpus, c), gateway, router, nil)
				})
			}
		})
		counts.log(t)
	}
}

// compareCase posts c to Apollo Gateway (want) and to the router (got) with
// the same headers and compares the answers:
//
//   - both must meet the case's expectation (errors or clean data);
//   - data must be equal (key order included) and errors present on both or
//     neither (oracle.Compare);
//   - the HTTP status must be in the same class, with one exception: Apollo
//     answers 500 to a document of several operations sent without an
//     operationName, where the router must answer 400 BAD_REQUEST (the
//     contract's rule for a request that fails before execution).
//
// mask, when not nil, rewrites both answers' data before the comparison.
func compareCase(t *testing.T, corpus string, c oracle.Case, header http.Header, gateway, router target, mask func(json.RawMessage) json.RawMessage) {
	t.Helper()
	want := oracle.Post(t, gateway.url, c, header)
	got := oracle.Post(t, router.url, c, header)
	checkExpectation(t, gateway.name, c, want)
	if d, ok := apolloDeviations[corpus+"/"+c.Name]; ok {
		checkDeviation(t, d, gateway, router, want, got)
		return
	}
	checkExpectation(t, router.name, c, got)
	if want.Status >= 500 {
		if !severalOperationsNoName(c) {
			t.Fatalf("%s answered %d to a case that is not a multi-operation document without operationName: %s", gateway.name, want.Status, want.Body)
		}
		t.Logf("%s answered %d (its known answer to several operations and no operationName); the router must answer 400 BAD_REQUEST", gateway.name, want.Status)
		if got.Status != http.StatusBadRequest || got.Data != nil || len(got.Errors) != 1 || errorCode(got.Errors[0]) != "BAD_REQUEST" {
			t.Errorf("%s: want 400 with one BAD_REQUEST error and no data, got %d: %s", router.name, got.Status, got.Body)
		}
		return
	}
	if mask != nil {
		want.Data, got.Data = mask(want.Data), mask(got.Data)
	}
	oracle.Compare(t, want, got)
	if want.Status/100 != got.Status/100 {
		t.Errorf("HTTP status: %s answered %d, %s %d\nwant: %s\ngot:  %s", gateway.name, want.Status, router.name, got.Status, want.Body, got.Body)
	}
	if t.Failed() {
		t.Logf("query:\n%s\nvariables: %v\noperationName: %q", c.Query, c.Variables, c.OperationName)
	}
}

// deviation is a case where Apollo Gateway's answer departs from the
// GraphQL specification and the router's follows it.
type deviation struct {
	// why explains Apollo's behaviour.
	why string
	// spec is the data the specification requires, which the router must
	// answer exactly.
	spec string
	// errorPaths are the paths of the errors the specification requires
	// where Apollo answers none (JSON arrays); empty: no errors.
	errorPaths []string
}

// apolloDeviations lists, by "corpus/case", the cases where Apollo Gateway
// is not the reference: there the router must answer the data the GraphQL
// specification requires (written out here), Apollo's data must be the
// same values with only object keys ordered differently, and the strict
// comparison must still fail, so that an entry goes away when Apollo
// changes.
var apolloDeviations = map[string]deviation{
	"bookstore/fragments-inline": {
		why: "Apollo merges inline fragments that share a type condition into the first of them, so the fields of " +
			"the later `... on Book` come before those of the untyped `... { author }` between them; the " +
			"specification's CollectFields orders response keys by their first appearance in the document " +
			"(title, author, unitsSold, priceCents)",
		spec: `{"book":{"title":"The Go Programming Language","author":"Alan A. A. Donovan","unitsSold":0,"priceCents":3999}}`,
	},
	"testgraph/unknown-entity-key-only": {
		why: "fleet answers null for spacecraft sc-99, so the non-null Spacecraft.registry is null: the specification's " +
			"CompleteValue makes that a field error, in errors, that nulls backupCraft; Apollo nulls backupCraft but " +
			"notes the null only in extensions.valueCompletion",
		spec:       `{"mission":{"name":"Cirrus","backupCraft":null}}`,
		errorPaths: []string{`["mission","backupCraft","registry"]`},
	},
	"testgraph/unknown-entity-null": {
		why: "fleet resolves registry HX-999 to null, so the non-null Spacecraft.name is null: a field error by the " +
			"specification, which Apollo notes only in extensions.valueCompletion",
		spec:       `{"reading":{"id":"r-5","takenAt":300,"spacecraft":null}}`,
		errorPaths: []string{`["reading","spacecraft","name"]`},
	},
}

// checkDeviation checks a case of apolloDeviations.
func checkDeviation(t *testing.T, d deviation, gateway, router target, want, got oracle.Result) {
	t.Helper()
	t.Logf("Apollo Gateway deviates from the specification here: %s", d.why)
	spec := oracle.Result{Status: http.StatusOK, Data: json.RawMessage(d.spec), Body: []byte(`{"data":` + d.spec + `}`)}
	for _, p := range d.errorPaths {
		spec.Errors = append(spec.Errors, json.RawMessage(`{"path":`+p+`}`))
	}
	oracle.Compare(t, spec, got)
	var paths []string
	for _, e := range got.Errors {
		var x struct{ Path json.RawMessage }
		_ = json.Unmarshal(e, &x)
		paths = append(paths, string(x.Path))
	}
	if !slices.Equal(paths, d.errorPaths) {
		t.Errorf("%s: error paths %v, want %v", router.name, paths, d.errorPaths)
	}
	if got.Status != http.StatusOK || want.Status != http.StatusOK {
		t.Errorf("status: %s %d, %s %d", gateway.name, want.Status, router.name, got.Status)
	}
	if !sameValue(t, want.Data, spec.Data) {
		t.Errorf("%s's data is not the specification's even with keys reordered:\n%s\nwant %s", gateway.name, want.Data, spec.Data)
	}
	probe := &recorder{TB: t}
	oracle.Compare(probe, want, got)
	if !probe.failed {
		t.Errorf("%s now agrees with the router: remove the case from apolloDeviations", gateway.name)
	}
}

// sameValue reports whether two JSON texts hold the same value, object key
// order aside.
func sameValue(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %v: %s", err, a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return reflect.DeepEqual(va, vb)
}

// recorder is a testing.TB that notes a failure instead of reporting it.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

// checkExpectation applies the corpus's rule: a case marked "expect: errors"
// must answer errors; any other must answer 200 with data and no errors.
func checkExpectation(t *testing.T, who string, c oracle.Case, r oracle.Result) {
	t.Helper()
	if c.ExpectErrors {
		if len(r.Errors) == 0 {
			t.Errorf("%s: the case expects errors, got none (status %d): %s", who, r.Status, r.Body)
		}
		return
	}
	if r.Status != http.StatusOK || len(r.Errors) > 0 || r.Data == nil || string(r.Data) == "null" {
		t.Errorf("%s: want 200 with data and no errors, got %d: %s", who, r.Status, r.Body)
	}
}

// severalOperationsNoName reports whether the case's document parses to more
// than one operation and the request names none.
func severalOperationsNoName(c oracle.Case) bool {
	if c.OperationName != "" {
		return false
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: c.Query})
	return err == nil && len(doc.Operations) > 1
}

func errorCode(raw json.RawMessage) string {
	var e struct {
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Extensions.Code
}

// supergraphFile copies the committed supergraph fixture (testdata of
// router/federation/oracle) into a temporary file, pointing each subgraph's routing URL
// at the running subgraph named in urls (see oracle.PointSupergraph), and
// returns its path.
func supergraphFile(t *testing.T, fixture string, urls map[string]string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(oracle.NodeDir(), "supergraphs", fixture))
	if err != nil {
		t.Fatal(err)
	}
	return pointedSupergraph(t, fixture, string(src), urls)
}

// pointedSupergraph writes a supergraph SDL, its routing URLs pointed at
// urls, into a temporary file named name and returns its path.
func pointedSupergraph(t *testing.T, name, sdl string, urls map[string]string) string {
	t.Helper()
	out, err := oracle.PointSupergraph(sdl, urls)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// maskJSON rewrites a JSON value, keeping its key order and its
// formatting-independent content: for each object member whose key is in
// keys and whose value is a string, replace(key, value) gives the new
// string value. Other values are copied as they are.
func maskJSON(raw json.RawMessage, keys map[string]bool, replace func(key, value string) string) (json.RawMessage, error) {
	if raw == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	// One frame per open container: whether it is an object, whether the
	// next string token of an object is a key, and whether a member was
	// written (for commas).
	type frame struct{ object, wantKey, any bool }
	var stack []frame
	pendingKey := ""
	write := func(b []byte) { out.Write(b) }
	writeString := func(s string) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
	beforeValue := func() {
		if len(stack) == 0 {
			return
		}
		top := &stack[len(stack)-1]
		if !top.object {
			if top.any {
				write([]byte(","))
			}
			top.any = true
		} else {
			top.wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			write([]byte(string(d)))
			pendingKey = ""
			continue
		}
		if s, ok := tok.(string); ok && len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey {
			top := &stack[len(stack)-1]
			if top.any {
				write([]byte(","))
			}
			top.any, top.wantKey = true, false
			writeString(s)
			write([]byte(":"))
			pendingKey = s
			continue
		}
		key := pendingKey
		pendingKey = ""
		beforeValue()
		switch v := tok.(type) {
		case json.Delim:
			write([]byte(string(v)))
			stack = append(stack, frame{object: v == '{', wantKey: v == '{'})
		case string:
			if keys[key] {
				v = replace(key, v)
			}
			writeString(v)
		case json.Number:
			write([]byte(v.String()))
		case bool:
			if v {
				write([]byte("true"))
			} else {
				write([]byte("false"))
			}
		case nil:
			write([]byte("null"))
		}
	}
	return out.Bytes(), nil
}
