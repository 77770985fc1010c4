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
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"bookstore/router/compose"
	"bookstore/router/transport"
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
	// reached: Do returns an error wrapping transport.ErrUnavailable.
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
	Answer func(ctx context.Context, r Request) (*transport.Response, error)
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

	mu   sync.Mutex
	reqs []Request
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
			if _, ok := sg.Graph(name); !ok {
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
				for _, k := range t.KeysIn(name) {
					fk.keys[typ] = append(fk.keys[typ], topLevel(k.Fields))
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
func (f *Fetcher) Do(ctx context.Context, req transport.Request) (*transport.Response, error) {
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
		return nil, fmt.Errorf("executetest: subgraph %q is down: %w", req.Subgraph, transport.ErrUnavailable)
	case spec.Body != "":
		status := spec.Status
		if status == 0 {
			status = http.StatusOK
		}
		return &transport.Response{Status: status, Body: []byte(spec.Body), Replica: "fake://" + req.Subgraph}, nil
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

func answer(subgraph string, r response) (*transport.Response, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("executetest: encoding the response: %w", err)
	}
	return &transport.Response{Status: http.StatusOK, Body: b, Replica: "fake://" + subgraph}, nil
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

// projector answers one request: it projects a fake's data onto the
// request's selection.
type projector struct {
	sg   *compose.Supergraph
	fake *fake
	doc  *ast.QueryDocument
	vars map[string]any
	errs []gqlError
	// invalid is set when the selection proved invalid (two fields of one
	// response key conflict): the request is then refused as a whole.
	invalid error
}

// ordered is a JSON object that keeps its keys in selection order.
type ordered struct {
	keys []string
	vals []any
}

// MarshalJSON writes the object's members in order.
func (o *ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (p *projector) root(op *ast.OperationDefinition) (*ordered, error) {
	typ, data := "Query", p.fake.query
	if op.Operation == ast.Mutation {
		typ, data = "Mutation", p.fake.mutation
	}
	if err := p.checkShapes(op.SelectionSet, typ, map[string]bool{}); err != nil {
		return nil, err
	}
	fields, err := p.collect(op.SelectionSet, typ)
	if err != nil {
		return nil, err
	}
	out := &ordered{}
	for _, c := range fields {
		fd := c.fields[0]
		var v any
		switch fd.Name {
		case "__typename":
			v = typ
		case "_entities":
			v = p.entities(c)
		default:
			v = p.field(typ, data, c, nil)
		}
		out.keys = append(out.keys, c.key)
		out.vals = append(out.vals, v)
	}
	return out, nil
}

// entities answers an _entities field.
func (p *projector) entities(c *collected) any {
	reps, _ := argument(c.fields[0], "representations", p.vars).([]any)
	out := make([]any, len(reps))
	for i, r := range reps {
		rep, _ := r.(map[string]any)
		typ, _ := rep["__typename"].(string)
		obj := p.fake.match(typ, rep)
		if obj == nil {
			continue
		}
		out[i] = p.value(obj, typ, c.fields, []any{c.key, i})
	}
	return out
}

// match returns the entity of type typ that rep stands for, or nil.
func (fk *fake) match(typ string, rep map[string]any) any {
	keys := fk.keys[typ]
	if len(keys) == 0 {
		var all []string
		for k := range rep {
			if k != "__typename" {
				all = append(all, k)
			}
		}
		sort.Strings(all)
		keys = [][]string{all}
	}
	for _, obj := range fk.entities[typ] {
		m, ok := obj.(map[string]any)
		if !ok {
			continue
		}
		for _, key := range keys {
			if matchKey(key, rep, m) {
				return obj
			}
		}
	}
	return nil
}

func matchKey(key []string, rep, obj map[string]any) bool {
	if len(key) == 0 {
		return false
	}
	for _, name := range key {
		rv, ok1 := rep[name]
		ov, ok2 := obj[name]
		if !ok1 || !ok2 || !subset(rv, ov) {
			return false
		}
	}
	return true
}

// subset reports whether a, from a representation, matches b, from the
// data: equal, but an object of b may have more fields than a names.
func subset(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !subset(v, w) {
				return false
			}
		}
		return true
	case []any:
		bl, ok := b.([]any)
		if !ok || len(bl) != len(a) {
			return false
		}
		for i := range a {
			if !subset(a[i], bl[i]) {
				return false
			}
		}
		return true
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		x, err1 := strconv.ParseFloat(string(a), 64)
		y, err2 := strconv.ParseFloat(string(bn), 64)
		return err1 == nil && err2 == nil && x == y
	default:
		return a == b
	}
}

// field answers one field of an object of runtime type typ.
func (p *projector) field(typ string, obj map[string]any, c *collected, path []any) any {
	fd := c.fields[0]
	v := obj[fd.Name]
	if p.fake.spec.Resolve != nil && len(fd.Arguments) > 0 {
		args := map[string]any{}
		for _, a := range fd.Arguments {
			args[a.Name], _ = a.Value.Value(p.vars)
		}
		v = p.fake.spec.Resolve(FieldCall{Type: typ, Field: fd.Name, Args: args, Parent: obj, Value: v})
	}
	return p.value(v, p.fieldType(typ, fd.Name), c.fields, append(slices.Clip(path), c.key))
}

// value projects v, of static type typ (the named type, "" when unknown),
// onto the merged selections of fields.
func (p *projector) value(v any, typ string, fields []*ast.Field, path []any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = p.value(item, typ, fields, append(slices.Clip(path), i))
		}
		return out
	case map[string]any:
		if msg, ok := v["$error"]; ok {
			e := gqlError{Message: fmt.Sprint(msg), Path: slices.Clone(path)}
			if code, ok := v["$code"].(string); ok {
				e.Extensions = map[string]any{"code": code}
			}
			p.errs = append(p.errs, e)
			return nil
		}
		var sets []ast.SelectionSet
		for _, fd := range fields {
			if len(fd.SelectionSet) > 0 {
				sets = append(sets, fd.SelectionSet)
			}
		}
		if len(sets) == 0 {
			return v // a custom scalar's JSON object
		}
		return p.object(v, typ, sets, path)
	}
	return v
}

