package execute

import (
	"bytes"
	"hash/maphash"

	"bookstore/router/federation/internal/jsonstr"
	"bookstore/router/federation/plan"
)

// batch is what one entity request sends: per _entities field of the
// request, the representations (each once) and the objects they stand
// for; and the values of the fetch's contextual arguments, the same for
// every object of the batch.
type batch struct {
	// buf holds every representation, one after another.
	buf     []byte
	fields  []batchField
	context [][]byte
	// paths holds the targets' paths.
	paths []int32
}

// batchField is one _entities field's part of a batch.
type batchField struct {
	reps    []span
	targets []target
	set     repSet
}

// span is a run of a batch's buf.
type span struct{ start, end int32 }

// target is one object entity data merges into: the representation (an
// index into its field's reps) it sent, the Entities it was found by, and
// its place in the response.
type target struct {
	obj *objNode
	rep int32
	src *plan.Entities
	// path is the object's response path in compact form (see
	// pathFinder).
	path []int32
}

func (b *batch) rep(i int, j int32) []byte {
	s := b.fields[i].reps[j]
	return b.buf[s.start:s.end]
}

// clientPath returns a target's response path.
func (t *target) clientPath() []any {
	out := make([]any, 0, len(t.path))
	for _, p := range t.path {
		if p < 0 {
			out = append(out, t.src.Path[-p-1])
		} else {
			out = append(out, int(p))
		}
	}
	return out
}

// add records an object for field i, whose representation was just
// written to buf from start on: the representation is kept unless the
// field has it already, in which case buf is cut back.
func (b *batch) add(i int, start int, t target) {
	f := &b.fields[i]
	rep := b.buf[start:]
	j, found := f.set.find(b, i, rep)
	if found {
		b.buf = b.buf[:start]
	} else {
		j = int32(len(f.reps))
		f.reps = append(f.reps, span{int32(start), int32(len(b.buf))})
		f.set.insert(b, i, j)
	}
	t.rep = j
	f.targets = append(f.targets, t)
}

// repSet finds a field's representations by their bytes: an open-address
// hash set of indexes into the field's reps.
type repSet struct {
	slots []int32 // index+1; 0 is empty
	n     int
}

var repSeed = maphash.MakeSeed()

func (s *repSet) find(b *batch, i int, rep []byte) (int32, bool) {
	if len(s.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(s.slots) - 1)
	for h := maphash.Bytes(repSeed, rep) & mask; ; h = (h + 1) & mask {
		j := s.slots[h]
		if j == 0 {
			return 0, false
		}
		if bytes.Equal(b.rep(i, j-1), rep) {
			return j - 1, true
		}
	}
}

func (s *repSet) insert(b *batch, i int, j int32) {
	if (s.n+1)*2 > len(s.slots) {
		old := s.slots
		s.slots = make([]int32, max(16, len(old)*2))
		s.n = 0
		for _, k := range old {
			if k != 0 {
				s.put(b, i, k-1)
			}
		}
	}
	s.put(b, i, j)
}

func (s *repSet) put(b *batch, i int, j int32) {
	mask := uint64(len(s.slots) - 1)
	h := maphash.Bytes(repSeed, b.rep(i, j)) & mask
	for s.slots[h] != 0 {
		h = (h + 1) & mask
	}
	s.slots[h] = j + 1
	s.n++
}

// pathFinder walks the objects at an Entities' path and keeps each
// one's response path compactly: a list index as itself, the key at
// depth d of the Entities' path as -(d+1).
type pathFinder struct {
	e         *plan.Entities
	tk        string
	path      []int32
	ancestors []*objNode
	fn        func(obj *objNode, typename string)
}

func (w *pathFinder) walk(v value, depth int) {
	switch v.k {
	case kArray:
		for i, item := range v.items() {
			w.path = append(w.path, int32(i))
			w.walk(item, depth)
			w.path = w.path[:len(w.path)-1]
		}
	case kObject:
		o := v.obj()
		w.ancestors[depth] = o
		if depth < len(w.e.Path) {
			next, _ := o.get(w.e.Path[depth])
			w.path = append(w.path, int32(-depth-1))
			w.walk(next, depth+1)
			w.path = w.path[:len(w.path)-1]
			return
		}
		typename, _ := o.typename(w.tk)
		if _, ok := w.e.Types[typename]; ok {
			w.fn(o, typename)
		}
	}
}

// walkEntities calls fn for every object at e.Path whose __typename e
// takes; w.path is its response path then, and w.ancestors[d] the object
// d path keys down from the root.
func walkEntities(w *pathFinder, data *objNode, e *plan.Entities, tk string, fn func(obj *objNode, typename string)) {
	w.e, w.tk, w.fn = e, tk, fn
	w.path = w.path[:0]
	if cap(w.ancestors) < len(e.Path)+1 {
		w.ancestors = make([]*objNode, len(e.Path)+1)
	}
	w.ancestors = w.ancestors[:len(e.Path)+1]
	w.walk(objectValue(data), 0)
}

