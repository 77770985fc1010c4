// Package connection makes the subgraphs' connections (books, orders):
// pages of nodes whose cursors are encoded only when a client selects them,
// and whose totalCount is counted, with the filter the page keeps, only
// when a client selects it.
package connection

import "bookstore/graph/apierror"

// Bounds of a connection's first argument, the contract's.
const (
	DefaultFirst = 20
	MaxFirst     = 100
)

// Args checks a connection's first and after arguments, and returns their
// values: first, DefaultFirst when not given, must be between 0 and
// MaxFirst; after, "" when not given, must not be empty.
func Args(first *int, after *string) (int, string, error) {
	n := DefaultFirst
	if first != nil {
		if *first < 0 || *first > MaxFirst {
			return 0, "", apierror.Input("first", "must be between 0 and %d, got %d", MaxFirst, *first)
		}
		n = *first
	}
	var a string
	if after != nil {
		if *after == "" {
			return 0, "", apierror.Input("after", "must not be empty")
		}
		a = *after
	}
	return n, a, nil
}

// Edge is what a store lists a page of: one row, which encodes its cursor
// on demand.
type Edge interface {
	Cursor() string
}

// PageInfo is a connection's pageInfo, a value type both subgraphs define.
type PageInfo struct {
	HasNextPage bool    `json:"hasNextPage"`
	EndCursor   *string `json:"endCursor,omitempty"`
}

// Connection is a page of nodes N, made from a store's edges E. It keeps
// the filter F of its query, so that totalCount is counted only when a
// client selects it.
type Connection[N any, E Edge, F any] struct {
	Edges    []*NodeEdge[N, E] `json:"edges"`
	PageInfo *PageInfo         `json:"pageInfo"`
	Filter   F
}

// NodeEdge is one node of a page. Its cursor is encoded only when a client
// selects it.
type NodeEdge[N any, E Edge] struct {
	Node *N `json:"node"`
	edge E
}

// Cursor returns the edge's cursor.
func (e *NodeEdge[N, E]) Cursor() string { return e.edge.Cursor() }

// New returns the page of a store's edges, the node of each made by node;
// hasNext says whether a page follows, filter is the query's.
func New[N any, E Edge, F any](edges []E, hasNext bool, filter F, node func(E) *N) *Connection[N, E, F] {
	c := &Connection[N, E, F]{
		Edges:    make([]*NodeEdge[N, E], len(edges)),
		PageInfo: &PageInfo{HasNextPage: hasNext},
		Filter:   filter,
	}
	for i, e := range edges {
		c.Edges[i] = &NodeEdge[N, E]{Node: node(e), edge: e}
	}
	if n := len(edges); n > 0 {
		end := edges[n-1].Cursor()
		c.PageInfo.EndCursor = &end
	}
	return c
}