// object projects an object onto selection sets.
func (p *projector) object(obj map[string]any, static string, sets []ast.SelectionSet, path []any) any {
	rt := static
	if tn, ok := obj["__typename"].(string); ok {
		rt = tn
	} else if p.abstract(static) {
		p.errs = append(p.errs, gqlError{
			Message: fmt.Sprintf("executetest: the data of an object of abstract type %s has no __typename", static),
			Path:    slices.Clone(path),
		})
		return nil
	}
	var fields []*collected
	index := map[string]*collected{}
	for _, set := range sets {
		if err := p.collectInto(set, rt, &fields, index); err != nil {
			if p.invalid == nil {
				p.invalid = err
			}
			return nil
		}
	}
	out := &ordered{}
	for _, c := range fields {
		var v any
		if c.fields[0].Name == "__typename" {
			if rt != "" {
				v = rt
			}
		} else {
			v = p.field(rt, obj, c, path)
		}
		out.keys = append(out.keys, c.key)
		out.vals = append(out.vals, v)
	}
	return out
}

// collected is the fields of one response key.
type collected struct {
	key    string
	fields []*ast.Field
}

func (p *projector) collect(set ast.SelectionSet, rt string) ([]*collected, error) {
	var out []*collected
	err := p.collectInto(set, rt, &out, map[string]*collected{})
	return out, err
}

