// Package graph resolves the books subgraph's GraphQL schema: the catalogue
// queries, the admin mutations and the Book entity. SQL stays in the store
// package; this package validates input and maps errors to the contract.
package graph

import (
	"log/slog"
	"time"

	"bookstore/books-subgraph/store"
)

// Resolver is the root of the resolvers. Its fields are set once at start.
type Resolver struct {
	Store  *store.Store
	Logger *slog.Logger
	// Now returns the current time; validation of publishedYear uses it.
	Now func() time.Time
}
