package gqltest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"bookstore/graph/platform/service"
)

// Handler is a subgraph's whole HTTP handler as its service serves it (the
// routes, request log, metrics, timeout and GraphQL), over a pool of its
// own, called without a network: for benchmarks of a request's cost in
// the service itself. It logs at info, as a deployment does, to nowhere.
type Handler struct {
	http.Handler
	Pool    *pgxpool.Pool
	Counter *Counter
}

// NewHandler builds the subgraph that build makes over a pool of
// databaseURL; env supplies the settings the service reads. The pool
// closes when the test or benchmark ends.
func NewHandler(tb testing.TB, name, databaseURL string, env map[string]string, build service.BuildFunc, opts ...Option) *Handler {
	tb.Helper()
	sub := newSubgraph(tb, name, databaseURL, env, build, service.NewLogger(io.Discard, slog.LevelInfo), opts)
	return &Handler{Handler: sub.handler, Pool: sub.pool, Counter: sub.counter}
}

// Body encodes a GraphQL request body.
func Body(tb testing.TB, query string, vars map[string]any) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Do posts body to /query and returns the response body, failing unless
// the status is 200 and the response has data and no errors.
func (h *Handler) Do(tb testing.TB, body []byte) []byte {
	tb.Helper()
	var w Recorder
	h.Serve(&w, body)
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []Error         `json:"errors"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Status != http.StatusOK || len(r.Errors) > 0 || len(r.Data) == 0 {
		tb.Fatalf("POST /query: %d %s", w.Status, w.Body.Bytes())
	}
	return w.Body.Bytes()
}

// Serve posts body to /query into w, which is reset first. A benchmark
// calls it in its loop with the same w, and checks w.Status.
func (h *Handler) Serve(w *Recorder, body []byte) {
	w.reset()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "/query", bytes.NewReader(body))
	if err != nil {
		panic(err) // a constant URL and method: cannot fail
	}
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(w, req)
}

// Bench measures serving body in b's loop: it serves it once first,
// failing unless it answers data, then reports allocations, the process's
// CPU time per request (cpu-ns/op) and the SQL statements sent per request
// (statements/op). Every request must answer 200.
func (h *Handler) Bench(b *testing.B, body []byte) {
	b.Helper()
	h.Do(b, body)
	var w Recorder
	h.Counter.Reset()
	b.ReportAllocs()
	cpu := CPUTime()
	for b.Loop() {
		h.Serve(&w, body)
		if w.Status != http.StatusOK {
			b.Fatalf("status %d: %s", w.Status, w.Body.Bytes())
		}
	}
	b.ReportMetric(float64(CPUTime()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(h.Counter.Count())/float64(b.N), "statements/op")
}

// Recorder is an http.ResponseWriter that keeps the status and the body,
// and can be reused from request to request.
type Recorder struct {
	Status int
	Body   bytes.Buffer
	header http.Header
}

func (w *Recorder) reset() {
	w.Status = 0
	w.Body.Reset()
	clear(w.header)
}

// Header implements http.ResponseWriter.
func (w *Recorder) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

// WriteHeader implements http.ResponseWriter.
func (w *Recorder) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
}

// Write implements http.ResponseWriter.
func (w *Recorder) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.Body.Write(b)
}

// CPUTime returns the CPU time the process has used so far, user and
// system, every thread. A benchmark of requests reports it per request
// (cpu-ns/op): unlike ns/op, it leaves out the time spent waiting for
// PostgreSQL.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
