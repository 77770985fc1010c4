// Package gateway is the router's request pipeline: parse → validate →
// plan (cached) → execute, over the current supergraph. It knows nothing of
// HTTP beyond the status a response should get; the server and the REST
// shims both call Do.
//
// Identical queries in flight at the same time share one execution and
// one Response (see Do): a burst of the same query costs the subgraphs one
// operation, not one per client.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"bookstore/graph/apierror"
	"bookstore/graph/platform/telemetry"
	"bookstore/router/federation/compose"
	"bookstore/router/federation/execute"
	"bookstore/router/federation/internal/inflight"
	"bookstore/router/federation/plan"
	"bookstore/router/federation/transport"
)

// Defaults for the zero values of [Limits] and [Options]. The router's
// configuration (package config) uses them as its defaults too.
const (
	DefaultMaxDepth      = 25
	DefaultMaxAliases    = 100
	DefaultMaxFields     = 2000
	DefaultMaxTokens     = 50_000
	DefaultTimeout       = 15 * time.Second
	DefaultPlanCacheSize = 1000
)

// Limits bound what one operation may ask. Zero values take the defaults.
type Limits struct {
	MaxDepth   int           // query depth, fragments expanded (default DefaultMaxDepth)
	MaxAliases int           // aliased fields, fragments expanded (default DefaultMaxAliases)
	MaxFields  int           // fields, fragments expanded (default DefaultMaxFields)
	MaxTokens  int           // lexer tokens of a document (default DefaultMaxTokens)
	Timeout    time.Duration // per operation (default DefaultTimeout)
}

// Options configure a Gateway.
type Options struct {
	Limits        Limits
	Introspection bool
	// PlanCacheSize is the number of operations whose plans are kept
	// (default DefaultPlanCacheSize).
	PlanCacheSize int
	Fetcher       execute.Fetcher
	Logger        *slog.Logger
	// OnFetch observes subgraph fetches; OnPlanCache observes plan cache
	// lookups (metrics). Both optional.
	OnFetch     func(graph string, took time.Duration, err error)
	OnPlanCache func(hit bool)
	// Tracer, when set, traces each operation: a span for the operation,
	// spans for parsing and planning when they are not cached, and a
	// client span for every subgraph fetch, whose trace context the
	// subgraph receives in traceparent. Nil means no tracing.
	Tracer trace.Tracer
	// ExposePlans lets a client ask for an operation's query plan with the
	// header X-Query-Plan: true; it comes back in extensions.queryPlan.
	ExposePlans bool
	// OverrideLabels forces progressive override labels on (true) or off
	// (false). A label left out that reads "percent(N)" is on for N% of
	// requests; any other is off.
	OverrideLabels map[string]bool
	// DisableDedup runs every query on its own, identical ones in flight
	// included (see Do).
	DisableDedup bool
	// OnDedup, when set, is told of every query that may share an
	// execution (see Do): shared is false for one that executes, true for
	// one that joined an identical execution in flight. It is called as
	// soon as the query has joined, before it waits, and must not block.
	OnDedup func(shared bool)
	// PassExtensions names the members of subgraph responses' extensions
	// that a response's extensions carry through (see
	// execute.Executor.PassExtensions).
	PassExtensions []string
}

// Gateway serves operations over the current supergraph. Swapping the
// supergraph is atomic: requests in flight finish on the one they started
// with.
type Gateway struct {
	opts  Options
	state atomic.Pointer[state]
	rules *rules.Rules
	// flights shares identical queries in flight (nil when
	// Options.DisableDedup); seed hashes their keys.
	flights *inflight.Group[flight, *Response]
	seed    maphash.Seed
}

// flight identifies a query for deduplication: the supergraph it runs
// on, its document and operation name, and the rest of its key (see
// flightKey).
type flight struct {
	st     *state
	opName string
	query  string
	key    string
}

type state struct {
	sg      *compose.Supergraph
	planner *plan.Planner
	exec    *execute.Executor
	cache   *lru.Cache[string, *prepared]
	labels  *labels
}

// prepared is a parsed and validated operation, with its plans by the
// values of its @skip/@include variables.
type prepared struct {
	status     int
	errs       []Error
	doc        *ast.QueryDocument
	op         *ast.OperationDefinition
	conditions []string
	mu         sync.Mutex
	plans      map[string]*plan.Plan
}

