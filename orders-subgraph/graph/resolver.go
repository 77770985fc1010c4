// Package graph resolves the orders subgraph's GraphQL schema: orders, the
// Order entity, and Book.unitsSold contributed to the books subgraph's
// entity. SQL stays in the store package; this package validates input and
// maps errors to the contract.
package graph

import (
	"log/slog"

	"bookstore/orders-subgraph/store"
)

// Resolver is the root of the resolvers. Its fields are set once at start.
type Resolver struct {
	Store  *store.Store
	Logger *slog.Logger
	// OrdersListPublic lets anyone list orders (ORDERS_LIST_PUBLIC=true);
	// otherwise the list is admin only.
	OrdersListPublic bool
}
