package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/router/server"
)

// fakeSDL is the schema of the fake subgraph: hello answers who asked,
// big(n) a string of n bytes, bump is a mutation.
const fakeSDL = `type Query { hello(name: String): String big(n: Int): String }
type Mutation { bump: Int }`

// fake is a subgraph on 127.0.0.1. While held, it keeps every operation
// (not its schema) until the test releases it, or the router gives up on
// it, so that operations are surely in flight together.
type fake struct {
	url       string
	arrivals  chan int
	release   chan struct{}
	hold      bool
	n         atomic.Int64
	cancelled atomic.Int64
}

func startFake(t *testing.T, hold bool) *fake {
	t.Helper()
	f := &fake{arrivals: make(chan int, 100), release: make(chan struct{}), hold: hold}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Query     string
			Variables map[string]any
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(body.Query, "_service") {
			fmt.Fprintf(w, `{"data":{"_service":{"sdl":%q}}}`, fakeSDL)
			return
		}
		if strings.Contains(body.Query, "__typename") && !strings.Contains(body.Query, "hello") {
			io.WriteString(w, `{"data":{"__typename":"Query"}}`)
			return
		}
		n := int(f.n.Add(1))
		if f.hold {
			f.arrivals <- n
			select {
			case <-f.release:
			case <-r.Context().Done():
				f.cancelled.Add(1)
				return
			}
		}
		switch {
		case strings.Contains(body.Query, "bump"):
			fmt.Fprintf(w, `{"data":{"bump":%d}}`, n)
		case strings.Contains(body.Query, "big"):
			size, _ := body.Variables["n"].(float64)
			if size == 0 {
				size = 10_000
			}
			fmt.Fprintf(w, `{"data":{"big":%q}}`, strings.Repeat("all work and no play ", int(size)/21+1)[:int(size)])
		default:
			fmt.Fprintf(w, `{"data":{"hello":"request %d for %s"}}`, n, strings.ReplaceAll(r.Header.Get("Authorization"), `"`, ""))
		}
	}))
	f.url = srv.URL + "/query"
	t.Cleanup(srv.Close)
	t.Cleanup(f.open)
	return f
}

func (f *fake) open() {
	select {
	case <-f.release:
	default:
		close(f.release)
	}
}

// await waits for the next n operations to arrive; past a generous bound
// it fails the test (an operation that never comes: it was shared).
func (f *fake) await(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-f.arrivals:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d operations reached the subgraph", i, n)
		}
	}
}

// startRouter serves a router in front of the fake on 127.0.0.1, ready.
func startRouter(t *testing.T, f *fake, cfg server.Config) string {
	t.Helper()
	cfg.Subgraphs = map[string][]string{"a": {f.url}}
	cfg.PollInterval = time.Hour
	r, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		r.Close()
	})
	base := "http://" + ln.Addr().String()
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the router never got ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
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

func post(ctx context.Context, url, body string, header http.Header) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: b, err: err}
}

// metric returns the value of one series of the router's /metrics, as
// written there: `router_inbound_dedup_total{result="shared"}`.
func metric(t *testing.T, base, series string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
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
	deadline := time.Now().Add(10 * time.Second)
	for metric(t, base, series) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached %v", series, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
