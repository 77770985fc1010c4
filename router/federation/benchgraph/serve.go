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
	"encoding/json"
	"net/http"
	"sync/atomic"
)

// Subgraphs returns every subgraph of both graphs: the benchmark graph's
// four, then big.
func Subgraphs() []*Subgraph {
	return append(Graph(), BigGraph())
}

// Handler serves every subgraph of both graphs at /NAME (POST), answers
// GET /readyz with 200, and GET /stats with the number of requests each
// subgraph has answered so far, as a JSON object by name.
func Handler() http.Handler {
	mux := http.NewServeMux()
	counts := map[string]*atomic.Int64{}
	for _, s := range Subgraphs() {
		n := new(atomic.Int64)
		counts[s.Name] = n
		h := s.Handler()
		mux.Handle("/"+s.Name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.Add(1)
			h.ServeHTTP(w, r)
		}))
	}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		out := map[string]int64{}
		for name, n := range counts {
			out[name] = n.Load()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return mux
}

// GraphNames are the benchmark graph's subgraphs, in the order Graph
// returns them.
var GraphNames = []string{"accounts", "inventory", "products", "reviews"}
