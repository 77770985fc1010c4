package execute

import (
	"bytes"

	"bookstore/router/federation/plan"
)

// batch is what one entity request sends: per _entities field of the
// request, the representations (each once) and the objects each stands
// for; and the values of the fetch's contextual arguments, the same for
// every object of the batch.
type batch struct {
	reps    [][][]byte
	targets [][][]target
	context [][]byte
	// index finds a representation already in the batch, per field.
	index []map[string]int
}

// collectBatches finds, for each _entities field of f, the objects at its
// path whose __typename it takes, and builds their representations. An
// object that lacks a key field is left out. Objects whose contextual
// arguments differ go to different batches; without contextual arguments
// there is at most one batch. No batch means nothing to fetch.
func collectBatches(data *object, f *plan.Fetch, tk string) []*batch {
	var batches []*batch
	byContext := map[string]*batch{}
	for i, e := range f.Entities {
		walkEntities(data, e, tk, func(obj *object, typename string, path []any, ancestors []*object) {
			buf, ok := representation(obj, e.Types[typename], tk)
			if !ok {
				return
			}
			ctx, ok := contextValues(f.Context, ancestors, tk)
			if !ok {
				return
			}
			key := string(bytes.Join(ctx, []byte{0}))
			b := byContext[key]
			if b == nil {
				b = newBatch(len(f.Entities))
				b.context = ctx
				byContext[key] = b
				batches = append(batches, b)
			}
			b.add(i, buf, target{obj: obj, path: append([]any{}, path...)})
		})
	}
	return batches
}

func newBatch(fields int) *batch {
	return &batch{reps: make([][][]byte, fields), targets: make([][][]target, fields), index: make([]map[string]int, fields)}
}

// add adds an object to field i's representations: its representation
// rep, unless the field has it already, and the object among the targets
// of that representation.
func (b *batch) add(i int, rep []byte, t target) {
	if b.index[i] == nil {
		b.index[i] = map[string]int{}
	}
	j, seen := b.index[i][string(rep)]
	if !seen {
		j = len(b.reps[i])
		b.index[i][string(rep)] = j
		b.reps[i] = append(b.reps[i], rep)
		b.targets[i] = append(b.targets[i], nil)
	}
	b.targets[i][j] = append(b.targets[i][j], t)
}

// representation builds the representation of obj that rep describes. It
// reports false when obj lacks a key field.
func representation(obj *object, rep *plan.Representation, tk string) ([]byte, bool) {
	buf := make([]byte, 0, 64)
	buf = append(buf, `{"__typename":`...)
	buf = appendJSONString(buf, rep.Typename)
	buf, ok := appendRepFields(buf, obj, rep.Fields, tk)
	if !ok {
		return nil, false
	}
	return append(buf, '}'), true
}

// entityObject is one object an Entities of a fetch finds: its
// representation, and where it is.
type entityObject struct {
	rep []byte
	t   target
}

// findEntities finds, for each _entities field of f (a fetch without
// contextual arguments), the objects at its path whose __typename it
// takes, with their representations. It reports whether it found any.
func findEntities(data *object, f *plan.Fetch, tk string) ([][]entityObject, bool) {
	out := make([][]entityObject, len(f.Entities))
	found := false
	for i, e := range f.Entities {
		walkEntities(data, e, tk, func(obj *object, typename string, path []any, _ []*object) {
			buf, ok := representation(obj, e.Types[typename], tk)
			if !ok {
				return
			}
			out[i] = append(out[i], entityObject{rep: buf, t: target{obj: obj, path: append([]any{}, path...)}})
			found = true
		})
	}
	return out, found
}

// batch builds the request's batch of the objects findEntities found for
// each of fetches: each object under the field of its Entities, each
// representation once per field.
func (r *request) batch(fetches []*plan.Fetch, found [][][]entityObject) *batch {
	b := newBatch(len(r.fields))
	for k, f := range fetches {
		for i, e := range f.Entities {
			fi := r.field[e]
			for _, o := range found[k][i] {
				b.add(fi, o.rep, o.t)
			}
		}
	}
	return b
}

