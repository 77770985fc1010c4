package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/router/federation/compose"
	"bookstore/router/federation/execute"
	"bookstore/router/federation/gateway"
	"bookstore/router/federation/transport"
)

// subgraphSDL is the schema of the test subgraph.
const subgraphSDL = `type Query { hello(name: String, ratio: Float): String }
type Mutation { bump: Int }`

// subgraph is a subgraph on 127.0.0.1 that holds every operation until the
// test releases it (or the router gives up on it), so that operations are
// surely in flight together. Its answers name the request's number, its
// Authorization and its variables, so that clients who shared an
// execution get the same bytes and the others do not.
type subgraph struct {
	url       string
	arrivals  chan int
	release   chan struct{}
	n         atomic.Int64
	cancelled atomic.Int64
	status    int // 0: answer; else that status, text/plain
}

func startSubgraph(t *testing.T, status int) *subgraph {
	t.Helper()
	s := &subgraph{arrivals: make(chan int, 100), release: make(chan struct{}), status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Query     string
			Variables json.RawMessage
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(body.Query, "_service") {
			fmt.Fprintf(w, `{"data":{"_service":{"sdl":%q}}}`, subgraphSDL)
			return
		}
		n := int(s.n.Add(1))
		s.arrivals <- n
		select {
		case <-s.release:
		case <-r.Context().Done():
			s.cancelled.Add(1)
			return
		}
		if s.status != 0 {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(s.status)
			io.WriteString(w, "down")
			return
		}
		if strings.Contains(body.Query, "bump") {
			fmt.Fprintf(w, `{"data":{"bump":%d}}`, n)
			return
		}
		answer := fmt.Sprintf("request %d, auth %q, variables %s", n, r.Header.Get("Authorization"), body.Variables)
		fmt.Fprintf(w, `{"data":{"hello":%q}}`, answer)
	}))
	s.url = srv.URL + "/query"
	t.Cleanup(srv.Close)
	t.Cleanup(s.open)
	return s
}

// open releases the operations held, and every later one.
func (s *subgraph) open() {
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// await waits for the next n operations to arrive; past a generous bound
// it fails the test (an operation that never comes: it was shared).
func (s *subgraph) await(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-s.arrivals:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d operations reached the subgraph", i, n)
		}
	}
}

// joins counts the queries that joined (Options.OnDedup) and lets a test
// wait until n have.
type joins struct {
	mu           sync.Mutex
	cond         *sync.Cond
	exec, shared int
}

func newJoins() *joins {
	j := &joins{}
	j.cond = sync.NewCond(&j.mu)
	return j
}

func (j *joins) on(shared bool) {
	j.mu.Lock()
	if shared {
		j.shared++
	} else {
		j.exec++
	}
	j.mu.Unlock()
	j.cond.Broadcast()
}

func (j *joins) wait(n int) {
	j.mu.Lock()
	for j.exec+j.shared < n {
		j.cond.Wait()
	}
	j.mu.Unlock()
}