// collectInto collects the fields of set for runtime type rt, grouped by
// response key. Two fields of one key that differ in name or arguments
// are a conflict, as GraphQL validation says.
func (p *projector) collectInto(set ast.SelectionSet, rt string, out *[]*collected, index map[string]*collected) error {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if !p.included(s.Directives) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			c := index[key]
			if c == nil {
				c = &collected{key: key}
				index[key] = c
				*out = append(*out, c)
			} else if first := c.fields[0]; first.Name != s.Name || argsText(first) != argsText(s) {
				return fmt.Errorf("fields %q conflict because %s and %s are different fields or have different arguments", key, first.Name, s.Name)
			}
			c.fields = append(c.fields, s)
		case *ast.InlineFragment:
			if !p.included(s.Directives) || (s.TypeCondition != "" && !p.applies(s.TypeCondition, rt)) {
				continue
			}
			if err := p.collectInto(s.SelectionSet, rt, out, index); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			frag := p.doc.Fragments.ForName(s.Name)
			if frag == nil {
				return fmt.Errorf("unknown fragment %q", s.Name)
			}
			if !p.included(s.Directives) || !p.applies(frag.TypeCondition, rt) {
				continue
			}
			if err := p.collectInto(frag.SelectionSet, rt, out, index); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkShapes refuses a selection set in which two fields of one response
// key return different types, in any of its fragments: GraphQL validation
// refuses them even when the fragments apply to different types. The
// types are the supergraph's; a field it does not know is not compared.
func (p *projector) checkShapes(set ast.SelectionSet, parent string, spread map[string]bool) error {
	if p.sg == nil {
		return nil
	}
	types := map[string]string{}
	var walk func(set ast.SelectionSet, parent string) error
	walk = func(set ast.SelectionSet, parent string) error {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				key := s.Alias
				if key == "" {
					key = s.Name
				}
				if t := p.fieldTypeString(parent, s.Name); t != "" {
					if prev, ok := types[key]; ok && prev != t {
						return fmt.Errorf("fields %q conflict because they return conflicting types %s and %s", key, prev, t)
					}
					types[key] = t
				}
				if len(s.SelectionSet) > 0 {
					if err := p.checkShapes(s.SelectionSet, p.fieldType(parent, s.Name), spread); err != nil {
						return err
					}
				}
			case *ast.InlineFragment:
				cond := s.TypeCondition
				if cond == "" {
					cond = parent
				}
				if err := walk(s.SelectionSet, cond); err != nil {
					return err
				}
			case *ast.FragmentSpread:
				frag := p.doc.Fragments.ForName(s.Name)
				if frag == nil || spread[s.Name] {
					continue
				}
				spread[s.Name] = true
				err := walk(frag.SelectionSet, frag.TypeCondition)
				delete(spread, s.Name)
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(set, parent)
}

// fieldTypeString returns the type of field of typ, wrappers included, or
// "" when unknown.
func (p *projector) fieldTypeString(typ, field string) string {
	if field == "__typename" {
		return "String!"
	}
	if typ == "" {
		return ""
	}
	if fm := p.sg.Type(typ).Field(field); fm != nil && fm.Type != nil {
		return fm.Type.String()
	}
	if d := p.sg.Schema.Types[typ]; d != nil {
		if fd := d.Fields.ForName(field); fd != nil {
			return fd.Type.String()
		}
	}
	return ""
}

func argsText(fd *ast.Field) string {
	var b strings.Builder
	for _, a := range fd.Arguments {
		b.WriteString(a.Name)
		b.WriteByte(':')
		b.WriteString(a.Value.String())
		b.WriteByte(',')
	}
	return b.String()
}

// included evaluates @skip and @include.
func (p *projector) included(dirs ast.DirectiveList) bool {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		a := d.Arguments.ForName("if")
		if a == nil {
			continue
		}
		v, _ := a.Value.Value(p.vars)
		if b, _ := v.(bool); (d.Name == "skip") == b {
			return false
		}
	}
	return true
}

// applies reports whether a fragment on cond applies to runtime type rt.
func (p *projector) applies(cond, rt string) bool {
	if rt == "" {
		return false
	}
	if cond == rt {
		return true
	}
	if p.sg == nil {
		return false
	}
	for _, d := range p.sg.Schema.PossibleTypes[cond] {
		if d.Name == rt {
			return true
		}
	}
	if t := p.sg.Type(cond); t != nil {
		return slices.Contains(t.Possible[p.fake.name], rt)
	}
	return false
}

// abstract reports whether the supergraph says typ is an interface or a
// union.
func (p *projector) abstract(typ string) bool {
	if p.sg == nil || typ == "" {
		return false
	}
	if d := p.sg.Schema.Types[typ]; d != nil {
		return d.IsAbstractType()
	}
	t := p.sg.Type(typ)
	return t != nil && (t.Kind == ast.Interface || t.Kind == ast.Union)
}

// fieldType returns the named type of field of typ, or "" when unknown.
func (p *projector) fieldType(typ, field string) string {
	if p.sg == nil || typ == "" {
		return ""
	}
	if fm := p.sg.Type(typ).Field(field); fm != nil && fm.Type != nil {
		return fm.Type.Name()
	}
	if d := p.sg.Schema.Types[typ]; d != nil {
		if fd := d.Fields.ForName(field); fd != nil {
			return fd.Type.Name()
		}
	}
	return ""
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
