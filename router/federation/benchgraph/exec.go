package benchgraph

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"bookstore/router/federation/internal/jsonstr"
	"bookstore/router/federation/internal/skipinclude"
)

// This file is the subgraphs' GraphQL executor: small, schema-less and
// cheap, so that a gateway in front of them, not they, is what a benchmark
// measures. It parses a request with gqlparser (once per distinct query
// text), walks the operation's selections over Go values and writes the
// JSON answer straight into a buffer. It implements what the gateways send:
// fields, aliases, __typename, named and inline fragments (with type
// conditions), @skip and @include, arguments from literals and variables
// (with their defaults). It does not validate: a request for a field that a
// type does not have is answered with an error, and nothing else is
// checked.

// Object is a value with fields: an entity or any other object type.
type Object interface {
	// Typename is the object's GraphQL type name, for __typename and
	// fragments' type conditions.
	Typename() string
	// Field resolves a field. It returns nil (null), a string, an int, a
	// float64, a bool, an Object, a slice of those ([]string, []int,
	// []float64, []Object, []any), or Raw; an unknown field is an error.
	Field(name string, args Args) (any, error)
}

// Raw is a leaf value already in JSON (a list of scalars, say), written as
// it is.
type Raw []byte

// Args are a field's arguments.
type Args struct {
	field *ast.Field
	vars  map[string]any
}

// Value returns an argument's value (from a literal or a variable) and
// whether it was given.
func (a Args) Value(name string) (any, bool, error) {
	if a.field == nil {
		return nil, false, nil
	}
	arg := a.field.Arguments.ForName(name)
	if arg == nil {
		return nil, false, nil
	}
	if arg.Value.Kind == ast.Variable {
		v, ok := a.vars[arg.Value.Raw]
		return v, ok, nil
	}
	v, err := arg.Value.Value(a.vars)
	return v, true, err
}

// Int returns an integer argument, def when it is missing or null.
func (a Args) Int(name string, def int) (int, error) {
	v, ok, err := a.Value(name)
	if err != nil || !ok || v == nil {
		return def, err
	}
	switch n := v.(type) {
	case int64:
		return int(n), nil
	case float64:
		if n == math.Trunc(n) {
			return int(n), nil
		}
	case int:
		return n, nil
	case json.Number:
		i, err := n.Int64()
		return int(i), err
	}
	return 0, fmt.Errorf("argument %s: want an Int, got %v", name, v)
}

// String returns a string (or ID) argument, "" when it is missing.
func (a Args) String(name string) (string, error) {
	v, ok, err := a.Value(name)
	if err != nil || !ok || v == nil {
		return "", err
	}
	switch s := v.(type) {
	case string:
		return s, nil
	case int64:
		return strconv.FormatInt(s, 10), nil
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("argument %s: want a String, got %v", name, v)
}

// Request is a GraphQL request as posted.
type Request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

// Server answers GraphQL requests over a root Query object. It is an
// http.Handler for POST application/json.
type Server struct {
	root Object
	mu   sync.RWMutex
	docs map[string]*document // parsed queries, by text
}

// maxDocs bounds the parsed-query cache: a benchmark sends a handful of
// distinct queries; past the bound the cache starts over.
const maxDocs = 1000

// NewServer returns a server answering queries on root.
func NewServer(root Object) *Server {
	return &Server{root: root, docs: map[string]*document{}}
}

// document is a parsed query and, per selection, the fields it collects
// for each object type: fragments are expanded once per (selection, type).
type document struct {
	doc *ast.QueryDocument
	err error
	// conditional is set when the query has @skip or @include anywhere:
	// what a selection collects then depends on the variables, and is
	// not cached.
	conditional bool
	collected   sync.Map // collectKey → []group
}

// collectKey names a selection: the field whose selection set it is (or
// the operation's), and the type of the object it is applied to. A merged
// selection (one response key selected more than once) has neither and
// is not cached.
type collectKey struct {
	field    *ast.Field
	op       *ast.OperationDefinition
	typename string
}

func (s *Server) parse(query string) *document {
	s.mu.RLock()
	d := s.docs[query]
	s.mu.RUnlock()
	if d != nil {
		return d
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	d = &document{doc: doc, conditional: strings.Contains(query, "@skip") || strings.Contains(query, "@include")}
	if err != nil {
		d.err = err
	}
	s.mu.Lock()
	if len(s.docs) >= maxDocs {
		s.docs = map[string]*document{}
	}
	s.docs[query] = d
	s.mu.Unlock()
	return d
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// ServeHTTP answers a POST of a GraphQL request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST a GraphQL request", http.StatusMethodNotAllowed)
		return
	}
	var req Request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "a GraphQL request must be a JSON object: "+err.Error(), http.StatusBadRequest)
		return
	}
	bp := bufPool.Get().(*[]byte)
	out := s.Execute((*bp)[:0], &req)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	_, _ = w.Write(out)
	if cap(out) <= 16<<20 {
		*bp = out[:0]
		bufPool.Put(bp)
	}
}