// newGateway returns a gateway over the subgraph, through a real
// transport client whose own sharing is off, so that only the gateway's
// is tested.
func newGateway(t *testing.T, s *subgraph, opts gateway.Options) *gateway.Gateway {
	t.Helper()
	client, err := transport.New(transport.Config{Subgraphs: map[string][]string{"a": {s.url}}, DisableDedup: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	sdl, err := client.FetchSDL(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	sg, err := compose.Compose([]compose.Subgraph{{Name: "a", SDL: sdl}})
	if err != nil {
		t.Fatal(err)
	}
	opts.Fetcher = transport.Fetcher{Client: client}
	g := gateway.New(opts)
	g.SetSupergraph(sg)
	return g
}

const hello = `query Hello($name: String, $ratio: Float) { hello(name: $name, ratio: $ratio) }`

// Identical queries in flight share one execution and one Response;
// queries that differ in what they ask, in their variables' values, in
// their Authorization or in X-Query-Plan do not, nor do mutations. The
// request's id and trace, and how the variables are spelled, do not count.
func TestDedup(t *testing.T) {
	auth := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	q := func(vars map[string]any, h http.Header) *gateway.Request {
		return &gateway.Request{Query: hello, Variables: vars, Header: h}
	}
	x := map[string]any{"name": "x"}
	for _, tc := range []struct {
		name       string
		opts       gateway.Options
		reqs       []*gateway.Request
		executions int
	}{
		{name: "identical", reqs: []*gateway.Request{q(x, nil), q(x, nil), q(x, nil), q(x, nil)}, executions: 1},
		{name: "identical, same Authorization", reqs: []*gateway.Request{q(x, auth("Bearer a")), q(x, auth("Bearer a"))}, executions: 1},
		{name: "different Authorization", reqs: []*gateway.Request{q(x, auth("Bearer a")), q(x, auth("Bearer b")), q(x, nil)}, executions: 3},
		{name: "only request ids and traces differ", reqs: []*gateway.Request{
			q(x, http.Header{"Authorization": {"Bearer a"}, "X-Request-Id": {"1"}, "Traceparent": {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}),
			q(x, http.Header{"Authorization": {"Bearer a"}, "X-Request-Id": {"2"}}),
		}, executions: 1},
		{name: "the same variables, spelled differently", reqs: []*gateway.Request{
			q(map[string]any{"name": "x", "ratio": int64(1)}, nil),
			q(map[string]any{"ratio": float64(1), "name": "x"}, nil),
			q(map[string]any{"ratio": float64(1), "name": "x", "unused": true}, nil),
		}, executions: 1},
		{name: "null and absent variables", reqs: []*gateway.Request{q(map[string]any{"name": nil}, nil), q(nil, nil)}, executions: 2},
		{name: "different variables", reqs: []*gateway.Request{q(x, nil), q(map[string]any{"name": "y"}, nil)}, executions: 2},
		{name: "different documents", reqs: []*gateway.Request{q(x, nil), {Query: `query Hello($name: String) { hello(name: $name) }`, Variables: x}}, executions: 2},
		{name: "with and without the plan", opts: gateway.Options{ExposePlans: true},
			reqs: []*gateway.Request{q(x, nil), {Query: hello, Variables: x, WantPlan: true}}, executions: 2},
		{name: "the plan not exposed: asking makes no difference", reqs: []*gateway.Request{q(x, nil), {Query: hello, Variables: x, WantPlan: true}}, executions: 1},
		{name: "mutations", reqs: []*gateway.Request{{Query: `mutation { bump }`}, {Query: `mutation { bump }`}}, executions: 2},
		{name: "off", opts: gateway.Options{DisableDedup: true}, reqs: []*gateway.Request{q(x, nil), q(x, nil), q(x, nil)}, executions: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSubgraph(t, 0)
			j := newJoins()
			opts := tc.opts
			opts.OnDedup = j.on
			g := newGateway(t, s, opts)
			out := make([]chan *gateway.Response, len(tc.reqs))
			queries := 0
			for i, req := range tc.reqs {
				if !strings.HasPrefix(req.Query, "mutation") {
					queries++
				}
				out[i] = make(chan *gateway.Response, 1)
				go func() { out[i] <- g.Do(context.Background(), req) }()
			}
			s.await(t, tc.executions)
			if !opts.DisableDedup {
				j.wait(queries) // every query executes or waits for one that does
			}
			s.open()
			answers := map[*gateway.Response]bool{}
			bodies := map[string]bool{}
			for i, req := range tc.reqs {
				resp := <-out[i]
				if resp.Status != http.StatusOK || len(resp.Errors) > 0 {
					t.Fatalf("query %d: %d %+v", i, resp.Status, resp.Errors)
				}
				answers[resp] = true
				bodies[string(resp.JSON())] = true
				if a := req.Header.Get("Authorization"); !strings.Contains(string(resp.Data), fmt.Sprintf(`auth \"%s\"`, a)) && !strings.Contains(req.Query, "bump") {
					t.Errorf("query %d, Authorization %q, got %s", i, a, resp.Data)
				}
			}
			if n := s.n.Load(); n != int64(tc.executions) {
				t.Errorf("the subgraph got %d operations, want %d", n, tc.executions)
			}
			if len(answers) != tc.executions || len(bodies) != tc.executions {
				t.Errorf("%d responses, %d bodies; want %d", len(answers), len(bodies), tc.executions)
			}
			wantExec, wantShared := 0, 0
			if !opts.DisableDedup {
				wantExec = tc.executions - (len(tc.reqs) - queries)
				wantShared = queries - wantExec
			}
			if j.exec != wantExec || j.shared != wantShared {
				t.Errorf("OnDedup: %d executed, %d shared; want %d and %d", j.exec, j.shared, wantExec, wantShared)
			}
		})
	}
}

// The callers of a shared execution get one Response, and one encoding of
// it: the same bytes, made once.
func TestDedupSharesBytes(t *testing.T) {
	s := startSubgraph(t, 0)
	j := newJoins()
	g := newGateway(t, s, gateway.Options{OnDedup: j.on})
	out := make(chan *gateway.Response, 2)
	for range 2 {
		go func() { out <- g.Do(context.Background(), &gateway.Request{Query: `{ hello }`}) }()
	}
	s.await(t, 1)
	j.wait(2)
	s.open()
	a, b := <-out, <-out
	if a != b {
		t.Fatal("two Responses")
	}
	ja, jb := a.JSON(), b.JSON()
	if &ja[0] != &jb[0] {
		t.Error("encoded twice")
	}
	if want := `{"data":{"hello":"request 1, auth \"\", variables "}}`; string(ja) != want {
		t.Errorf("JSON %s, want %s", ja, want)
	}
}

// A shared execution that fails, or runs out of time, fails every query
// that shared it alike.
func TestDedupSharedFailure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		timeout time.Duration
		want    string
	}{
		{name: "subgraph down", status: http.StatusBadGateway, want: `subgraph \"a\" is unavailable`},
		{name: "operation timeout", timeout: 200 * time.Millisecond, want: `subgraph \"a\" did not answer in time`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSubgraph(t, tc.status)
			j := newJoins()
			g := newGateway(t, s, gateway.Options{OnDedup: j.on, Limits: gateway.Limits{Timeout: tc.timeout}})
			const n = 3
			out := make(chan *gateway.Response, n)
			for range n {
				go func() { out <- g.Do(context.Background(), &gateway.Request{Query: `{ hello }`}) }()
			}
			s.await(t, 1)
			j.wait(n)
			if tc.timeout == 0 {
				s.open()
			}
			first := <-out
			for range n - 1 {
				if r := <-out; r != first {
					t.Error("the queries got different Responses")
				}
			}
			if body := string(first.JSON()); !strings.Contains(body, tc.want) || !strings.Contains(body, "SUBGRAPH_UNAVAILABLE") {
				t.Errorf("got %s, want an error %s", body, tc.want)
			}
			if got := s.n.Load(); got != 1 {
				t.Errorf("the subgraph got %d operations, want 1", got)
			}
		})
	}
}

