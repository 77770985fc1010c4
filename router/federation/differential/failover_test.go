package differential

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/router/routertest"
)

// federatedQuery crosses both subgraphs: titles from books, unitsSold from
// orders through _entities.
const federatedQuery = `{ books(first: 5) { edges { node { title unitsSold } } } }`

// post sends a GraphQL query to url without failing the test, so that it
// may run on any goroutine. The timeout only keeps a hung request from
// hanging the test; it asserts nothing.
func post(url, query string, vars map[string]any, header http.Header) (int, []byte, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// checkBooks returns what is wrong with an answer to federatedQuery (or a
// query of the same shape for want books), or "" when it is complete: 200,
// no errors, want books each with a title and a unitsSold.
func checkBooks(status int, body []byte, err error, want int) string {
	if err != nil {
		return err.Error()
	}
	var r struct {
		Data *struct {
			Books struct {
				Edges []struct {
					Node struct {
						Title     *string
						UnitsSold *int
					}
				}
			}
		}
		Errors []json.RawMessage
	}
	if status != http.StatusOK {
		return fmt.Sprintf("status %d: %s", status, body)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Sprintf("not JSON: %v: %s", err, body)
	}
	if len(r.Errors) > 0 || r.Data == nil || len(r.Data.Books.Edges) != want {
		return fmt.Sprintf("errors or incomplete data: %s", body)
	}
	for _, e := range r.Data.Books.Edges {
		if e.Node.Title == nil || *e.Node.Title == "" || e.Node.UnitsSold == nil {
			return fmt.Sprintf("a book lacks its title or unitsSold: %s", body)
		}
	}
	return ""
}

// TestFailoverUnderLoad runs a fixed number of federated queries from 8
// goroutines against a stack with two replicas of each subgraph, and stops
// one books replica and one orders replica abruptly halfway (connections
// in flight included). Every query must succeed: the router retries a
// query on the other replica. The last quarter of the queries is held until
// the replicas are stopped, so that some surely run without them.
func TestFailoverUnderLoad(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{Replicas: 2})
	url := s.Router.URL + "/graphql"
	const workers, total = 8, 800
	var (
		started  atomic.Int64
		halfway  = make(chan struct{})
		stopped  = make(chan struct{})
		failures = make(chan string, total)
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := started.Add(1)
				if n > total {
					return
				}
				if n == total/2 {
					close(halfway)
				}
				if n > total*3/4 {
					<-stopped
				}
				status, body, err := post(url, federatedQuery, nil, nil)
				if problem := checkBooks(status, body, err, 5); problem != "" {
					failures <- fmt.Sprintf("query %d: %s", n, problem)
				}
			}
		}()
	}
	<-halfway
	// Both replicas of each subgraph served before the stop: the load
	// really was spread over the replicas being stopped.
	for _, srv := range []struct {
		name  string
		count int
	}{
		{"books replica 0", s.Books[0].Counter.Count()}, {"books replica 1", s.Books[1].Counter.Count()},
		{"orders replica 0", s.Orders[0].Counter.Count()}, {"orders replica 1", s.Orders[1].Counter.Count()},
	} {
		if srv.count == 0 {
			t.Errorf("%s ran no SQL before the stop: the load did not reach it", srv.name)
		}
	}
	s.Books[0].Stop()
	s.Orders[0].Stop()
	close(stopped)
	wg.Wait()
	close(failures)
	failed := 0
	for f := range failures {
		failed++
		if failed <= 10 {
			t.Error(f)
		}
	}
	if failed > 0 {
		t.Errorf("%d of %d queries failed", failed, total)
	}
	t.Logf("%d queries from %d goroutines, %d failed", total, workers, failed)
	// The stopped replicas were tried after the stop, and ejected: the
	// queries succeeded through retries, not by luck.
	m := s.Router.Do(t, http.MethodGet, "/metrics", "", "", nil)
	for _, sg := range []string{"books", "orders"} {
		if n := metricValue(t, m.Body, `router_replica_ejections_total{subgraph="`+sg+`"}`); n < 1 {
			t.Errorf("the stopped %s replica was never ejected (%v)", sg, n)
		}
	}

	// Afterwards, with one replica of each left, queries still succeed.
	for i := range 20 {
		status, body, err := post(url, federatedQuery, nil, nil)
		if problem := checkBooks(status, body, err, 5); problem != "" {
			t.Errorf("query %d after the failover: %s", i, problem)
		}
	}
}

