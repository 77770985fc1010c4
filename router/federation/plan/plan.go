// Package plan turns a validated client operation into a graph of subgraph
// fetches: root fields grouped by subgraph, and _entities fetches for the
// fields that other subgraphs resolve, each after the fetches whose data it
// needs (the objects it completes, their keys, the fields its @requires
// names, the values of its contextual arguments).
//
// A plan depends on the operation, the supergraph, the values of the
// variables that @skip and @include use, and the progressive override
// labels that are on; nothing else. It is immutable and may be cached and
// shared between requests.
package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/router/federation/compose"
)

// Plan is the fetch graph of one operation, and the normalized selection
// the executor shapes the response with.
type Plan struct {
	Operation ast.Operation
	// Root is the normalized selection on the root type.
	Root *Selection
	// Fetches are every fetch of the plan, each after the fetches it
	// depends on. A mutation's root fetches depend on everything the root
	// fetch before them started, so they run one after another.
	Fetches []*Fetch
	// Introspection is true when a root field is __schema or __type: the
	// executor answers those from the schema.
	Introspection bool
	// Passthrough is true when the plan is one fetch whose selection is
	// exactly the client's (no key, @requires or __typename field added, no
	// entity fetch): the subgraph's data is then the response as it is.
	Passthrough bool
	// VariableTypes holds the client's variable definitions by name.
	VariableTypes map[string]*ast.Type
	// internalKeys holds every response key the planner chose for a field
	// it added (a key, a @requires field, the objects' __typename when the
	// client took that key): see IsInternalKey.
	internalKeys map[string]bool
	// TypenameKey is the response key of the __typename the planner asks
	// of objects: "__typename", unless the client put another field under
	// that key.
	TypenameKey string
	// Memo holds what an executor derives from the plan and keeps for the
	// plan's lifetime (the requests it makes of several fetches); the
	// planner leaves it empty and never reads it.
	Memo Memo
}

// Memo is a concurrency-safe map from byte-string keys to values, for
// Plan.Memo: written once per key, read on every execution, so reads take
// no lock (a store copies the map). Its zero value is empty and ready to
// use.
type Memo struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]any]
}

// Load returns the value stored under key, if any.
func (m *Memo) Load(key []byte) (any, bool) {
	p := m.m.Load()
	if p == nil {
		return nil, false
	}
	v, ok := (*p)[string(key)]
	return v, ok
}

// LoadOrStore returns the value stored under key, storing v there first
// if there is none.
func (m *Memo) LoadOrStore(key []byte, v any) any {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.m.Load()
	if old != nil {
		if x, ok := (*old)[string(key)]; ok {
			return x
		}
	}
	n := map[string]any{}
	if old != nil {
		n = maps.Clone(*old)
	}
	n[string(key)] = v
	m.m.Store(&n)
	return v
}

// Fetch is one request to one subgraph.
type Fetch struct {
	// ID numbers the plan's fetches from 0, in Plan.Fetches order.
	ID    int
	Graph string
	// Query is the subgraph operation's text, and QueryJSON the same as a
	// JSON string, ready for a request body. Name is the operation's name
	// in it ("" when the client's operation has none).
	Query     string
	QueryJSON []byte
	Name      string
	// Variables are the client variables Query uses.
	Variables []string
	// Entities are the _entities selections of an entity fetch, one per
	// path; nil for a root fetch.
	Entities []*Entities
	// Deps are the fetches that must be done before this one starts, and
	// Dependents those that wait for it.
	Deps, Dependents []*Fetch
	// Mutation is true for a root fetch of a mutation: the transport
	// retries it only when it surely never reached the subgraph.
	Mutation bool
	// Context lists the contextual arguments (@fromContext) of an entity
	// fetch. Their values come from ancestors of each object; objects
	// with different values are sent in separate requests.
	Context []*ContextValue

	root    *subSelection // root fetch: the selection on the root type
	byPath  map[string][]*Entities
	depsKey string
}

// Entities is one _entities field of an entity fetch: the objects found at
// Path in the response so far whose __typename is a key of Types.
type Entities struct {
	// Alias is the _entities field's alias in the fetch, and Variable the
	// name of its representations variable.
	Alias, Variable string
	// Path is the response keys from the root to the objects; lists on the
	// way are walked through.
	Path []string
	// Types maps each __typename an object at Path may have in the data
	// to the representation sent for it.
	Types map[string]*Representation
	// Selection is the _entities field's selection set as Query writes it
	// ("{... on T {f g}}"): two Entities of one subgraph with the same
	// Selection can share one _entities field.
	Selection string

	fragments *subSelection
	reps      map[string]*repBuilder
}

