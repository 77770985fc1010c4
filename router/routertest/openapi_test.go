package routertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recordingTB keeps what checkREST reports, and its cleanups.
type recordingTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Helper()          {}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

// TestCheckREST: the hook reports a REST answer that drifts from the
// document, with the request and the answer, when the test ends; it leaves
// other paths and answers that match alone.
func TestCheckREST(t *testing.T) {
	answers := map[string]func(w http.ResponseWriter){
		"/books": func(w http.ResponseWriter) { // drift: a page without pageInfo and totalCount
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"items":[]}`)
		},
		"/books/x/y": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"NOT_FOUND","message":"no route /books/x/y"}}`)
		},
		"/graphql": func(w http.ResponseWriter) { _, _ = io.WriteString(w, "not checked") },
	}
	rec := &recordingTB{TB: t}
	h := checkREST(rec, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "rid")
		answers[r.URL.Path](w)
	}))
	srv := httptest.NewServer(h)
	for path := range answers {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	srv.Close()
	if len(rec.errs) != 0 {
		t.Fatalf("reported before the test ended: %q", rec.errs)
	}
	for _, f := range rec.cleanups {
		f()
	}
	if len(rec.errs) != 1 {
		t.Fatalf("%d reports, want 1 (GET /books): %q", len(rec.errs), rec.errs)
	}
	for _, want := range []string{"GET /books answered 200", "pageInfo", "totalCount", "request: GET /books", `answer: 200`, `{"items":[]}`} {
		if !strings.Contains(rec.errs[0], want) {
			t.Errorf("the report does not show %q:\n%s", want, rec.errs[0])
		}
	}
}
