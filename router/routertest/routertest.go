// Package routertest runs the bookstore for tests, in-process: both
// subgraphs (with as many replicas as asked) on a fresh seeded database, and
// the router in front of them, all on 127.0.0.1 at ports picked at runtime.
//
// A test package that uses it calls testdb.Main from its TestMain.
package routertest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	books "bookstore/books-subgraph/graph"
	"bookstore/graph/platform/telemetry"
	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/roundtrip"
	"bookstore/graph/testkit/testdb"
	orders "bookstore/orders-subgraph/graph"
	"bookstore/router/server"
)

// AdminToken is the admin token the stack's subgraphs accept.
const AdminToken = "routertest-admin-token-0123456789"

// Options shape a stack. The zero value is one replica each, seeded, orders
// list admin-only.
type Options struct {
	// Replicas per subgraph (default 1).
	Replicas int
	// OrdersListPublic sets ORDERS_LIST_PUBLIC=true on orders-subgraph.
	OrdersListPublic bool
	// Empty leaves the catalogue unseeded.
	Empty bool
	// Configure may change the router's configuration before it starts.
	Configure func(*server.Config)
	// TracerProvider, when set, gives each service its own tracer
	// provider, by name: "router", "books-subgraph" and "orders-subgraph"
	// (every replica of a subgraph shares its provider). Each traces as it
	// would with an OTLP endpoint configured; one given nil does not trace.
	TracerProvider func(service string) trace.TracerProvider
}

// Stack is a running bookstore.
type Stack struct {
	DB     *testdb.DB
	Books  []*gqltest.Server
	Orders []*gqltest.Server
	Router *Router
}

// Router is a router running in-process.
type Router struct {
	URL    string // base URL, e.g. http://127.0.0.1:40123
	Router *server.Router
}

// StartBookstore starts the subgraphs and the router, and waits until the
// router has composed its supergraph.
func StartBookstore(t testing.TB, o Options) *Stack {
	t.Helper()
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	db := testdb.New(t)
	if !o.Empty {
		db.Seed(t)
	}
	s := &Stack{DB: db}
	env := map[string]string{"ADMIN_TOKEN": AdminToken}
	ordersEnv := map[string]string{"ADMIN_TOKEN": AdminToken}
	if o.OrdersListPublic {
		ordersEnv["ORDERS_LIST_PUBLIC"] = "true"
	}
	traced := func(service string) []gqltest.Option {
		if o.TracerProvider == nil {
			return nil
		}
		if tp := o.TracerProvider(service); tp != nil {
			return []gqltest.Option{gqltest.WithTracer(tp.Tracer(telemetry.ScopeName))}
		}
		return nil
	}
	booksOpts, ordersOpts := traced("books-subgraph"), traced("orders-subgraph")
	var booksURLs, ordersURLs []string
	for range o.Replicas {
		b := gqltest.StartSubgraph(t, "books-subgraph", db.BooksURL, env, books.Build, booksOpts...)
		s.Books = append(s.Books, b)
		booksURLs = append(booksURLs, b.URL+"/query")
		ord := gqltest.StartSubgraph(t, "orders-subgraph", db.OrdersURL, ordersEnv, orders.Build, ordersOpts...)
		s.Orders = append(s.Orders, ord)
		ordersURLs = append(ordersURLs, ord.URL+"/query")
	}
	cfg := server.Config{
		Subgraphs:     map[string][]string{"books": booksURLs, "orders": ordersURLs},
		Introspection: true,
		PollInterval:  time.Hour,
	}
	if o.TracerProvider != nil {
		cfg.TracerProvider = o.TracerProvider("router")
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	s.Router = StartRouter(t, cfg)
	return s
}

// StartRouter runs a router with cfg until the test ends, and waits until
// it is ready. Every answer it gives to /books and /orders is checked
// against the REST shims' OpenAPI document; the test fails, when it ends,
// on any that drifts from it.
func StartRouter(t testing.TB, cfg server.Config) *Router {
	t.Helper()
	r, err := TryStartRouter(t, cfg)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return r
}

// TryStartRouter is StartRouter for a router that may not start: it
// returns the error when the router refuses its configuration (a
// supergraph file it cannot serve, say) or, composing from subgraphs, the
// first composition error it logs, or when it is not ready within 30 s.
// A router that started runs until the test ends either way.
func TryStartRouter(t testing.TB, cfg server.Config) (*Router, error) {
	t.Helper()
	failures := make(chan string, 16)
	r, err := server.New(cfg, slog.New(errorLog{failures}))
	if err != nil {
		return nil, err
	}
	r.Handler = checkREST(t, r.Handler)
	url := Serve(t, r)
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !r.Gateway.Ready() {
		select {
		case msg := <-failures:
			return nil, errors.New(msg)
		case <-deadline:
			return nil, errors.New("the router did not compose its supergraph within 30 s")
		case <-tick.C:
		}
	}
	return &Router{URL: url, Router: r}, nil
}

// Serve serves r on 127.0.0.1, at a port picked at runtime, until the test
// ends, and returns its base URL. When the test ends, it stops r, waits
// for Serve to return (failing the test on an error) and closes r.
func Serve(t testing.TB, r *server.Router) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
		r.Close()
	})
	return "http://" + ln.Addr().String()
}

// errorLog is a slog.Handler that sends each error record, with its "err"
// attribute, to a channel (dropping it when the channel is full) and
// discards the rest.
type errorLog struct{ records chan<- string }

func (h errorLog) Enabled(_ context.Context, level slog.Level) bool { return level >= slog.LevelError }

func (h errorLog) Handle(_ context.Context, rec slog.Record) error {
	msg := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			msg += ": " + a.Value.String()
		}
		return true
	})
	select {
	case h.records <- msg:
	default:
	}
	return nil
}

func (h errorLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h errorLog) WithGroup(string) slog.Handler      { return h }

// Response is a router answer.
type Response struct {
	Status int             `json:"-"`
	Header http.Header     `json:"-"`
	Body   []byte          `json:"-"`
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// Codes lists the errors' extensions.code values.
func (r *Response) Codes() []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

// GraphQL posts an operation to the router's /graphql; header may be nil.
func (r *Router) GraphQL(t testing.TB, query string, vars map[string]any, header http.Header) *Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	return r.Do(t, http.MethodPost, "/graphql", "application/json", string(body), header)
}

// Do sends any request to the router and decodes a JSON answer when it
// is one.
func (r *Router) Do(t testing.TB, method, path, contentType, body string, header http.Header) *Response {
	t.Helper()
	status, h, raw := Send(t, r.URL, method, path, contentType, body, header)
	out := &Response{Status: status, Header: h, Body: raw}
	if strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Body, out); err != nil {
			t.Fatalf("%s %s: the answer is not JSON: %v\n%s", method, path, err, out.Body)
		}
	}
	return out
}

// Send sends a request to the server at base and returns the answer's
// status, header and body. Values of header replace the request's; a
// contentType of "" sends none.
func Send(t testing.TB, base, method, path, contentType, body string, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	if contentType != "" {
		header = header.Clone()
		if header == nil {
			header = http.Header{}
		}
		header.Set("Content-Type", contentType)
	}
	resp, raw := roundtrip.Do(t, nil, method, base+path, strings.NewReader(body), header)
	return resp.StatusCode, resp.Header, raw
}

// Admin returns a header with the stack's admin token.
func Admin() http.Header {
	return http.Header{"Authorization": {"Bearer " + AdminToken}}
}
