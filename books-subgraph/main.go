// Command books-subgraph serves the catalogue: the Book entity, the
// catalogue queries and the admin mutations, as an Apollo Federation v2
// subgraph at /query.
//
// Configuration comes from the environment; see graph/platform/service.Config and
// the README.
package main

import (
	"bookstore/books-subgraph/graph"
	"bookstore/graph/platform/service"
)

func main() { service.Main("books-subgraph", ":4001", graph.Build) }
