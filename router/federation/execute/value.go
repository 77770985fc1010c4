package execute

import (
	"encoding/json"
	"math/bits"
	"strings"
	"sync"
	"unsafe"

	"bookstore/router/federation/internal/jsonstr"
)

// The executor parses each subgraph response into an arena of values
// (package-private: value, objNode, field), merges entity data into them in
// place, and shapes the client's response from them. A value is 16 bytes
// and holds no Go interface: strings and numbers are sub-slices of the
// response body (which the values keep alive), objects and lists live in
// the arena's chunks. Parsing a response allocates nothing per value, and
// nothing at all once the arena's chunks are warm (they are pooled).

// kind is a value's JSON type.
type kind uint8

const (
	kNull kind = iota // the zero value is null
	kFalse
	kTrue
	kNumber // the number's text, as the subgraph wrote it
	// kString is a string whose bytes are its JSON text as well: written
	// between quotes as they are.
	kString
	// kText is a string that must be escaped to be written (it had
	// escapes, HTML characters, or non-ASCII bytes in the response, or
	// comes from the router).
	kText
	kObject
	kArray
)

// value is one JSON value. p points at the bytes of a string or number
// (n of them), at the first of n items of a list, or at an object's
// first node.
type value struct {
	p unsafe.Pointer
	n uint32
	k kind
}

// objNode is one run of an object's fields; fields merged into the
// object later hang in further nodes, in next.
type objNode struct {
	fields []field
	next   *objNode
}

// field is one member of an object.
type field struct {
	key string
	val value
}

func stringValue(s string, k kind) value {
	return value{p: unsafe.Pointer(unsafe.StringData(s)), n: uint32(len(s)), k: k}
}

func bytesValue(b []byte, k kind) value {
	if len(b) == 0 {
		return value{k: k}
	}
	return value{p: unsafe.Pointer(&b[0]), n: uint32(len(b)), k: k}
}

func objectValue(o *objNode) value { return value{p: unsafe.Pointer(o), k: kObject} }

func listValue(items []value) value {
	if len(items) == 0 {
		return value{k: kArray}
	}
	return value{p: unsafe.Pointer(&items[0]), n: uint32(len(items)), k: kArray}
}

// str returns a string's or a number's text.
func (v value) str() string {
	if v.n == 0 {
		return ""
	}
	return unsafe.String((*byte)(v.p), int(v.n))
}

// isString reports whether v is a string.
func (v value) isString() bool { return v.k == kString || v.k == kText }

// items returns a list's items.
func (v value) items() []value {
	if v.n == 0 {
		return nil
	}
	return unsafe.Slice((*value)(v.p), int(v.n))
}

// obj returns an object's first node.
func (v value) obj() *objNode { return (*objNode)(v.p) }

// get returns the value of an object's member.
func (o *objNode) get(key string) (value, bool) {
	for n := o; n != nil; n = n.next {
		for i := range n.fields {
			if n.fields[i].key == key {
				return n.fields[i].val, true
			}
		}
	}
	return value{}, false
}

// slot returns where an object's member is, or nil.
func (o *objNode) slot(key string) *value {
	for n := o; n != nil; n = n.next {
		for i := range n.fields {
			if n.fields[i].key == key {
				return &n.fields[i].val
			}
		}
	}
	return nil
}

// typename returns the string an object holds under key (its
// __typename), and whether it holds one.
func (o *objNode) typename(key string) (string, bool) {
	v, ok := o.get(key)
	if !ok || !v.isString() {
		return "", false
	}
	return v.str(), true
}

// chunks hands out runs of Ts from large chunks, so that a response's
// objects and lists cost no allocation each. A run never moves.
type chunks[T any] struct {
	all  [][]T
	cur  int
	size int
}

// A chunk holds at least minChunk and at most maxChunk bytes of Ts (or
// one T, when larger): the first chunks of a small response are small,
// and a large response's are few.
const (
	minChunk = 4 << 10
	maxChunk = 2 << 20
)

