package executetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/execute"
	"bookstore/router/federation/plan"
)

// Compose composes a supergraph from subgraph SDLs, by subgraph name. The
// subgraphs are composed in name order.
func Compose(t testing.TB, sdls map[string]string) *compose.Supergraph {
	t.Helper()
	names := make([]string, 0, len(sdls))
	for n := range sdls {
		names = append(names, n)
	}
	sort.Strings(names)
	subs := make([]compose.Subgraph, len(names))
	for i, n := range names {
		subs[i] = compose.Subgraph{Name: n, SDL: sdls[n]}
	}
	sg, err := compose.Compose(subs)
	if err != nil {
		t.Fatalf("composing the supergraph: %v", err)
	}
	return sg
}

// Outcome is one operation run through the harness.
type Outcome struct {
	Plan   *plan.Plan
	Result *execute.Result
	// Fetcher holds the fake subgraphs, and the requests they received.
	Fetcher *Fetcher
}

// Run validates query against sg's client schema, coerces vars as the
// gateway does, plans the operation and executes the plan with fake
// subgraphs answering from subgraphs. Anything that fails before
// execution fails the test.
func Run(t testing.TB, sg *compose.Supergraph, subgraphs map[string]*Subgraph, query string, vars map[string]any) *Outcome {
	t.Helper()
	f, err := New(sg, subgraphs)
	if err != nil {
		t.Fatal(err)
	}
	return RunWith(t, sg, f, query, vars)
}

// RunWith is Run with a Fetcher already made.
func RunWith(t testing.TB, sg *compose.Supergraph, f *Fetcher, query string, vars map[string]any) *Outcome {
	t.Helper()
	return RunExecutor(t, sg, &execute.Executor{Fetcher: f, Schema: sg.Schema}, query, vars)
}

// RunExecutor is Run with an Executor of the caller's, whose Fetcher is a
// *Fetcher.
func RunExecutor(t testing.TB, sg *compose.Supergraph, ex *execute.Executor, query string, vars map[string]any) *Outcome {
	t.Helper()
	f, _ := ex.Fetcher.(*Fetcher)
	p, coerced := Plan(t, sg, query, vars)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res := ex.Execute(ctx, &execute.Request{Plan: p, Variables: coerced})
	return &Outcome{Plan: p, Result: res, Fetcher: f}
}

// Plan validates query (of one operation) against sg's client schema,
// coerces vars as the gateway does and plans the operation. It returns the
// plan and the coerced variables; anything that fails fails the test.
func Plan(t testing.TB, sg *compose.Supergraph, query string, vars map[string]any) (*plan.Plan, map[string]any) {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(sg.Schema, query)
	if errs != nil {
		t.Fatalf("the query does not validate: %v", errs)
	}
	if len(doc.Operations) != 1 {
		t.Fatalf("the query has %d operations, want 1", len(doc.Operations))
	}
	op := doc.Operations[0]
	coerced, err := validator.VariableValues(sg.Schema, op, vars)
	if err != nil {
		t.Fatalf("the variables do not coerce: %v", err)
	}
	p, err := plan.Build(sg, doc, op, coerced)
	if err != nil {
		t.Fatalf("planning: %v", err)
	}
	return p, coerced
}

// Data returns the response's data as compact JSON, in the response's key
// order.
func (o *Outcome) Data() string {
	return compact(o.Result.Data)
}

// WantError describes an error the response must hold.
type WantError struct {
	// Message must be a substring of the error's message.
	Message string
	// Path is the error's path, exactly: strings and ints; nil for none.
	Path []any
	// Code, when not empty, is the error's extensions.code.
	Code string
}

func (w WantError) String() string {
	return fmt.Sprintf("{message ~ %q, path %s, code %q}", w.Message, pathJSON(w.Path), w.Code)
}

func (w WantError) matches(e execute.Error) bool {
	return strings.Contains(e.Message, w.Message) && pathJSON(w.Path) == pathJSON(e.Path) &&
		(w.Code == "" || w.Code == e.Code())
}

// Check fails the test unless the response's data is data (JSON, compared
// compactly with its key order) and its errors are errs, in any order.
func (o *Outcome) Check(t testing.TB, data string, errs []WantError) {
	t.Helper()
	if got, want := o.Data(), compact([]byte(data)); got != want {
		t.Errorf("data:\n got %s\nwant %s", got, want)
	}
	CheckErrors(t, o.Result.Errors, errs)
}

// CheckErrors fails the test unless got holds exactly the errors want
// describes, in any order.
func CheckErrors(t testing.TB, got []execute.Error, want []WantError) {
	t.Helper()
	used := make([]bool, len(got))
	var missing []string
	for _, w := range want {
		found := false
		for i, e := range got {
			if !used[i] && w.matches(e) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			missing = append(missing, w.String())
		}
	}
	var extra []string
	for i, e := range got {
		if !used[i] {
			extra = append(extra, ErrorString(e))
		}
	}
	if len(missing) > 0 || len(extra) > 0 {
		var all []string
		for _, e := range got {
			all = append(all, ErrorString(e))
		}
		t.Errorf("errors:\n missing %s\n unexpected %s\n all: %s",
			strings.Join(missing, ", "), strings.Join(extra, ", "), strings.Join(all, ", "))
	}
}

// ErrorString prints an error's message, path and code.
func ErrorString(e execute.Error) string {
	return fmt.Sprintf("{message %q, path %s, code %q}", e.Message, pathJSON(e.Path), e.Code())
}

func pathJSON(p []any) string {
	if p == nil {
		return "null"
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Sprint(p)
	}
	return string(b)
}

func compact(b []byte) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return "invalid JSON (" + err.Error() + "): " + string(b)
	}
	return buf.String()
}