// appendFound appends the representation (as rep) of an object an
// Entities found to *buf, and its path to *paths, and returns where each
// starts. An object that has no representation leaves both as they were
// and ok false.
func appendFound(buf *[]byte, paths *[]int32, obj *objNode, rep *plan.Representation, tk string, path []int32) (start, pstart int, ok bool) {
	start = len(*buf)
	b, ok := appendRepresentation(*buf, obj, rep, tk)
	if !ok {
		*buf = b[:start]
		return 0, 0, false
	}
	*buf = b
	pstart = len(*paths)
	*paths = append(*paths, path...)
	return start, pstart, true
}

// appendRepresentation appends the representation of obj that rep
// describes. It reports false when obj lacks a key field.
func appendRepresentation(buf []byte, obj *objNode, rep *plan.Representation, tk string) ([]byte, bool) {
	buf = append(buf, `{"__typename":`...)
	buf = jsonstr.AppendHTMLSafe(buf, rep.Typename)
	buf, ok := appendRepFields(buf, obj, rep.Fields, tk)
	if !ok {
		return buf, false
	}
	return append(buf, '}'), true
}

// collectBatches finds, for each _entities field of f (a fetch with
// contextual arguments, alone in its request), the objects at its path
// whose __typename it takes, and builds their representations. An object
// that lacks a key field is left out. Objects whose contextual arguments
// differ go to different batches. No batch means nothing to fetch.
func collectBatches(data *objNode, f *plan.Fetch, tk string) []*batch {
	var batches []*batch
	byContext := map[string]*batch{}
	var w pathFinder
	for i, e := range f.Entities {
		walkEntities(&w, data, e, tk, func(obj *objNode, typename string) {
			ctx, ok := contextValues(f.Context, w.ancestors, tk)
			if !ok {
				return
			}
			key := string(bytes.Join(ctx, []byte{0}))
			b := byContext[key]
			if b == nil {
				b = &batch{fields: make([]batchField, len(f.Entities)), context: ctx}
				byContext[key] = b
				batches = append(batches, b)
			}
			start, pstart, ok := appendFound(&b.buf, &b.paths, obj, e.Types[typename], tk, w.path)
			if !ok {
				return
			}
			b.add(i, start, target{obj: obj, src: e, path: b.paths[pstart:len(b.paths):len(b.paths)]})
		})
	}
	for k, b := range batches {
		if b.empty() {
			batches[k] = nil
		}
	}
	out := batches[:0]
	for _, b := range batches {
		if b != nil {
			out = append(out, b)
		}
	}
	return out
}

func (b *batch) empty() bool {
	for _, f := range b.fields {
		if len(f.reps) > 0 {
			return false
		}
	}
	return true
}

// found is one object an Entities of a ready fetch found, before the
// fetch's request is chosen.
type found struct {
	e     int // the Entities' index in the group's list
	start int32
	end   int32 // its representation in the collector's buf
	obj   *objNode
	path  span // its path in the collector's paths
}

// collector finds the objects of the entity fetches of one subgraph that
// are ready together, and builds their request's batch.
type collector struct {
	w        pathFinder
	buf      []byte
	paths    []int32
	found    []found
	entities []*plan.Entities
}

// reset readies the collector for a group.
func (c *collector) reset() {
	clear(c.found)
	clear(c.entities)
	c.buf, c.found, c.entities, c.paths = c.buf[:0], c.found[:0], c.entities[:0], c.paths[:0]
	c.w.fn = nil
	clear(c.w.ancestors)
}

// find finds the objects of f's Entities. It reports whether it found
// any; if not, it forgets what it wrote.
func (c *collector) find(data *objNode, f *plan.Fetch, tk string) bool {
	n := len(c.found)
	for _, e := range f.Entities {
		idx := len(c.entities)
		c.entities = append(c.entities, e)
		walkEntities(&c.w, data, e, tk, func(obj *objNode, typename string) {
			start, pstart, ok := appendFound(&c.buf, &c.paths, obj, e.Types[typename], tk, c.w.path)
			if !ok {
				return
			}
			c.found = append(c.found, found{e: idx, start: int32(start), end: int32(len(c.buf)), obj: obj,
				path: span{int32(pstart), int32(len(c.paths))}})
		})
	}
	if len(c.found) == n {
		c.entities = c.entities[:len(c.entities)-len(f.Entities)]
		return false
	}
	return true
}

