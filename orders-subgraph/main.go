// Command orders-subgraph serves orders: the Order entity, placing and
// cancelling orders, and Book.unitsSold for the books subgraph's entity, as
// an Apollo Federation v2 subgraph at /query.
//
// Configuration comes from the environment; see graph/platform/service.Config
// and OrdersConfig (ORDERS_LIST_PUBLIC), and the README.
package main

import (
	"bookstore/graph/platform/service"
	"bookstore/orders-subgraph/graph"
)

func main() { service.Main("orders-subgraph", ":4003", graph.Build) }
