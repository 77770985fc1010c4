package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/testdb"
	"bookstore/router/routertest"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

func TestFederatedQueryAcrossReplicas(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{Replicas: 2})
	// Named, so that the subgraphs count the router's fetches for it apart
	// from anything else (the router names them AcrossReplicas__<graph>__<n>).
	const query = `query AcrossReplicas { books(first: 2) { edges { node { title unitsSold } } } }`
	for range 4 { // round-robin reaches every replica
		r := s.Router.GraphQL(t, query, nil, nil)
		if r.Status != 200 || len(r.Errors) > 0 {
			t.Fatalf("status %d, errors %v", r.Status, r.Codes())
		}
		want := `{"books":{"edges":[{"node":{"title":"Brave New World","unitsSold":0}},{"node":{"title":"Clean Code","unitsSold":0}}]}}`
		if string(r.Data) != want {
			var pretty any
			_ = json.Unmarshal(r.Data, &pretty)
			t.Fatalf("data = %s\nwant %s", r.Data, want)
		}
	}
	// Every replica of each subgraph answered some of those fetches, by its
	// own /metrics. A subgraph counts a request before its answer ends, and
	// the router answers only after its fetches, so the counts are final.
	for _, sg := range []struct {
		graph    string
		replicas []*gqltest.Server
	}{{"books", s.Books}, {"orders", s.Orders}} {
		for i, r := range sg.replicas {
			if n := fetchesOf(t, r.URL, "AcrossReplicas__"+sg.graph+"__"); n == 0 {
				t.Errorf("%s replica %d (%s) answered none of the 4 queries' fetches", sg.graph, i, r.URL)
			}
		}
	}
}

// fetchesOf returns how many requests to /query a subgraph answered with
// 200 for operations whose names start with prefix, by its /metrics.
func fetchesOf(t *testing.T, baseURL, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", baseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: status %d, %v", baseURL, resp.StatusCode, err)
	}
	series := `http_requests_total{code="200",handler="/query",method="POST",operation="` + prefix
	n := 0.0
	for line := range strings.Lines(string(body)) {
		if !strings.HasPrefix(line, series) {
			continue
		}
		_, value, _ := strings.Cut(strings.TrimSpace(line), "} ")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("%s/metrics: %q: %v", baseURL, line, err)
		}
		n += v
	}
	return n
}
