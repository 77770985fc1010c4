// Command orders-subgraph serves orders: the Order entity, placing and
// cancelling orders, and Book.unitsSold for the books subgraph's entity, as
// an Apollo Federation v2 subgraph at /query.
//
// Configuration comes from the environment; see graph/service.Config, plus
// ORDERS_LIST_PUBLIC, and the README.
package main

import (
	"bookstore/graph/service"
	"bookstore/orders-subgraph/graph"
	"bookstore/orders-subgraph/graph/generated"
	"bookstore/orders-subgraph/store"
)

func main() {
	service.Main("orders-subgraph", ":4003", build)
}

func build(d service.Deps) (service.Subgraph, error) {
	public, err := service.Bool(d.Getenv, "ORDERS_LIST_PUBLIC", false)
	if err != nil {
		return service.Subgraph{}, err
	}
	r := &graph.Resolver{Store: store.New(d.Pool), Logger: d.Logger, OrdersListPublic: public}
	return service.Subgraph{
		Schema:     generated.NewExecutableSchema(generated.Config{Resolvers: r}),
		Middleware: r.WithLoaders,
	}, nil
}
