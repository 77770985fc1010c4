// Package executetest runs the router's planner and executor against fake
// subgraphs, in process: no HTTP, no database, no Node. Its tests take
// milliseconds.
//
// A fake subgraph is data, not canned responses: the values of its root
// fields, and its entity objects per type. The fake parses each request's
// query and projects the data onto the selection (aliases, nested
// selections, inline fragments, __typename and _entities), so tests do not
// depend on how the planner words or groups its fetches.
//
// A value {"$error": "message"} anywhere in the data (a field's value, a
// list item, an entity object) answers null there with a GraphQL error at
// that position's subgraph path, such as ["book", "title"] for a root
// field or ["_0", 3, "price"] for an entity field; "$code" adds
// extensions.code. An entity object that holds "$error" next to its key
// fields makes its _entities item null.
//
// The fake does not propagate nulls itself: it answers what the data says
// even in a position the subgraph's schema makes non-null, as a lenient
// subgraph would. Put the marker where the subgraph would null.
package executetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/execute"
)

// Subgraph is one fake subgraph: its data, and optionally how it fails.
type Subgraph struct {
	// Query and Mutation are JSON objects holding the root fields'
	// values, by field name. An absent field answers null.
	Query, Mutation string
	// Entities is a JSON object mapping each entity type to the list of
	// its objects, which _entities answers from.
	Entities string
	// Keys lists, per entity type, the key field sets a representation
	// is matched on, written as in @key ("id", "sku vendor { code }").
	// A type not listed takes its keys in this subgraph from the
	// supergraph; a type with no key at all matches on every field of the
	// representation but __typename.
	Keys map[string][]string
	// Resolve, when set, is called for every field the request passes
	// arguments to, and answers its value instead of the data.
	Resolve func(FieldCall) any

	// Unavailable makes every request fail as a subgraph that cannot be
	// reached: Do returns an error wrapping execute.ErrUnavailable.
	Unavailable bool
	// Body, when set, is answered verbatim (with Status, 200 when zero),
	// whatever the request: a body that is not GraphQL, for instance.
	Body   string
	Status int
	// Errors, when set, makes every answer data null with these error
	// messages: a subgraph that failed the whole operation.
	Errors []string
	// Delay postpones every answer; a context that ends first makes Do
	// return its error.
	Delay time.Duration
	// Answer, when set, sees every request first; a non-nil response or
	// error is the answer, and (nil, nil) lets the data answer.
	Answer func(ctx context.Context, r Request) (*execute.FetchResponse, error)
}

// FieldCall is a field with arguments, as Subgraph.Resolve sees it.
type FieldCall struct {
	// Type is the runtime type of the object the field is read on, and
	// Field the field's name.
	Type, Field string
	// Args are the arguments, with variables substituted.
	Args map[string]any
	// Parent is the object's data, and Value the field's value in it.
	Parent map[string]any
	Value  any
}

// Request is one request a Fetcher received.
type Request struct {
	Subgraph      string
	Query         string
	OperationName string
	// Variables are the request's variables, numbers as json.Number.
	Variables map[string]any
	Mutation  bool
	Header    http.Header
	// Representations are the representations of the request's _entities
	// fields, in query order and then in the order sent, each as JSON
	// with sorted keys. A root request has none.
	Representations []string
}

// Fetcher is a set of fake subgraphs. It implements execute.Fetcher and
// records every request. It is safe for concurrent use.
type Fetcher struct {
	sg   *compose.Supergraph
	subs map[string]*fake
	gate *gate

	mu   sync.Mutex
	reqs []Request
}

// Together holds the first root request (one without representations) of
// each of graphs until every one of them has arrived, and then answers
// them one after another, each as soon as the one before has returned: as
// if their answers arrived at the same time. Call it before the requests
// are sent.
func (f *Fetcher) Together(graphs ...string) {
	f.gate = &gate{graphs: graphs, arrived: map[string]bool{}, all: make(chan struct{}), prev: closed()}
}

func closed() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// gate holds requests for Fetcher.Together.
type gate struct {
	graphs []string
	mu     sync.Mutex
	// arrived holds the graphs whose request arrived; all is closed when
	// all have; prev is closed when the request before the last to
	// arrive has been answered.
	arrived map[string]bool
	all     chan struct{}
	prev    chan struct{}
}

// pass holds a request of graph as Together says, and returns what to
// call once it is answered.
func (g *gate) pass(ctx context.Context, graph string) func() {
	g.mu.Lock()
	if !slices.Contains(g.graphs, graph) || g.arrived[graph] {
		g.mu.Unlock()
		return func() {}
	}
	g.arrived[graph] = true
	turn, mine := g.prev, make(chan struct{})
	g.prev = mine
	if len(g.arrived) == len(g.graphs) {
		close(g.all)
	}
	g.mu.Unlock()
	select {
	case <-g.all:
	case <-ctx.Done():
	}
	select {
	case <-turn:
	case <-ctx.Done():
	}
	return func() { close(mine) }
}