// alloc returns a run of n zero Ts.
func (c *chunks[T]) alloc(n int) []T {
	for c.cur < len(c.all) {
		ch := c.all[c.cur]
		if cap(ch)-len(ch) >= n {
			c.all[c.cur] = ch[:len(ch)+n]
			return ch[len(ch) : len(ch)+n : len(ch)+n]
		}
		if c.cur+1 == len(c.all) {
			break
		}
		c.cur++
	}
	var zero T
	elem := max(int(unsafe.Sizeof(zero)), 1)
	c.size = min(max(c.size*2, minChunk/elem, 1), max(maxChunk/elem, 1))
	ch := make([]T, n, max(n, c.size))
	c.all = append(c.all, ch)
	c.cur = len(c.all) - 1
	return ch[:n:n]
}

// reset clears the chunks for reuse.
func (c *chunks[T]) reset() {
	for i, ch := range c.all {
		clear(ch)
		c.all[i] = ch[:0]
	}
	c.cur = 0
}

// arena holds the values of one or more responses.
type arena struct {
	fields chunks[field]
	values chunks[value]
	nodes  chunks[objNode]
	// fstack and vstack hold the members of the objects and lists being
	// parsed or merged.
	fstack []field
	vstack []value
	// coll and path are the execution's scratch space, kept with its
	// arena.
	coll    collector
	batches batchMem
	path    []pathElem
}

var arenas = sync.Pool{New: func() any { return new(arena) }}

func getArena() *arena { return arenas.Get().(*arena) }

// release clears the arena and returns it to the pool.
func (a *arena) release() {
	a.fields.reset()
	a.values.reset()
	a.nodes.reset()
	clear(a.fstack[:cap(a.fstack)])
	clear(a.vstack[:cap(a.vstack)])
	a.fstack, a.vstack = a.fstack[:0], a.vstack[:0]
	a.coll.reset()
	a.batches.reset()
	clear(a.path[:cap(a.path)])
	a.path = a.path[:0]
	arenas.Put(a)
}

// newObject returns an object of the fields in fstack from mark on, which
// it pops.
func (a *arena) newObject(mark int) *objNode {
	node := &a.nodes.alloc(1)[0]
	if n := len(a.fstack) - mark; n > 0 {
		node.fields = a.fields.alloc(n)
		copy(node.fields, a.fstack[mark:])
		clear(a.fstack[mark:])
		a.fstack = a.fstack[:mark]
	}
	return node
}

// newList returns a list of the values in vstack from mark on, which it
// pops.
func (a *arena) newList(mark int) value {
	n := len(a.vstack) - mark
	if n == 0 {
		return value{k: kArray}
	}
	items := a.values.alloc(n)
	copy(items, a.vstack[mark:])
	clear(a.vstack[mark:])
	a.vstack = a.vstack[:mark]
	return listValue(items)
}

// set sets an object's member.
func (a *arena) set(o *objNode, key string, v value) {
	if s := o.slot(key); s != nil {
		*s = v
		return
	}
	mark := len(a.fstack)
	a.fstack = append(a.fstack, field{key: key, val: v})
	a.appendNode(o, a.newObject(mark))
}

// appendNode hangs node at the end of o's chain.
func (a *arena) appendNode(o, node *objNode) {
	for o.next != nil {
		o = o.next
	}
	o.next = node
}

// merge merges src into dst, recursing where both hold an object (or
// lists of objects of one length) under one key; src's other members
// replace dst's or are added. Values src holds are shared, not copied.
func (a *arena) merge(dst, src *objNode) {
	mark := len(a.fstack)
	for n := src; n != nil; n = n.next {
		for _, f := range n.fields {
			old := dst.slot(f.key)
			if old == nil {
				a.fstack = append(a.fstack, f)
				continue
			}
			switch {
			case old.k == kObject && f.val.k == kObject:
				a.merge(old.obj(), f.val.obj())
			case old.k == kArray && f.val.k == kArray && old.n == f.val.n:
				dl, sl := old.items(), f.val.items()
				for i := range dl {
					if dl[i].k == kObject && sl[i].k == kObject {
						a.merge(dl[i].obj(), sl[i].obj())
					} else {
						dl[i] = sl[i]
					}
				}
			default:
				*old = f.val
			}
		}
	}
	if len(a.fstack) > mark {
		a.appendNode(dst, a.newObject(mark))
	}
}