// Execute appends the JSON answer to req to dst: {"data":…} or, when
// anything fails, {"data":null,"errors":[…]}.
func (s *Server) Execute(dst []byte, req *Request) []byte {
	d := s.parse(req.Query)
	if d.err != nil {
		return appendError(dst, d.err)
	}
	op, err := operation(d.doc, req.OperationName)
	if err != nil {
		return appendError(dst, err)
	}
	if op.Operation != ast.Query {
		return appendError(dst, fmt.Errorf("only queries are served, not %s", op.Operation))
	}
	vars := req.Variables
	for _, v := range op.VariableDefinitions {
		if _, ok := vars[v.Variable]; !ok && v.DefaultValue != nil {
			dv, err := v.DefaultValue.Value(nil)
			if err != nil {
				return appendError(dst, err)
			}
			if vars == nil {
				vars = map[string]any{}
			}
			vars[v.Variable] = dv
		}
	}
	e := executor{d: d, vars: vars}
	start := len(dst)
	dst = append(dst, `{"data":`...)
	dst, err = e.object(dst, s.root, collectKey{op: op}, op.SelectionSet)
	if err != nil {
		return appendError(dst[:start], err)
	}
	return append(dst, '}')
}

func operation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name == "" {
		if len(doc.Operations) != 1 {
			return nil, fmt.Errorf("the document has %d operations: name one", len(doc.Operations))
		}
		return doc.Operations[0], nil
	}
	if op := doc.Operations.ForName(name); op != nil {
		return op, nil
	}
	return nil, fmt.Errorf("no operation named %q", name)
}

func appendError(dst []byte, err error) []byte {
	dst = append(dst, `{"data":null,"errors":[{"message":`...)
	dst = jsonstr.Append(dst, err.Error())
	return append(dst, `}]}`...)
}

type executor struct {
	d    *document
	vars map[string]any
}

// group is the fields of one response key, in the order they were found:
// their selections are merged.
type group struct {
	key    string
	fields []*ast.Field
}

// collect returns the fields that sel selects on an object of
// key.typename, fragments expanded, grouped by response key in first-seen
// order.
func (e *executor) collect(key collectKey, sel ast.SelectionSet) ([]group, error) {
	cacheable := !e.d.conditional && (key.field != nil || key.op != nil)
	if cacheable {
		if g, ok := e.d.collected.Load(key); ok {
			return g.([]group), nil
		}
	}
	var groups []group
	index := map[string]int{}
	if err := e.collectInto(&groups, index, key.typename, sel, 0); err != nil {
		return nil, err
	}
	if cacheable {
		e.d.collected.Store(key, groups)
	}
	return groups, nil
}