// batch builds the batch of request r from what find found.
func (c *collector) batch(r *request, a *arena) *batch {
	m := &a.batches
	b := &m.batches.alloc(1)[0]
	b.fields = m.fields.alloc(len(r.fields))
	b.buf = m.bytes.alloc(len(c.buf))[:0]
	b.paths = m.int32s.alloc(len(c.paths))
	copy(b.paths, c.paths)
	counts := m.int32s.alloc(len(r.fields))
	for _, o := range c.found {
		counts[r.field[c.entities[o.e]]]++
	}
	for i, n := range counts {
		b.fields[i].targets = m.targets.alloc(int(n))[:0]
		b.fields[i].reps = m.spans.alloc(int(n))[:0]
		b.fields[i].set.slots = m.int32s.alloc(max(16, ceilPow2(2*int(n))))
	}
	for _, o := range c.found {
		e := c.entities[o.e]
		start := len(b.buf)
		b.buf = append(b.buf, c.buf[o.start:o.end]...)
		b.add(r.field[e], start, target{obj: o.obj, src: e, path: b.paths[o.path.start:o.path.end:o.path.end]})
	}
	return b
}

// batchMem holds the execution's batches: they live as long as its
// values, and cost no allocation each.
type batchMem struct {
	batches chunks[batch]
	fields  chunks[batchField]
	targets chunks[target]
	spans   chunks[span]
	int32s  chunks[int32]
	bytes   chunks[byte]
}

func (m *batchMem) reset() {
	m.batches.reset()
	m.fields.reset()
	m.targets.reset()
	m.spans.reset()
	m.int32s.reset()
	m.bytes.reset()
}

// ceilPow2 returns the least power of two not under n.
func ceilPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// appendRepFields appends ,"name":value for each field read from obj. It
// reports false when a field is missing (the fetch that should have
// brought it did not: its entity was unknown there, or the fetch failed),
// or null and not optional (a key). tk is the response key of objects'
// __typename.
func appendRepFields(buf []byte, obj *objNode, fields []*plan.RepField, tk string) ([]byte, bool) {
	for _, f := range fields {
		v, ok := obj.get(f.Key)
		if !ok || v.k == kNull && !f.Optional {
			return buf, false
		}
		buf = append(buf, ',')
		buf = jsonstr.AppendHTMLSafe(buf, f.Name)
		buf = append(buf, ':')
		if f.Sub == nil {
			var err error
			if buf, err = appendValue(buf, v); err != nil {
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
func appendRepValue(buf []byte, v value, o *plan.RepObject, tk string) ([]byte, bool) {
	switch v.k {
	case kNull:
		return append(buf, "null"...), true
	case kArray:
		buf = append(buf, '[')
		for i, item := range v.items() {
			if i > 0 {
				buf = append(buf, ',')
			}
			var ok bool
			if buf, ok = appendRepValue(buf, item, o, tk); !ok {
				return buf, false
			}
		}
		return append(buf, ']'), true
	case kObject:
		obj := v.obj()
		start := len(buf)
		buf = append(buf, '{')
		typename, _ := obj.typename(tk)
		if o.Typename {
			buf = append(buf, `,"__typename":`...)
			buf = jsonstr.AppendHTMLSafe(buf, typename)
		}
		var ok bool
		if buf, ok = appendRepFields(buf, obj, o.Fields, tk); !ok {
			return buf, false
		}
		if buf, ok = appendRepFields(buf, obj, o.ByType[typename], tk); !ok {
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
func contextValues(ctxs []*plan.ContextValue, ancestors []*objNode, tk string) ([][]byte, bool) {
	if len(ctxs) == 0 {
		return nil, true
	}
	out := make([][]byte, len(ctxs))
	for i, c := range ctxs {
		if c.Depth >= len(ancestors) || ancestors[c.Depth] == nil {
			return nil, false
		}
		buf, err := appendValue(nil, contextValue(ancestors[c.Depth], c.Value, tk))
		if err != nil {
			return nil, false
		}
		out[i] = buf
	}
	return out, true
}

// contextValue follows a contextual argument's selection down from obj to
// its one leaf.
func contextValue(obj *objNode, o *plan.RepObject, tk string) value {
	if o == nil {
		return value{}
	}
	fields := o.Fields
	if len(o.ByType) > 0 {
		typename, _ := obj.typename(tk)
		fields = append(fields[:len(fields):len(fields)], o.ByType[typename]...)
	}
	if len(fields) == 0 {
		return value{}
	}
	f := fields[0]
	v, _ := obj.get(f.Key)
	if f.Sub == nil {
		return v
	}
	if v.k != kObject {
		return value{}
	}
	return contextValue(v.obj(), f.Sub, tk)
}
