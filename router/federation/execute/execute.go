// Package execute runs a plan: it sends the fetches to the subgraphs, in
// parallel where the plan allows, merges their data into one tree, and
// shapes the response from the client's selection, with nulls propagated
// and subgraph errors re-pathed to the client's paths.
package execute

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"bookstore/graph/apierror"
	"bookstore/graph/platform/telemetry"
	"bookstore/router/federation/internal/jsonstr"
	"bookstore/router/federation/plan"
)

// Error is one GraphQL error of the response.
type Error struct {
	Message    string         `json:"message"`
	Locations  []Location     `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Location is a position in the client's document.
type Location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Code returns the error's contract code.
func (e Error) Code() string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// Executor runs plans. It is safe for concurrent use.
type Executor struct {
	Fetcher Fetcher
	Logger  *slog.Logger
	// Schema is the client schema introspection answers from.
	Schema *ast.Schema
	// OnFetch, when set, observes every subgraph fetch and how long it
	// took (metrics).
	OnFetch func(graph string, took time.Duration, err error)
	// Tracer, when set, makes a client span of every fetch and sends its
	// trace context to the subgraph in traceparent.
	Tracer trace.Tracer
	// PassExtensions names the members of subgraph responses' extensions
	// that the result's extensions carry through, as they are (a later
	// response's value replacing an earlier one's): the bookstore's REST
	// shim reads orders-subgraph's idempotentReplayed there.
	PassExtensions []string
}

// Request is one execution of a plan.
type Request struct {
	Plan *plan.Plan
	// Variables are the coerced client variables.
	Variables map[string]any
	// Header holds the headers to forward to the subgraphs.
	Header http.Header
}

// Result is the response's data (a JSON object, or null) and errors.
type Result struct {
	Data       json.RawMessage
	Errors     []Error
	Extensions map[string]any
	// pooled is the buffer Data was written in, when it came from the
	// pool: {"data":DATA}, so that a response of data alone is already
	// one piece (see Body).
	pooled []byte
}

// dataPrefix is what a GraphQL over HTTP body of data alone has before the
// data.
const dataPrefix = `{"data":`

// Body returns the whole response body, {"data":...}, when the result is
// data alone and its buffer holds it so; else nil. It is valid until
// Release.
func (r *Result) Body() []byte {
	if len(r.Errors) > 0 || len(r.Extensions) > 0 || r.pooled == nil {
		return nil
	}
	return r.pooled
}

// Release returns the result's buffer for reuse: Data must not be used
// after. Calling it is optional (a result not released is collected).
func (r *Result) Release() {
	if r.pooled != nil {
		putBuffer(r.pooled)
		r.pooled, r.Data = nil, nil
	}
}

// execution is one Execute. Its data, errors and extensions are only
// touched by the goroutine that runs the plan.
type execution struct {
	ex  *Executor
	req *Request
	// data is the response's data; it and the subgraph responses' values
	// are in arena, which the scheduler alone touches while the plan runs.
	data  *objNode
	arena *arena
	// received is the size of the responses' bodies.
	received int
	errs     []Error
	ext      map[string]any
}

// Execute runs a plan. Subgraph failures become errors in the result; the
// data the other fetches got is still returned.
func (ex *Executor) Execute(ctx context.Context, req *Request) *Result {
	x := &execution{ex: ex, req: req, arena: getArena()}
	x.data = &x.arena.nodes.alloc(1)[0]
	defer x.release()
	p := req.Plan
	if p.Introspection {
		if err := x.introspect(p.Root); err != nil {
			x.errs = append(x.errs, Error{Message: err.Error(), Extensions: map[string]any{"code": apierror.BadUserInput}})
		}
	}
	switch {
	case p.Passthrough:
		if res := x.passthrough(ctx, p.Fetches[0]); res != nil {
			return res
		}
		// The fetch failed: its fields are answered null below.
	default:
		x.run(ctx, p.Fetches)
	}
	s := shaper{fetchErrors: x.errs, schema: ex.Schema, typenameKey: p.TypenameKey, path: x.arena.path[:0]}
	s.buf = append(getBuffer(max(1024, x.received+x.received/4)), dataPrefix...)
	if null := s.object(x.data, p.Root); null {
		s.buf = append(s.buf[:len(dataPrefix)], "null"...)
	}
	s.buf = append(s.buf, '}')
	x.arena.path = s.path[:0]
	data := s.buf[len(dataPrefix) : len(s.buf)-1]
	return &Result{Data: data, Errors: append(x.errs, s.errs...), Extensions: x.ext, pooled: s.buf}
}

// release returns the execution's arena to its pool.
func (x *execution) release() {
	x.arena.release()
	x.arena, x.data = nil, nil
}

func toSubgraphError(v any) subgraphError {
	var e subgraphError
	o, ok := v.(*object)
	if !ok {
		return subgraphError{Message: "the subgraph sent a malformed error"}
	}
	if m, ok := o.get("message"); ok {
		e.Message, _ = m.(string)
	}
	if p, ok := o.get("path"); ok {
		if list, ok := p.([]any); ok {
			for _, x := range list {
				if n, ok := x.(number); ok {
					i, _ := strconv.Atoi(string(n))
					e.Path = append(e.Path, i)
				} else {
					e.Path = append(e.Path, x)
				}
			}
		}
	}
	if ext, ok := o.get("extensions"); ok {
		e.Extensions, _ = toInterface(ext).(map[string]any)
	}
	return e
}

type subgraphError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// mergeRoot merges a root fetch's response into the data.
func (x *execution) mergeRoot(r *request, sr *subgraphResponse) {
	if sr.data != nil {
		x.arena.merge(x.data, sr.data)
	}
	var errs responseErrors
	for _, e := range sr.errors {
		errs.add(x.subgraphError(r.graph, e, e.Path))
	}
	x.errs = append(x.errs, errs.errors()...)
	x.passExtensions(sr.extensions)
}

// mergeEntities merges the entities an entity request got into the
// objects they stand for.
func (x *execution) mergeEntities(r *request, b *batch, sr *subgraphResponse) {
	if sr.data != nil {
		for i, fd := range r.fields {
			v, _ := sr.data.get(fd.alias)
			if v.k != kArray {
				continue
			}
			items := v.items()
			for _, t := range b.fields[i].targets {
				if int(t.rep) < len(items) && items[t.rep].k == kObject {
					x.arena.merge(t.obj, items[t.rep].obj())
				}
			}
		}
	}
	if len(sr.errors) == 0 {
		return
	}
	var errs responseErrors
	for _, e := range sr.errors {
		x.entityErrors(r, b, e, &errs)
	}
	x.errs = append(x.errs, errs.errors()...)
}

// entityErrors re-paths an _entities error to the client paths of the
// objects its representation came from.
func (x *execution) entityErrors(r *request, b *batch, e subgraphError, out *responseErrors) {
	if len(e.Path) >= 2 {
		alias, _ := e.Path[0].(string)
		idx, ok := pathIndex(e.Path[1])
		if i, found := r.fieldIndex(alias); found && ok && idx < len(b.fields[i].reps) {
			for _, t := range b.fields[i].targets {
				if int(t.rep) == idx {
					out.add(x.subgraphError(r.graph, e, append(t.clientPath(), e.Path[2:]...)))
				}
			}
			return
		}
	}
	out.add(x.subgraphError(r.graph, e, nil))
}

// responseErrors gathers the client errors one subgraph response makes.
// A field the planner fetched for itself that the client also asks (under
// its own key, in the same request) fails twice: once at the client's
// field, once cut back to its object. The second says nothing the first
// does not, and goes.
type responseErrors struct {
	list []Error
	cut  []bool
}

func (r *responseErrors) add(e Error, cut bool) {
	r.list = append(r.list, e)
	r.cut = append(r.cut, cut)
}

// errors returns the response's errors without the redundant ones.
func (r *responseErrors) errors() []Error {
	var out []Error
	for i, e := range r.list {
		redundant := false
		for j, o := range r.list {
			if j == i || o.Message != e.Message {
				continue
			}
			switch {
			case r.cut[i] && len(o.Path) > len(e.Path) && pathsMeet(o.Path, e.Path):
				redundant = true // the client's own field says it
			case j < i && len(o.Path) == len(e.Path) && pathsMeet(o.Path, e.Path) && (r.cut[i] || r.cut[j]):
				redundant = true // two internal fields of one object
			}
		}
		if !redundant {
			out = append(out, e)
		}
	}
	return out
}

func pathIndex(v any) (int, bool) {
	i, ok := v.(int)
	return i, ok
}

// subgraphError turns a subgraph's error into a client error: its path
// re-based, internal aliases dropped, and a contract code ensured. cut
// reports whether the path was cut back at a field the planner added.
func (x *execution) subgraphError(graph string, e subgraphError, path []any) (out Error, cut bool) {
	ext := e.Extensions
	if ext == nil {
		ext = map[string]any{}
	}
	if _, ok := ext["code"].(string); !ok {
		ext["code"] = apierror.Internal
	}
	ext["serviceName"] = graph
	out = Error{Message: e.Message, Extensions: ext}
	for _, p := range path {
		if s, ok := p.(string); ok && x.req.Plan.IsInternalKey(s) {
			return out, true // an internal field: the client path ends at its object
		}
		out.Path = append(out.Path, p)
	}
	return out, false
}

// fail records a request that got no usable answer.
func (x *execution) fail(graph string, err error) {
	code, msg := apierror.SubgraphUnavailable, fmt.Sprintf("subgraph %q is unavailable", graph)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("subgraph %q did not answer in time", graph)
	case errors.Is(err, context.Canceled):
		msg = "the request was cancelled"
	case !errors.Is(err, ErrUnavailable):
		code, msg = apierror.Internal, fmt.Sprintf("subgraph %q answered with an invalid response", graph)
	}
	if x.ex.Logger != nil {
		x.ex.Logger.Warn("subgraph fetch failed", "subgraph", graph, "err", err.Error())
	}
	x.errs = append(x.errs, Error{Message: msg, Extensions: map[string]any{"code": code, "serviceName": graph}})
}

// post sends one request to its subgraph.
func (x *execution) post(ctx context.Context, r *request, b *batch) (*FetchResponse, error) {
	body, err := encodeRequest(r, x.req.Variables, b)
	if err != nil {
		return nil, fmt.Errorf("encoding the request: %w", err)
	}
	header := x.req.Header
	var span trace.Span
	if x.ex.Tracer != nil {
		paths := 0
		for _, f := range r.fetches {
			paths += len(f.Entities)
		}
		ctx, span = x.ex.Tracer.Start(ctx, "fetch "+r.graph, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("graphql.federation.subgraph", r.graph),
				attribute.Int("graphql.federation.entity_paths", paths)))
		defer span.End()
		header = header.Clone()
		if header == nil {
			header = http.Header{}
		}
		telemetry.Inject(ctx, header)
	}
	var start time.Time
	if x.ex.OnFetch != nil {
		start = time.Now()
	}
	mutation := len(r.fetches) == 1 && r.fetches[0].Mutation
	resp, err := x.ex.Fetcher.Do(ctx, FetchRequest{Subgraph: r.graph, Body: body, Mutation: mutation, Header: header})
	if x.ex.OnFetch != nil {
		x.ex.OnFetch(r.graph, time.Since(start), err)
	}
	if span != nil {
		telemetry.Fail(span, err)
		if resp != nil {
			span.SetAttributes(attribute.String("server.address", resp.Replica),
				attribute.Int("http.response.status_code", resp.Status))
		}
	}
	return resp, err
}

// exchange posts one request. The answer is parsed where it is merged,
// in the execution's arena (see parse).
func (x *execution) exchange(ctx context.Context, r *request, b *batch) (c completion) {
	c.req, c.b = r, b
	c.resp, c.err = x.post(ctx, r, b)
	return c
}

// parse parses a completion's answer into the execution's arena. One
// arena per execution, whatever the number of fetches, keeps the memory
// of the requests in flight to what their answers hold.
func (x *execution) parse(c *completion) {
	if c.err != nil {
		return
	}
	x.received += len(c.resp.Body)
	sr, err := parseResponse(c.resp.Body, x.arena)
	switch {
	case err != nil:
		c.err = fmt.Errorf("subgraph %q answered %d with a body that is not a GraphQL response: %w", c.req.graph, c.resp.Status, err)
	case !sr.hasData && len(sr.errors) == 0:
		c.err = fmt.Errorf("subgraph %q answered %d with neither data nor errors", c.req.graph, c.resp.Status)
	}
	c.sr = sr
}

// passExtensions carries the members of a response's extensions that
// PassExtensions names through to the result's extensions.
func (x *execution) passExtensions(raw []byte) {
	if len(raw) == 0 || len(x.ex.PassExtensions) == 0 {
		return
	}
	v, err := parseJSON(raw)
	if err != nil {
		return
	}
	ext, ok := v.(*object)
	if !ok {
		return
	}
	for _, name := range x.ex.PassExtensions {
		if v, ok := ext.get(name); ok {
			if x.ext == nil {
				x.ext = map[string]any{}
			}
			x.ext[name] = toInterface(v)
		}
	}
}

// passthrough runs a plan of one fetch whose subgraph selection is the
// client's own: the subgraph's data is the response, byte for byte, and only
// its errors are rewritten. It returns nil when the fetch failed, for the
// general path to answer with nulls and the error.
func (x *execution) passthrough(ctx context.Context, f *plan.Fetch) *Result {
	resp, err := x.post(ctx, rootRequest(x.req.Plan, f), nil)
	if err != nil {
		x.fail(f.Graph, err)
		return nil
	}
	bad := func(why string) *Result {
		x.fail(f.Graph, fmt.Errorf("subgraph %q answered %d with %s", f.Graph, resp.Status, why))
		return nil
	}
	parts, err := splitTop(resp.Body, "data", "errors", "extensions")
	if err != nil {
		return bad("a body that is not a GraphQL response")
	}
	raw := struct{ Data, Errors, Extensions []byte }{parts[0], parts[1], parts[2]}
	if len(raw.Data) == 0 || raw.Data[0] != '{' {
		// No data (a request error) or data null: the general path answers
		// nulls and keeps the subgraph's errors.
		if len(raw.Data) > 0 && string(raw.Data) != "null" {
			return bad("data that is not an object")
		}
		errs, err := parseErrors(raw.Errors)
		if err != nil || len(errs) == 0 {
			return bad("neither data nor errors")
		}
		for _, e := range errs {
			ce, _ := x.subgraphError(f.Graph, e, e.Path)
			x.errs = append(x.errs, ce)
		}
		return nil
	}
	res := &Result{Data: raw.Data}
	if len(raw.Errors) > 0 && string(raw.Errors) != "null" {
		errs, err := parseErrors(raw.Errors)
		if err != nil {
			return bad("malformed errors")
		}
		for _, e := range errs {
			ce, _ := x.subgraphError(f.Graph, e, e.Path)
			res.Errors = append(res.Errors, ce)
		}
	}
	x.passExtensions(raw.Extensions)
	res.Extensions = x.ext
	return res
}

// encodeRequest writes a request's body: its query, the client variables
// it uses, and for an entity request the batch's representations and
// contextual arguments, as JSON built directly rather than through
// encoding/json's reflection.
func encodeRequest(r *request, clientVars map[string]any, b *batch) ([]byte, error) {
	size := len(r.query) + 64
	if b != nil {
		size += len(b.buf) + 64*len(b.fields)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, `{"query":`...)
	buf = append(buf, r.query...)
	first := true
	member := func(name string) {
		if first {
			buf = append(buf, `,"variables":{`...)
			first = false
		} else {
			buf = append(buf, ',')
		}
		buf = jsonstr.AppendHTMLSafe(buf, name)
		buf = append(buf, ':')
	}
	for _, name := range r.vars {
		v, ok := clientVars[name]
		if !ok {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", name, err)
		}
		member(name)
		buf = append(buf, raw...)
	}
	if b != nil {
		for i, c := range r.context {
			member(c.Variable)
			buf = append(buf, b.context[i]...)
		}
		for i, fd := range r.fields {
			member(fd.variable)
			buf = append(buf, '[')
			for j := range b.fields[i].reps {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, b.rep(i, int32(j))...)
			}
			buf = append(buf, ']')
		}
	}
	if !first {
		buf = append(buf, '}')
	}
	return append(buf, '}'), nil
}