// Representation describes the entity representation of an object.
type Representation struct {
	// Typename is the representation's __typename: the object's own, or
	// the name of the interface a subgraph knows it by (@interfaceObject,
	// or an entity interface whose implementation is yet unknown).
	Typename string
	// Fields are read from the object: the key, then @requires fields.
	Fields []*RepField
}

// RepField is one field of a representation: its name in the
// representation and its response key in the data already fetched.
type RepField struct {
	Name, Key string
	// Sub describes an object (or a list of them); nil for a leaf.
	Sub *RepObject
	// Optional fields (those a @requires names) are sent as null when the
	// data has none; a key field missing or null leaves the object out.
	Optional bool
}

// RepObject describes the object value of a representation field.
type RepObject struct {
	// Typename is set when the field is abstract: the value carries its
	// __typename.
	Typename bool
	// Fields are read from every object; ByType adds fields for objects of
	// one concrete type (inline fragments of the field set).
	Fields []*RepField
	ByType map[string][]*RepField
}

// ContextValue is one contextual argument of an entity fetch: the variable
// that carries it, and where each object's value is read.
type ContextValue struct {
	// Variable is the subgraph operation's variable for the argument.
	Variable string
	// Type is the variable's type.
	Type *ast.Type
	// Depth is the number of Path keys that lead from the root to the
	// ancestor object that sets the context (0: the root object).
	Depth int
	// Types are the __typenames an ancestor may have to set the context.
	Types []string
	// Value selects the argument from the ancestor: a chain of fields down
	// to one leaf (with the ancestor's fragments resolved per type).
	Value *RepObject
}

// Error is a planning failure: the operation asks for something the
// supergraph cannot serve.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Options are the per-request inputs a plan depends on beyond the
// operation.
type Options struct {
	// Labels reports whether a progressive override label is on; nil
	// means every label is off.
	Labels func(label string) bool
}

// Build plans one operation of a validated document. vars are the coerced
// variable values; only those @skip and @include use affect the plan.
func Build(sg *compose.Supergraph, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) (*Plan, error) {
	return New(sg).Build(doc, op, vars, Options{})
}

// Planner plans operations over one supergraph. It keeps what plans learn
// of the supergraph (which subgraphs objects can be sent to, through which
// keys) for the plans after them. It is safe for concurrent use.
type Planner struct {
	sg *compose.Supergraph
	// facts holds a *facts per state of the override labels.
	facts sync.Map
}

// facts are what planning learns of a supergraph: memos of questions
// whose answers depend on the supergraph and the override labels only.
type facts struct {
	mu         sync.RWMutex
	reach      map[[2]string]map[string]int
	keyReaches map[reachKey]reachResult
	interfaces map[string][]string
	candidates map[[3]string][]target
	setReaches map[setKey]reachResult
	fieldSets  map[fieldSetKey]*Selection
}

func newFacts() *facts {
	return &facts{reach: map[[2]string]map[string]int{}, keyReaches: map[reachKey]reachResult{},
		interfaces: map[string][]string{}, candidates: map[[3]string][]target{}, setReaches: map[setKey]reachResult{},
		fieldSets: map[fieldSetKey]*Selection{}}
}

// known looks a fact up.
func known[K comparable, V any](p *planner, shared func(*facts) map[K]V, k K) (V, bool) {
	p.facts.mu.RLock()
	v, ok := shared(p.facts)[k]
	p.facts.mu.RUnlock()
	return v, ok
}

// learn records a fact.
func learn[K comparable, V any](p *planner, shared func(*facts) map[K]V, k K, v V) {
	p.facts.mu.Lock()
	shared(p.facts)[k] = v
	p.facts.mu.Unlock()
}

// New returns a planner for sg.
func New(sg *compose.Supergraph) *Planner { return &Planner{sg: sg} }

