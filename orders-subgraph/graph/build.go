package graph

import (
	"bookstore/graph/platform/service"
	"bookstore/orders-subgraph/graph/generated"
	"bookstore/orders-subgraph/store"
)

// Build wires the orders subgraph over its database pool; it reads the
// subgraph's own settings (service.OrdersConfig: ORDERS_LIST_PUBLIC). The
// main program and the tests that run the subgraph in-process both use it.
func Build(d service.Deps) (service.Subgraph, error) {
	own, err := service.OrdersFromEnv(d.Getenv)
	if err != nil {
		return service.Subgraph{}, err
	}
	r := &Resolver{Store: store.New(d.Pool), Logger: d.Logger, OrdersListPublic: own.ListPublic}
	return service.Subgraph{
		Schema:     generated.NewExecutableSchema(generated.Config{Resolvers: r}),
		Middleware: r.WithLoaders,
	}, nil
}
