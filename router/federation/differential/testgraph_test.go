package differential

import (
	"testing"
	"time"

	"bookstore/router/federation/oracle"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

// TestTestgraphCorpus runs the testgraph corpus (three Node subgraphs with
// the federation features the bookstore does not use: composite and
// multiple keys, @requires, @provides, interfaces, unions, @inaccessible,
// resolvable: false, ...) through Apollo Gateway and through the router
// twice: composing the running subgraphs itself, and serving the committed
// supergraph fixture pointed at them. The testgraph's mutations keep no
// state, so every target shares the same subgraphs.
func TestTestgraphCorpus(t *testing.T) {
	const corpus = "testgraph"
	subgraphs := oracle.StartTestSubgraphs(t)
	gateway := target{"Apollo Gateway", oracle.StartGateway(t, subgraphs)}
	replicas := map[string][]string{}
	urls := map[string]string{}
	for _, s := range subgraphs {
		replicas[s.Name] = []string{s.URL}
		urls[s.Name] = s.URL
	}
	introspected := routertest.StartRouter(t, server.Config{Subgraphs: replicas, Introspection: true, PollInterval: time.Hour})
	fromFile := routertest.StartRouter(t, server.Config{
		SupergraphFile: supergraphFile(t, "testgraph.graphql", urls),
		Introspection:  true,
	})
	routers := []target{
		{"router (introspected)", introspected.URL + "/graphql"},
		{"router (supergraph file)", fromFile.URL + "/graphql"},
	}
	cases := oracle.Corpus(t, corpus)
	compareCorpus(t, corpus, cases, gateway, routers)
}
