package httpkit_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"bookstore/graph/platform/httpkit"
)

var madeID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestValidRequestID(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   string
		want bool
	}{
		{"empty", "", false},
		{"short", "r", true},
		{"printable ASCII", "client-chosen id 42 ~!@#$%^&*()_+{}|:<>?", true},
		{"at the cap", strings.Repeat("x", 200), true},
		{"over the cap", strings.Repeat("x", 201), false},
		{"CR", "a\rb", false},
		{"LF", "a\nb", false},
		{"tab", "a\tb", false},
		{"NUL", "a\x00b", false},
		{"DEL", "a\x7fb", false},
		{"not ASCII", "café", false},
	} {
		if got := httpkit.ValidRequestID(tc.id); got != tc.want {
			t.Errorf("%s: ValidRequestID(%q) = %v, want %v", tc.name, tc.id, got, tc.want)
		}
	}
}

func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := httpkit.NewRequestID()
		if !madeID.MatchString(id) || seen[id] {
			t.Fatalf("NewRequestID() = %q: not 32 hex digits, or seen before", id)
		}
		seen[id] = true
	}
}

func TestRequestID(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header []string // the client's X-Request-Id values; nil: none
		keep   bool     // the client's first value is kept
	}{
		{"none", nil, false},
		{"a sane one", []string{"client-chosen-id-42"}, true},
		{"an empty one", []string{""}, false},
		{"too long", []string{strings.Repeat("x", 201)}, false},
		{"with a line feed", []string{"a\nb"}, false},
		{"not ASCII", []string{"idé"}, false},
		{"two, the first sane", []string{"first", "second"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var seen string
			h := httpkit.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				seen = r.Header.Get("X-Request-Id")
			}))
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != nil {
				r.Header["X-Request-Id"] = tc.header
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			got := rec.Header().Get("X-Request-Id")
			if got != seen {
				t.Fatalf("the handler saw %q, the response says %q", seen, got)
			}
			if tc.keep {
				if got != tc.header[0] {
					t.Fatalf("X-Request-Id %q, want the client's %q", got, tc.header[0])
				}
				return
			}
			if !madeID.MatchString(got) || len(r.Header["X-Request-Id"]) != 1 {
				t.Fatalf("X-Request-Id %q (request: %q), want one made", got, r.Header["X-Request-Id"])
			}
		})
	}
}
