package graph

import (
	"time"

	"bookstore/books-subgraph/graph/generated"
	"bookstore/books-subgraph/store"
	"bookstore/graph/platform/service"
)

// Build wires the books subgraph over its database pool: the main program
// and the tests that run the subgraph in-process both use it.
func Build(d service.Deps) (service.Subgraph, error) {
	return service.Subgraph{
		Schema: generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{
			Store:  store.New(d.Pool),
			Logger: d.Logger,
			Now:    time.Now,
		}}),
	}, nil
}
