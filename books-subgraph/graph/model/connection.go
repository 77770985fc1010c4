package model

import "bookstore/books-subgraph/store"

// BookConnection is a page of the catalogue. It keeps the filter of its
// query, so that totalCount is counted only when a client selects it.
type BookConnection struct {
	Edges    []*BookEdge `json:"edges"`
	PageInfo *PageInfo   `json:"pageInfo"`
	Filter   store.Filter
}

// BookEdge is one book of a page. Its cursor is encoded only when a client
// selects it.
type BookEdge struct {
	Node *Book `json:"node"`
	edge store.Edge
}

// NewBookEdge returns the edge of node, the book of e.
func NewBookEdge(node *Book, e store.Edge) *BookEdge { return &BookEdge{Node: node, edge: e} }

// Cursor returns the edge's cursor.
func (e *BookEdge) Cursor() string { return e.edge.Cursor() }
