package httpkit_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"bookstore/graph/platform/httpkit"
)

func TestHasMediaType(t *testing.T) {
	for _, tc := range []struct {
		ct    string
		types []string
		want  bool
	}{
		{"application/json", []string{"application/json"}, true},
		{"application/json; charset=utf-8", []string{"application/json"}, true},
		{"Application/JSON ; charset=UTF-8", []string{"application/json"}, true},
		{"application/graphql-response+json", []string{"application/json"}, false},
		{"application/graphql-response+json", []string{"application/json", "application/graphql-response+json"}, true},
		{"application/json; charset", []string{"application/json"}, false}, // a parameter that does not parse
		{"application/json;", []string{"application/json"}, true},
		{"", []string{"application/json"}, false},
		{"text/plain", []string{"application/json"}, false},
		{"application/jsonx", []string{"application/json"}, false},
		{"application/json", nil, false},
	} {
		if got := httpkit.HasMediaType(tc.ct, tc.types...); got != tc.want {
			t.Errorf("HasMediaType(%q, %q) = %v, want %v", tc.ct, tc.types, got, tc.want)
		}
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                        true,
		"application/json; charset=utf-8":         true,
		"Application/JSON ; charset=utf-8":        true,
		"application/graphql-response+json":       true,
		"application/problem+json; charset=utf-8": true,
		"":                          false,
		"text/plain; charset=utf-8": false,
		"text/html":                 false,
		"application/jsonx":         false,
		"application/+json":         false,
		"application/octet-stream":  false,
		"text/json":                 false,
	} {
		if got := httpkit.IsJSON(ct); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}

// failingReader fails every read.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    io.Reader
		limit   int64
		want    string
		status  int // 0: no error
		message string
		length  int64 // the Content-Length, when not the body's own
	}{
		{"empty", strings.NewReader(""), 4, "", 0, "", 0},
		{"under the limit", strings.NewReader("abc"), 4, "abc", 0, "", 0},
		{"at the limit", strings.NewReader("abcd"), 4, "abcd", 0, "", 0},
		{"over the limit", strings.NewReader("abcde"), 4, "", 413, "the body is larger than 4 bytes", 0},
		{"a read fails", failingReader{}, 4, "", 400, "the body could not be read", 0},
		{"shorter than its Content-Length", strings.NewReader("ab"), 4, "", 400, "the body could not be read", 3},
		{"a read fails, length known", failingReader{}, 4, "", 400, "the body could not be read", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", tc.body)
			if tc.length != 0 {
				r.ContentLength = tc.length
			}
			got, e := httpkit.ReadBody(httptest.NewRecorder(), r, tc.limit)
			if tc.status == 0 {
				if e != nil || string(got) != tc.want {
					t.Fatalf("ReadBody = %q, %v; want %q", got, e, tc.want)
				}
				return
			}
			if e == nil || e.Status != tc.status || e.Code != "BAD_REQUEST" || e.Message != tc.message || got != nil {
				t.Fatalf("ReadBody = %q, %+v; want %d BAD_REQUEST %q", got, e, tc.status, tc.message)
			}
		})
	}
}