// New returns a gateway with no supergraph yet; it answers 503 until
// SetSupergraph is called.
func New(opts Options) *Gateway {
	l := &opts.Limits
	orDefault(&l.MaxDepth, DefaultMaxDepth)
	orDefault(&l.MaxAliases, DefaultMaxAliases)
	orDefault(&l.MaxFields, DefaultMaxFields)
	orDefault(&l.MaxTokens, DefaultMaxTokens)
	orDefault(&l.Timeout, DefaultTimeout)
	orDefault(&opts.PlanCacheSize, DefaultPlanCacheSize)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{opts: opts, rules: validationRules(), seed: maphash.MakeSeed()}
	if !opts.DisableDedup {
		var onJoin func(flight, bool)
		if opts.OnDedup != nil {
			onJoin = func(_ flight, shared bool) { opts.OnDedup(shared) }
		}
		g.flights = inflight.New[flight, *Response](func(a, b flight) bool { return a == b }, onJoin)
		g.flights.Shared = func(r *Response, n int) { r.holders.Store(int32(n)) }
		g.flights.Timeout = opts.Limits.Timeout // the operation timeout, from the execution's start
	}
	return g
}

// orDefault sets an option left unset (zero or less) to its default.
func orDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// SetSupergraph swaps in a new supergraph, with a new plan cache.
func (g *Gateway) SetSupergraph(sg *compose.Supergraph) {
	cache, _ := lru.New[string, *prepared](g.opts.PlanCacheSize)
	g.state.Store(&state{
		sg:      sg,
		planner: plan.New(sg),
		cache:   cache,
		labels:  newLabels(sg.OverrideLabels, g.opts.OverrideLabels),
		exec: &execute.Executor{Fetcher: g.opts.Fetcher, Logger: g.opts.Logger, Schema: sg.Schema,
			OnFetch: g.opts.OnFetch, Tracer: g.opts.Tracer, PassExtensions: g.opts.PassExtensions},
	})
}

// Ready reports whether a supergraph is being served.
func (g *Gateway) Ready() bool { return g.state.Load() != nil }

