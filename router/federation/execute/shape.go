package execute

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/graph/apierror"
	"bookstore/router/federation/plan"
)

// shaper writes the response data from the merged tree, walking the
// client's normalized selection: fields in the client's order, internal
// fields left out, __typename answered, and a null in a non-null position
// propagated to the nearest nullable parent.
type shaper struct {
	buf  []byte
	vars map[string]any
	errs []Error
	// schema is the client schema: an enum value it does not have (an
	// @inaccessible one, or one only a subgraph knows) is a field error.
	schema *ast.Schema
	// typenameKey is the response key of the __typename the planner asked.
	typenameKey string
	// fetchErrors are the errors the fetches reported: a null one of them
	// explains needs no error of its own.
	fetchErrors []Error
	path        []any
}

// object writes obj shaped by sel. It returns true when obj must be null
// but sits in a non-null position of the selection (a non-null field of it
// is null): the caller then nulls its own position.
func (s *shaper) object(obj *object, sel *plan.Selection) bool {
	typename := sel.TypeName
	t, asked := obj.get(s.typenameKey)
	got, _ := t.(string)
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
		s.buf = appendJSONString(s.buf, f.Key)
		s.buf = append(s.buf, ':')
		if f.Name == "__typename" {
			s.buf = appendJSONString(s.buf, typename)
			continue
		}
		s.path = append(s.path, f.Key)
		v, _ := obj.get(f.Key)
		null := s.value(v, f.Type, f, typename)
		s.path = s.path[:len(s.path)-1]
		if null {
			return true
		}
	}
	s.buf = append(s.buf, '}')
	return false
}

// value writes v for a position of type t. It returns true when the
// position is non-null and must be null, for the caller to propagate.
func (s *shaper) value(v any, t *ast.Type, f *plan.Field, parent string) bool {
	start := len(s.buf)
	bubble := false
	switch {
	case v == nil:
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
		list, ok := v.([]any)
		if !ok {
			s.errorf("the subgraph returned a non-list for list field %s.%s", parent, f.Name)
			bubble = true
			break
		}
		s.buf = append(s.buf, '[')
		for i, item := range list {
			if i > 0 {
				s.buf = append(s.buf, ',')
			}
			s.path = append(s.path, i)
			b := s.value(item, t.Elem, f, parent)
			s.path = s.path[:len(s.path)-1]
			if b {
				bubble = true
				break
			}
		}
		if !bubble {
			s.buf = append(s.buf, ']')
		}
	case f.Sub != nil:
		obj, ok := v.(*object)
		if !ok {
			s.errorf("the subgraph returned a non-object for field %s.%s", parent, f.Name)
			bubble = true
			break
		}
		bubble = s.object(obj, f.Sub)
	default:
		if msg := s.badEnum(t, v); msg != "" {
			s.errorf("%s", msg)
			bubble = true
			break
		}
		if err := appendLeaf(&s.buf, v); err != nil {
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
			if len(e.Path) == 0 || pathsMeet(e.Path, s.path) {
				return true
			}
		}
	}
	return false
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

// badEnum checks a value for an enum position: it must be one of the
// client schema's values of the enum.
func (s *shaper) badEnum(t *ast.Type, v any) string {
	if s.schema == nil {
		return ""
	}
	def := s.schema.Types[t.Name()]
	if def == nil || def.Kind != ast.Enum {
		return ""
	}
	str, ok := v.(string)
	if ok && def.EnumValues.ForName(str) != nil {
		return ""
	}
	return fmt.Sprintf("Enum %q cannot represent value: %s", def.Name, leafText(v))
}

func leafText(v any) string {
	var buf []byte
	if err := appendLeaf(&buf, v); err != nil {
		return "?"
	}
	return string(buf)
}

func (s *shaper) errorf(format string, args ...any) {
	path := append([]any{}, s.path...)
	s.errs = append(s.errs, Error{Message: fmt.Sprintf(format, args...), Path: path, Extensions: map[string]any{"code": apierror.Internal}})
}

// appendLeaf writes a scalar or enum value as the subgraph sent it.
func appendLeaf(buf *[]byte, v any) error {
	switch v := v.(type) {
	case string:
		*buf = appendJSONString(*buf, v)
	case number:
		*buf = append(*buf, v...)
	case json.Number:
		*buf = append(*buf, v...)
	case bool:
		*buf = strconv.AppendBool(*buf, v)
	default:
		// A custom scalar may be any JSON value.
		b, err := json.Marshal(toInterface(v))
		if err != nil {
			return err
		}
		*buf = append(*buf, b...)
	}
	return nil
}

const hex = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped like encoding/json
// (HTML characters escaped too, so a response is safe to embed).
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
