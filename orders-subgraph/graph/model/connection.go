package model

import "bookstore/orders-subgraph/store"

// OrderConnection is a page of orders. It keeps the filter of its query, so
// that totalCount is counted only when a client selects it.
type OrderConnection struct {
	Edges    []*OrderEdge `json:"edges"`
	PageInfo *PageInfo    `json:"pageInfo"`
	Filter   store.Filter
}

// OrderEdge is one order of a page. Its cursor is encoded only when a
// client selects it.
type OrderEdge struct {
	Node *Order `json:"node"`
	edge store.Edge
}

// NewOrderEdge returns the edge of node, the order of e.
func NewOrderEdge(node *Order, e store.Edge) *OrderEdge { return &OrderEdge{Node: node, edge: e} }

// Cursor returns the edge's cursor.
func (e *OrderEdge) Cursor() string { return e.edge.Cursor() }
