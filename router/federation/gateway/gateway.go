// Package gateway is the router's request pipeline: parse → validate →
// plan (cached) → execute, over the current supergraph. It knows nothing of
// HTTP beyond the status a response should get; the server and the REST
// shims both call Do.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
	"bookstore/router/federation/plan"
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
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxAliases <= 0 {
		l.MaxAliases = DefaultMaxAliases
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	if l.MaxTokens <= 0 {
		l.MaxTokens = DefaultMaxTokens
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if opts.PlanCacheSize <= 0 {
		opts.PlanCacheSize = DefaultPlanCacheSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Gateway{opts: opts, rules: validationRules()}
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
	ctx, cancel := context.WithTimeout(ctx, g.opts.Limits.Timeout)
	defer cancel()
	res := st.exec.Execute(ctx, &execute.Request{Plan: pl, Variables: vars, Header: req.Header})
	resp := &Response{Status: http.StatusOK, Data: res.Data, Errors: res.Errors, Extensions: res.Extensions, result: res}
	if req.WantPlan && g.opts.ExposePlans {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["queryPlan"] = pl.Describe()
	}
	return resp
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

func usesIntrospection(doc *ast.QueryDocument, op *ast.OperationDefinition) bool {
	found := false
	seen := map[string]bool{}
	var walk func(set ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				if s.Name == "__schema" || s.Name == "__type" {
					found = true
				}
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if !seen[s.Name] {
					seen[s.Name] = true
					if f := doc.Fragments.ForName(s.Name); f != nil {
						walk(f.SelectionSet)
					}
				}
			}
		}
	}
	walk(op.SelectionSet)
	return found
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
