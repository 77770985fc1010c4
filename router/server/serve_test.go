package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"bookstore/graph/testkit/roundtrip"
	"bookstore/graph/testkit/sharetest"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

// fakeSDL is the schema of the fake subgraph: hello answers who asked,
// big(n) a string of n bytes, bump is a mutation.
const fakeSDL = `type Query { hello(name: String): String big(n: Int): String }
type Mutation { bump: Int }`

// startFake starts the fake subgraph on 127.0.0.1. When hold is set, it
// keeps every operation (not its schema) until the test releases it, or
// the router gives up on it, so that operations are surely in flight
// together.
func startFake(t *testing.T, hold bool) *sharetest.Subgraph {
	t.Helper()
	return sharetest.Start(t, sharetest.GraphQL(fakeSDL, func(f *sharetest.Subgraph, w http.ResponseWriter, r *http.Request, op sharetest.Operation) {
		if strings.Contains(op.Query, "__typename") && !strings.Contains(op.Query, "hello") {
			io.WriteString(w, `{"data":{"__typename":"Query"}}`)
			return
		}
		n := 0
		if hold {
			var released bool
			if n, released = f.Hold(r); !released {
				return
			}
		} else {
			n = f.Count()
		}
		switch {
		case strings.Contains(op.Query, "bump"):
			fmt.Fprintf(w, `{"data":{"bump":%d}}`, n)
		case strings.Contains(op.Query, "big"):
			var vars struct{ N int }
			_ = json.Unmarshal(op.Variables, &vars)
			if vars.N == 0 {
				vars.N = 10_000
			}
			fmt.Fprintf(w, `{"data":{"big":%q}}`, strings.Repeat("all work and no play ", vars.N/21+1)[:vars.N])
		default:
			fmt.Fprintf(w, `{"data":{"hello":"request %d for %s"}}`, n, strings.ReplaceAll(r.Header.Get("Authorization"), `"`, ""))
		}
	}))
}

// startRouter serves a router in front of the fake on 127.0.0.1, ready.
func startRouter(t *testing.T, f *sharetest.Subgraph, cfg server.Config) string {
	t.Helper()
	cfg.Subgraphs = map[string][]string{"a": {f.URL}}
	cfg.PollInterval = time.Hour
	r, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := routertest.Serve(t, r)
	eventually(t, "the router never got ready", func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return base
}

// client is an HTTP client that does not ask for, nor decode, compressed
// responses by itself.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
}

// post POSTs a JSON body with header to url; it may run on any goroutine.
func post(ctx context.Context, url, body string, header http.Header) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, b, err := roundtrip.Read(client, req)
	if err != nil {
		return answer{err: err}
	}
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

// metric returns the value of one series of the router's /metrics, as
// written there: `router_inbound_dedup_total{result="shared"}`.
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	_, b := roundtrip.Do(t, nil, http.MethodGet, base+"/metrics", nil, nil)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", series)
	return 0
}

// waitMetric waits until a series reaches want: the router has counted a
// query joining an execution before the query waits for it.
func waitMetric(t *testing.T, base, series string, want float64) {
	t.Helper()
	eventually(t, series+" never reached "+strconv.FormatFloat(want, 'g', -1, 64), func() bool {
		return metric(t, base, series) >= want
	})
}

// eventually polls cond until it holds; past a generous bound it fails
// the test with msg.
func eventually(t *testing.T, msg string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
	}
}
