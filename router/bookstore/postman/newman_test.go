// Package postman_test runs the bookstore's Postman collection with newman,
// the real Postman runner, against a real stack: both subgraphs and the
// router on 127.0.0.1, on a freshly seeded database.
package postman_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bookstore/graph/testkit/nodetest"
	"bookstore/graph/testkit/testdb"
	"bookstore/router/routertest"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

const (
	collectionFile  = "bookstore.postman_collection.json"
	environmentFile = "bookstore.postman_environment.json"
	// newmanTimeout bounds one newman run; a safety net, not an assertion.
	newmanTimeout = 3 * time.Minute
)

// TestCollection runs the whole collection in order, as `make postman` does
// against `make run`, and fails on any failed assertion or request.
func TestCollection(t *testing.T) {
	node, _ := nodetest.Node(t)
	ctx := t.Context()
	modules := nodetest.Install(ctx, t, ".")
	newman := filepath.Join(modules, "node_modules", "newman", "bin", "newman.js")

	want, err := requestNames(collectionFile)
	if err != nil {
		t.Fatal(err)
	}
	stack := routertest.StartBookstore(t, routertest.Options{OrdersListPublic: true})

	report := filepath.Join(nodetest.OutDir(t, "postman"), "newman-report.json")
	_ = os.Remove(report)
	res, runErr := nodetest.Run(ctx, newmanTimeout, ".", []string{"NO_COLOR=1"}, node, newman, "run", collectionFile,
		"--environment", environmentFile,
		"--env-var", "baseUrl="+stack.Router.URL,
		"--env-var", "adminToken="+routertest.AdminToken,
		"--reporters", "cli,json",
		"--reporter-json-export", report,
		"--timeout-request", "30000",
		"--color", "off",
		"--disable-unicode",
	)
	t.Logf("newman ran for %v; its JSON report: %s", res.Elapsed.Round(time.Millisecond), report)
	if runErr != nil {
		// newman exits 1 when an assertion fails; the report says which.
		t.Logf("newman: %v\n%s\n%s", runErr, res.Stdout, res.Stderr)
	}

	r, err := readReport(report)
	if err != nil {
		t.Fatalf("%v (newman: %v)", err, runErr)
	}
	st := r.Run.Stats
	t.Logf("newman: %d requests (%d failed), %d assertions (%d failed), %d test scripts (%d failed), %d pre-request scripts (%d failed)",
		st.Requests.Total, st.Requests.Failed, st.Assertions.Total, st.Assertions.Failed,
		st.TestScripts.Total, st.TestScripts.Failed, st.PrerequestScripts.Total, st.PrerequestScripts.Failed)

	for _, f := range r.Run.Failures {
		what := f.Error.Test
		if what == "" {
			what = f.Error.Name // a script that threw
		}
		t.Errorf("%s: %s: %s", f.Source.Name, what, f.Error.Message)
	}
	if st.Requests.Total == 0 || st.Assertions.Total == 0 {
		t.Errorf("newman counted %d requests and %d assertions; want some of each", st.Requests.Total, st.Assertions.Total)
	}
	if st.Requests.Failed+st.Assertions.Failed+st.TestScripts.Failed+st.PrerequestScripts.Failed > 0 {
		t.Errorf("newman counted failures: %+v", st)
	}
	var ran []string
	for _, e := range r.Run.Executions {
		ran = append(ran, e.Item.Name)
		if e.RequestError != nil {
			t.Errorf("%s: the request failed: %s", e.Item.Name, e.RequestError.Message)
		}
		if len(e.Assertions) == 0 {
			t.Errorf("%s: ran no assertion", e.Item.Name)
		}
	}
	if strings.Join(ran, "\n") != strings.Join(want, "\n") {
		t.Errorf("newman ran %d requests, the collection has %d; ran:\n  %s\nwant:\n  %s",
			len(ran), len(want), strings.Join(ran, "\n  "), strings.Join(want, "\n  "))
	}
	if st.Requests.Total != len(want) {
		t.Errorf("newman counted %d requests, the collection has %d", st.Requests.Total, len(want))
	}
	if runErr != nil && !t.Failed() {
		t.Errorf("newman failed, though its report shows no failure: %v", runErr)
	}
}

// item is a collection item: a request, or a folder of items.
type item struct {
	Name    string          `json:"name"`
	Request json.RawMessage `json:"request"`
	Item    []item          `json:"item"`
}

// requestNames lists the collection's requests in the order newman runs
// them (depth first).
func requestNames(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the collection: %w", err)
	}
	var c struct {
		Item []item `json:"item"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", file, err)
	}
	var names []string
	var walk func([]item)
	walk = func(items []item) {
		for _, it := range items {
			if it.Request != nil {
				names = append(names, it.Name)
			}
			walk(it.Item)
		}
	}
	walk(c.Item)
	if len(names) == 0 {
		return nil, fmt.Errorf("%s has no request", file)
	}
	return names, nil
}

// count is one of newman's totals.
type count struct {
	Total  int `json:"total"`
	Failed int `json:"failed"`
}

// report is the part of newman's JSON report the test reads.
type report struct {
	Run struct {
		Stats struct {
			Requests          count `json:"requests"`
			Assertions        count `json:"assertions"`
			TestScripts       count `json:"testScripts"`
			PrerequestScripts count `json:"prerequestScripts"`
		} `json:"stats"`
		Executions []struct {
			Item struct {
				Name string `json:"name"`
			} `json:"item"`
			RequestError *struct {
				Message string `json:"message"`
			} `json:"requestError"`
			Assertions []struct {
				Assertion string `json:"assertion"`
			} `json:"assertions"`
		} `json:"executions"`
		Failures []struct {
			Error struct {
				Name    string `json:"name"`
				Test    string `json:"test"`
				Message string `json:"message"`
			} `json:"error"`
			Source struct {
				Name string `json:"name"`
			} `json:"source"`
		} `json:"failures"`
	} `json:"run"`
}

func readReport(file string) (*report, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("newman wrote no JSON report: %w", err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decoding newman's report %s: %w", file, err)
	}
	return &r, nil
}