// fake is a Subgraph with its data parsed.
type fake struct {
	name     string
	spec     *Subgraph
	query    map[string]any
	mutation map[string]any
	entities map[string][]any
	// keys holds each entity type's keys, each as its top-level field
	// names (nested fields are compared as a subset).
	keys map[string][][]string
}

// New returns a Fetcher serving subgraphs, by name. sg, when not nil,
// supplies the entity keys and the field types the projection needs to
// name an object's type when its data has no __typename, and a subgraph of
// sg absent from subgraphs answers as one with no data. Without sg, an
// object's type is only what its data's __typename says.
func New(sg *compose.Supergraph, subgraphs map[string]*Subgraph) (*Fetcher, error) {
	f := &Fetcher{sg: sg, subs: map[string]*fake{}}
	all := make(map[string]*Subgraph, len(subgraphs))
	for name, spec := range subgraphs {
		all[name] = spec
	}
	if sg != nil {
		for _, g := range sg.Graphs {
			if _, ok := all[g.Name]; !ok {
				all[g.Name] = nil
			}
		}
	}
	for name, spec := range all {
		if sg != nil {
			if !slices.ContainsFunc(sg.Graphs, func(g compose.Graph) bool { return g.Name == name }) {
				return nil, fmt.Errorf("executetest: the supergraph has no subgraph %q", name)
			}
		}
		fk, err := newFake(sg, name, spec)
		if err != nil {
			return nil, err
		}
		f.subs[name] = fk
	}
	return f, nil
}

func newFake(sg *compose.Supergraph, name string, spec *Subgraph) (*fake, error) {
	if spec == nil {
		spec = &Subgraph{}
	}
	fk := &fake{name: name, spec: spec, entities: map[string][]any{}, keys: map[string][][]string{}}
	var err error
	if fk.query, err = decodeObject(spec.Query); err != nil {
		return nil, fmt.Errorf("executetest: subgraph %q: Query: %w", name, err)
	}
	if fk.mutation, err = decodeObject(spec.Mutation); err != nil {
		return nil, fmt.Errorf("executetest: subgraph %q: Mutation: %w", name, err)
	}
	ents, err := decodeObject(spec.Entities)
	if err != nil {
		return nil, fmt.Errorf("executetest: subgraph %q: Entities: %w", name, err)
	}
	for typ, v := range ents {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("executetest: subgraph %q: Entities: %s is not a list", name, typ)
		}
		fk.entities[typ] = list
	}
	for typ, sets := range spec.Keys {
		for _, s := range sets {
			set, err := compose.ParseFieldSet(s)
			if err != nil {
				return nil, fmt.Errorf("executetest: subgraph %q: key of %s: %w", name, typ, err)
			}
			fk.keys[typ] = append(fk.keys[typ], topLevel(set))
		}
	}
	if sg != nil {
		for typ := range fk.entities {
			if _, ok := spec.Keys[typ]; ok {
				continue
			}
			if t := sg.Type(typ); t != nil {
				for _, k := range t.Keys {
					if k.Graph == name {
						fk.keys[typ] = append(fk.keys[typ], topLevel(k.Fields))
					}
				}
			}
		}
	}
	return fk, nil
}

func topLevel(set ast.SelectionSet) []string {
	var names []string
	for _, s := range set {
		if f, ok := s.(*ast.Field); ok {
			names = append(names, f.Name)
		}
	}
	return names
}

// decodeObject decodes a JSON object, numbers as json.Number; "" is empty.
func decodeObject(s string) (map[string]any, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]any{}, nil
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// Requests returns every request received so far, in arrival order.
func (f *Fetcher) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// Calls returns the requests subgraph received, in arrival order.
func (f *Fetcher) Calls(subgraph string) []Request {
	var out []Request
	for _, r := range f.Requests() {
		if r.Subgraph == subgraph {
			out = append(out, r)
		}
	}
	return out
}

// Do answers one request from its subgraph's data.
func (f *Fetcher) Do(ctx context.Context, req execute.FetchRequest) (*execute.FetchResponse, error) {
	resp, err := f.serve(ctx, req)
	if f.gate != nil && !bytes.Contains(req.Body, []byte("_entities")) {
		// The answer is ready: the wait is for the others' only.
		defer f.gate.pass(ctx, req.Subgraph)()
	}
	return resp, err
}

