package execute

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/graph/apierror"
	"bookstore/router/federation/internal/jsonstr"
	"bookstore/router/federation/plan"
)

// shaper writes the response data from the merged values, walking the
// client's normalized selection: fields in the client's order, internal
// fields left out, __typename answered, and a null in a non-null position
// propagated to the nearest nullable parent.
type shaper struct {
	buf  []byte
	errs []Error
	// schema is the client schema: an enum value it does not have (an
	// @inaccessible one, or one only a subgraph knows) is a field error.
	schema *ast.Schema
	// typenameKey is the response key of the __typename the planner asked.
	typenameKey string
	// fetchErrors are the errors the fetches reported: a null one of them
	// explains needs no error of its own.
	fetchErrors []Error
	// path is the response path of the value being written, kept without
	// boxing; pathOf turns it into an error's path.
	path []pathElem
}

// pathElem is one step of a response path: a key, or a list index.
type pathElem struct {
	key   string
	index int
}

// errorPath returns s.path as an error's path.
func (s *shaper) errorPath() []any {
	out := make([]any, len(s.path))
	for i, p := range s.path {
		if p.index >= 0 {
			out[i] = p.index
		} else {
			out[i] = p.key
		}
	}
	return out
}

// object writes obj shaped by sel. It returns true when obj must be null
// but sits in a non-null position of the selection (a non-null field of it
// is null): the caller then nulls its own position.
func (s *shaper) object(obj *objNode, sel *plan.Selection) bool {
	typename := sel.TypeName
	t, asked := obj.get(s.typenameKey)
	var got string
	if t.isString() {
		got = t.str()
	}
	if sel.Abstract {
		typename = got
	}
	fields, ok := sel.Fields[typename]
	if !ok && sel.Abstract && got == sel.TypeName && sel.Uniform != nil {
		// An @interfaceObject's object whose concrete type nothing needed.
		fields, ok = sel.Uniform, true
	}
	if !ok || asked && got != typename {
		if !s.explained() {
			s.errorf("the subgraph returned type %q, which is not a possible type of %s", got, sel.TypeName)
		}
		return true
	}
	s.buf = append(s.buf, '{')
	for i, f := range fields {
		if i > 0 {
			s.buf = append(s.buf, ',')
		}
		s.buf = appendKey(s.buf, f.Key)
		if f.Name == "__typename" {
			s.buf = jsonstr.AppendHTMLSafe(s.buf, typename)
			continue
		}
		v, _ := obj.get(f.Key)
		s.path = append(s.path, pathElem{key: f.Key, index: -1})
		null := s.value(v, f.Type, f, typename)
		s.path = s.path[:len(s.path)-1]
		if null {
			return true
		}
	}
	s.buf = append(s.buf, '}')
	return false
}

// appendKey writes a response key and its colon. Response keys are
// GraphQL names, which need no escaping.
func appendKey(buf []byte, key string) []byte {
	buf = append(buf, '"')
	buf = append(buf, key...)
	return append(buf, '"', ':')
}

// value writes v for a position of type t. It returns true when the
// position is non-null and must be null, for the caller to propagate.
func (s *shaper) value(v value, t *ast.Type, f *plan.Field, parent string) bool {
	start := len(s.buf)
	bubble := false
	switch {
	case v.k == kNull:
		if t.NonNull {
			// A field error, as the specification's CompleteValue raises
			// (Apollo Gateway only notes it in extensions.valueCompletion
			// when, say, a subgraph answers null for an entity).
			if !s.explained() {
				s.errorf("Cannot return null for non-nullable field %s.%s.", parent, f.Name)
			}
			return true
		}
		s.buf = append(s.buf, "null"...)
		return false
	case t.Elem != nil:
		if v.k != kArray {
			s.errorf("the subgraph returned a non-list for list field %s.%s", parent, f.Name)
			bubble = true
			break
		}
		s.buf = append(s.buf, '[')
		s.path = append(s.path, pathElem{})
		for i, item := range v.items() {
			if i > 0 {
				s.buf = append(s.buf, ',')
			}
			s.path[len(s.path)-1].index = i
			if s.value(item, t.Elem, f, parent) {
				bubble = true
				break
			}
		}
		s.path = s.path[:len(s.path)-1]
		if !bubble {
			s.buf = append(s.buf, ']')
		}
	case f.Sub != nil:
		if v.k != kObject {
			s.errorf("the subgraph returned a non-object for field %s.%s", parent, f.Name)
			bubble = true
			break
		}
		bubble = s.object(v.obj(), f.Sub)
	default:
		if v.isString() {
			if msg := s.badEnum(t, v); msg != "" {
				s.errorf("%s", msg)
				bubble = true
				break
			}
		} else if def := s.enum(t); def != nil {
			s.errorf("Enum %q cannot represent value: %s", def.Name, leafText(v))
			bubble = true
			break
		}
		var err error
		if s.buf, err = appendValue(s.buf, v); err != nil {
			s.errorf("field %s.%s: %v", parent, f.Name, err)
			bubble = true
		}
	}
	if !bubble {
		return false
	}
	if t.NonNull {
		return true
	}
	s.buf = append(s.buf[:start], "null"...)
	return false
}

// explained reports whether an error already accounts for a null at the
// current path: one at the path, above it or below it, or one with no path
// (a fetch that failed as a whole).
func (s *shaper) explained() bool {
	for _, list := range [][]Error{s.fetchErrors, s.errs} {
		for _, e := range list {
			if len(e.Path) == 0 || s.meets(e.Path) {
				return true
			}
		}
	}
	return false
}

// meets reports whether path is a prefix of the current path, or the
// current path of it.
func (s *shaper) meets(path []any) bool {
	n := min(len(path), len(s.path))
	for i := 0; i < n; i++ {
		p := s.path[i]
		if p.index >= 0 {
			if k, ok := path[i].(int); !ok || k != p.index {
				return false
			}
		} else if k, ok := path[i].(string); !ok || k != p.key {
			return false
		}
	}
	return true
}

// pathsMeet reports whether one path is a prefix of the other.
func pathsMeet(a, b []any) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// enum returns the client schema's enum of a position's type, if it is
// one.
func (s *shaper) enum(t *ast.Type) *ast.Definition {
	if s.schema == nil {
		return nil
	}
	switch name := t.Name(); name {
	case "String", "ID", "Int", "Float", "Boolean":
		return nil
	default:
		def := s.schema.Types[name]
		if def == nil || def.Kind != ast.Enum {
			return nil
		}
		return def
	}
}

// badEnum checks a string for an enum position: it must be one of the
// client schema's values of the enum.
func (s *shaper) badEnum(t *ast.Type, v value) string {
	def := s.enum(t)
	if def == nil || def.EnumValues.ForName(v.str()) != nil {
		return ""
	}
	return fmt.Sprintf("Enum %q cannot represent value: %s", def.Name, leafText(v))
}

func leafText(v value) string {
	buf, err := appendValue(nil, v)
	if err != nil {
		return "?"
	}
	return string(buf)
}

func (s *shaper) errorf(format string, args ...any) {
	s.errs = append(s.errs, Error{Message: fmt.Sprintf(format, args...), Path: s.errorPath(), Extensions: map[string]any{"code": apierror.Internal}})
}
