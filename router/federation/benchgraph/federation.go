package benchgraph

import (
	"errors"
	"fmt"
)

// Federation's part of a subgraph: _service { sdl } and _entities.

// Subgraph is one subgraph: its name, its SDL, and its root Query.
type Subgraph struct {
	Name string
	SDL  string
	root Object
}

// Handler returns the subgraph's GraphQL endpoint (POST).
func (s *Subgraph) Handler() *Server { return NewServer(s.root) }

// resolver resolves one entity from its representation; nil is an unknown
// entity (null in _entities' list).
type resolver func(rep map[string]any) (Object, error)

// query is a subgraph's Query type: its own fields, plus _service and, when
// the subgraph has entities, _entities.
type query struct {
	sdl      string
	fields   func(name string, args Args) (any, error)
	entities map[string]resolver
}

func (q *query) Typename() string { return "Query" }

func (q *query) Field(name string, args Args) (any, error) {
	switch name {
	case "_service":
		return service{q.sdl}, nil
	case "_entities":
		if len(q.entities) == 0 {
			break
		}
		v, _, err := args.Value("representations")
		if err != nil {
			return nil, err
		}
		reps, ok := v.([]any)
		if !ok {
			return nil, errors.New("representations: want a list")
		}
		out := make([]Object, len(reps))
		for i, r := range reps {
			rep, ok := r.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("representation %d: want an object", i)
			}
			typename, _ := rep["__typename"].(string)
			resolve := q.entities[typename]
			if resolve == nil {
				return nil, fmt.Errorf("representation %d: no entity type %q here", i, typename)
			}
			if out[i], err = resolve(rep); err != nil {
				return nil, fmt.Errorf("representation %d: %w", i, err)
			}
		}
		return out, nil
	}
	if q.fields != nil {
		return q.fields(name, args)
	}
	return nil, unknownField(name)
}

type service struct{ sdl string }

func (service) Typename() string { return "_Service" }

func (s service) Field(name string, _ Args) (any, error) {
	if name == "sdl" {
		return s.sdl, nil
	}
	return nil, unknownField(name)
}

func unknownField(name string) error { return fmt.Errorf("no field %q", name) }

// fieldTable resolves the fields of one type of object that need no
// arguments, by name.
type fieldTable[T any] map[string]func(T) any

func (t fieldTable[T]) get(o T, name string) (any, error) {
	if f, ok := t[name]; ok {
		return f(o), nil
	}
	return nil, unknownField(name)
}

// record is an object of type typename whose fields a fieldTable reads
// from v.
type record[T any] struct {
	typename string
	v        T
	fields   fieldTable[T]
}

func (r record[T]) Typename() string { return r.typename }

func (r record[T]) Field(name string, _ Args) (any, error) { return r.fields.get(r.v, name) }

// keyString reads a key field of a representation as a string (an ID may
// come as a number).
func keyString(rep map[string]any, field string) (string, error) {
	switch v := rep[field].(type) {
	case string:
		return v, nil
	case float64:
		return fmt.Sprint(v), nil
	}
	return "", fmt.Errorf("key field %q: want a string, got %v", field, rep[field])
}

// optInt reads an optional Int field of a representation: nil when it is
// missing or null.
func optInt(rep map[string]any, field string) (*int, error) {
	switch v := rep[field].(type) {
	case nil:
		return nil, nil
	case float64:
		n := int(v)
		if float64(n) != v {
			return nil, fmt.Errorf("field %q: want an Int, got %v", field, v)
		}
		return &n, nil
	}
	return nil, fmt.Errorf("field %q: want an Int, got %v", field, rep[field])
}
