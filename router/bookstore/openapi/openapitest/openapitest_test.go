package openapitest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"bookstore/router/bookstore/openapi"
	"bookstore/router/bookstore/openapi/openapitest"
)

func newValidator(t *testing.T) *openapitest.Validator {
	t.Helper()
	v, err := openapitest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDocumentIsOpenAPI31 checks the document against the OpenAPI 3.1
// schema, and every schema object in it against JSON Schema 2020-12 (which
// the OpenAPI schema leaves to the dialect).
func TestDocumentIsOpenAPI31(t *testing.T) {
	if err := newValidator(t).CheckDocument(); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(openapi.Document(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi: %v", doc["openapi"])
	}
	defs := map[string]any{}
	collectSchemas(doc, "", defs)
	if len(defs) < 20 {
		t.Fatalf("found %d schemas; the walk is broken", len(defs))
	}
	raw, err := json.Marshal(map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs})
	if err != nil {
		t.Fatal(err)
	}
	// The schemas' references point at components/schemas; here they are
	// under $defs.
	raw = bytes.ReplaceAll(raw, []byte(`"#/components/schemas/`), []byte(`"#/$defs/`))
	all, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	const url = "urn:bookstore:openapi-schemas"
	if err := c.AddResource(url, all); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile(url); err != nil {
		t.Fatalf("a schema is not JSON Schema 2020-12: %v", err)
	}
	for name := range defs {
		if _, err := c.Compile(url + "#/$defs/" + name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// collectSchemas puts every schema object of the OpenAPI document node (at
// JSON pointer path) into defs: the components' schemas by name, the others
// (under a "schema" key) by where they are.
func collectSchemas(node any, path string, defs map[string]any) {
	switch n := node.(type) {
	case map[string]any:
		for k, v := range n {
			switch {
			case path == "/components" && k == "schemas":
				for name, s := range v.(map[string]any) {
					defs[name] = s
				}
			case k == "schema":
				defs[strings.NewReplacer("/", ".", "{", "", "}", "").Replace(strings.TrimPrefix(path, "/"))] = v
			default:
				collectSchemas(v, path+"/"+k, defs)
			}
		}
	case []any:
		for i, v := range n {
			collectSchemas(v, path+"/"+strconv.Itoa(i), defs)
		}
	}
}

// TestRoutes: the document has the shims' routes, HEAD wherever GET is.
func TestRoutes(t *testing.T) {
	got := newValidator(t).Routes()
	want := []string{
		"GET /books", "HEAD /books", "POST /books",
		"GET /books/{id}", "HEAD /books/{id}",
		"GET /orders", "HEAD /orders", "POST /orders",
		"GET /orders/{id}", "HEAD /orders/{id}",
		"POST /orders/{id}/cancel",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("routes\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCovers(t *testing.T) {
	for path, want := range map[string]bool{
		"/books": true, "/books/": true, "/books/x/y": true, "/orders": true, "/orders/x/cancel": true,
		"/bookshelf": false, "/graphql": false, "/": false, "/openapi.yaml": false, "/ordersx": false,
	} {
		if got := openapitest.Covers(path); got != want {
			t.Errorf("Covers(%q) = %v", path, got)
		}
	}
}

const orderID = "71266a06-d409-4e64-9f6b-745e2002e8f4"

// book returns a valid Book, changed by edits (a nil value deletes the
// field).
func book(edits map[string]any) map[string]any {
	b := map[string]any{
		"id": "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", "isbn": "9780134190440", "title": "The Go Programming Language",
		"author": "Alan A. A. Donovan", "description": "", "publishedYear": 2015, "priceCents": 3999, "currency": "USD",
		"stock": 25, "inStock": true, "createdAt": "2026-11-24T23:39:30.006441Z", "updatedAt": "2026-11-24T23:39:30Z",
		"unitsSold": 0,
	}
	return edit(b, edits)
}

func order(edits map[string]any) map[string]any {
	o := map[string]any{
		"id": orderID, "customerEmail": "ada@example.com", "status": "PLACED",
		"items": []any{map[string]any{
			"book":     map[string]any{"id": "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", "title": "T", "author": "A", "isbn": "9780134190440"},
			"quantity": 2, "unitPriceCents": 3999, "lineTotalCents": 7998,
		}},
		"totalCents": 7998, "currency": "USD", "createdAt": "2026-11-24T23:39:53.127008Z", "cancelledAt": nil,
	}
	return edit(o, edits)
}

// deleted marks a field to delete in edits.
type deleted struct{}

func edit(m map[string]any, edits map[string]any) map[string]any {
	for k, v := range edits {
		if _, ok := v.(deleted); ok {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func page(items ...any) map[string]any {
	if items == nil {
		items = []any{}
	}
	return map[string]any{"items": items, "pageInfo": map[string]any{"hasNextPage": false, "endCursor": nil}, "totalCount": len(items)}
}

func apiError(code string, details map[string]any) map[string]any {
	e := map[string]any{"code": code, "message": "m"}
	if details != nil {
		e["details"] = details
	}
	return map[string]any{"error": e}
}

// TestValidate: answers as the shims send them pass; answers that drift
// from the document fail, naming the problem.
func TestValidate(t *testing.T) {
	v := newValidator(t)
	created := http.Header{"Location": {"/orders/" + orderID}}
	for _, tc := range []struct {
		name, method, target string
		status               int
		header               http.Header // beside Content-Type: application/json and X-Request-Id
		body                 any         // marshalled; a string is sent as it is
		problem              string      // "" when valid; else a part of the error
	}{
		// Answers as the shims send them.
		{"a book", "GET", "/books/x", 200, nil, book(nil), ""},
		{"unitsSold null", "GET", "/books/x", 200, nil, book(map[string]any{"unitsSold": nil, "publishedYear": nil}), ""},
		{"a page of books", "GET", "/books?first=2", 200, nil, page(book(nil), book(nil)), ""},
		{"an empty page", "GET", "/books?first=0", 200, nil, page(), ""},
		{"a created book", "POST", "/books", 201, http.Header{"Location": {"/books/x%2Fy"}}, book(nil), ""},
		{"an order", "GET", "/orders/" + orderID, 200, nil, order(nil), ""},
		{"a cancelled order", "POST", "/orders/" + orderID + "/cancel", 200, nil, order(map[string]any{"status": "CANCELLED", "cancelledAt": "2026-11-25T00:00:00Z"}), ""},
		{"a placed order", "POST", "/orders", 201, created, order(nil), ""},
		{"a replay", "POST", "/orders", 201, http.Header{"Location": created["Location"], "Idempotent-Replayed": {"true"}}, order(nil), ""},
		{"a page of orders", "GET", "/orders", 200, nil, page(order(nil)), ""},
		{"HEAD", "HEAD", "/books", 200, nil, "", ""},
		{"bad input", "GET", "/books?first=-1", 400, nil, apiError("BAD_USER_INPUT", map[string]any{"field": "first"}), ""},
		{"unauthenticated", "GET", "/orders", 401, http.Header{"Www-Authenticate": {"Bearer"}}, apiError("UNAUTHENTICATED", nil), ""},
		{"insufficient stock", "POST", "/orders", 409, nil, apiError("INSUFFICIENT_STOCK", map[string]any{"bookId": "b", "available": 0}), ""},
		{"key reused", "POST", "/orders", 422, nil, apiError("IDEMPOTENCY_KEY_REUSED", map[string]any{"field": "Idempotency-Key"}), ""},
		{"too large", "POST", "/books", 413, nil, apiError("BAD_REQUEST", nil), ""},
		{"down", "GET", "/orders/x", 503, http.Header{"Retry-After": {"1"}}, apiError("SUBGRAPH_UNAVAILABLE", nil), ""},
		{"placed, its books' details unavailable", "POST", "/orders", 201, created, order(map[string]any{"items": []any{map[string]any{
			"book":     map[string]any{"id": "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", "title": nil, "author": nil, "isbn": nil},
			"quantity": 2, "unitPriceCents": 3999, "lineTotalCents": 7998,
		}}}), ""},
		{"no route", "GET", "/books/x/y", 404, nil, apiError("NOT_FOUND", nil), ""},
		{"trailing slash", "GET", "/orders/", 404, nil, apiError("NOT_FOUND", nil), ""},
		{"method not allowed", "DELETE", "/books", 405, http.Header{"Allow": {"GET, HEAD, POST"}}, apiError("BAD_REQUEST", nil), ""},
		{"an unusual method", "BREW", "/orders/x/cancel", 405, http.Header{"Allow": {"POST"}}, apiError("BAD_REQUEST", nil), ""},
		{"HEAD where only POST is", "HEAD", "/orders/x/cancel", 405, http.Header{"Allow": {"POST"}}, "", ""},
		{"HEAD of no route", "HEAD", "/books/x/y", 404, nil, "", ""},

		// Drift.
		{"a required field missing", "GET", "/books/x", 200, nil, book(map[string]any{"unitsSold": deleted{}}), "unitsSold"},
		{"a null field left out", "POST", "/orders", 201, created, order(map[string]any{"cancelledAt": deleted{}}), "cancelledAt"},
		{"a wrong type", "GET", "/books/x", 200, nil, book(map[string]any{"priceCents": "3999"}), "priceCents"},
		{"a non-nullable field null", "GET", "/books/x", 200, nil, book(map[string]any{"stock": nil}), "stock"},
		{"an extra field", "GET", "/books/x", 200, nil, book(map[string]any{"cover": "x.png"}), "cover"},
		{"out of bounds", "GET", "/books/x", 200, nil, book(map[string]any{"stock": -1}), "stock"},
		{"not a date-time", "GET", "/books/x", 200, nil, book(map[string]any{"createdAt": "yesterday"}), "createdAt"},
		{"a date-time not in UTC", "GET", "/books/x", 200, nil, book(map[string]any{"updatedAt": "2026-11-24T23:39:30+01:00"}), "updatedAt"},
		{"an order id not a UUID", "GET", "/orders/x", 200, nil, order(map[string]any{"id": "42"}), "id"},
		{"an unknown status", "GET", "/orders/x", 200, nil, order(map[string]any{"status": "SHIPPED"}), "status"},
		{"a line without its book", "GET", "/orders/x", 200, nil, order(map[string]any{"items": []any{map[string]any{"quantity": 1, "unitPriceCents": 1, "lineTotalCents": 1}}}), "book"},
		{"a page without totalCount", "GET", "/books", 200, nil, map[string]any{"items": []any{}, "pageInfo": map[string]any{"hasNextPage": false, "endCursor": nil}}, "totalCount"},
		{"a GraphQL connection", "GET", "/books", 200, nil, map[string]any{"edges": []any{}, "pageInfo": map[string]any{"hasNextPage": false, "endCursor": nil}, "totalCount": 0}, "edges"},
		{"a page item not a book", "GET", "/orders", 200, nil, page(book(nil)), "customerEmail"},
		{"an undocumented status", "GET", "/books/x", 418, nil, apiError("BAD_REQUEST", nil), "418"},
		{"a 503 that does not say when to retry", "GET", "/orders/x", 503, nil, apiError("SUBGRAPH_UNAVAILABLE", nil), "Retry-After"},
		{"a status another operation has", "GET", "/books", 409, nil, apiError("INSUFFICIENT_STOCK", map[string]any{"bookId": "b", "available": 0}), "409"},
		{"an unknown error code", "GET", "/books/x", 500, nil, apiError("TEAPOT", nil), "code"},
		{"a code of another status", "GET", "/books/x", 404, nil, apiError("BAD_USER_INPUT", nil), "code"},
		{"an error without a message", "GET", "/books/x", 404, nil, map[string]any{"error": map[string]any{"code": "NOT_FOUND"}}, "message"},
		{"empty details", "GET", "/books", 400, nil, apiError("BAD_USER_INPUT", map[string]any{}), "details"},
		{"an error with a GraphQL body", "GET", "/books", 400, nil, map[string]any{"errors": []any{map[string]any{"message": "m"}}}, "errors"},
		{"stock details missing", "POST", "/orders", 409, nil, apiError("INSUFFICIENT_STOCK", nil), "details"},
		{"no Location", "POST", "/orders", 201, nil, order(nil), "Location"},
		{"a Location elsewhere", "POST", "/orders", 201, http.Header{"Location": {"/books/x"}}, order(nil), "Location"},
		{"Idempotent-Replayed false", "POST", "/orders", 201, http.Header{"Location": created["Location"], "Idempotent-Replayed": {"false"}}, order(nil), "Idempotent-Replayed"},
		{"no WWW-Authenticate", "POST", "/books", 401, nil, apiError("UNAUTHENTICATED", nil), "WWW-Authenticate"},
		{"not JSON", "GET", "/books/x", 200, http.Header{"Content-Type": {"text/plain"}}, "hello", "text/plain"},
		{"a body cut short", "GET", "/books/x", 200, nil, `{"id":`, "decode"},
		{"a HEAD status undocumented", "HEAD", "/books", 418, nil, "", "418"},
		{"no route, not 404", "GET", "/books/x/y", 400, nil, apiError("BAD_REQUEST", nil), "404"},
		{"no route, another code", "GET", "/books/", 404, nil, apiError("BAD_REQUEST", nil), "code"},
		{"a method not served, not 405", "DELETE", "/books/x", 404, nil, apiError("NOT_FOUND", nil), "405"},
		{"Allow wrong", "PUT", "/books/x", 405, http.Header{"Allow": {"GET, POST"}}, apiError("BAD_REQUEST", nil), "Allow"},
		{"Allow missing", "PUT", "/orders", 405, nil, apiError("BAD_REQUEST", nil), "Allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"rid"}}
			for k, vals := range tc.header {
				header[k] = vals
			}
			body, ok := tc.body.(string)
			if !ok {
				raw, err := json.Marshal(tc.body)
				if err != nil {
					t.Fatal(err)
				}
				body = string(raw)
			}
			err := v.Validate(httptest.NewRequest(tc.method, tc.target, nil), tc.status, header, []byte(body))
			switch {
			case tc.problem == "" && err != nil:
				t.Fatalf("a valid answer fails: %v", err)
			case tc.problem != "" && err == nil:
				t.Fatalf("drift (%s) passes", tc.problem)
			case tc.problem != "" && !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.problem)):
				t.Fatalf("the error does not name %q: %v", tc.problem, err)
			}
		})
	}
	t.Run("X-Request-Id missing", func(t *testing.T) {
		err := v.Validate(httptest.NewRequest("GET", "/books/x", nil), 200, http.Header{"Content-Type": {"application/json"}}, must(json.Marshal(book(nil))))
		if err == nil || !strings.Contains(err.Error(), "X-Request-Id") {
			t.Fatalf("err %v", err)
		}
	})
}

// TestValidateConcurrently: one Validator serves a router's concurrent
// answers (run with -race).
func TestValidateConcurrently(t *testing.T) {
	v := newValidator(t)
	good := must(json.Marshal(page(book(nil), book(map[string]any{"unitsSold": nil}))))
	bad := must(json.Marshal(page(book(map[string]any{"stock": "x"}))))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			body, wantErr := good, false
			if i%2 == 1 {
				body, wantErr = bad, true
			}
			err := v.Validate(httptest.NewRequest("GET", "/books", nil), 200,
				http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"r"}}, body)
			if (err != nil) != wantErr {
				errs <- fmt.Errorf("answer %d: err %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
