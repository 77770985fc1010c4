package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"bookstore/router/federation/execute/executetest"
)

// discard is a ResponseWriter that keeps only the status and the size of
// the body.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(status int)      { d.status = status }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// BenchmarkServeGraphQL serves executetest.Workloads' operations through
// the router's handler (POST /graphql: decoding, the gateway's cached
// plan, execution over fake subgraphs that replay their answers, writing
// the response), with a ResponseWriter that discards the body.
func BenchmarkServeGraphQL(b *testing.B) {
	for _, w := range executetest.Workloads(b) {
		b.Run(w.Name, func(b *testing.B) {
			h := workloadHandler(b, w)
			body, err := json.Marshal(map[string]string{"query": w.Query})
			if err != nil {
				b.Fatal(err)
			}
			serve := func() *discard {
				r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				d := &discard{h: http.Header{}}
				h.ServeHTTP(d, r)
				return d
			}
			for range 20 {
				rec := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
					b.Fatalf("status %d: %.300s", rec.Code, rec.Body.Bytes())
				}
			}
			d := serve()
			b.SetBytes(int64(d.n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				serve()
			}
		})
	}
}
