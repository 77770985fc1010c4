package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"bookstore/router/federation/execute/executetest"
	"bookstore/router/federation/gateway"
	"bookstore/router/server"
)

// TestGraphQLContentLength checks that a GraphQL response is sent with its
// Content-Length, not chunked, whatever its size, and that a released
// buffer is not the next response's: every answer is whole and right.
func TestGraphQLContentLength(t *testing.T) {
	for _, w := range executetest.Workloads(t) {
		if w.Name == "big-passthrough" {
			continue // the same size as big-shaped
		}
		t.Run(w.Name, func(t *testing.T) {
			f, err := executetest.New(w.Supergraph, w.Subgraphs)
			if err != nil {
				t.Fatal(err)
			}
			gw := gateway.New(gateway.Options{Fetcher: executetest.NewMemo(f)})
			gw.SetSupergraph(w.Supergraph)
			srv := httptest.NewServer(server.NewHandler(server.Options{Gateway: gw}))
			defer srv.Close()
			body, _ := json.Marshal(map[string]string{"query": w.Query})
			var first []byte
			for i := range 3 {
				// Uncompressed: a compressed answer's length is not known
				// before it is written (compress_test covers those).
				req, err := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept-Encoding", "identity")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if len(resp.TransferEncoding) > 0 {
					t.Errorf("Transfer-Encoding %v, want none", resp.TransferEncoding)
				}
				if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(got)) {
					t.Errorf("Content-Length %q for a body of %d bytes", cl, len(got))
				}
				if !json.Valid(got) || bytes.Contains(got, []byte(`"errors"`)) {
					t.Fatalf("status %d: %.300s", resp.StatusCode, got)
				}
				if i == 0 {
					first = got
				} else if !bytes.Equal(got, first) {
					t.Errorf("answer %d differs from the first", i)
				}
			}
		})
	}
}

// TestGraphQLContentLengthErrors checks the Content-Length of answers with
// errors, and of refusals.
func TestGraphQLContentLengthErrors(t *testing.T) {
	srv := httptest.NewServer(handler(t))
	defer srv.Close()
	for _, q := range []string{`{ books { totalCount } }`, `{ nope }`} {
		body, _ := json.Marshal(map[string]string{"query": q})
		resp, err := http.Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(got)) {
			t.Errorf("%s: Content-Length %q for a body of %d bytes", q, cl, len(got))
		}
		if !json.Valid(got) || !bytes.Contains(got, []byte(`"errors"`)) {
			t.Errorf("%s: status %d: %s", q, resp.StatusCode, got)
		}
	}
}
