// Package benchgraph holds the graphs the router's benchmarks run on, with
// subgraphs of their own that cost little, so that what a benchmark
// measures is the gateway in front of them:
//
//   - the benchmark graph (Graph, TestQuery): four subgraphs, accounts,
//     inventory, products and reviews, in the shape of the public "gateways
//     benchmark" graph (@key, @requires, @provides, @shareable,
//     @external), with fixed data; TestQuery's answer is about 87 KB;
//   - the big-response graph (BigGraph, BigQuery): one subgraph answering
//     about 8 MiB.
//
// The subgraphs are plain net/http handlers over a small executor of
// their own (exec.go), not gqlgen: they parse a query once, then write
// their answers straight from Go values. Handler serves every subgraph of
// both graphs on one mux, one path a subgraph (/accounts, /inventory,
// /products, /reviews, /big), which is what `make bench` runs in a
// process of its own; tests and Go benchmarks can serve it in-process with
// httptest.
package benchgraph

import (
	"net/http"
)

// Subgraphs returns every subgraph of both graphs: the benchmark graph's
// four, then big.
func Subgraphs() []*Subgraph {
	return append(Graph(), BigGraph())
}

// Handler serves every subgraph of both graphs at /NAME (POST), and
// answers GET /readyz with 200.
func Handler() http.Handler {
	mux := http.NewServeMux()
	for _, s := range Subgraphs() {
		mux.Handle("/"+s.Name, s.Handler())
	}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// GraphNames are the benchmark graph's subgraphs, in the order Graph
// returns them.
var GraphNames = []string{"accounts", "inventory", "products", "reviews"}