func (f *Fetcher) serve(ctx context.Context, req execute.FetchRequest) (*execute.FetchResponse, error) {
	fk := f.subs[req.Subgraph]
	if fk == nil {
		return nil, fmt.Errorf("executetest: no subgraph %q", req.Subgraph)
	}
	r := Request{Subgraph: req.Subgraph, Mutation: req.Mutation, Header: req.Header.Clone()}
	var body struct {
		Query         string          `json:"query"`
		OperationName string          `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
	}
	bodyErr := json.Unmarshal(req.Body, &body)
	r.Query, r.OperationName = body.Query, body.OperationName
	if bodyErr == nil && len(body.Variables) > 0 && string(body.Variables) != "null" {
		v, err := decodeJSON(body.Variables)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			bodyErr = errors.New("variables is not a JSON object")
		}
		r.Variables = m
	}
	var doc *ast.QueryDocument
	var parseErr error
	if bodyErr == nil {
		doc, parseErr = parser.ParseQuery(&ast.Source{Name: req.Subgraph, Input: r.Query})
		if parseErr == nil {
			r.Representations = representations(doc, r.Variables)
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()

	spec := fk.spec
	if spec.Delay > 0 {
		t := time.NewTimer(spec.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("executetest: subgraph %q: %w", req.Subgraph, ctx.Err())
		case <-t.C:
		}
	}
	if spec.Answer != nil {
		resp, err := spec.Answer(ctx, r)
		if resp != nil || err != nil {
			return resp, err
		}
	}
	switch {
	case spec.Unavailable:
		return nil, fmt.Errorf("executetest: subgraph %q is down: %w", req.Subgraph, execute.ErrUnavailable)
	case spec.Body != "":
		status := spec.Status
		if status == 0 {
			status = http.StatusOK
		}
		return &execute.FetchResponse{Status: status, Body: []byte(spec.Body), Replica: "fake://" + req.Subgraph}, nil
	case len(spec.Errors) > 0:
		out := response{Data: json.RawMessage("null")}
		for _, msg := range spec.Errors {
			out.Errors = append(out.Errors, gqlError{Message: msg})
		}
		return answer(req.Subgraph, out)
	case bodyErr != nil:
		return answer(req.Subgraph, requestError("the request body is not a GraphQL request: "+bodyErr.Error(), "BAD_REQUEST"))
	case parseErr != nil:
		return answer(req.Subgraph, requestError(parseErr.Error(), "GRAPHQL_PARSE_FAILED"))
	}
	op, err := operation(doc, r.OperationName)
	if err != nil {
		return answer(req.Subgraph, requestError(err.Error(), "GRAPHQL_VALIDATION_FAILED"))
	}
	p := &projector{sg: f.sg, fake: fk, doc: doc, vars: r.Variables}
	data, err := p.root(op)
	if err == nil {
		err = p.invalid
	}
	if err != nil {
		return answer(req.Subgraph, requestError(err.Error(), "GRAPHQL_VALIDATION_FAILED"))
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("executetest: encoding the data: %w", err)
	}
	return answer(req.Subgraph, response{Data: raw, Errors: p.errs})
}

type response struct {
	Data   json.RawMessage `json:"data,omitempty"`
	Errors []gqlError      `json:"errors,omitempty"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// requestError is a response with no data: the request was refused.
func requestError(msg, code string) response {
	return response{Errors: []gqlError{{Message: msg, Extensions: map[string]any{"code": code}}}}
}

func answer(subgraph string, r response) (*execute.FetchResponse, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("executetest: encoding the response: %w", err)
	}
	return &execute.FetchResponse{Status: http.StatusOK, Body: b, Replica: "fake://" + subgraph}, nil
}

func operation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, fmt.Errorf("unknown operation %q", name)
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("the document has %d operations and names none", len(doc.Operations))
	}
	return doc.Operations[0], nil
}

// representations lists the representations of a document's root
// _entities fields, each as JSON with sorted keys.
func representations(doc *ast.QueryDocument, vars map[string]any) []string {
	if len(doc.Operations) == 0 {
		return nil
	}
	var out []string
	for _, s := range doc.Operations[0].SelectionSet {
		fd, ok := s.(*ast.Field)
		if !ok || fd.Name != "_entities" {
			continue
		}
		list, _ := argument(fd, "representations", vars).([]any)
		for _, rep := range list {
			b, _ := json.Marshal(rep)
			out = append(out, string(b))
		}
	}
	return out
}

func argument(fd *ast.Field, name string, vars map[string]any) any {
	a := fd.Arguments.ForName(name)
	if a == nil {
		return nil
	}
	v, _ := a.Value.Value(vars)
	return v
}

// ByArgument returns a Subgraph.Resolve for fields looked up by one
// argument: a field that has argument arg holds, in the data, an object
// keyed by that argument's value, and answers the member the request
// names (null when none). {"product": {"1": {...}, "2": {...}}} answers
// product(id: "2") with the second object. Other fields answer their data.
func ByArgument(arg string) func(FieldCall) any {
	return func(c FieldCall) any {
		v, ok := c.Args[arg]
		if !ok {
			return c.Value
		}
		m, ok := c.Value.(map[string]any)
		if !ok {
			return c.Value
		}
		return m[fmt.Sprint(v)]
	}
}
