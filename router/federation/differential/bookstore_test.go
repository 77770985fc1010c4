package differential

import (
	"encoding/json"
	"net/http"
	"testing"

	"bookstore/router/federation/oracle"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

// adminCases names the corpus cases sent with the stack's admin token. The
// oracle's corpus files have no header convention, only comments ("Needs
// Authorization: Bearer <admin token>"), so the choice is made here, per
// case. The bookstore corpus needs none: its stacks run with
// ORDERS_LIST_PUBLIC=true, which its orders-list cases ask for.
var adminCases = map[string]map[string]bool{
	"bookstore-mutations": {"restock-admin": true},
}

// headerFor returns the headers to send with a case.
func headerFor(corpus string, c oracle.Case) http.Header {
	if adminCases[corpus][c.Name] {
		return routertest.Admin()
	}
	return nil
}

// checkAdminCases fails when adminCases names a case the corpus lacks (a
// renamed case would otherwise silently lose its token).
func checkAdminCases(t *testing.T, corpus string, cases []oracle.Case) {
	t.Helper()
	for name := range adminCases[corpus] {
		found := false
		for _, c := range cases {
			found = found || c.Name == name
		}
		if !found {
			t.Errorf("adminCases names %s/%s, which is not in the corpus", corpus, name)
		}
	}
}

// TestBookstoreCorpus runs the read-only bookstore corpus through Apollo
// Gateway (composing the bookstore's subgraphs by introspection) and through
// the router twice: composing the same subgraphs itself, and serving the
// committed supergraph fixture pointed at them. All share one seeded stack.
func TestBookstoreCorpus(t *testing.T) {
	const corpus = "bookstore"
	stack := routertest.StartBookstore(t, routertest.Options{OrdersListPublic: true})
	urls := map[string]string{"books": stack.Books[0].URL + "/query", "orders": stack.Orders[0].URL + "/query"}
	gateway := target{"Apollo Gateway", oracle.StartGateway(t, []oracle.Subgraph{
		{Name: "books", URL: urls["books"]}, {Name: "orders", URL: urls["orders"]},
	})}
	fromFile := routertest.StartRouter(t, server.Config{
		SupergraphFile: supergraphFile(t, "bookstore.graphql", urls),
		Introspection:  true,
	})
	routers := []target{
		{"router (introspected)", stack.Router.URL + "/graphql"},
		{"router (supergraph file)", fromFile.URL + "/graphql"},
	}
	cases := oracle.Corpus(t, corpus)
	checkAdminCases(t, corpus, cases)
	compareCorpus(t, corpus, cases, gateway, routers)
}

// TestBookstoreMutations runs each case of the bookstore-mutations corpus
// on two fresh, identically seeded stacks: one answered by the router, the
// other by Apollo Gateway over its subgraphs. A fresh pair per case keeps
// the cases independent (a mutation changes stock and sales, and a failed
// case cannot spoil the next).
//
// Order ids are random and timestamps come from the clock, so before the
// comparison both answers' data are masked: every "id" that is not one of
// the seeded catalogue's book ids (an order's id, or a book created by the
// case) becomes "<generated id>", and every non-null "createdAt",
// "updatedAt" and "cancelledAt" becomes "<timestamp>". A null stays null,
// so a timestamp present on one side only still differs.
//
// After the mutation, the state of both stacks is read back through each
// stack's own router (the same implementation on both sides, so that a
// difference there is a difference of state, not of routing): every book's
// stock and sales, and every order. It must be equal after masking.
func TestBookstoreMutations(t *testing.T) {
	const corpus = "bookstore-mutations"
	cases := oracle.Corpus(t, corpus)
	checkAdminCases(t, corpus, cases)
	counts := &tally{corpus: corpus, mode: "router (introspected), fresh stacks per case"}
	// The cases run in parallel (each has its own stacks) within a group,
	// so that the tally is logged once they have all run.
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				defer counts.record(t, c.Name)
				routed := routertest.StartBookstore(t, routertest.Options{OrdersListPublic: true})
				ref := routertest.StartBookstore(t, routertest.Options{OrdersListPublic: true})
				gateway := target{"Apollo Gateway", oracle.StartGateway(t, []oracle.Subgraph{
					{Name: "books", URL: ref.Books[0].URL + "/query"},
					{Name: "orders", URL: ref.Orders[0].URL + "/query"},
				})}
				router := target{"router", routed.Router.URL + "/graphql"}
				mask := generatedMask(seededBookIDs(t, routed))
				compareCase(t, corpus, c, headerFor(corpus, c), gateway, router, mask)

				after := oracle.Case{Name: "state after " + c.Name, Query: stateQuery}
				want := oracle.Post(t, ref.Router.URL+"/graphql", after, nil)
				got := oracle.Post(t, routed.Router.URL+"/graphql", after, nil)
				if want.Status != http.StatusOK || len(want.Errors) > 0 || len(got.Errors) > 0 {
					t.Fatalf("reading the state back failed:\nApollo's stack: %s\nrouter's stack: %s", want.Body, got.Body)
				}
				want.Data, got.Data = mask(want.Data), mask(got.Data)
				oracle.Compare(t, want, got)
				if t.Failed() {
					t.Logf("state after the case, Apollo's stack (unmasked): %s", want.Body)
				}
			})
		}
	})
	counts.log(t)
}

// stateQuery reads what a mutation of the corpus may change.
const stateQuery = `{
  books(first: 100) {
    totalCount
    pageInfo { hasNextPage }
    edges { node { id isbn title author priceCents stock inStock unitsSold } }
  }
  orders(first: 100) {
    totalCount
    edges { node { id customerEmail status totalCents currency createdAt cancelledAt
      items { quantity unitPriceCents lineTotalCents book { id title } } } }
  }
}`

// seededBookIDs returns the ids of the stack's catalogue, as seeded.
func seededBookIDs(t *testing.T, s *routertest.Stack) map[string]bool {
	t.Helper()
	r := s.Router.GraphQL(t, `{ books(first: 100) { pageInfo { hasNextPage } edges { node { id } } } }`, nil, nil)
	var data struct {
		Books struct {
			PageInfo struct{ HasNextPage bool }
			Edges    []struct{ Node struct{ ID string } }
		}
	}
	if r.Status != http.StatusOK || len(r.Errors) > 0 || json.Unmarshal(r.Data, &data) != nil {
		t.Fatalf("listing the catalogue: %d %s", r.Status, r.Body)
	}
	if data.Books.PageInfo.HasNextPage || len(data.Books.Edges) == 0 {
		t.Fatalf("the seeded catalogue does not fit one page of 100: %s", r.Body)
	}
	ids := map[string]bool{}
	for _, e := range data.Books.Edges {
		ids[e.Node.ID] = true
	}
	return ids
}

// generatedMask returns the masking described at TestBookstoreMutations.
func generatedMask(seeded map[string]bool) func(json.RawMessage) json.RawMessage {
	keys := map[string]bool{"id": true, "createdAt": true, "updatedAt": true, "cancelledAt": true}
	return func(raw json.RawMessage) json.RawMessage {
		out, err := maskJSON(raw, keys, func(key, value string) string {
			switch {
			case key != "id":
				return "<timestamp>"
			case seeded[value]:
				return value
			default:
				return "<generated id>"
			}
		})
		if err != nil {
			// Not JSON: leave it to the comparison to report.
			return raw
		}
		return out
	}
}
