package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/roundtrip"
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
	resp, body := roundtrip.Do(t, nil, http.MethodGet, baseURL+"/metrics", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: status %d", baseURL, resp.StatusCode)
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

// TestCompressionEndToEnd: a page of books, from the REST shim and from
// /graphql, comes compressed to a client that accepts gzip or zstd, and
// decompresses to the plain answer; a gzipped request body is taken.
// Identical requests at once all get the whole answer.
func TestCompressionEndToEnd(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	get := func(path, accept string) (*http.Response, []byte) {
		t.Helper()
		var h http.Header
		if accept != "" {
			h = http.Header{"Accept-Encoding": {accept}}
		}
		return roundtrip.Do(t, client, http.MethodGet, s.Router.URL+path, nil, h)
	}
	const page = "/books?first=30"
	plainRes, plain := get(page, "")
	if plainRes.StatusCode != 200 || len(plain) < 4<<10 || plainRes.Header.Get("Content-Encoding") != "" {
		t.Fatalf("plain: %d, %d bytes, %q", plainRes.StatusCode, len(plain), plainRes.Header.Get("Content-Encoding"))
	}
	for _, accept := range []string{"gzip", "zstd", "gzip, deflate, br, zstd"} {
		res, b := get(page, accept)
		var got []byte
		switch enc := res.Header.Get("Content-Encoding"); enc {
		case "gzip":
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if got, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		case "zstd":
			d, err := zstd.NewReader(nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err = d.DecodeAll(b, nil)
			d.Close()
			if err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", accept, enc)
		}
		if !bytes.Equal(got, plain) || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: %d bytes decoded, %d plain; Vary %q", accept, len(got), len(plain), res.Header.Get("Vary"))
		}
		if len(b)*3 > len(plain) {
			t.Errorf("Accept-Encoding %q: %d bytes compressed to %d", accept, len(plain), len(b))
		}
	}

	// A gzipped GraphQL request.
	var zbody bytes.Buffer
	zw := gzip.NewWriter(&zbody)
	io.WriteString(zw, `{"query":"{ books(first: 2) { edges { node { title } } } }"}`)
	zw.Close()
	r := s.Router.Do(t, http.MethodPost, "/graphql", "application/json", zbody.String(), http.Header{"Content-Encoding": {"gzip"}})
	if r.Status != 200 || !strings.Contains(string(r.Data), "Brave New World") {
		t.Fatalf("gzipped request: %d %s", r.Status, r.Body)
	}

	// Identical requests at once, REST and GraphQL: every one gets the
	// whole answer, whether it shared or not.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			if i%2 == 0 {
				res, b := get(page, "")
				if res.StatusCode != 200 || !bytes.Equal(b, plain) {
					t.Errorf("GET %s: %d, %d bytes", page, res.StatusCode, len(b))
				}
				return
			}
			r := s.Router.GraphQL(t, `{ books(first: 2) { edges { node { title } } } }`, nil, nil)
			if r.Status != 200 || len(r.Errors) > 0 || !strings.Contains(string(r.Data), "Brave New World") {
				t.Errorf("GraphQL: %d %s", r.Status, r.Body)
			}
		})
	}
	wg.Wait()
}
