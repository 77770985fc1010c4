package httpkit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"bookstore/graph/platform/httpkit"
)

func TestRecorder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    int
	}{
		{"explicit status", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }, http.StatusTeapot},
		{"first status wins", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusCreated},
		{"body without a status", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) }, http.StatusOK},
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httpkit.NewRecorder(httptest.NewRecorder())
			tc.handler(rec, httptest.NewRequest("GET", "/", nil))
			if got := rec.Status(); got != tc.want {
				t.Errorf("Status() = %d, want %d", got, tc.want)
			}
		})
	}
}
