package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"bookstore/graph/testkit/sharetest"
)

// startGate starts a subgraph replica that holds every request until the
// test releases it (or the request's client gives up), so that requests
// are surely in flight together; then it answers with status, text/plain,
// or if status is 0 with JSON that names the request's number and
// Authorization, so that callers who shared a request get the same bytes
// and the others do not.
func startGate(t *testing.T, status int) *sharetest.Subgraph {
	t.Helper()
	return sharetest.Start(t, func(g *sharetest.Subgraph, w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n, answer := g.HoldOrFail(w, r, status)
		if !answer {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"data":{"request":%d,"auth":%q}}`, n, r.Header.Get("Authorization"))
	})
}

type result struct {
	resp *Response
	err  error
}

// aQuery is a query that callers share.
var aQuery = Request{Subgraph: "books", Body: []byte(`{"query":"{ a }"}`)}

// startSharing starts a gate (startGate) answering with status, and a
// client for it with cfg whose OnDedup counts the joins.
func startSharing(t *testing.T, status int, cfg Config) (*sharetest.Subgraph, *sharetest.Joins, *Client) {
	t.Helper()
	g := startGate(t, status)
	j := sharetest.NewJoins()
	cfg.OnDedup = j.OnKey
	return g, j, newClient(t, cfg, g.URL)
}

// goDo runs c.Do in a goroutine of its own; the channel has its result.
func goDo(ctx context.Context, c *Client, req Request) <-chan result {
	out := make(chan result, 1)
	go func() {
		resp, err := c.Do(ctx, req)
		out <- result{resp, err}
	}()
	return out
}

// Identical queries in flight share one request; queries that differ in
// their body, in a header that counts (Authorization) or in being a
// mutation do not, nor queries to a subgraph whose sharing is off. Headers
// that only name a request (X-Request-Id, traceparent) do not count.
func TestDedup(t *testing.T) {
	q := []byte(`{"query":"{ books { title } }"}`)
	auth := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	for _, tc := range []struct {
		name     string
		cfg      Config
		reqs     []Request
		requests int // reaching the subgraph
	}{
		{name: "identical", reqs: []Request{{Body: q}, {Body: q}, {Body: q}, {Body: q}}, requests: 1},
		{name: "identical, same Authorization", reqs: []Request{{Body: q, Header: auth("Bearer a")}, {Body: q, Header: auth("Bearer a")}}, requests: 1},
		{name: "only the request ids and traces differ", reqs: []Request{
			{Body: q, Header: http.Header{"Authorization": {"Bearer a"}, "X-Request-Id": {"1"}, "Traceparent": {"00-01-01-01"}}},
			{Body: q, Header: http.Header{"Authorization": {"Bearer a"}, "X-Request-Id": {"2"}, "Tracestate": {"x=y"}}},
		}, requests: 1},
		{name: "different Authorization", reqs: []Request{{Body: q, Header: auth("Bearer a")}, {Body: q, Header: auth("Bearer b")}, {Body: q}}, requests: 3},
		{name: "different bodies", reqs: []Request{{Body: q}, {Body: []byte(`{"query":"{ authors { name } }"}`)}}, requests: 2},
		{name: "mutations", reqs: []Request{{Body: q, Mutation: true}, {Body: q, Mutation: true}}, requests: 2},
		{name: "a mutation and a query", reqs: []Request{{Body: q, Mutation: true}, {Body: q}}, requests: 2},
		{name: "off", cfg: Config{DisableDedup: true}, reqs: []Request{{Body: q}, {Body: q}}, requests: 2},
		{name: "off for the subgraph", cfg: Config{Dedup: map[string]bool{"books": false}}, reqs: []Request{{Body: q}, {Body: q}}, requests: 2},
		{name: "on for the subgraph only", cfg: Config{DisableDedup: true, Dedup: map[string]bool{"books": true}}, reqs: []Request{{Body: q}, {Body: q}}, requests: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, j, c := startSharing(t, 0, tc.cfg)
			cfg := tc.cfg
			results := make([]<-chan result, len(tc.reqs))
			for i, req := range tc.reqs {
				req.Subgraph = "books"
				results[i] = goDo(context.Background(), c, req)
			}
			// Every request has reached the subgraph, or joined one that
			// has: none can arrive late and start a request of its own.
			g.Await(t, tc.requests)
			on := !cfg.DisableDedup
			if v, ok := cfg.Dedup["books"]; ok {
				on = v
			}
			queries := len(tc.reqs) - countMutations(tc.reqs)
			if on {
				j.Wait(queries)
			}
			g.Open()
			bodies := map[string]int{}
			for i, req := range tc.reqs {
				r := <-results[i]
				if r.err != nil {
					t.Fatalf("request %d: %v", i, r.err)
				}
				bodies[string(r.resp.Body)]++
				if want := fmt.Sprintf(`"auth":%q`, req.Header.Get("Authorization")); !strings.Contains(string(r.resp.Body), want) {
					t.Errorf("request %d, Authorization %q, got %s", i, req.Header.Get("Authorization"), r.resp.Body)
				}
			}
			if n := g.Operations(); n != int64(tc.requests) {
				t.Errorf("the subgraph got %d requests, want %d", n, tc.requests)
			}
			if len(bodies) != tc.requests {
				t.Errorf("%d different answers, want %d: %v", len(bodies), tc.requests, bodies)
			}
			wantSent, wantShared := 0, 0
			if on {
				wantSent = tc.requests - countMutations(tc.reqs)
				wantShared = queries - wantSent
			}
			if sent, shared := j.Counts(); sent != wantSent || shared != wantShared {
				t.Errorf("OnDedup: %d sent, %d shared; want %d and %d", sent, shared, wantSent, wantShared)
			}
		})
	}
}

func countMutations(reqs []Request) int {
	n := 0
	for _, r := range reqs {
		if r.Mutation {
			n++
		}
	}
	return n
}

// Callers sharing a request each get their own Response, with the same
// bytes.
func TestDedupResponses(t *testing.T) {
	g, j, c := startSharing(t, 0, Config{})
	outA, outB := goDo(context.Background(), c, aQuery), goDo(context.Background(), c, aQuery)
	g.Await(t, 1)
	j.Wait(2)
	g.Open()
	a, b := <-outA, <-outB
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if a.resp == b.resp || string(a.resp.Body) != string(b.resp.Body) || a.resp.Status != 200 || a.resp.Replica != b.resp.Replica {
		t.Errorf("%+v and %+v", a.resp, b.resp)
	}
	a.resp.Status = 500 // a caller's changes stay its own
	if b.resp.Status != 200 {
		t.Error("the callers share a Response")
	}
}

// A shared request that fails, or times out, fails every caller that
// shared it, with the error each would have had alone; the subgraph saw one
// request.
func TestDedupSharedFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int // the subgraph's answer; 0: none, it hangs
		want   error
	}{
		{name: "502", status: http.StatusBadGateway, want: ErrUnavailable},
		{name: "timeout", want: context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hang := tc.status == 0
			cfg := Config{EjectAfter: 100}
			if hang {
				cfg.Timeout = 200 * time.Millisecond
			}
			g, j, c := startSharing(t, tc.status, cfg)
			const n = 3
			out := make([]<-chan result, n)
			for i := range out {
				out[i] = goDo(context.Background(), c, aQuery)
			}
			g.Await(t, 1)
			j.Wait(n)
			if !hang {
				g.Open()
			}
			for _, out := range out {
				r := <-out
				if r.err == nil || !errors.Is(r.err, tc.want) || !errors.Is(r.err, ErrUnavailable) {
					t.Errorf("err = %v, want one wrapping %v", r.err, tc.want)
				}
			}
			if got := g.Operations(); got != 1 {
				t.Errorf("the subgraph got %d requests, want 1", got)
			}
		})
	}
}

// A caller that gives up does not cancel the request for the others: one
// that waits for it returns at once, the one that sent it goes on to the
// answer; when every caller has given up, the request is cancelled.
func TestDedupCallerLeaves(t *testing.T) {
	g, j, c := startSharing(t, 0, Config{})
	first, cancelFirst := context.WithCancel(context.Background())
	second, cancelSecond := context.WithCancel(context.Background())
	out1 := goDo(first, c, aQuery)
	g.Await(t, 1)
	out2, out3 := goDo(second, c, aQuery), goDo(context.Background(), c, aQuery)
	j.Wait(3)
	cancelSecond()
	if r := <-out2; r.resp != nil || !errors.Is(r.err, context.Canceled) || !errors.Is(r.err, ErrUnavailable) {
		t.Fatalf("the caller that left: %v, %v", r.resp, r.err)
	}
	cancelFirst()
	g.Open()
	for i, out := range []<-chan result{out1, out3} {
		if r := <-out; r.err != nil || !strings.Contains(string(r.resp.Body), `"request":1`) {
			t.Fatalf("caller %d: %v", i, r.err)
		}
	}
	if n, x := g.Operations(), g.Cancelled(); n != 1 || x != 0 {
		t.Fatalf("%d requests, %d cancelled; want 1 and 0", n, x)
	}

	// Everyone gives up: the subgraph sees its request cancelled.
	g2, j2, c2 := startSharing(t, 0, Config{})
	sharetest.AllLeave(t, g2, j2, 2, func(ctx context.Context) {
		if _, err := c2.Do(ctx, aQuery); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

// A shared request ends by the deadline of the caller that sent it, as it
// would alone; a caller that shared it and still has time then sends its
// own.
func TestDedupFirstCallersDeadline(t *testing.T) {
	g, j, c := startSharing(t, 0, Config{})
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out1 := goDo(short, c, aQuery)
	g.Await(t, 1)
	out2 := goDo(context.Background(), c, aQuery)
	j.Wait(2)
	if r := <-out1; !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("the first caller: %v, %v", r.resp, r.err)
	}
	g.Await(t, 1) // the second caller's own request
	g.Open()
	if r := <-out2; r.err != nil || !strings.Contains(string(r.resp.Body), `"request":2`) {
		t.Fatalf("the second caller: %v", r.err)
	}
}

func TestDedupUnknownSubgraph(t *testing.T) {
	_, err := New(Config{Subgraphs: map[string][]string{"books": {"http://127.0.0.1:1/query"}}, Dedup: map[string]bool{"authors": false}})
	if err == nil || !strings.Contains(err.Error(), `"authors"`) {
		t.Fatalf("err = %v", err)
	}
}

// The key holds every header but the correlation ones, in a canonical
// order.
func TestAppendDedupKey(t *testing.T) {
	key := func(h http.Header) string { return string(AppendDedupKey(nil, h)) }
	for _, tc := range []struct {
		name string
		a, b http.Header
		same bool
	}{
		{"none", nil, http.Header{}, true},
		{"request ids", http.Header{"X-Request-Id": {"a"}}, http.Header{"X-Request-Id": {"b"}}, true},
		{"traces", http.Header{"Traceparent": {"a"}, "Tracestate": {"x"}}, nil, true},
		{"authorization", http.Header{"Authorization": {"Bearer a"}}, http.Header{"Authorization": {"Bearer b"}}, false},
		{"authorization or none", http.Header{"Authorization": {"Bearer a"}}, nil, false},
		{"an empty value is none", http.Header{"Authorization": {}}, nil, true},
		{"values in order", http.Header{"Authorization": {"a", "b"}}, http.Header{"Authorization": {"b", "a"}}, false},
		{"no ambiguity", http.Header{"Authorization": {"a b"}}, http.Header{"Authorization": {"a", "b"}}, false},
		{"another header counts", http.Header{"X-Tenant": {"a"}}, http.Header{"X-Tenant": {"b"}}, false},
		{"order of headers", http.Header{"Authorization": {"a"}, "X-Tenant": {"b"}}, http.Header{"X-Tenant": {"b"}, "Authorization": {"a"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := key(tc.a) == key(tc.b); got != tc.same {
				t.Errorf("keys %q and %q: same %v, want %v", key(tc.a), key(tc.b), got, tc.same)
			}
			if got := sameHeaders(tc.a, tc.b); got != tc.same {
				t.Errorf("sameHeaders: %v, want %v", got, tc.same)
			}
		})
	}
	// Every header Forward passes on is keyed, or a correlation header.
	fwd := Forward(http.Header{"Authorization": {"x"}, "Traceparent": {"x"}, "Tracestate": {"x"}, "X-Request-Id": {"x"}})
	for k := range fwd {
		if !isCorrelation(k) && !strings.Contains(key(http.Header{k: {"x"}}), k) {
			t.Errorf("%s is forwarded but not keyed", k)
		}
	}
	if isCorrelation("Authorization") {
		t.Error("Authorization is a correlation header")
	}
}
