package model

import "bookstore/books-subgraph/store"

// BookConnection is a page of the catalogue. It keeps the filter of its
// query, so that totalCount is counted only when a client selects it.
type BookConnection struct {
	Edges    []*BookEdge `json:"edges"`
	PageInfo *PageInfo   `json:"pageInfo"`
	Filter   store.Filter
}
