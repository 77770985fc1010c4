package model

import "bookstore/orders-subgraph/store"

// OrderConnection is a page of orders. It keeps the filter of its query, so
// that totalCount is counted only when a client selects it.
type OrderConnection struct {
	Edges    []*OrderEdge `json:"edges"`
	PageInfo *PageInfo    `json:"pageInfo"`
	Filter   store.Filter
}
