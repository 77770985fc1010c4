package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"bookstore/router/server"
)

// Over HTTP, identical queries in flight share one execution (and the
// subgraph one request): with the router's default settings, with
// inbound sharing off (then the subgraph client's sharing alone), and
// with both off. Authorization, a mutation or different variables keep
// queries apart; a request id or the spelling of the variables do not.
func TestDedupOverHTTP(t *testing.T) {
	type req struct {
		body   string
		header http.Header
	}
	hello := req{body: `{"query":"{ hello }"}`}
	as := func(auth string) req {
		return req{body: hello.body, header: http.Header{"Authorization": {auth}}}
	}
	for _, tc := range []struct {
		name       string
		cfg        server.Config
		reqs       []req
		executions int
	}{
		{name: "identical", reqs: []req{hello, hello, hello}, executions: 1},
		{name: "different Authorization", reqs: []req{as("Bearer alice"), as("Bearer bob"), hello}, executions: 3},
		{name: "only the request ids differ", reqs: []req{
			{body: hello.body, header: http.Header{"X-Request-Id": {"one"}, "Authorization": {"Bearer alice"}}},
			{body: hello.body, header: http.Header{"X-Request-Id": {"two"}, "Authorization": {"Bearer alice"}}},
		}, executions: 1},
		{name: "variables spelled differently", reqs: []req{
			{body: `{"query":"query Q($n: String) { hello(name: $n) }","variables":{"n":"x"}}`},
			{body: `{"variables":{"n":"\u0078"}, "query":"query Q($n: String) { hello(name: $n) }"}`},
		}, executions: 1},
		{name: "different variables", reqs: []req{
			{body: `{"query":"query Q($n: String) { hello(name: $n) }","variables":{"n":"x"}}`},
			{body: `{"query":"query Q($n: String) { hello(name: $n) }","variables":{"n":"y"}}`},
		}, executions: 2},
		{name: "mutations", reqs: []req{{body: `{"query":"mutation { bump }"}`}, {body: `{"query":"mutation { bump }"}`}}, executions: 2},
		{name: "inbound off: the subgraph client shares", cfg: server.Config{DisableInboundDedup: true}, reqs: []req{hello, hello, hello}, executions: 1},
		{name: "subgraph off: the gateway shares", cfg: server.Config{DisableSubgraphDedup: true}, reqs: []req{hello, hello}, executions: 1},
		{name: "both off", cfg: server.Config{DisableInboundDedup: true, DisableSubgraphDedup: true}, reqs: []req{hello, hello, hello}, executions: 3},
		{name: "both off but for the subgraph", cfg: server.Config{DisableInboundDedup: true, DisableSubgraphDedup: true,
			SubgraphDedup: map[string]bool{"a": true}}, reqs: []req{hello, hello}, executions: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, true)
			base := startRouter(t, f, tc.cfg)
			out := make([]chan answer, len(tc.reqs))
			queries := 0
			for i, r := range tc.reqs {
				if !strings.Contains(r.body, "mutation") {
					queries++
				}
				out[i] = make(chan answer, 1)
				go func() { out[i] <- post(context.Background(), base+"/graphql", r.body, r.header) }()
			}
			f.Await(t, tc.executions)
			// Every query has executed or joined one that has.
			inbound := !tc.cfg.DisableInboundDedup
			subgraph := !tc.cfg.DisableSubgraphDedup || tc.cfg.SubgraphDedup["a"]
			switch {
			case inbound:
				waitMetric(t, base, `router_inbound_dedup_total{result="executed"}`, float64(tc.executions-(len(tc.reqs)-queries)))
				waitMetric(t, base, `router_inbound_dedup_total{result="shared"}`, float64(queries-(tc.executions-(len(tc.reqs)-queries))))
			case subgraph:
				waitMetric(t, base, `router_subgraph_dedup_total{result="shared",subgraph="a"}`, float64(queries-tc.executions))
			}
			f.Open()
			bodies := map[string]bool{}
			for i, r := range tc.reqs {
				a := <-out[i]
				if a.err != nil || a.status != http.StatusOK || !bytes.Contains(a.body, []byte(`"data"`)) {
					t.Fatalf("request %d: %d %s %v", i, a.status, a.body, a.err)
				}
				bodies[string(a.body)] = true
				if auth := r.header.Get("Authorization"); auth != "" && !bytes.Contains(a.body, []byte("for "+auth)) {
					t.Errorf("request %d, Authorization %q, got %s", i, auth, a.body)
				}
			}
			if n := f.Operations(); n != int64(tc.executions) {
				t.Errorf("the subgraph got %d operations, want %d", n, tc.executions)
			}
			if len(bodies) != tc.executions {
				t.Errorf("%d different answers, want %d", len(bodies), tc.executions)
			}
		})
	}
}

// A client that disconnects while it shares an execution, even the one
// whose request started it, leaves the others their full answer; the
// subgraph's request goes on.
func TestDedupClientDisconnects(t *testing.T) {
	f := startFake(t, true)
	base := startRouter(t, f, server.Config{})
	const body = `{"query":"{ hello }"}`
	ctx, hangUp := context.WithCancel(context.Background())
	first, second := make(chan answer, 1), make(chan answer, 1)
	go func() { first <- post(ctx, base+"/graphql", body, nil) }()
	f.Await(t, 1)
	go func() { second <- post(context.Background(), base+"/graphql", body, nil) }()
	waitMetric(t, base, `router_inbound_dedup_total{result="shared"}`, 1)
	hangUp()
	if a := <-first; a.err == nil {
		t.Fatalf("the client that hung up got %d %s", a.status, a.body)
	}
	f.Open()
	a := <-second
	if a.err != nil || a.status != http.StatusOK || string(a.body) != `{"data":{"hello":"request 1 for "}}` {
		t.Fatalf("the client that stayed: %d %s %v", a.status, a.body, a.err)
	}
	if f.Cancelled() != 0 {
		t.Error("the subgraph's request was cancelled")
	}
}

// Two clients sharing a large answer, one taking gzip and one not, each
// get it whole: compressing one's copy changes nothing of the other's.
func TestDedupSharedBytesCompressed(t *testing.T) {
	f := startFake(t, true)
	base := startRouter(t, f, server.Config{})
	const body = `{"query":"{ big }"}`
	gz, plain := make(chan answer, 1), make(chan answer, 1)
	go func() {
		gz <- post(context.Background(), base+"/graphql", body, http.Header{"Accept-Encoding": {"gzip"}})
	}()
	f.Await(t, 1)
	go func() { plain <- post(context.Background(), base+"/graphql", body, nil) }()
	waitMetric(t, base, `router_inbound_dedup_total{result="shared"}`, 1)
	f.Open()
	a, b := <-gz, <-plain
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if a.header.Get("Content-Encoding") != "gzip" || b.header.Get("Content-Encoding") != "" {
		t.Fatalf("encodings %q and %q", a.header.Get("Content-Encoding"), b.header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.body))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(unzipped, b.body) || len(b.body) < 10_000 {
		t.Fatalf("gzip: %d bytes, plain: %d bytes", len(unzipped), len(b.body))
	}
	if n := f.Operations(); n != 1 {
		t.Errorf("the subgraph got %d operations, want 1", n)
	}
}
