// Package server is the router's HTTP face: GraphQL over HTTP at /graphql
// (POST, and GET for queries), the IDE for browsers, the REST shims, and the
// health, readiness and metrics endpoints.
package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"bookstore/graph/apierror"
	"bookstore/graph/gqlparams"
	"bookstore/graph/platform/drain"
	"bookstore/graph/platform/httpkit"
	"bookstore/graph/platform/telemetry"
	"bookstore/router/bookstore/ide"
	"bookstore/router/bookstore/rest"
	"bookstore/router/federation/gateway"
	"bookstore/router/federation/transport"
)

// Options configure the handler.
type Options struct {
	Gateway *gateway.Gateway
	Logger  *slog.Logger
	// MaxBodyBytes limits a request body (default rest.DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// IDE serves the GraphQL IDE to browsers; AssetPrefix and Assets serve
	// its files. All optional.
	IDE         http.Handler
	AssetPrefix string
	Assets      http.Handler
	// OpenAPI, when set, is the REST shims' OpenAPI document, served at
	// /openapi.yaml.
	OpenAPI []byte
	// REST, when set, serves the REST shims (/books, /orders).
	REST http.Handler
	// Metrics, when set, serves /metrics.
	Metrics http.Handler
	// Observe, when set, wraps every request (metrics, logs).
	Observe func(route string, next http.Handler) http.Handler
	// Tracer, when set, makes a server span of every GraphQL and REST
	// request, continuing the client's traceparent.
	Tracer trace.Tracer
	// Drain, when set, is the server's drain state: while it drains,
	// /readyz answers 503 and every response is marked (see package
	// drain).
	Drain *drain.State
}

// NewHandler returns the router's HTTP handler.
func NewHandler(o Options) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = rest.DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{o: o}
	mux := http.NewServeMux()
	wrap := func(route string, h http.Handler) http.Handler {
		if o.Observe != nil {
			return o.Observe(route, h)
		}
		return h
	}
	traced := func(route string, h http.Handler) http.Handler {
		return wrap(route, telemetry.Middleware(o.Tracer, route, h))
	}
	// /graphql and the REST shims take gzip request bodies and compress
	// their larger responses (see compressed).
	codings := func(h http.Handler) http.Handler { return compressed(decompressed(o.MaxBodyBytes, h)) }
	mux.Handle("/graphql", traced("/graphql", codings(http.HandlerFunc(s.graphql))))
	mux.Handle("/healthz", wrap("/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})))
	mux.Handle("/readyz", wrap("/readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.Drain.Draining() {
			httpkit.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
			return
		}
		if !o.Gateway.Ready() {
			httpkit.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "waiting for the subgraphs' schemas"})
			return
		}
		httpkit.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})))
	if o.Metrics != nil {
		mux.Handle("/metrics", o.Metrics)
	}
	if o.OpenAPI != nil {
		mux.Handle("/openapi.yaml", wrap("/openapi.yaml", serveDocument(o.OpenAPI)))
	}
	if o.Assets != nil && o.AssetPrefix != "" {
		mux.Handle(o.AssetPrefix, o.Assets)
	}
	if o.REST != nil {
		for _, p := range []string{"/books", "/books/", "/orders", "/orders/"} {
			mux.Handle(p, traced(strings.TrimSuffix(p, "/"), codings(o.REST)))
		}
	}
	mux.Handle("/", wrap("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpkit.WriteError(w, httpkit.NewError(http.StatusNotFound, apierror.NotFound, "no route "+r.URL.Path))
	})))
	return o.Drain.Mark(httpkit.RequestID(recoverPanics(o.Logger, cleanPaths(mux))))
}

