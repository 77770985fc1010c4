package main

import (
	"encoding/json"
	"os"
	"testing"

	"bookstore/graph/testkit/testdb"
	"bookstore/router/routertest"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

func TestFederatedQueryAcrossReplicas(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{Replicas: 2})
	for range 4 { // round-robin reaches every replica
		r := s.Router.GraphQL(t, `{ books(first: 2) { edges { node { title unitsSold } } } }`, nil, nil)
		if r.Status != 200 || len(r.Errors) > 0 {
			t.Fatalf("status %d, errors %v", r.Status, r.Codes())
		}
		want := `{"books":{"edges":[{"node":{"title":"Brave New World","unitsSold":0}},{"node":{"title":"Clean Code","unitsSold":0}}]}}`
		if string(r.Data) != want {
			var pretty any
			_ = json.Unmarshal(r.Data, &pretty)
			t.Fatalf("data = %s\nwant %s", r.Data, want)
		}
	}
}
