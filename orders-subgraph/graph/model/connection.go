package model

import (
	"bookstore/graph/connection"
	"bookstore/orders-subgraph/store"
)

// OrderConnection is a page of orders.
type OrderConnection = connection.Connection[Order, store.Edge, store.Filter]

// OrderEdge is one order of a page.
type OrderEdge = connection.NodeEdge[Order, store.Edge]