func refuse(status int, code, format string, args ...any) *Response {
	return &Response{Status: status, Errors: []Error{{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": code}}}}
}

// Do runs one operation through the pipeline.
//
// A query identical to one executing, the same document and operation
// name, the same variables (as JSON values), the same forwarded headers
// but for the request's id and trace (so never another user's
// Authorization) and the same X-Query-Plan, does not execute: it waits for
// that execution and gets the same Response, which is then read-only.
// Mutations never share. The query that starts an execution runs it, on
// its own goroutine, within the operation timeout and with its trace; the
// others wait for it. A caller whose context ends (its client gone) does
// not cancel the execution while others want it: one that waits stops
// waiting at once, the one that runs it goes on to the end (its client is
// gone: nobody waits for its answer). When every caller's context has
// ended, the execution is cancelled. Options.DisableDedup turns the
// sharing off.
func (g *Gateway) Do(ctx context.Context, req *Request) *Response {
	st := g.state.Load()
	if st == nil {
		return refuse(http.StatusServiceUnavailable, apierror.SubgraphUnavailable, "the router has not composed its supergraph yet")
	}
	if strings.TrimSpace(req.Query) == "" {
		return refuse(http.StatusBadRequest, apierror.BadRequest, "the request has no query")
	}
	var span trace.Span
	if g.opts.Tracer != nil {
		ctx, span = g.opts.Tracer.Start(ctx, "graphql.operation")
		defer span.End()
	}
	p := g.prepare(ctx, st, req.Query, req.OperationName)
	if p.status != 0 {
		if span != nil {
			span.SetStatus(codes.Error, p.errs[0].Message)
		}
		return &Response{Status: p.status, Errors: p.errs}
	}
	telemetry.NoteOperation(ctx, p.op.Name)
	if span != nil {
		name := string(p.op.Operation)
		if p.op.Name != "" {
			name += " " + p.op.Name
		}
		span.SetName(name)
		span.SetAttributes(attribute.String("graphql.operation.type", string(p.op.Operation)),
			attribute.String("graphql.operation.name", p.op.Name))
	}
	if req.QueryOnly && p.op.Operation != ast.Query {
		return refuse(http.StatusMethodNotAllowed, apierror.BadRequest, "a %s is not allowed over GET; use POST", p.op.Operation)
	}
	vars, err := validator.VariableValues(st.sg.Schema, p.op, req.Variables)
	if err != nil {
		return &Response{Status: http.StatusBadRequest, Errors: []Error{fromGQL(err, apierror.BadUserInput)}}
	}
	if msg := variableError(st.sg.Schema, p.op, vars); msg != "" {
		return refuse(http.StatusBadRequest, apierror.BadUserInput, "%s", msg)
	}
	pl, err := g.plan(ctx, st, p, vars)
	if err != nil {
		return refuse(http.StatusBadRequest, apierror.ValidationFailed, "the operation cannot be planned: %v", err)
	}
	wantPlan := req.WantPlan && g.opts.ExposePlans
	if g.flights != nil && p.op.Operation == ast.Query {
		if key, ok := flightKey(vars, req.Header, wantPlan); ok {
			id := flight{st: st, opName: req.OperationName, query: req.Query, key: key}
			resp, err, shared := g.flights.Do(ctx, maphash.Comparable(g.seed, id), id, func(ctx context.Context) (*Response, error) {
				// ctx ends at the operation timeout (flights.Timeout).
				resp := g.run(ctx, st, pl, vars, req.Header, wantPlan)
				resp.encoded = &encoding{}
				return resp, nil
			})
			if span != nil {
				span.SetAttributes(attribute.Bool("graphql.operation.shared", shared))
			}
			if err != nil {
				// The caller gave up waiting (a client gone): what the
				// executor answers a cancelled operation.
				msg := "the request was cancelled"
				if errors.Is(err, context.DeadlineExceeded) {
					msg = "the operation did not finish in time"
				}
				return refuse(http.StatusOK, apierror.SubgraphUnavailable, "%s", msg)
			}
			return resp
		}
	}
	ctx, cancel := context.WithTimeout(ctx, g.opts.Limits.Timeout)
	defer cancel()
	return g.run(ctx, st, pl, vars, req.Header, wantPlan)
}

// run executes a plan; ctx bounds it.
func (g *Gateway) run(ctx context.Context, st *state, pl *plan.Plan, vars map[string]any, header http.Header, wantPlan bool) *Response {
	res := st.exec.Execute(ctx, &execute.Request{Plan: pl, Variables: vars, Header: header})
	// Data may be a slice of a subgraph's answer (a passthrough), whose
	// bytes other operations that shared the request read too: capped at
	// its length, an append to it copies instead of writing over theirs.
	data := res.Data[:len(res.Data):len(res.Data)]
	resp := &Response{Status: http.StatusOK, Data: data, Errors: res.Errors, Extensions: res.Extensions, result: res}
	if wantPlan {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["queryPlan"] = pl.Describe()
	}
	return resp
}

// flightKey is the part of a query's deduplication key that its document
// and operation name do not give: its variables, coerced and encoded
// canonically (see appendCanonical), so that the same JSON value gives the
// same key whatever its spelling; the forwarded headers that may change
// the answer (transport.AppendDedupKey: Authorization, not the request's
// id nor its trace); and whether the answer holds the plan. Override
// labels rolled per request are not in it: queries that share take the
// first one's roll, as if they had rolled the same. ok is false when the
// variables do not encode: the query then runs on its own.
func flightKey(vars map[string]any, header http.Header, wantPlan bool) (string, bool) {
	b := make([]byte, 0, 128)
	b = append(b, '0')
	if wantPlan {
		b[0] = '1'
	}
	b = transport.AppendDedupKey(b, header) // self-delimiting
	if len(vars) > 0 {
		var ok bool
		if b, ok = appendCanonical(b, vars); !ok {
			return "", false
		}
	}
	return string(b), true
}

// appendCanonical appends an encoding of a variable's value that is the
// same for equal JSON values: object members sorted, a number by its
// value (1, 1.0 and 1e0 alike), strings quoted. Values of other Go types
// (a REST shim's) go through encoding/json; ok is false when one does not
// encode.
func appendCanonical(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), true
	case bool:
		return strconv.AppendBool(b, v), true
	case string:
		return strconv.AppendQuote(b, v), true
	case int64:
		return strconv.AppendInt(b, v, 10), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case float64:
		return appendFloat(b, v), true
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return strconv.AppendInt(b, i, 10), true
		}
		if f, err := v.Float64(); err == nil {
			return appendFloat(b, f), true
		}
		return strconv.AppendQuote(b, v.String()), true
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendCanonical(b, x); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, k)
			b = append(b, ':')
			var ok bool
			if b, ok = appendCanonical(b, v[k]); !ok {
				return b, false
			}
		}
		return append(b, '}'), true
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return b, false
	}
	return append(append(append(b, '<'), raw...), '>'), true
}