// Build plans one operation of a validated document. vars are the coerced
// variable values; only those @skip and @include use affect the plan.
func (pl *Planner) Build(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, opts Options) (*Plan, error) {
	sg := pl.sg
	var labelKey strings.Builder
	for _, l := range sg.OverrideLabels {
		if opts.Labels != nil && opts.Labels(l) {
			labelKey.WriteByte('1')
		} else {
			labelKey.WriteByte('0')
		}
	}
	f, _ := pl.facts.LoadOrStore(labelKey.String(), newFacts())
	n := &normalizer{schema: sg.Schema, fragments: doc.Fragments, vars: vars}
	rootType := sg.Schema.Query
	if op.Operation == ast.Mutation {
		rootType = sg.Schema.Mutation
	}
	if rootType == nil || op.Operation == ast.Subscription {
		return nil, &Error{Msg: fmt.Sprintf("the schema does not support %s operations", op.Operation)}
	}
	root, err := n.selection(rootType.Name, []ast.SelectionSet{op.SelectionSet})
	if err != nil {
		return nil, &Error{Msg: err.Error()}
	}
	p := newPlanner(sg, f.(*facts), op, opts)
	p.prefix = internalPrefix(n.keys)
	p.typenameKey = "__typename"
	if n.typenameTaken {
		p.typenameKey = p.prefix + "__typename"
	}
	out := &Plan{Operation: op.Operation, Root: root, VariableTypes: p.vars, TypenameKey: p.typenameKey}
	roots := p.planRoot(out, rootType.Name, root.Fields[rootType.Name], op.Operation == ast.Mutation)
	if p.err != nil {
		return nil, p.err
	}
	if op.Operation == ast.Mutation {
		p.serialize(roots)
	}
	p.markUniform(root)
	p.finish()
	out.Fetches = p.fetches
	out.internalKeys = make(map[string]bool, len(p.aliases)+1)
	for _, key := range p.aliases {
		out.internalKeys[key] = true
	}
	if p.typenameKey != "__typename" {
		out.internalKeys[p.typenameKey] = true
	}
	out.Passthrough = len(p.fetches) == 1 && !out.Introspection && len(p.fetches[0].Dependents) == 0 &&
		!p.fetches[0].root.hasInternal() && !rootTypename(root, rootType.Name) && !p.checksValues(root)
	return out, nil
}

// markUniform sets Uniform on the client's selections on interfaces that
// subgraphs know as @interfaceObject, where every runtime type selects the
// same fields.
func (p *planner) markUniform(s *Selection) {
	if s == nil {
		return
	}
	if s.Abstract {
		if meta := p.sg.Type(s.TypeName); meta != nil && len(meta.InterfaceObject) > 0 && !p.hidesImplementations(s.TypeName) {
			if common, rest := p.splitInterfaceLevel(s); rest == nil && p.servedByInterfaceObjects(meta, common) {
				s.Uniform = common
			}
		}
	}
	for _, fields := range s.Fields {
		for _, f := range fields {
			p.markUniform(f.Sub)
		}
	}
}

// servedByInterfaceObjects reports whether interface object subgraphs
// resolve every one of fields: the interface's owner, asked for one of
// them, would tell the concrete type, and an object it does not know is an
// object of no type.
func (p *planner) servedByInterfaceObjects(meta *compose.Type, fields []*Field) bool {
	for _, f := range fields {
		fm := meta.Field(f.Name)
		ok := false
		for _, g := range p.activeSources(fm) {
			if meta.InterfaceObject[g] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// checksValues reports whether the response needs checking value by value:
// it holds an enum some of whose values the client schema hides, which a
// subgraph may still return.
func (p *planner) checksValues(s *Selection) bool {
	for _, fields := range s.Fields {
		for _, f := range fields {
			switch {
			case f.Sub != nil:
				if p.checksValues(f.Sub) {
					return true
				}
			case f.Type != nil && p.sg.HidesEnumValues(f.Type.Name()):
				return true
			}
		}
	}
	return false
}

// internalPrefix returns "_k_", or a variant that starts none of the
// client's response keys.
func internalPrefix(clientKeys map[string]bool) string {
	for i := 0; ; i++ {
		prefix := "_k_"
		if i > 0 {
			prefix = "_k" + itoa(i-1) + "_"
		}
		clash := false
		for k := range clientKeys {
			if strings.HasPrefix(k, prefix) {
				clash = true
				break
			}
		}
		if !clash {
			return prefix
		}
	}
}

// serialize makes each root fetch of a mutation wait for everything the
// root fetch before it started: mutation fields run one after another,
// each with its entity fetches.
func (p *planner) serialize(roots []*Fetch) {
	for i := 1; i < len(roots); i++ {
		for _, f := range reachable(roots[i-1]) {
			roots[i].dependOn(f)
		}
	}
}

// reachable returns f and every fetch that depends on it, transitively.
func reachable(f *Fetch) []*Fetch {
	seen := map[*Fetch]bool{f: true}
	out := []*Fetch{f}
	for i := 0; i < len(out); i++ {
		for _, d := range out[i].Dependents {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	return out
}

func (f *Fetch) dependOn(dep *Fetch) {
	if dep == f || slices.Contains(f.Deps, dep) {
		return
	}
	f.Deps = append(f.Deps, dep)
	dep.Dependents = append(dep.Dependents, f)
}

// rootTypename reports whether the client selects __typename on the root
// type, which a subgraph may name differently.
func rootTypename(root *Selection, rootType string) bool {
	for _, f := range root.Fields[rootType] {
		if f.Name == "__typename" {
			return true
		}
	}
	return false
}

// IsInternalKey reports whether a response key is one the planner chose
// for a field it added. The plan keeps the keys it chose: how it spells
// them (a prefix no client key starts with) is the planner's business.
// An error under such a key belongs to the object the field was added to.
func (p *Plan) IsInternalKey(key string) bool {
	return p.internalKeys[key]
}