func (e *executor) collectInto(groups *[]group, index map[string]int, typename string, sel ast.SelectionSet, depth int) error {
	if depth > 64 {
		return errors.New("fragments nest too deep (a cycle?)")
	}
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if ok, err := e.included(s.Directives); err != nil {
				return err
			} else if !ok {
				continue
			}
			if i, ok := index[s.Alias]; ok {
				(*groups)[i].fields = append((*groups)[i].fields, s)
				continue
			}
			index[s.Alias] = len(*groups)
			*groups = append(*groups, group{key: s.Alias, fields: []*ast.Field{s}})
		case *ast.InlineFragment:
			if ok, err := e.included(s.Directives); err != nil {
				return err
			} else if !ok {
				continue
			}
			if s.TypeCondition != "" && s.TypeCondition != typename {
				continue
			}
			if err := e.collectInto(groups, index, typename, s.SelectionSet, depth+1); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if ok, err := e.included(s.Directives); err != nil {
				return err
			} else if !ok {
				continue
			}
			f := e.d.doc.Fragments.ForName(s.Name)
			if f == nil {
				return fmt.Errorf("no fragment named %q", s.Name)
			}
			if f.TypeCondition != "" && f.TypeCondition != typename {
				continue
			}
			if err := e.collectInto(groups, index, typename, f.SelectionSet, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// included applies @skip and @include, a @skip or an @include without if
// an error.
func (e *executor) included(dirs ast.DirectiveList) (bool, error) {
	if err := skipinclude.MissingIf(dirs); err != nil {
		return false, err
	}
	return skipinclude.Included(dirs, e.vars)
}

// object appends obj's selected fields as a JSON object.
func (e *executor) object(dst []byte, obj Object, key collectKey, sel ast.SelectionSet) ([]byte, error) {
	typename := obj.Typename()
	key.typename = typename
	groups, err := e.collect(key, sel)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '{')
	for i, g := range groups {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, g.key)
		dst = append(dst, ':')
		f := g.fields[0]
		if f.Name == "__typename" {
			dst = jsonstr.Append(dst, typename)
			continue
		}
		v, err := obj.Field(f.Name, Args{field: f, vars: e.vars})
		if err != nil {
			return dst, fmt.Errorf("%s.%s: %w", typename, f.Name, err)
		}
		sub := f.SelectionSet
		if len(g.fields) > 1 {
			sub = nil
			for _, gf := range g.fields {
				sub = append(sub, gf.SelectionSet...)
			}
		}
		childKey := collectKey{field: f}
		if len(g.fields) > 1 {
			childKey = collectKey{}
		}
		if dst, err = e.value(dst, v, childKey, sub); err != nil {
			return dst, fmt.Errorf("%s.%s: %w", typename, f.Name, err)
		}
	}
	return append(dst, '}'), nil
}

// value appends a resolved value.
func (e *executor) value(dst []byte, v any, key collectKey, sel ast.SelectionSet) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return jsonstr.Append(dst, v), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case float64:
		return appendFloat(dst, v), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case Raw:
		return append(dst, v...), nil
	case Object:
		return e.object(dst, v, key, sel)
	case []Object:
		return appendList(dst, v, func(dst []byte, o Object) ([]byte, error) { return e.value(dst, o, key, sel) })
	case []string:
		return appendList(dst, v, func(dst []byte, s string) ([]byte, error) { return jsonstr.Append(dst, s), nil })
	case []int:
		return appendList(dst, v, func(dst []byte, n int) ([]byte, error) { return strconv.AppendInt(dst, int64(n), 10), nil })
	case []float64:
		return appendList(dst, v, func(dst []byte, f float64) ([]byte, error) { return appendFloat(dst, f), nil })
	case []any:
		return appendList(dst, v, func(dst []byte, x any) ([]byte, error) { return e.value(dst, x, key, sel) })
	}
	return dst, fmt.Errorf("cannot write a %T", v)
}

// appendList appends list as a JSON array, each element written by elem.
func appendList[T any](dst []byte, list []T, elem func(dst []byte, x T) ([]byte, error)) ([]byte, error) {
	dst = append(dst, '[')
	for i, x := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = elem(dst, x); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}

func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}
