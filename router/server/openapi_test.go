package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"bookstore/graph/testkit/roundtrip"
	"bookstore/router/bookstore/openapi"
	"bookstore/router/server"
)

// TestOpenAPIDocument: /openapi.yaml serves the document to GET and HEAD,
// and refuses other methods with 405 and Allow.
func TestOpenAPIDocument(t *testing.T) {
	srv := httptest.NewServer(server.NewHandler(server.Options{OpenAPI: openapi.Document()}))
	defer srv.Close()
	do := func(t *testing.T, method string) (*http.Response, []byte) {
		t.Helper()
		resp, body := roundtrip.Do(t, nil, method, srv.URL+"/openapi.yaml", strings.NewReader(""), nil)
		if resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", method)
		}
		return resp, body
	}
	t.Run("GET", func(t *testing.T) {
		resp, body := do(t, "GET")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/yaml" {
			t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !bytes.Equal(body, openapi.Document()) || !bytes.HasPrefix(body, []byte("openapi: 3.1.")) {
			t.Fatalf("the body is not the document: %.80q", body)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, body := do(t, "HEAD")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/yaml" || len(body) != 0 ||
			resp.ContentLength != int64(len(openapi.Document())) {
			t.Fatalf("%d %v %d bytes", resp.StatusCode, resp.Header, len(body))
		}
	})
	for _, method := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
		t.Run(method, func(t *testing.T) {
			resp, body := do(t, method)
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" || json.Unmarshal(body, &e) != nil ||
				e.Error.Code != "BAD_REQUEST" || e.Error.Message == "" {
				t.Fatalf("%d Allow %q: %s", resp.StatusCode, resp.Header.Get("Allow"), body)
			}
		})
	}
}
