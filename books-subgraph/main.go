// Command books-subgraph serves the catalogue: the Book entity, the
// catalogue queries and the admin mutations, as an Apollo Federation v2
// subgraph at /query.
//
// Configuration comes from the environment; see graph/service.Config and
// the README.
package main

import (
	"time"

	"bookstore/books-subgraph/graph"
	"bookstore/books-subgraph/graph/generated"
	"bookstore/books-subgraph/store"
	"bookstore/graph/service"
)

func main() {
	service.Main("books-subgraph", ":4001", build)
}

func build(d service.Deps) (service.Subgraph, error) {
	return service.Subgraph{
		Schema: generated.NewExecutableSchema(generated.Config{Resolvers: &graph.Resolver{
			Store:  store.New(d.Pool),
			Logger: d.Logger,
			Now:    time.Now,
		}}),
	}, nil
}
