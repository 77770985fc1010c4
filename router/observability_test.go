package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"bookstore/graph/platform/telemetry"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

// tracedStack runs the bookstore with each service tracing into an
// in-memory exporter of its own, as three processes would each export to
// a collector: the only thing they share is what crosses HTTP.
type tracedStack struct {
	*routertest.Stack
	mu        sync.Mutex
	exporters map[string]*tracetest.InMemoryExporter
}

// startTraced starts the bookstore with tracing on in the services named,
// or in every one when none is.
func startTraced(t *testing.T, services ...string) *tracedStack {
	t.Helper()
	ts := &tracedStack{exporters: map[string]*tracetest.InMemoryExporter{}}
	ts.Stack = routertest.StartBookstore(t, routertest.Options{
		TracerProvider: func(service string) trace.TracerProvider {
			if len(services) > 0 && !slices.Contains(services, service) {
				return nil
			}
			ts.mu.Lock()
			defer ts.mu.Unlock()
			exp := tracetest.NewInMemoryExporter()
			ts.exporters[service] = exp
			tp := telemetry.NewProvider(service, func(string) string { return "" }, sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
			return tp
		},
	})
	return ts
}

// spans waits until service has exported a span for which each of want
// matches, and returns all its spans. A span ends just after its response
// is written, so the client may see the answer first.
func (ts *tracedStack) spans(t *testing.T, service string, want ...func(tracetest.SpanStub) bool) tracetest.SpanStubs {
	t.Helper()
	ts.mu.Lock()
	exp := ts.exporters[service]
	ts.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := exp.GetSpans()
		missing := 0
		for _, w := range want {
			if !has(got, w) {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of the awaited spans never came; it exported:\n%s", service, missing, describe(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inTrace keeps the spans of one trace.
func inTrace(spans tracetest.SpanStubs, id string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range spans {
		if s.SpanContext.TraceID().String() == id {
			out = append(out, s)
		}
	}
	return out
}

func has(spans tracetest.SpanStubs, match func(tracetest.SpanStub) bool) bool {
	for _, s := range spans {
		if match(s) {
			return true
		}
	}
	return false
}

func named(name string) func(tracetest.SpanStub) bool {
	return func(s tracetest.SpanStub) bool { return s.Name == name }
}

func find(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no span %q in:\n%s", name, describe(spans))
	return tracetest.SpanStub{}
}

func describe(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString("  " + s.Name + " trace=" + s.SpanContext.TraceID().String() + " span=" + s.SpanContext.SpanID().String() +
			" parent=" + s.Parent.SpanID().String() + "\n")
	}
	return b.String()
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func TestOneTraceAcrossRouterSubgraphsAndSQL(t *testing.T) {
	ts := startTraced(t)
	const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	h := http.Header{"Traceparent": {"00-" + clientTrace + "-00f067aa0ba902b7-01"}}
	r := ts.Router.GraphQL(t, `query TraceBooks { books(first: 2) { edges { node { title unitsSold } } } }`, nil, h)
	if r.Status != 200 || len(r.Errors) > 0 {
		t.Fatalf("status %d, errors %v", r.Status, r.Codes())
	}

	// One trace, the client's, in every service.
	inClients := func(match func(tracetest.SpanStub) bool) func(tracetest.SpanStub) bool {
		return func(s tracetest.SpanStub) bool { return s.SpanContext.TraceID().String() == clientTrace && match(s) }
	}
	router := ts.spans(t, "router", inClients(named("POST /graphql")), inClients(named("query TraceBooks")),
		inClients(named("fetch books")), inClients(named("fetch orders")))
	allBooks := ts.spans(t, "books-subgraph", inClients(named("POST /query")), inClients(named("SELECT books.books")))
	books := inTrace(allBooks, clientTrace)
	// The router's schema polls say they are not sampled.
	for _, s := range allBooks {
		if attr(s, "graphql.operation.name") == "RouterServiceSDL" {
			t.Errorf("books-subgraph traced the router's schema poll: %s", describe(tracetest.SpanStubs{s}))
		}
	}
	orders := inTrace(ts.spans(t, "orders-subgraph", inClients(named("POST /query")), inClients(func(s tracetest.SpanStub) bool {
		return attr(s, "db.system.name") == "postgresql"
	})), clientTrace)
	for _, s := range router {
		if got := s.SpanContext.TraceID().String(); got != clientTrace {
			t.Errorf("router: span %q is in trace %s, want the client's %s", s.Name, got, clientTrace)
		}
	}

	// The router's spans nest: request → operation → fetches.
	req := find(t, router, "POST /graphql")
	if req.Parent.SpanID().String() != "00f067aa0ba902b7" || !req.Parent.IsRemote() {
		t.Errorf("the router's request span's parent = %s, want the client's span", req.Parent.SpanID())
	}
	if req.SpanKind != trace.SpanKindServer || attr(req, "http.response.status_code") != "200" {
		t.Errorf("request span: kind %v, status %q", req.SpanKind, attr(req, "http.response.status_code"))
	}
	op := find(t, router, "query TraceBooks")
	if op.Parent.SpanID() != req.SpanContext.SpanID() || attr(op, "graphql.operation.name") != "TraceBooks" {
		t.Errorf("operation span: parent %s, name %q", op.Parent.SpanID(), attr(op, "graphql.operation.name"))
	}
	for _, sg := range []string{"books", "orders"} {
		fetch := find(t, router, "fetch "+sg)
		if fetch.Parent.SpanID() != op.SpanContext.SpanID() || fetch.SpanKind != trace.SpanKindClient {
			t.Errorf("fetch %s: parent %s, kind %v", sg, fetch.Parent.SpanID(), fetch.SpanKind)
		}
		if !strings.HasPrefix(attr(fetch, "server.address"), "http://127.0.0.1:") {
			t.Errorf("fetch %s: server.address %q", sg, attr(fetch, "server.address"))
		}
	}

	// Each subgraph's request span continues its fetch span, and its SQL
	// spans are children of the request span.
	for sg, spans := range map[string]tracetest.SpanStubs{"books": books, "orders": orders} {
		fetch := find(t, router, "fetch "+sg)
		srv := find(t, spans, "POST /query")
		if srv.Parent.SpanID() != fetch.SpanContext.SpanID() || !srv.Parent.IsRemote() {
			t.Errorf("%s: request span's parent = %s, want the router's fetch span %s", sg, srv.Parent.SpanID(), fetch.SpanContext.SpanID())
		}
		if want := "TraceBooks__" + sg + "__"; !strings.HasPrefix(attr(srv, "graphql.operation.name"), want) {
			t.Errorf("%s: operation name %q, want %s<n>", sg, attr(srv, "graphql.operation.name"), want)
		}
		sql := 0
		for _, s := range spans {
			if attr(s, "db.system.name") != "postgresql" {
				continue
			}
			sql++
			if s.Parent.SpanID() != srv.SpanContext.SpanID() || s.SpanKind != trace.SpanKindClient {
				t.Errorf("%s: SQL span %q: parent %s, kind %v", sg, s.Name, s.Parent.SpanID(), s.SpanKind)
			}
			if q := attr(s, "db.query.text"); !strings.Contains(q, "SELECT") || attr(s, "db.namespace") == "" {
				t.Errorf("%s: SQL span %q: query %q, namespace %q", sg, s.Name, q, attr(s, "db.namespace"))
			}
		}
		if sql == 0 {
			t.Errorf("%s: no SQL span", sg)
		}
	}
}

func TestATraceStartsAtTheRouterWithoutTraceparent(t *testing.T) {
	ts := startTraced(t)
	r := ts.Router.Do(t, http.MethodGet, "/books/no-such-book", "", "", nil)
	if r.Status != 404 {
		t.Fatalf("status %d", r.Status)
	}
	router := ts.spans(t, "router", named("GET /books"), named("query RestGetBook"), named("fetch books"))
	root := find(t, router, "GET /books")
	if root.Parent.IsValid() {
		t.Errorf("the REST request's span has a parent %s; with no traceparent it starts the trace", root.Parent.SpanID())
	}
	id := root.SpanContext.TraceID().String()
	ts.spans(t, "books-subgraph", func(s tracetest.SpanStub) bool {
		return s.Name == "POST /query" && s.SpanContext.TraceID().String() == id &&
			strings.HasPrefix(attr(s, "graphql.operation.name"), "RestGetBook__books__")
	})
	if attr(root, "http.response.status_code") != "404" {
		t.Errorf("status attribute %q", attr(root, "http.response.status_code"))
	}
}

// A router without tracing neither starts spans nor rewrites traceparent:
// a subgraph that traces continues the client's own span.
func TestWithoutTracingTraceparentPassesThrough(t *testing.T) {
	ts := startTraced(t, "books-subgraph")
	h := http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	r := ts.Router.GraphQL(t, `{ books(first: 1) { totalCount } }`, nil, h)
	if r.Status != 200 || len(r.Errors) > 0 {
		t.Fatalf("status %d, errors %v", r.Status, r.Codes())
	}
	// Waits for the span, and fails when none continues the client's.
	ts.spans(t, "books-subgraph", func(s tracetest.SpanStub) bool {
		return s.Name == "POST /query" && s.SpanContext.TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736" &&
			s.Parent.SpanID().String() == "00f067aa0ba902b7" && s.Parent.IsRemote()
	})
}

func TestQueryPlanExtension(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{Configure: func(c *server.Config) { c.ExposeQueryPlans = true }})
	off := routertest.StartBookstore(t, routertest.Options{})
	const q = `query Shelf { books(first: 2) { edges { node { title unitsSold } } } }`
	want := http.Header{"X-Query-Plan": {"true"}}

	type node struct {
		Kind           string   `json:"kind"`
		ServiceName    string   `json:"serviceName"`
		Operation      string   `json:"operation"`
		VariableUsages []string `json:"variableUsages"`
		Entities       []struct {
			Path  []string `json:"path"`
			Types []string `json:"types"`
		} `json:"entities"`
		Nodes []node `json:"nodes"`
	}
	planOf := func(t *testing.T, r *routertest.Response) *node {
		t.Helper()
		var body struct {
			Extensions struct {
				QueryPlan *struct {
					Kind string `json:"kind"`
					Node *node  `json:"node"`
				} `json:"queryPlan"`
			} `json:"extensions"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Extensions.QueryPlan == nil {
			return nil
		}
		if body.Extensions.QueryPlan.Kind != "QueryPlan" {
			t.Errorf("kind %q", body.Extensions.QueryPlan.Kind)
		}
		return body.Extensions.QueryPlan.Node
	}

	r := s.Router.GraphQL(t, q, nil, want)
	if r.Status != 200 || len(r.Errors) > 0 {
		t.Fatalf("status %d, errors %v", r.Status, r.Codes())
	}
	p := planOf(t, r)
	if p == nil || p.Kind != "Sequence" || len(p.Nodes) != 2 {
		t.Fatalf("plan = %s, want a Sequence of the books fetch and the orders fetch", r.Body)
	}
	first, second := p.Nodes[0], p.Nodes[1]
	if first.Kind != "Fetch" || first.ServiceName != "books" || !strings.HasPrefix(first.Operation, "query Shelf__books__0 ") {
		t.Errorf("first node = %+v", first)
	}
	if second.Kind != "Fetch" || second.ServiceName != "orders" || !strings.Contains(second.Operation, "_entities") ||
		len(second.Entities) != 1 || strings.Join(second.Entities[0].Path, ".") != "books.edges.node" ||
		strings.Join(second.Entities[0].Types, ",") != "Book" {
		t.Errorf("second node = %+v", second)
	}
	// The data is the same with or without the plan.
	plain := s.Router.GraphQL(t, q, nil, nil)
	if string(plain.Data) != string(r.Data) || planOf(t, plain) != nil {
		t.Errorf("without the header: data %s, body %s", plain.Data, plain.Body)
	}

	// A mutation's root fetches run in sequence; variables are listed.
	m := s.Router.GraphQL(t, `mutation Two($id: ID!) { a: restockBook(id: $id, quantity: 1) { id } b: restockBook(id: $id, quantity: 1) { id } }`,
		map[string]any{"id": "nope"}, http.Header{"X-Query-Plan": {"TRUE"}, "Authorization": routertest.Admin()["Authorization"]})
	if mp := planOf(t, m); mp == nil || mp.Kind != "Fetch" && mp.Kind != "Sequence" {
		t.Errorf("mutation plan = %s", m.Body)
	} else if mp.Kind == "Fetch" && strings.Join(mp.VariableUsages, ",") != "id" {
		t.Errorf("mutation plan's variables = %v", mp.VariableUsages)
	}

	// Not allowed by the configuration: the header is ignored.
	r = off.Router.GraphQL(t, q, nil, want)
	if r.Status != 200 || planOf(t, r) != nil {
		t.Errorf("with ExposeQueryPlans off: status %d, body %s", r.Status, r.Body)
	}
	// A refused request gets no plan, only its error.
	r = s.Router.GraphQL(t, `{ nope }`, nil, want)
	if r.Status != 400 || planOf(t, r) != nil {
		t.Errorf("invalid query: status %d, body %s", r.Status, r.Body)
	}
}

func TestMetrics(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	for range 2 {
		s.Router.GraphQL(t, `query Shelf { books(first: 1) { edges { node { title unitsSold } } } }`, nil, nil)
	}
	s.Router.GraphQL(t, `{ books(first: 1) { totalCount } }`, nil, nil)
	s.Router.GraphQL(t, `{ nope`, nil, nil)
	s.Router.Do(t, http.MethodGet, "/books?first=1", "", "", nil)
	body := string(s.Router.Do(t, http.MethodGet, "/metrics", "", "", nil).Body)

	for _, c := range []struct {
		series string
		want   float64
	}{
		{`router_http_requests_total{code="200",method="POST",operation="Shelf",route="/graphql"}`, 2},
		{`router_http_requests_total{code="200",method="POST",operation="",route="/graphql"}`, 1},
		{`router_http_requests_total{code="400",method="POST",operation="",route="/graphql"}`, 1},
		{`router_http_requests_total{code="200",method="GET",operation="RestListBooks",route="/books"}`, 1},
		{`router_http_request_duration_seconds_count{operation="Shelf",route="/graphql"}`, 2},
		{`router_subgraph_fetches_total{outcome="ok",subgraph="books"}`, 4},
		{`router_subgraph_fetches_total{outcome="ok",subgraph="orders"}`, 3}, // REST's books have unitsSold
		{`router_subgraph_fetch_duration_seconds_count{subgraph="books"}`, 4},
		{`router_subgraph_fetch_duration_seconds_count{subgraph="orders"}`, 3},
		{`router_plan_cache_lookups_total{result="hit"}`, 1},
		{`router_plan_cache_lookups_total{result="miss"}`, 4},
		{`router_replica_ejections_total{subgraph="books"}`, 0},
		{`router_subgraph_fetches_total{outcome="error",subgraph="orders"}`, 0},
		// One after the other, every query ran: none shared.
		{`router_inbound_dedup_total{result="executed"}`, 4},
		{`router_inbound_dedup_total{result="shared"}`, 0},
		{`router_subgraph_dedup_total{result="sent",subgraph="books"}`, 4},
		{`router_subgraph_dedup_total{result="shared",subgraph="orders"}`, 0},
	} {
		if got := metric(body, c.series); got != c.want {
			t.Errorf("%s = %v, want %v", c.series, got, c.want)
		}
	}
	for _, family := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(body, "# TYPE "+family+" ") {
			t.Errorf("/metrics has no %s", family)
		}
	}
}

func TestOperationLabelsAreBounded(t *testing.T) {
	l := telemetry.NewLabel(2)
	for i, c := range []struct{ in, want string }{
		{"A", "A"}, {"B", "B"}, {"C", telemetry.Overflow}, {"A", "A"}, {"B", "B"}, {"D", telemetry.Overflow},
	} {
		if got := l.Value(c.in); got != c.want {
			t.Errorf("%d: Value(%q) = %q, want %q", i, c.in, got, c.want)
		}
	}
}

// The SQL a federated order page costs, counted from the subgraphs' SQL
// spans (the pgx tracer of graph/platform/telemetry) in the page's trace: a fixed
// number of statements in each subgraph, whatever the page's size (no
// statement per order, per line or per book).
func TestSQLStatementsPerFederatedOrderPageAreConstant(t *testing.T) {
	ts := startTraced(t)
	admin := routertest.Admin()

	// 60 orders of two lines each, over the catalogue.
	if _, err := ts.DB.Admin.Exec(t.Context(), `UPDATE books.books SET stock = 1000`); err != nil {
		t.Fatal(err)
	}
	var cat struct {
		Books struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	r := ts.Router.GraphQL(t, `{ books(first: 100) { edges { node { id } } } }`, nil, nil)
	if err := json.Unmarshal(r.Data, &cat); err != nil || len(cat.Books.Edges) < 10 {
		t.Fatalf("the catalogue: %v: %s", err, r.Body)
	}
	books := cat.Books.Edges
	for i := range 60 {
		r := ts.Router.GraphQL(t, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"customerEmail": fmt.Sprintf("page-%d@example.com", i),
			"items": []any{
				map[string]any{"bookId": books[i%len(books)].Node.ID, "quantity": 1},
				map[string]any{"bookId": books[(i+1)%len(books)].Node.ID, "quantity": 1},
			},
		}}, nil)
		if r.Status != http.StatusOK || len(r.Errors) > 0 {
			t.Fatalf("placing order %d: %s", i, r.Body)
		}
	}

	for c, tc := range []struct {
		name           string
		query          string
		orders, booksN int // statements per page
	}{
		{"items and books", `query Page($first: Int) { orders(first: $first) { edges { node { id items { quantity book { title priceCents } } } } } }`, 1, 1},
		{"with totalCount", `query Page($first: Int) { orders(first: $first) { totalCount edges { node { items { book { title } } } } } }`, 2, 1},
		{"with unitsSold", `query Page($first: Int) { orders(first: $first) { edges { node { items { book { title unitsSold } } } } } }`, 2, 1},
	} {
		for i, first := range []int{1, 5, 20, 50} {
			t.Run(fmt.Sprintf("%s, first %d", tc.name, first), func(t *testing.T) {
				traceID := fmt.Sprintf("%030x%02x", c+1, i+1)
				h := http.Header{"Traceparent": {"00-" + traceID + "-00f067aa0ba902b7-01"}, "Authorization": admin["Authorization"]}
				r := ts.Router.GraphQL(t, tc.query, map[string]any{"first": first}, h)
				var page struct {
					Orders struct {
						Edges []struct {
							Node struct{ Items []json.RawMessage }
						}
					}
				}
				if err := json.Unmarshal(r.Data, &page); err != nil || len(r.Errors) > 0 || len(page.Orders.Edges) != first {
					t.Fatalf("want %d orders: %v: %s", first, err, r.Body)
				}
				for sg, want := range map[string]int{"orders-subgraph": tc.orders, "books-subgraph": tc.booksN} {
					spans := inTrace(ts.spans(t, sg, func(s tracetest.SpanStub) bool {
						return s.SpanContext.TraceID().String() == traceID && s.Name == "POST /query"
					}), traceID)
					var sql []string
					for _, s := range spans {
						if attr(s, "db.system.name") == "postgresql" {
							sql = append(sql, s.Name)
						}
					}
					if len(sql) != want {
						t.Errorf("%s ran %d statements for a page of %d orders, want %d: %v", sg, len(sql), first, want, sql)
					}
				}
			})
		}
	}
}