// appendFloat appends a number by its value: an integral one as an
// integer.
func appendFloat(b []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// maxCachedQuery is the largest document the plan cache keeps: the cache
// holds PlanCacheSize entries, and a client must not fill memory with
// huge, distinct documents. Bigger ones are prepared on every request.
const maxCachedQuery = 64 << 10

// prepare parses, checks and validates a document, through the cache.
func (g *Gateway) prepare(ctx context.Context, st *state, query, opName string) *prepared {
	if len(query) > maxCachedQuery {
		if g.opts.OnPlanCache != nil {
			g.opts.OnPlanCache(false)
		}
		return g.parse(ctx, st, query, opName)
	}
	key := opName + "\x00" + query
	if p, ok := st.cache.Get(key); ok {
		if g.opts.OnPlanCache != nil {
			g.opts.OnPlanCache(true)
		}
		return p
	}
	if g.opts.OnPlanCache != nil {
		g.opts.OnPlanCache(false)
	}
	p := g.parse(ctx, st, query, opName)
	st.cache.Add(key, p)
	return p
}

// parse parses, checks and validates a document; ctx only carries the
// trace.
func (g *Gateway) parse(ctx context.Context, st *state, query, opName string) *prepared {
	if g.opts.Tracer != nil {
		_, span := g.opts.Tracer.Start(ctx, "graphql.validate")
		defer span.End()
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Name: "operation", Input: query}, g.opts.Limits.MaxTokens)
	if err != nil {
		code := apierror.ParseFailed
		if strings.Contains(err.Error(), "token limit") {
			code = apierror.QueryTooComplex
		}
		return &prepared{status: http.StatusBadRequest, errs: []Error{fromGQL(err, code)}}
	}
	op, perr := selectOperation(doc, opName)
	if perr != nil {
		return &prepared{status: http.StatusBadRequest, errs: []Error{*perr}}
	}
	if msg := g.checkLimits(doc, op); msg != "" {
		return &prepared{status: http.StatusBadRequest, errs: []Error{{Message: msg, Extensions: map[string]any{"code": apierror.QueryTooComplex}}}}
	}
	if errs := validator.ValidateWithRules(st.sg.Schema, doc, g.rules); len(errs) > 0 {
		// gqlparser visits a fragment's selections once per spread as well
		// as in its definition, so one mistake can be reported twice.
		var out []Error
		seen := map[string]bool{}
		for _, e := range errs {
			key := e.Message + fmt.Sprint(e.Locations)
			if !seen[key] {
				seen[key] = true
				out = append(out, fromGQL(e, apierror.ValidationFailed))
			}
		}
		return &prepared{status: http.StatusBadRequest, errs: out}
	}
	if !g.opts.Introspection && usesIntrospection(doc, op) {
		return &prepared{status: http.StatusBadRequest, errs: []Error{{Message: "introspection is disabled on this router", Extensions: map[string]any{"code": apierror.ValidationFailed}}}}
	}
	return &prepared{doc: doc, op: op, conditions: plan.ConditionVariables(doc, op), plans: map[string]*plan.Plan{}}
}

// plan returns the operation's plan for these @skip/@include values,
// building it on first use.
func (g *Gateway) plan(ctx context.Context, st *state, p *prepared, vars map[string]any) (*plan.Plan, error) {
	var key strings.Builder
	for _, name := range p.conditions {
		v, _ := vars[name].(bool)
		key.WriteString(strconv.FormatBool(v))
		key.WriteByte(',')
	}
	on, labelKey := st.labels.roll()
	key.WriteString(labelKey)
	k := key.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl := p.plans[k]; pl != nil {
		return pl, nil
	}
	if g.opts.Tracer != nil {
		_, span := g.opts.Tracer.Start(ctx, "graphql.plan")
		defer span.End()
	}
	pl, err := st.planner.Build(p.doc, p.op, vars, plan.Options{Labels: func(l string) bool { return on[l] }})
	if err != nil {
		return nil, err
	}
	p.plans[k] = pl
	return pl, nil
}

func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *Error) {
	bad := func(format string, args ...any) *Error {
		return &Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": apierror.BadRequest}}
	}
	switch {
	case len(doc.Operations) == 0:
		return nil, bad("the document has no operation")
	case name != "":
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, bad("the document has no operation named %q", name)
	case len(doc.Operations) > 1:
		return nil, bad("the document has several operations: operationName must say which to run")
	}
	return doc.Operations[0], nil
}

// usesIntrospection reports whether op selects __schema or __type
// anywhere, in fragments too.
func usesIntrospection(doc *ast.QueryDocument, op *ast.OperationDefinition) bool {
	sets := []ast.SelectionSet{op.SelectionSet} // still to look through
	spread := map[string]bool{}
	for len(sets) > 0 {
		set := sets[len(sets)-1]
		sets = sets[:len(sets)-1]
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				if s.Name == "__schema" || s.Name == "__type" {
					return true
				}
				sets = append(sets, s.SelectionSet)
			case *ast.InlineFragment:
				sets = append(sets, s.SelectionSet)
			case *ast.FragmentSpread:
				if f := doc.Fragments.ForName(s.Name); f != nil && !spread[s.Name] {
					spread[s.Name] = true
					sets = append(sets, f.SelectionSet)
				}
			}
		}
	}
	return false
}

// fromGQL converts a gqlparser error, keeping its locations and path.
func fromGQL(err error, code string) Error {
	var ge *gqlerror.Error
	if !errors.As(err, &ge) {
		return Error{Message: err.Error(), Extensions: map[string]any{"code": code}}
	}
	out := Error{Message: ge.Message, Extensions: map[string]any{"code": code}}
	for _, l := range ge.Locations {
		out.Locations = append(out.Locations, Location{Line: l.Line, Column: l.Column})
	}
	return out
}