// fromGo converts a Go value of encoding/json's types (the introspection's
// answers) to a value.
func (a *arena) fromGo(v any) value {
	switch v := v.(type) {
	case nil:
		return value{}
	case bool:
		if v {
			return value{k: kTrue}
		}
		return value{k: kFalse}
	case string:
		return stringValue(v, kText)
	case json.Number:
		return stringValue(string(v), kNumber)
	case *object:
		mark := len(a.fstack)
		for i, k := range v.keys {
			val := a.fromGo(v.vals[i])
			a.fstack = append(a.fstack, field{key: k, val: val})
		}
		return objectValue(a.newObject(mark))
	case []any:
		mark := len(a.vstack)
		for _, item := range v {
			val := a.fromGo(item)
			a.vstack = append(a.vstack, val)
		}
		return a.newList(mark)
	}
	return value{}
}

// toGo converts a value to encoding/json's types, for a custom scalar's
// object or list written as JSON.
func toGo(v value) any {
	switch v.k {
	case kFalse:
		return false
	case kTrue:
		return true
	case kNumber:
		return json.Number(strings.Clone(v.str()))
	case kString, kText:
		return strings.Clone(v.str())
	case kObject:
		m := map[string]any{}
		for n := v.obj(); n != nil; n = n.next {
			for _, f := range n.fields {
				m[strings.Clone(f.key)] = toGo(f.val)
			}
		}
		return m
	case kArray:
		items := v.items()
		out := make([]any, len(items))
		for i, item := range items {
			out[i] = toGo(item)
		}
		return out
	}
	return nil
}

// appendValue writes a leaf value: a scalar or an enum as the subgraph
// sent it (a string escaped as encoding/json escapes it), a custom
// scalar's object or list as encoding/json writes it.
func appendValue(buf []byte, v value) ([]byte, error) {
	switch v.k {
	case kNull:
		return append(buf, "null"...), nil
	case kFalse:
		return append(buf, "false"...), nil
	case kTrue:
		return append(buf, "true"...), nil
	case kNumber:
		return append(buf, v.str()...), nil
	case kString:
		buf = append(buf, '"')
		buf = append(buf, v.str()...)
		return append(buf, '"'), nil
	case kText:
		return jsonstr.AppendHTMLSafe(buf, v.str()), nil
	}
	b, err := json.Marshal(toGo(v))
	if err != nil {
		return buf, err
	}
	return append(buf, b...), nil
}

// bufferPool pools the buffers responses are written in, by size class:
// a buffer is taken from the class that fits the size asked and goes back
// to the largest class it fits, so that a buffer too small for a request
// never sits in the pool in the way of one big enough, and a small
// response never holds a big buffer.
type bufferPool struct {
	classes [numClasses]sync.Pool
}

// The classes are every power of two from minPooled to maxPooled and the
// half-way sizes between (1.5 × 2^k): a buffer is at most a third larger
// than asked.
const (
	minPooledShift = 12 // 4 KiB
	maxPooledShift = 24 // 16 MiB
	numClasses     = 2*(maxPooledShift-minPooledShift) + 1
	maxPooled      = 1 << maxPooledShift
)

var buffers bufferPool

// classSize is the capacity of class c's buffers.
func classSize(c int) int {
	size := 1 << (minPooledShift + c/2)
	if c%2 == 1 {
		size += size / 2
	}
	return size
}

// classFor returns the smallest class whose buffers hold size bytes, or
// -1 when size is over maxPooled.
func classFor(size int) int {
	if size > maxPooled {
		return -1
	}
	if size <= 1<<minPooledShift {
		return 0
	}
	k := bits.Len(uint(size-1)) - 1 // 2^k < size <= 2^(k+1)
	c := 2*(k-minPooledShift) + 1
	if size > classSize(c) {
		c++
	}
	return c
}

// getBuffer returns an empty buffer of at least size bytes.
func getBuffer(size int) []byte {
	c := classFor(size)
	if c < 0 {
		return make([]byte, 0, size)
	}
	// A response larger than its estimate grows its buffer, which then
	// goes back to a larger class: the next request of the same query
	// finds it there.
	for k := c; k < min(c+4, numClasses); k++ {
		if p, ok := buffers.classes[k].Get().(*[]byte); ok {
			return (*p)[:0]
		}
	}
	return make([]byte, 0, classSize(c))
}

// putBuffer returns a buffer to the pool, in the largest class it holds.
func putBuffer(b []byte) {
	if cap(b) < 1<<minPooledShift || cap(b) > maxPooled {
		return
	}
	c := classFor(cap(b))
	if classSize(c) > cap(b) {
		c--
	}
	b = b[:0]
	buffers.classes[c].Put(&b)
}
