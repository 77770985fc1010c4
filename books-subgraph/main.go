// Command books-subgraph serves the catalogue: the Book entity, the
// catalogue queries and the admin mutations, as an Apollo Federation v2
// subgraph at /query.
//
// Configuration comes from the environment; see graph/platform/service.Config and
// the README.
package main

import (
	"os"
	"runtime/debug"

	"bookstore/books-subgraph/graph"
	"bookstore/graph/platform/service"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// The live heap is small (the schema, parsed queries, the pool)
		// and the garbage is per request: collecting less often buys CPU
		// for a few MiB. GOGC (and GOMEMLIMIT) still rule when set.
		debug.SetGCPercent(400)
	}
	service.Main("books-subgraph", ":4001", graph.Build)
}