// TestPlaceOrderWithOrdersReplicaDown places orders through the router
// while one of the two orders replicas is stopped. Requests take the
// replicas in turn, so some are sent to the stopped one first: the
// connection is refused, which surely never reached it, so the router
// retries the mutation on the other replica. Each must succeed, and exactly
// once.
func TestPlaceOrderWithOrdersReplicaDown(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{Replicas: 2})
	s.Orders[0].Stop()
	const orders = 6
	const place = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status customerEmail totalCents } }`
	for i := range orders {
		email := fmt.Sprintf("failover-%d@example.com", i)
		vars := map[string]any{"input": map[string]any{
			"customerEmail": email,
			"items":         []any{map[string]any{"bookId": "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", "quantity": 1}},
		}}
		r := s.Router.GraphQL(t, place, vars, nil)
		var data struct {
			PlaceOrder *struct{ ID, Status, CustomerEmail string }
		}
		if r.Status != http.StatusOK || len(r.Errors) > 0 || json.Unmarshal(r.Data, &data) != nil ||
			data.PlaceOrder == nil || data.PlaceOrder.Status != "PLACED" || data.PlaceOrder.CustomerEmail != email {
			t.Fatalf("placeOrder %d: %d %s", i, r.Status, r.Body)
		}
	}
	// The stopped replica was tried, and refused often enough to be
	// ejected (three consecutive failures): the retries did happen.
	m := s.Router.Do(t, http.MethodGet, "/metrics", "", "", nil)
	if n := metricValue(t, m.Body, `router_replica_ejections_total{subgraph="orders"}`); n < 1 {
		t.Errorf("the stopped orders replica was never ejected (%v): the mutations never tried it", n)
	}
	// Exactly once: one order per e-mail, and as many in all as placed.
	for i := range orders {
		email := fmt.Sprintf("failover-%d@example.com", i)
		r := s.Router.GraphQL(t, `query($e: String!) { orders(first: 10, filter: {customerEmail: $e}) { totalCount } }`,
			map[string]any{"e": email}, routertest.Admin())
		if r.Status != http.StatusOK || string(r.Data) != `{"orders":{"totalCount":1}}` {
			t.Errorf("orders of %s: %d %s", email, r.Status, r.Body)
		}
	}
	r := s.Router.GraphQL(t, `{ orders(first: 100) { totalCount } }`, nil, routertest.Admin())
	if want := fmt.Sprintf(`{"orders":{"totalCount":%d}}`, orders); string(r.Data) != want {
		t.Errorf("all orders: got %s, want data %s", r.Body, want)
	}
}

// metricValue reads one sample of a Prometheus text exposition (0 when it
// is absent).
func metricValue(t *testing.T, text []byte, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindSubmatch(text)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("metric %s: %v", series, err)
	}
	return v
}

// TestOrdersSubgraphDown stops both orders replicas: the catalogue still
// answers, with unitsSold null and one SUBGRAPH_UNAVAILABLE error.
func TestOrdersSubgraphDown(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{Replicas: 2})
	for _, o := range s.Orders {
		o.Stop()
	}
	r := s.Router.GraphQL(t, `{ books(first: 3) { edges { node { title unitsSold } } } }`, nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var data struct {
		Books struct {
			Edges []struct {
				Node struct {
					Title     *string
					UnitsSold *int
				}
			}
		}
	}
	if err := json.Unmarshal(r.Data, &data); err != nil || len(data.Books.Edges) != 3 {
		t.Fatalf("want 3 books: %s", r.Body)
	}
	for _, e := range data.Books.Edges {
		if e.Node.Title == nil || *e.Node.Title == "" || e.Node.UnitsSold != nil {
			t.Errorf("want a title and a null unitsSold: %s", r.Body)
		}
	}
	if codes := r.Codes(); len(codes) != 1 || codes[0] != "SUBGRAPH_UNAVAILABLE" {
		t.Errorf("want exactly one SUBGRAPH_UNAVAILABLE error, got %v: %s", codes, r.Body)
	}
}