// walkEntities calls fn for every object at e.Path whose __typename e
// takes, with its response path and the objects on the way to it
// (ancestors[d] is the object d path keys down from the root).
func walkEntities(data *object, e *plan.Entities, tk string, fn func(obj *object, typename string, path []any, ancestors []*object)) {
	ancestors := make([]*object, len(e.Path)+1)
	var walk func(v any, depth int, path []any)
	walk = func(v any, depth int, path []any) {
		switch v := v.(type) {
		case []any:
			for i, item := range v {
				walk(item, depth, append(path, i))
			}
		case *object:
			ancestors[depth] = v
			if depth < len(e.Path) {
				key := e.Path[depth]
				next, _ := v.get(key)
				walk(next, depth+1, append(path, key))
				return
			}
			tn, _ := v.get(tk)
			typename, _ := tn.(string)
			if _, ok := e.Types[typename]; ok {
				fn(v, typename, path, ancestors)
			}
		}
	}
	walk(data, 0, make([]any, 0, len(e.Path)+4))
}

// appendRepFields appends ,"name":value for each field read from obj. It
// reports false when a field is missing (the fetch that should have
// brought it did not: its entity was unknown there, or the fetch failed),
// or null and not optional (a key). tk is the response key of objects'
// __typename.
func appendRepFields(buf []byte, obj *object, fields []*plan.RepField, tk string) ([]byte, bool) {
	for _, f := range fields {
		v, ok := obj.get(f.Key)
		if !ok || v == nil && !f.Optional {
			return buf, false
		}
		buf = append(buf, ',')
		buf = appendJSONString(buf, f.Name)
		buf = append(buf, ':')
		if f.Sub == nil {
			if v == nil {
				buf = append(buf, "null"...)
				continue
			}
			if err := appendLeaf(&buf, v); err != nil {
				return buf, false
			}
			continue
		}
		if buf, ok = appendRepValue(buf, v, f.Sub, tk); !ok {
			return buf, false
		}
	}
	return buf, true
}

// appendRepValue appends an object value of a representation (or a list
// of them, or null), with the fields o describes.
func appendRepValue(buf []byte, v any, o *plan.RepObject, tk string) ([]byte, bool) {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), true
	case []any:
		buf = append(buf, '[')
		for i, item := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			var ok bool
			if buf, ok = appendRepValue(buf, item, o, tk); !ok {
				return buf, false
			}
		}
		return append(buf, ']'), true
	case *object:
		start := len(buf)
		buf = append(buf, '{')
		tn, _ := v.get(tk)
		typename, _ := tn.(string)
		if o.Typename {
			buf = append(buf, `,"__typename":`...)
			buf = appendJSONString(buf, typename)
		}
		var ok bool
		if buf, ok = appendRepFields(buf, v, o.Fields, tk); !ok {
			return buf, false
		}
		if buf, ok = appendRepFields(buf, v, o.ByType[typename], tk); !ok {
			return buf, false
		}
		if len(buf) > start+1 {
			// Every member was written with a leading comma; drop the first.
			copy(buf[start+1:], buf[start+2:])
			buf = buf[:len(buf)-1]
		}
		return append(buf, '}'), true
	}
	return buf, false
}

// contextValues reads each contextual argument from the ancestor that
// sets its context, as JSON. It reports false when an ancestor is not
// there.
func contextValues(ctxs []*plan.ContextValue, ancestors []*object, tk string) ([][]byte, bool) {
	if len(ctxs) == 0 {
		return nil, true
	}
	out := make([][]byte, len(ctxs))
	for i, c := range ctxs {
		if c.Depth >= len(ancestors) || ancestors[c.Depth] == nil {
			return nil, false
		}
		v := contextValue(ancestors[c.Depth], c.Value, tk)
		var buf []byte
		if v == nil {
			buf = []byte("null")
		} else if err := appendLeaf(&buf, v); err != nil {
			return nil, false
		}
		out[i] = buf
	}
	return out, true
}

// contextValue follows a contextual argument's selection down from obj to
// its one leaf.
func contextValue(obj *object, o *plan.RepObject, tk string) any {
	if o == nil {
		return nil
	}
	fields := o.Fields
	if len(o.ByType) > 0 {
		tn, _ := obj.get(tk)
		typename, _ := tn.(string)
		fields = append(fields[:len(fields):len(fields)], o.ByType[typename]...)
	}
	if len(fields) == 0 {
		return nil
	}
	f := fields[0]
	v, _ := obj.get(f.Key)
	if f.Sub == nil {
		return v
	}
	sub, ok := v.(*object)
	if !ok {
		return nil
	}
	return contextValue(sub, f.Sub, tk)
}
