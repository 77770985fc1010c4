package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/execute"
	"bookstore/router/federation/gateway"
	"bookstore/router/server"
)

// down is a fetcher whose subgraphs never answer: the fuzz target checks
// the request decoding and the pipeline before any fetch, and an execution
// that reaches a fetch ends in SUBGRAPH_UNAVAILABLE.
type down struct{}

func (down) Do(context.Context, execute.FetchRequest) (*execute.FetchResponse, error) {
	return nil, execute.ErrUnavailable
}

func handler(t testing.TB) http.Handler {
	raw, err := os.ReadFile("../federation/oracle/testdata/supergraphs/bookstore.graphql")
	if err != nil {
		t.Fatal(err)
	}
	sg, err := compose.ParseSupergraph(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(gateway.Options{Fetcher: down{}, Introspection: true})
	gw.SetSupergraph(sg)
	return server.NewHandler(server.Options{Gateway: gw, MaxBodyBytes: 64 << 10})
}

// FuzzGraphQLRequest sends arbitrary bodies and content types to /graphql.
// Whatever comes in, the answer is JSON with a contract code on every
// error, and never a 5xx other than SUBGRAPH_UNAVAILABLE's 200-with-errors.
// `go test` runs the seed corpus; `go test -fuzz FuzzGraphQLRequest` explores.
func FuzzGraphQLRequest(f *testing.F) {
	seeds := []struct{ contentType, body string }{
		{"application/json", `{"query":"{ books { totalCount } }"}`},
		{"application/json", `{"query":"query($n: Int) { books(first: $n) { edges { node { title unitsSold } } } }","variables":{"n":3}}`},
		{"application/json", `{"query":"mutation { placeOrder(input: {customerEmail: \"a@b.co\", items: []}) { id } }"}`},
		{"application/json", `{"query":"query A { __typename } query B { __schema { types { name } } }","operationName":"B"}`},
		{"application/json", `[{"query":"{ __typename }"}]`},
		{"application/json", `{"query": null}`},
		{"application/json", `{"query":"{ book(id: \"x\") { ...F } } fragment F on Book { ...F }"}`},
		{"application/json", `{"query":"{","variables":"x"}`},
		{"application/json", `{"query":"{ __typename }","variables":{"a":[1,2,{"b":1e400}]}}`},
		{"text/plain", `{"query":"{ __typename }"}`},
		{"application/json; charset=utf-8", "\xff\xfe"},
		{"application/json", `{"query":"{ orders(first: 1, filter: {status: PLACED}) { edges { node { items { book { title } } } } } }"}`},
	}
	for _, s := range seeds {
		f.Add(s.contentType, s.body)
	}
	h := handler(f)
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q %q: %s", rec.Code, contentType, body, rec.Body)
		}
		var resp struct {
			Data   json.RawMessage
			Errors []struct {
				Extensions map[string]any
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("the answer is not JSON: %v: %s", err, rec.Body)
		}
		for _, e := range resp.Errors {
			if code, _ := e.Extensions["code"].(string); code == "" || code == "INTERNAL_SERVER_ERROR" {
				t.Fatalf("error without a contract code, or internal, for %q: %s", body, rec.Body)
			}
		}
		if rec.Code != http.StatusOK && resp.Data != nil {
			t.Fatalf("a refused request has data: %s", rec.Body)
		}
	})
}
