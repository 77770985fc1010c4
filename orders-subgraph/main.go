// Command orders-subgraph serves orders: the Order entity, placing and
// cancelling orders, and Book.unitsSold for the books subgraph's entity, as
// an Apollo Federation v2 subgraph at /query.
//
// Configuration comes from the environment; see graph/platform/service.Config, plus
// ORDERS_LIST_PUBLIC, and the README.
package main

import (
	"os"
	"runtime/debug"

	"bookstore/graph/platform/service"
	"bookstore/orders-subgraph/graph"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// The live heap is small (the schema, parsed queries, the pool)
		// and the garbage is per request: collecting less often buys CPU
		// for a few MiB. GOGC (and GOMEMLIMIT) still rule when set.
		debug.SetGCPercent(400)
	}
	service.Main("orders-subgraph", ":4003", graph.Build)
}
