package executetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/internal/skipinclude"
)

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
			key := s.Alias // the name, when the request gives no alias
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
	if t := p.fieldDefType(typ, field); t != nil {
		return t.String()
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

// included evaluates @skip and @include. An if's value in error (which a
// validated document, as the planner's requests are, cannot have) leaves
// the selection out.
func (p *projector) included(dirs ast.DirectiveList) bool {
	ok, _ := skipinclude.Included(dirs, p.vars)
	return ok
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
	if t := p.fieldDefType(typ, field); t != nil {
		return t.Name()
	}
	return ""
}

// fieldDefType returns the type of field of typ as the supergraph declares
// it, or nil when unknown.
func (p *projector) fieldDefType(typ, field string) *ast.Type {
	if p.sg == nil || typ == "" {
		return nil
	}
	if fm := p.sg.Type(typ).Field(field); fm != nil && fm.Type != nil {
		return fm.Type
	}
	if d := p.sg.Schema.Types[typ]; d != nil {
		if fd := d.Fields.ForName(field); fd != nil {
			return fd.Type
		}
	}
	return nil
}
