package model

import (
	"bookstore/books-subgraph/store"
	"bookstore/graph/connection"
)

// BookConnection is a page of the catalogue.
type BookConnection = connection.Connection[Book, store.Edge, store.Filter]

// BookEdge is one book of a page.
type BookEdge = connection.NodeEdge[Book, store.Edge]