// A client that goes away while it shares an execution does not cancel it
// for the others, who get the full answer: neither one that waits for it,
// which returns at once, nor the one whose request started it, which runs
// it to its end. When every client has gone, the execution is cancelled.
func TestDedupClientLeaves(t *testing.T) {
	s := startSubgraph(t, 0)
	j := newJoins()
	g := newGateway(t, s, gateway.Options{OnDedup: j.on})
	req := &gateway.Request{Query: `{ hello }`}
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	out1, out2, out3 := make(chan *gateway.Response, 1), make(chan *gateway.Response, 1), make(chan *gateway.Response, 1)
	go func() { out1 <- g.Do(ctx1, req) }()
	s.await(t, 1)
	go func() { out2 <- g.Do(ctx2, req) }()
	go func() { out3 <- g.Do(context.Background(), req) }()
	j.wait(3)
	cancel2()
	if r := <-out2; !strings.Contains(string(r.JSON()), "the request was cancelled") {
		t.Errorf("the client that left: %s", r.JSON())
	}
	cancel1()
	s.open()
	const want = `{"data":{"hello":"request 1, auth \"\", variables "}}`
	if r := <-out3; string(r.JSON()) != want {
		t.Errorf("the client that stayed: %s", r.JSON())
	}
	if r := <-out1; string(r.JSON()) != want {
		t.Errorf("the client whose request started it: %s", r.JSON())
	}
	if s.cancelled.Load() != 0 {
		t.Error("the subgraph's request was cancelled")
	}

	// Everyone leaves.
	s2 := startSubgraph(t, 0)
	j2 := newJoins()
	g2 := newGateway(t, s2, gateway.Options{OnDedup: j2.on})
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	done := make(chan *gateway.Response, 2)
	for _, ctx := range []context.Context{ctxA, ctxB} {
		go func() { done <- g2.Do(ctx, req) }()
	}
	s2.await(t, 1)
	j2.wait(2)
	cancelA()
	cancelB()
	<-done
	<-done
	deadline := time.Now().Add(10 * time.Second)
	for s2.cancelled.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the execution went on with nobody waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// answering is a subgraph in memory, for benchmarks that measure the
// gateway alone.
type answering struct{}

func (answering) Do(context.Context, execute.FetchRequest) (*execute.FetchResponse, error) {
	return &execute.FetchResponse{Status: 200, Body: []byte(`{"data":{"hello":"x"}}`)}, nil
}

// BenchmarkDedup measures what the sharing costs queries that never share
// (every one's variables differ) and what it saves identical ones, against
// the same without it.
func BenchmarkDedup(b *testing.B) {
	sg, err := compose.Compose([]compose.Subgraph{{Name: "a", SDL: subgraphSDL}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name     string
		off      bool
		distinct bool
	}{
		{"distinct", false, true},
		{"distinct-off", true, true},
		{"identical", false, false},
		{"identical-off", true, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := gateway.New(gateway.Options{Fetcher: answering{}, DisableDedup: bc.off})
			g.SetSupergraph(sg)
			hdr := transport.Forward(http.Header{"Authorization": {"Bearer x"}, "X-Request-Id": {"r"}})
			var seq atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					name := "x"
					if bc.distinct {
						name = fmt.Sprint(seq.Add(1))
					}
					resp := g.Do(context.Background(), &gateway.Request{Query: hello, Variables: map[string]any{"name": name}, Header: hdr})
					if resp.Status != 200 {
						b.Fatal(resp.Errors)
					}
				}
			})
		})
	}
}

// A passthrough's Data is a slice of the subgraph's answer, which the
// operations that shared the request all read: it is capped at its
// length, so that appending to it copies.
func TestDataIsCapped(t *testing.T) {
	sg, err := compose.Compose([]compose.Subgraph{{Name: "a", SDL: subgraphSDL}})
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(gateway.Options{Fetcher: answering{}})
	g.SetSupergraph(sg)
	resp := g.Do(context.Background(), &gateway.Request{Query: `{ hello }`})
	if string(resp.Data) != `{"hello":"x"}` || cap(resp.Data) != len(resp.Data) {
		t.Errorf("Data %s, len %d, cap %d", resp.Data, len(resp.Data), cap(resp.Data))
	}
}
