package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"bookstore/graph/testkit/sharetest"
	"bookstore/router/federation/compose"
	"bookstore/router/federation/execute"
	"bookstore/router/federation/gateway"
	"bookstore/router/federation/transport"
)

// subgraphSDL is the schema of the test subgraph.
const subgraphSDL = `type Query { hello(name: String, ratio: Float): String }
type Mutation { bump: Int }`

// startSubgraph starts the test subgraph. It holds every operation
// until the test releases it (or the router gives up on it), so that
// operations are surely in flight together; then it answers with status,
// text/plain, or if status is 0 with an answer that names the request's
// number, its Authorization and its variables, so that clients who shared
// an execution get the same bytes and the others do not.
func startSubgraph(t *testing.T, status int) *sharetest.Subgraph {
	t.Helper()
	return sharetest.Start(t, sharetest.GraphQL(subgraphSDL, func(s *sharetest.Subgraph, w http.ResponseWriter, r *http.Request, op sharetest.Operation) {
		n, answer := s.HoldOrFail(w, r, status)
		if !answer {
			return
		}
		if strings.Contains(op.Query, "bump") {
			fmt.Fprintf(w, `{"data":{"bump":%d}}`, n)
			return
		}
		greeting := fmt.Sprintf("request %d, auth %q, variables %s", n, r.Header.Get("Authorization"), op.Variables)
		fmt.Fprintf(w, `{"data":{"hello":%q}}`, greeting)
	}))
}

// startSharing starts the test subgraph (startSubgraph) answering with
// status, and a gateway over it with opts, whose OnDedup counts the joins.
// The gateway reaches the subgraph through a real transport client whose
// own sharing is off, so that only the gateway's is tested.
func startSharing(t *testing.T, status int, opts gateway.Options) (*sharetest.Subgraph, *sharetest.Joins, *gateway.Gateway) {
	t.Helper()
	s := startSubgraph(t, status)
	client, err := transport.New(transport.Config{Subgraphs: map[string][]string{"a": {s.URL}}, DisableDedup: true})
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
	j := sharetest.NewJoins()
	opts.OnDedup = j.On
	opts.Fetcher = transport.Fetcher{Client: client}
	g := gateway.New(opts)
	g.SetSupergraph(sg)
	return s, j, g
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
			s, j, g := startSharing(t, 0, tc.opts)
			opts := tc.opts
			out := make([]chan *gateway.Response, len(tc.reqs))
			queries := 0
			for i, req := range tc.reqs {
				if !strings.HasPrefix(req.Query, "mutation") {
					queries++
				}
				out[i] = make(chan *gateway.Response, 1)
				go func() { out[i] <- g.Do(context.Background(), req) }()
			}
			s.Await(t, tc.executions)
			if !opts.DisableDedup {
				j.Wait(queries) // every query executes or waits for one that does
			}
			s.Open()
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
			if n := s.Operations(); n != int64(tc.executions) {
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
			if exec, shared := j.Counts(); exec != wantExec || shared != wantShared {
				t.Errorf("OnDedup: %d executed, %d shared; want %d and %d", exec, shared, wantExec, wantShared)
			}
		})
	}
}

// The callers of a shared execution get one Response, and one encoding of
// it: the same bytes, made once.
func TestDedupSharesBytes(t *testing.T) {
	s, j, g := startSharing(t, 0, gateway.Options{})
	out := make(chan *gateway.Response, 2)
	for range 2 {
		go func() { out <- g.Do(context.Background(), &gateway.Request{Query: `{ hello }`}) }()
	}
	s.Await(t, 1)
	j.Wait(2)
	s.Open()
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
	// Its buffer goes back once both callers have released it, not before.
	data := string(a.Data)
	a.Release()
	if string(b.Data) != data {
		t.Fatalf("released while the other caller holds it: Data %q", b.Data)
	}
	b.Release()
	if b.Data != nil {
		t.Error("the last caller's Release kept the buffer")
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
			s, j, g := startSharing(t, tc.status, gateway.Options{Limits: gateway.Limits{Timeout: tc.timeout}})
			const n = 3
			out := make(chan *gateway.Response, n)
			for range n {
				go func() { out <- g.Do(context.Background(), &gateway.Request{Query: `{ hello }`}) }()
			}
			s.Await(t, 1)
			j.Wait(n)
			if tc.timeout == 0 {
				s.Open()
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
			if got := s.Operations(); got != 1 {
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
	s, j, g := startSharing(t, 0, gateway.Options{})
	req := &gateway.Request{Query: `{ hello }`}
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	out1, out2, out3 := make(chan *gateway.Response, 1), make(chan *gateway.Response, 1), make(chan *gateway.Response, 1)
	go func() { out1 <- g.Do(ctx1, req) }()
	s.Await(t, 1)
	go func() { out2 <- g.Do(ctx2, req) }()
	go func() { out3 <- g.Do(context.Background(), req) }()
	j.Wait(3)
	cancel2()
	if r := <-out2; !strings.Contains(string(r.JSON()), "the request was cancelled") {
		t.Errorf("the client that left: %s", r.JSON())
	}
	cancel1()
	s.Open()
	const want = `{"data":{"hello":"request 1, auth \"\", variables "}}`
	if r := <-out3; string(r.JSON()) != want {
		t.Errorf("the client that stayed: %s", r.JSON())
	}
	if r := <-out1; string(r.JSON()) != want {
		t.Errorf("the client whose request started it: %s", r.JSON())
	}
	if s.Cancelled() != 0 {
		t.Error("the subgraph's request was cancelled")
	}

	// Everyone leaves: the execution does not go on with nobody waiting.
	s2, j2, g2 := startSharing(t, 0, gateway.Options{})
	sharetest.AllLeave(t, s2, j2, 2, func(ctx context.Context) { g2.Do(ctx, req) })
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
	hdr := transport.Forward(http.Header{"Authorization": {"Bearer x"}, "X-Request-Id": {"r"}})
	sharetest.Bench{Setup: func(b *testing.B, off bool) func(int64) error {
		g := gateway.New(gateway.Options{Fetcher: answering{}, DisableDedup: off})
		g.SetSupergraph(sg)
		return func(n int64) error {
			name := "x"
			if n != 0 {
				name = strconv.FormatInt(n, 10)
			}
			resp := g.Do(context.Background(), &gateway.Request{Query: hello, Variables: map[string]any{"name": name}, Header: hdr})
			if resp.Status != 200 {
				return fmt.Errorf("status %d: %v", resp.Status, resp.Errors)
			}
			return nil
		}
	}}.Run(b)
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
