package routertest

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"bookstore/router/bookstore/openapi/openapitest"
)

// maxShown is how much of a drifting answer's body a report shows.
const maxShown = 4 << 10

// checkREST wraps a router's handler so that every answer to a REST path
// (openapitest.Covers) is checked against the OpenAPI document. Drift is
// reported with t.Errorf, request and answer shown, when the test's
// cleanup runs: answers are written on the server's goroutines, where a
// fuzz target's *testing.F may not fail, and the router must be stopped
// after the reports' cleanup is registered, so that every answer is in.
func checkREST(t testing.TB, next http.Handler) http.Handler {
	t.Helper()
	v, err := openapitest.NewValidator()
	if err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	var (
		mu    sync.Mutex
		drift []string
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range drift {
			t.Errorf("%s", d)
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !openapitest.Covers(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if !rec.wrote {
			rec.WriteHeader(http.StatusOK)
		}
		if err := v.Validate(r, rec.status, rec.header, rec.body.Bytes()); err != nil {
			body := rec.body.Bytes()
			if len(body) > maxShown {
				body = append(body[:maxShown:maxShown], "…"...)
			}
			report := fmt.Sprintf("the REST answer drifts from router/bookstore/openapi/openapi.yaml: %v\nrequest: %s %s %v\nanswer: %d %v\n%s",
				err, r.Method, r.URL.RequestURI(), r.Header, rec.status, rec.header, body)
			mu.Lock()
			drift = append(drift, report)
			mu.Unlock()
		}
	})
}

// recorder passes an answer through, keeping a copy of its status,
// headers and body.
type recorder struct {
	http.ResponseWriter
	wrote  bool
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if r.wrote {
		return
	}
	r.wrote, r.status, r.header = true, status, r.ResponseWriter.Header().Clone()
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
