package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"bookstore/graph/testkit/roundtrip"
	"bookstore/router/federation/execute/executetest"
	"bookstore/router/federation/gateway"
	"bookstore/router/server"
)

// workloadHandler is the router's handler over w's fake subgraphs, which
// replay their answers.
func workloadHandler(t testing.TB, w executetest.Workload) http.Handler {
	t.Helper()
	f, err := executetest.New(w.Supergraph, w.Subgraphs)
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(gateway.Options{Fetcher: executetest.NewMemo(f)})
	gw.SetSupergraph(w.Supergraph)
	return server.NewHandler(server.Options{Gateway: gw})
}

// checkContentLength checks that an answer says the length of its body.
func checkContentLength(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
		t.Errorf("%s %s: Content-Length %q for a body of %d bytes", resp.Request.Method, resp.Request.URL.Path, cl, len(body))
	}
}

// TestGraphQLContentLength checks that a GraphQL response is sent with its
// Content-Length, not chunked, whatever its size, and that a released
// buffer is not the next response's: every answer is whole and right.
func TestGraphQLContentLength(t *testing.T) {
	for _, w := range executetest.Workloads(t) {
		if w.Name != "big-passthrough" { // the same size as big-shaped
			t.Run(w.Name, func(t *testing.T) { testContentLength(t, w) })
		}
	}
}

// testContentLength asks for w's query three times, uncompressed: a
// compressed answer's length is not known before it is written
// (compress_test covers those).
func testContentLength(t *testing.T, w executetest.Workload) {
	srv := httptest.NewServer(workloadHandler(t, w))
	defer srv.Close()
	body, _ := json.Marshal(map[string]string{"query": w.Query})
	var first []byte
	for i := range 3 {
		resp, got := roundtrip.Do(t, nil, http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body),
			http.Header{"Content-Type": {"application/json"}, "Accept-Encoding": {"identity"}})
		if len(resp.TransferEncoding) > 0 {
			t.Errorf("Transfer-Encoding %v, want none", resp.TransferEncoding)
		}
		checkContentLength(t, resp, got)
		if !json.Valid(got) || bytes.Contains(got, []byte(`"errors"`)) {
			t.Fatalf("status %d: %.300s", resp.StatusCode, got)
		}
		if i == 0 {
			first = got
		} else if !bytes.Equal(got, first) {
			t.Errorf("answer %d differs from the first", i)
		}
	}
}

// TestGraphQLContentLengthErrors checks the Content-Length of answers with
// errors, and of refusals.
func TestGraphQLContentLengthErrors(t *testing.T) {
	srv := httptest.NewServer(handler(t))
	defer srv.Close()
	for _, q := range []string{`{ books { totalCount } }`, `{ nope }`} {
		body, _ := json.Marshal(map[string]string{"query": q})
		resp, got := roundtrip.Do(t, nil, http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
		checkContentLength(t, resp, got)
		if !json.Valid(got) || !bytes.Contains(got, []byte(`"errors"`)) {
			t.Errorf("%s: status %d: %s", q, resp.StatusCode, got)
		}
	}
}
