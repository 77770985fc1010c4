package benchgraph

import (
	"errors"
	"strconv"
	"sync"
)

// The big-response graph: one subgraph, "big", whose BigQuery answer is
// about 8 MiB, as in the "big-response" case of grafbase's federation
// benchmarks: 8 items, each with 8 children, three levels down (4,680
// items), each with a few scalars and three lists.

// BigQuery asks for the whole tree.
const BigQuery = `query BigResponse {
  items(n: 8) {
    ...Item
    children(n: 8) {
      ...Item
      children(n: 8) {
        ...Item
        children(n: 8) {
          ...Item
        }
      }
    }
  }
}

fragment Item on Item {
  id
  name
  price
  available
  tags
  scores
  counts
}
`

const bigSDL = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@shareable"])

type Query {
  items(n: Int!): [Item!]!
}

type Item {
  id: Int!
  name: String!
  price: Float!
  available: Boolean!
  tags: [String!]!
  scores: [Float!]!
  counts: [Int!]!
  children(n: Int!): [Item!]!
}
`

// bigListLen is the length of each item's lists: with it BigQuery's answer
// is about 8 MiB.
const bigListLen = 64

// maxBigN bounds n: a request cannot make the subgraph build a tree of
// arbitrary size.
const maxBigN = 16

type item struct {
	g         *bigGraph
	id        int
	name      string
	price     float64
	available bool
	// The lists, in JSON: an item is made once and written many times.
	tags, scores, counts Raw
}

func (*item) Typename() string { return "Item" }

func (it *item) Field(name string, args Args) (any, error) {
	switch name {
	case "id":
		return it.id, nil
	case "name":
		return it.name, nil
	case "price":
		return it.price, nil
	case "available":
		return it.available, nil
	case "tags":
		return it.tags, nil
	case "scores":
		return it.scores, nil
	case "counts":
		return it.counts, nil
	case "children":
		return it.g.items(args, it.id)
	}
	return nil, unknownField(name)
}

// bigGraph makes each item once, on first use, and keeps it: the
// subgraph's cost per request is then the writing of its answer.
type bigGraph struct {
	mu    sync.Mutex
	lists map[[2]int][]Object // (parent id, n) → children
}

func (g *bigGraph) items(args Args, parent int) (any, error) {
	n, err := args.Int("n", 0)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxBigN {
		return nil, errors.New("n: want 0 to " + strconv.Itoa(maxBigN))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	k := [2]int{parent, n}
	if l, ok := g.lists[k]; ok {
		return l, nil
	}
	l := make([]Object, n)
	for i := range l {
		l[i] = newItem(g, parent*maxBigN+i+1)
	}
	g.lists[k] = l
	return l, nil
}

func newItem(g *bigGraph, id int) *item {
	it := &item{g: g, id: id, name: "item-" + strconv.Itoa(id), available: id%4 != 0}
	x := uint32(id)*2654435761 + 7
	next := func() uint32 { x = x*1664525 + 1013904223; return x >> 8 }
	it.price = float64(next()%100000) / 100
	tags, scores, counts := make([]string, bigListLen), make([]float64, bigListLen), make([]int, bigListLen)
	for i := range bigListLen {
		tags[i] = "tag-" + strconv.Itoa(int(next()%1000000))
		scores[i] = float64(next()%1000000) / 1000
		counts[i] = int(next() % 100000)
	}
	var e executor
	it.tags, _ = e.value(nil, tags, collectKey{}, nil)
	it.scores, _ = e.value(nil, scores, collectKey{}, nil)
	it.counts, _ = e.value(nil, counts, collectKey{}, nil)
	return it
}

// BigGraph returns the big-response graph's one subgraph, "big".
func BigGraph() *Subgraph {
	g := &bigGraph{lists: map[[2]int][]Object{}}
	q := &query{sdl: bigSDL, fields: func(name string, args Args) (any, error) {
		if name == "items" {
			return g.items(args, 0)
		}
		return nil, unknownField(name)
	}}
	return &Subgraph{Name: "big", SDL: bigSDL, root: q}
}