func TestJSONProblem(t *testing.T) {
	decode := func(s string, into any) error { return json.Unmarshal([]byte(s), into) }
	var obj struct {
		Query string `json:"query"`
	}
	var m map[string]any
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"syntax", decode(`{"a" 1}`, &m), "invalid JSON at byte 6"},
		{"a field's type", decode(`{"query": 1}`, &obj), "query must not be a JSON number"},
		{"the value's type", decode(`[1]`, &m), "unexpected JSON array"},
		{"empty", json.NewDecoder(strings.NewReader("")).Decode(&m), "the JSON is empty or cut short"},
		{"cut short", json.NewDecoder(strings.NewReader(`{"a":`)).Decode(&m), "the JSON is empty or cut short"},
		{"anything else", errors.New("boom"), "invalid JSON"},
	} {
		if got := httpkit.JSONProblem(tc.err); got != tc.want {
			t.Errorf("%s: JSONProblem(%v) = %q, want %q", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		v      any
		want   int
		body   string
	}{
		{"an object", 200, map[string]string{"status": "ok"}, 200, `{"status":"ok"}` + "\n"},
		{"HTML characters are escaped", 201, map[string]string{"title": "<A> & B"}, 201, `{"title":"\u003cA\u003e \u0026 B"}` + "\n"},
		{"raw JSON passes through", 200, json.RawMessage(`{"a": 1}`), 200, `{"a":1}` + "\n"},
		{"a value that does not encode", 200, map[string]any{"f": func() {}}, 500,
			`{"error":{"code":"INTERNAL_SERVER_ERROR","message":"internal server error"}}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpkit.WriteJSON(rec, tc.status, tc.v)
			if rec.Code != tc.want || rec.Body.String() != tc.body || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %q %q; want %d %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tc.want, tc.body)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    *httpkit.Error
		body   string
		header http.Header // beside Content-Type
	}{
		{"no details", httpkit.NewError(404, "NOT_FOUND", "no route /x"),
			`{"error":{"code":"NOT_FOUND","message":"no route /x"}}` + "\n", http.Header{}},
		{"details", &httpkit.Error{Status: 400, Code: "BAD_USER_INPUT", Message: "first: must be <= 100", Details: map[string]any{"field": "first"}},
			`{"error":{"code":"BAD_USER_INPUT","message":"first: must be \u003c= 100","details":{"field":"first"}}}` + "\n", http.Header{}},
		{"401", httpkit.NewError(401, "UNAUTHENTICATED", "no token"),
			`{"error":{"code":"UNAUTHENTICATED","message":"no token"}}` + "\n", http.Header{"Www-Authenticate": {"Bearer"}}},
		{"503", httpkit.NewError(503, "SUBGRAPH_UNAVAILABLE", "down"),
			`{"error":{"code":"SUBGRAPH_UNAVAILABLE","message":"down"}}` + "\n", http.Header{"Retry-After": {"1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpkit.WriteError(rec, tc.err)
			if rec.Code != tc.err.Status || rec.Body.String() != tc.body {
				t.Fatalf("%d %s; want %d %s", rec.Code, rec.Body, tc.err.Status, tc.body)
			}
			h := rec.Header().Clone()
			if h.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
			h.Del("Content-Type")
			if len(h) != len(tc.header) {
				t.Errorf("headers %v, want %v", h, tc.header)
			}
			for k := range tc.header {
				if h.Get(k) != tc.header.Get(k) {
					t.Errorf("%s: %q, want %q", k, h.Get(k), tc.header.Get(k))
				}
			}
		})
	}
}

func TestWriteGraphQLError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *httpkit.Error
		body string
	}{
		{"a refusal", httpkit.NewError(415, "BAD_REQUEST", "Content-Type must be application/json"),
			`{"errors":[{"message":"Content-Type must be application/json","extensions":{"code":"BAD_REQUEST"}}]}`},
		{"details are extensions", &httpkit.Error{Status: 400, Code: "BAD_USER_INPUT", Message: "a <b>", Details: map[string]any{"field": "x"}},
			`{"errors":[{"message":"a \u003cb\u003e","extensions":{"code":"BAD_USER_INPUT","field":"x"}}]}`},
		{"a detail named code does not replace it", &httpkit.Error{Status: 400, Code: "BAD_REQUEST", Message: "m", Details: map[string]any{"code": "X"}},
			`{"errors":[{"message":"m","extensions":{"code":"BAD_REQUEST"}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpkit.WriteGraphQLError(rec, tc.err)
			if rec.Code != tc.err.Status || rec.Body.String() != tc.body || rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("%d %q %s; want %d %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tc.err.Status, tc.body)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	if got := httpkit.NewError(404, "NOT_FOUND", "gone").Error(); got != "NOT_FOUND: gone" {
		t.Fatalf("Error() = %q", got)
	}
}
