// Package gqltest helps tests talk GraphQL over real HTTP to a running
// service, and count the SQL statements a request runs.
package gqltest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"bookstore/graph/platform/httpkit"
	"bookstore/graph/platform/service"
	"bookstore/graph/platform/telemetry"
	"bookstore/graph/testkit/syncbuf"
	"bookstore/graph/testkit/testdb"
)

// Error is one GraphQL error of a response.
type Error struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code returns extensions.code.
func (e Error) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// Response is a GraphQL response with its HTTP status.
type Response struct {
	Status     int
	Header     http.Header
	Data       json.RawMessage `json:"data"`
	Errors     []Error         `json:"errors"`
	Extensions map[string]any  `json:"extensions"`
	Raw        string
}

// Codes lists the errors' codes in order.
func (r Response) Codes() []string {
	out := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		out[i] = e.Code()
	}
	return out
}

// Decode unmarshals data into v, failing the test on errors in the
// response or a decoding failure.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %s", r.Raw)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decoding data: %v\n%s", err, r.Raw)
	}
}

// WantError fails the test unless the response has exactly one error, with
// the given code, and returns it.
func (r Response) WantError(t testing.TB, code string) Error {
	t.Helper()
	if len(r.Errors) != 1 || r.Errors[0].Code() != code {
		t.Fatalf("want one %s error, got status %d: %s", code, r.Status, r.Raw)
	}
	return r.Errors[0]
}

// Client posts GraphQL requests to URL.
type Client struct {
	URL   string
	Token string // sent as a Bearer token when not empty
	HTTP  *http.Client
}

// Do posts query with variables and returns the response.
func (c *Client) Do(t testing.TB, query string, vars map[string]any) Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return c.Post(t, "application/json", body)
}

// AsAdmin returns a copy of c that sends token.
func (c *Client) AsAdmin(token string) *Client {
	cc := *c
	cc.Token = token
	return &cc
}

// Post sends a raw body.
func (c *Client) Post(t testing.TB, contentType string, body []byte) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", c.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/") {
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("response is not JSON (status %d): %s", resp.StatusCode, raw)
		}
	}
	return r
}

// Counter is a pgx tracer that counts the statements sent to PostgreSQL
// and keeps the last ones.
type Counter struct {
	n    atomic.Int64
	mu   sync.Mutex
	last []Statement
}

// Statement is one SQL statement and its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// TraceQueryStart implements pgx.QueryTracer.
func (c *Counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.last) == 16 {
		c.last = c.last[1:]
	}
	c.last = append(c.last, Statement{SQL: d.SQL, Args: d.Args})
	return ctx
}

// Statements returns the statements since the last Reset (at most 16).
func (c *Counter) Statements() []Statement {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Statement(nil), c.last...)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *Counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Reset sets the count to zero and forgets the statements.
func (c *Counter) Reset() {
	c.n.Store(0)
	c.mu.Lock()
	c.last = nil
	c.mu.Unlock()
}

// Count returns the statements counted since the last Reset.
func (c *Counter) Count() int { return int(c.n.Load()) }

// Server is a subgraph serving on 127.0.0.1 for one test.
type Server struct {
	URL     string // base URL, e.g. http://127.0.0.1:40123
	Pool    *pgxpool.Pool
	Counter *Counter
	Logs    *syncbuf.Buffer

	srv *http.Server
}

// Option changes how StartSubgraph runs a subgraph.
type Option func(*subgraphOptions)

type subgraphOptions struct {
	tracer trace.Tracer
}

// WithTracer traces the subgraph's requests and SQL with tracer, as
// OTEL_EXPORTER_OTLP_ENDPOINT would in a deployment.
func WithTracer(tracer trace.Tracer) Option {
	return func(o *subgraphOptions) { o.tracer = tracer }
}

// StartSubgraph runs a subgraph built by build over a pool of databaseURL,
// on a free port of 127.0.0.1, until the test ends. env supplies the
// settings the service reads (ADMIN_TOKEN and its own).
func StartSubgraph(t testing.TB, name, databaseURL string, env map[string]string, build service.BuildFunc, opts ...Option) *Server {
	t.Helper()
	logs := &syncbuf.Buffer{}
	sub := newSubgraph(t, name, databaseURL, env, build, service.NewLogger(logs, slog.LevelDebug), opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The same server as service.Serve's, held here so that Stop can close
	// it abruptly.
	srv := httpkit.NewServer(sub.handler, sub.logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- httpkit.Serve(ctx, srv, ln, httpkit.ServeOptions{ShutdownTimeout: 10 * time.Second}) }()
	s := &Server{URL: "http://" + ln.Addr().String(), Pool: sub.pool, Counter: sub.counter, Logs: logs, srv: srv}
	t.Cleanup(func() {
		// The client may hold connections it dialled but never used; the
		// server would wait 5 s for each such connection before closing it.
		http.DefaultClient.CloseIdleConnections()
		// Shut down gracefully, unless Stop already closed the server
		// (Serve then returned http.ErrServerClosed).
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("%s: %v", name, err)
		}
	})
	return s
}

// subgraph is a subgraph's handler over its own pool, as a service's Run
// builds it, closed when the test ends.
type subgraph struct {
	handler http.Handler
	pool    *pgxpool.Pool
	counter *Counter
	logger  *slog.Logger
}

func newSubgraph(t testing.TB, name, databaseURL string, env map[string]string, build service.BuildFunc,
	logger *slog.Logger, opts []Option) *subgraph {
	t.Helper()
	var so subgraphOptions
	for _, o := range opts {
		o(&so)
	}
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return databaseURL
		}
		return env[k]
	}
	cfg, err := service.FromEnv(getenv, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	counter := &Counter{}
	var tracer pgx.QueryTracer = counter
	if so.tracer != nil {
		tracer = &multitracer.Tracer{QueryTracers: []pgx.QueryTracer{counter, telemetry.NewSQLTracer(so.tracer)}}
	}
	pool, err := service.OpenPool(ctx, cfg, tracer)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	// Cleanups run last in, first out: the pool closes after whatever
	// the caller registers later (its server) has stopped.
	t.Cleanup(func() {
		cancel()
		pool.Close()
	})
	sg, err := build(service.Deps{Config: cfg, Pool: pool, Logger: logger, Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	h := service.NewHandler(service.Options{Name: name, Config: cfg, Logger: logger, Pool: pool, Schema: sg.Schema,
		Middleware: sg.Middleware, Tracer: so.tracer})
	return &subgraph{handler: h, pool: pool, counter: counter, logger: logger}
}

// Stop shuts the server down at once, as a crash would: the listener and
// every connection close, requests in flight included, so that new requests
// are refused. It is idempotent, and the test's cleanup then only releases
// the pool.
func (s *Server) Stop() {
	_ = s.srv.Close()
}

// Explain returns PostgreSQL's plan of st with sequential scans and sorts
// disabled, so that the plan shows whether an index can serve the statement
// and its ordering at all: a small test table would otherwise be scanned
// and sorted whatever the indexes. A Sort node left in the plan means no
// index gives the order.
func Explain(t testing.TB, pool *pgxpool.Pool, st Statement) string {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off"); err != nil {
		t.Fatal(err)
	}
	return strings.Join(testdb.Strings(t, tx, "EXPLAIN "+st.SQL, st.Args...), "\n")
}