// cleanPaths answers a path with an empty, "." or ".." segment (/books//x,
// /orders/./x) 404 NOT_FOUND: it names no route. http.ServeMux would
// redirect it to the cleaned path instead, which the contract does not
// offer and which would send a POST's client elsewhere.
func cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; strings.Contains(p, "//") || strings.Contains(p, "/.") {
			clean := path.Clean(p)
			if strings.HasSuffix(p, "/") && clean != "/" {
				clean += "/"
			}
			if clean != p {
				httpkit.WriteError(w, httpkit.NewError(http.StatusNotFound, apierror.NotFound, "no route "+p))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic into a logged 500 INTERNAL_SERVER_ERROR; the
// process keeps serving.
func recoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.Error("panic serving request", "panic", fmt.Sprint(p), "path", r.URL.Path,
					"request_id", r.Header.Get(httpkit.RequestIDHeader), "stack", string(debug.Stack()))
				e := httpkit.NewError(http.StatusInternalServerError, apierror.Internal, "internal server error")
				if isREST(r.URL.Path) {
					httpkit.WriteError(w, e)
					return
				}
				httpkit.WriteGraphQLError(w, e)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// isREST reports whether a path is the REST shims', whose errors have the
// REST body.
func isREST(path string) bool {
	for _, p := range []string{"/books", "/orders"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

type server struct {
	o Options
}

// body is a GraphQL-over-HTTP request body.
type body struct {
	Query         *string         `json:"query"`
	OperationName *string         `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

func (s *server) graphql(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		s.post(w, r)
	case http.MethodGet, http.MethodHead:
		if s.o.IDE != nil && ide.WantsIDE(r) {
			s.o.IDE.ServeHTTP(w, r)
			return
		}
		s.get(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		httpkit.WriteGraphQLError(w, httpkit.NewError(http.StatusMethodNotAllowed, apierror.BadRequest,
			"method "+r.Method+" is not allowed on /graphql; use POST, or GET for queries"))
	}
}

func (s *server) post(w http.ResponseWriter, r *http.Request) {
	if !httpkit.HasMediaType(r.Header.Get("Content-Type"), httpkit.MediaTypeJSON, "application/graphql-response+json") {
		httpkit.WriteGraphQLError(w, httpkit.NewError(http.StatusUnsupportedMediaType, apierror.BadRequest, "Content-Type must be application/json"))
		return
	}
	raw, e := httpkit.ReadBody(w, r, s.o.MaxBodyBytes)
	if e != nil {
		httpkit.WriteGraphQLError(w, e)
		return
	}
	req, err := decode(raw)
	if err != nil {
		httpkit.WriteGraphQLError(w, httpkit.NewError(http.StatusBadRequest, apierror.BadRequest, err.Error()))
		return
	}
	s.run(w, r, req)
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := &gateway.Request{Query: q.Get("query"), OperationName: q.Get("operationName"), QueryOnly: true}
	if v := q.Get("variables"); v != "" {
		vars, err := decodeVariables([]byte(v))
		if err != nil {
			httpkit.WriteGraphQLError(w, httpkit.NewError(http.StatusBadRequest, apierror.BadRequest, err.Error()))
			return
		}
		req.Variables = vars
	}
	s.run(w, r, req)
}

func (s *server) run(w http.ResponseWriter, r *http.Request, req *gateway.Request) {
	req.Header = transport.Forward(r.Header)
	req.WantPlan = WantsPlan(r)
	resp := s.o.Gateway.Do(r.Context(), req)
	if resp.Status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", "POST")
	}
	WriteResponse(w, resp)
	resp.Release()
}

// WantsPlan reports whether the request asks for its query plan
// (X-Query-Plan: true); the gateway gives it only when configured to.
func WantsPlan(r *http.Request) bool {
	v, ok := r.Header["X-Query-Plan"]
	return ok && len(v) > 0 && strings.EqualFold(strings.TrimSpace(v[0]), "true")
}

// decode parses a GraphQL-over-HTTP JSON body.
func decode(raw []byte) (*gateway.Request, error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return nil, errors.New("batched requests (a JSON array) are not supported")
	}
	if p, ok := gqlparams.Decode(raw); ok && p.HasQuery {
		// The common body, read in one pass; encoding/json reads the rest
		// (and words the errors).
		req := &gateway.Request{Query: p.Query, OperationName: p.OperationName}
		if p.Variables != nil {
			req.Variables = numbersToGo(p.Variables).(map[string]any)
		}
		return req, nil
	}
	return decodeJSON(raw)
}

// decodeJSON is decode with encoding/json, for any body.
func decodeJSON(raw []byte) (*gateway.Request, error) {
	var b body
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("the body is not a JSON object with a string query: %v", httpkit.JSONProblem(err))
	}
	if dec.More() {
		return nil, errors.New("the body has data after its JSON object")
	}
	if b.Query == nil {
		return nil, errors.New("the body has no query")
	}
	req := &gateway.Request{Query: *b.Query}
	if b.OperationName != nil {
		req.OperationName = *b.OperationName
	}
	vars, err := decodeVariables(b.Variables)
	if err != nil {
		return nil, err
	}
	req.Variables = vars
	return req, nil
}

func decodeVariables(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, errors.New("variables must be a JSON object")
	}
	var vars map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&vars); err != nil {
		return nil, fmt.Errorf("variables are not a JSON object: %v", httpkit.JSONProblem(err))
	}
	return numbersToGo(vars).(map[string]any), nil
}

// numbersToGo turns json.Numbers into int64 or float64, the Go values the
// variable coercion expects.
func numbersToGo(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = numbersToGo(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = numbersToGo(x)
		}
		return v
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	}
	return v
}

// WriteResponse writes a pipeline response as GraphQL over HTTP, with its
// Content-Length: the data goes out as the executor wrote it, whole when
// it is data alone (gateway.Response.Body), else between a head and a tail
// written here, never copied into one body. The callers of a shared
// response (see gateway.Gateway.Do) write the same bytes.
func WriteResponse(w http.ResponseWriter, resp *gateway.Response) {
	// Data alone is one piece already (one write); else Data goes
	// between its head and tail.
	parts := [3][]byte{resp.Body()}
	if parts[0] == nil {
		head, tail := resp.Frame()
		parts = [3][]byte{head, resp.Data, tail}
	}
	h := w.Header()
	h.Set("Content-Type", httpkit.MediaTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(parts[0])+len(parts[1])+len(parts[2])))
	w.WriteHeader(resp.Status)
	for _, p := range parts {
		if len(p) > 0 {
			_, _ = w.Write(p)
		}
	}
}
