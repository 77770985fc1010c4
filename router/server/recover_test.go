package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"bookstore/graph/testkit/roundtrip"
	"bookstore/router/bookstore/openapi/openapitest"
	"bookstore/router/server"
)

// TestRESTPanic: a panic in the REST shims is a 500 with the REST error
// body, as the OpenAPI document has it, not a GraphQL one.
func TestRESTPanic(t *testing.T) {
	srv := httptest.NewServer(server.NewHandler(server.Options{
		REST: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("a bug") }),
	}))
	defer srv.Close()
	v, err := openapitest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, route := range [][2]string{{"GET", "/books"}, {"GET", "/books/x"}, {"POST", "/orders/x/cancel"}} {
		method, path := route[0], route[1]
		resp, body := roundtrip.Do(t, nil, method, srv.URL+path, nil, nil)
		if resp.StatusCode != 500 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
		}
		if err := v.Validate(resp.Request, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("%v\n%s", err, body)
		}
	}
}
