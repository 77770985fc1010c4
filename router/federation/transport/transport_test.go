package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/graph/platform/drain"
	"bookstore/graph/testkit/sharetest"
)

// mode is what a test replica does with a request.
type mode int32

const (
	answer     mode = iota // 200 with a JSON body naming the replica
	badGateway             // 502 text/plain, as a proxy would
	drop                   // read the request, then close the connection
	invalid                // 422 with a GraphQL JSON error, as gqlgen does
	hang                   // wait until the client gives up
	notFound               // 404 text/plain
)

// backend is a subgraph replica on 127.0.0.1 and a free port.
type backend struct {
	name    string
	srv     *httptest.Server
	url     string
	mode    atomic.Int32
	hits    atomic.Int64
	header  atomic.Pointer[http.Header]
	release chan struct{}
	// drainHeader makes it answer as a server that is draining.
	drainHeader atomic.Bool
}

// startReplica starts a replica that the test stops when it ends.
func startReplica(t testing.TB, name string, m mode) *backend {
	t.Helper()
	r := &backend{name: name, release: make(chan struct{})}
	r.mode.Store(int32(m))
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.url = r.srv.URL + "/query"
	t.Cleanup(r.srv.Close)                 // runs second: waits for handlers
	t.Cleanup(func() { close(r.release) }) // runs first: frees hung handlers
	return r
}

func (r *backend) serve(w http.ResponseWriter, req *http.Request) {
	r.hits.Add(1)
	h := req.Header.Clone()
	r.header.Store(&h)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	if r.drainHeader.Load() {
		w.Header().Set(drain.Header, "true")
		w.Header().Set("Connection", "close")
	}
	switch mode(r.mode.Load()) {
	case answer:
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), "_service") {
			fmt.Fprintf(w, `{"data":{"_service":{"sdl":"type Query { %s: Int }"}}}`, r.name)
			return
		}
		fmt.Fprintf(w, `{"data":{"replica":%q}}`, r.name)
	case badGateway:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "bad gateway")
	case drop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	case invalid:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		io.WriteString(w, `{"errors":[{"message":"Cannot query field \"nope\" on type \"Query\".","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}],"data":null}`)
	case hang:
		select {
		case <-req.Context().Done():
		case <-r.release:
		}
	case notFound:
		http.NotFound(w, req)
	}
}

// downURL returns the URL of a port that nothing listens on: connections
// to it are refused.
func downURL(t testing.TB) string {
	return downURLs(t, 1)[0]
}

// downURLs returns n distinct such URLs: the ports are all held until
// every one is picked, so the kernel cannot hand out one twice.
func downURLs(t testing.TB, n int) []string {
	t.Helper()
	urls := make([]string, n)
	for i := range urls {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		urls[i] = "http://" + ln.Addr().String() + "/query"
	}
	return urls
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// newClient returns a client for one subgraph, "books", with the given
// replica URLs; cfg's other fields are kept.
func newClient(t testing.TB, cfg Config, urls ...string) *Client {
	t.Helper()
	cfg.Subgraphs = map[string][]string{"books": urls}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// ejectingClient is newClient on a fake clock, which moves only when
// told, with a count of the replicas it ejects.
func ejectingClient(t testing.TB, cfg Config, urls ...string) (*Client, *fakeClock, *atomic.Int64) {
	t.Helper()
	clock := newFakeClock()
	var ejections atomic.Int64
	cfg.Now = clock.Now
	cfg.OnEject = func(string, string) { ejections.Add(1) }
	return newClient(t, cfg, urls...), clock, &ejections
}

var query = []byte(`{"query":"{ books { totalCount } }"}`)

func do(c *Client, mutation bool) (*Response, error) {
	return c.Do(context.Background(), Request{Subgraph: "books", Body: query, Mutation: mutation})
}

// answeredBy checks that resp is a 200 from the named replica.
func answeredBy(t *testing.T, resp *Response, err error, want *backend) {
	t.Helper()
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Status != http.StatusOK || resp.Replica != want.url {
		t.Fatalf("Do = %d from %s, want 200 from %s", resp.Status, resp.Replica, want.url)
	}
	if got, wantBody := string(resp.Body), fmt.Sprintf(`{"data":{"replica":%q}}`, want.name); got != wantBody {
		t.Fatalf("body = %s, want %s", got, wantBody)
	}
}

func TestNewValidates(t *testing.T) {
	ok := "http://127.0.0.1:4001/query"
	tests := []struct {
		name string
		cfg  Config
		want string // in the error
	}{
		{"no subgraphs", Config{}, "no subgraphs"},
		{"empty name", Config{Subgraphs: map[string][]string{"": {ok}}}, "empty subgraph name"},
		{"no replicas", Config{Subgraphs: map[string][]string{"books": nil}}, `"books": no replica`},
		{"bad scheme", Config{Subgraphs: map[string][]string{"books": {"ftp://h/query"}}}, "scheme"},
		{"no scheme", Config{Subgraphs: map[string][]string{"books": {"127.0.0.1:4001/query"}}}, "replica 0"},
		{"no host", Config{Subgraphs: map[string][]string{"books": {"http:///query"}}}, "no host"},
		{"no hostname", Config{Subgraphs: map[string][]string{"books": {"http://:4001/query"}}}, "no host"},
		{"unparsable", Config{Subgraphs: map[string][]string{"books": {"http://h:port/"}}}, "bad URL"},
		{"twice", Config{Subgraphs: map[string][]string{"books": {ok, ok}}}, "listed twice"},
		{"password hidden", Config{Subgraphs: map[string][]string{"books": {"ftp://u:secret@h/"}}}, "xxxxx"},
		{"negative timeout", Config{Subgraphs: map[string][]string{"books": {ok}}, Timeout: -1}, "Timeout"},
		{"zero subgraph timeout", Config{Subgraphs: map[string][]string{"books": {ok}}, Timeouts: map[string]time.Duration{"books": 0}}, "timeout"},
		{"negative eject after", Config{Subgraphs: map[string][]string{"books": {ok}}, EjectAfter: -1}, "EjectAfter"},
		{"negative eject for", Config{Subgraphs: map[string][]string{"books": {ok}}, EjectFor: -1}, "EjectFor"},
		{"negative max eject for", Config{Subgraphs: map[string][]string{"books": {ok}}, MaxEjectFor: -1}, "MaxEjectFor"},
		{"negative idle timeout", Config{Subgraphs: map[string][]string{"books": {ok}}, IdleTimeout: -1}, "IdleTimeout"},
		{"negative max bytes", Config{Subgraphs: map[string][]string{"books": {ok}}, MaxResponseBytes: -1}, "MaxResponseBytes"},
		{"negative conn age", Config{Subgraphs: map[string][]string{"books": {ok}}, MaxConnAge: -1}, "MaxConnAge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if err == nil {
				c.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("New: %v shows the password", err)
			}
		})
	}
}

func TestSubgraphs(t *testing.T) {
	c, err := New(Config{Subgraphs: map[string][]string{
		"orders": {"http://127.0.0.1:4003/query"},
		"books":  {"https://books-0.books:4001/query", "https://books-1.books:4001/query"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := c.Subgraphs()
	if strings.Join(got, ",") != "books,orders" {
		t.Fatalf("Subgraphs() = %v", got)
	}
	got[0] = "changed"
	if c.Subgraphs()[0] != "books" {
		t.Fatal("Subgraphs() shares its slice")
	}
	if _, err := c.Do(context.Background(), Request{Subgraph: "authors", Body: query}); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do on an unknown subgraph: %v", err)
	}
}

func TestRoundRobin(t *testing.T) {
	rs := []*backend{startReplica(t, "a", answer), startReplica(t, "b", answer), startReplica(t, "c", answer)}
	c := newClient(t, Config{}, rs[0].url, rs[1].url, rs[2].url)
	for i := range 300 {
		resp, err := do(c, i%2 == 0)
		answeredBy(t, resp, err, rs[i%3])
	}
	for _, r := range rs {
		if n := r.hits.Load(); n != 100 {
			t.Errorf("replica %s got %d requests, want 100", r.name, n)
		}
	}
}

func TestDownReplicaIsSkipped(t *testing.T) {
	for _, mutation := range []bool{false, true} {
		t.Run(fmt.Sprintf("mutation=%v", mutation), func(t *testing.T) {
			up := startReplica(t, "up", answer)
			// The down replica comes first, so the first Do tries it.
			c := newClient(t, Config{EjectAfter: 1000}, downURL(t), up.url)
			for range 10 {
				resp, err := do(c, mutation)
				answeredBy(t, resp, err, up)
			}
			if n := up.hits.Load(); n != 10 {
				t.Fatalf("up replica got %d requests, want 10", n)
			}
		})
	}
}

func TestDroppedConnection(t *testing.T) {
	t.Run("query is retried", func(t *testing.T) {
		dropper, up := startReplica(t, "dropper", drop), startReplica(t, "up", answer)
		c := newClient(t, Config{}, dropper.url, up.url)
		resp, err := do(c, false)
		answeredBy(t, resp, err, up)
		if dropper.hits.Load() != 1 || up.hits.Load() != 1 {
			t.Fatalf("hits: dropper %d, up %d; want 1 and 1", dropper.hits.Load(), up.hits.Load())
		}
	})
	t.Run("mutation is not retried", func(t *testing.T) {
		dropper, up := startReplica(t, "dropper", drop), startReplica(t, "up", answer)
		c := newClient(t, Config{}, dropper.url, up.url)
		resp, err := do(c, true)
		if err == nil {
			t.Fatalf("Do = %d from %s, want an error", resp.Status, resp.Replica)
		}
		if !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(err.Error(), `subgraph "books": no replica answered: `) {
			t.Fatalf("Do: %v", err)
		}
		if dropper.hits.Load() != 1 || up.hits.Load() != 0 {
			t.Fatalf("hits: dropper %d, up %d; want 1 and 0", dropper.hits.Load(), up.hits.Load())
		}
	})
}

func TestResponses(t *testing.T) {
	tests := []struct {
		name     string
		first    mode // the first replica's behaviour; the second answers
		mutation bool
		status   int  // of the response, 0 for an error
		retried  bool // the second replica answered
		unavail  bool // the error wraps ErrUnavailable
	}{
		{name: "json 422 passed through", first: invalid, status: 422},
		{name: "json 422 passed through to a mutation", first: invalid, mutation: true, status: 422},
		{name: "non-JSON 502 retried for a query", first: badGateway, status: 200, retried: true},
		{name: "non-JSON 502 not retried for a mutation", first: badGateway, mutation: true, unavail: true},
		{name: "non-JSON 404 is an error", first: notFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, second := startReplica(t, "first", tt.first), startReplica(t, "second", answer)
			c := newClient(t, Config{}, first.url, second.url)
			resp, err := do(c, tt.mutation)
			switch {
			case tt.status == 0:
				if err == nil {
					t.Fatalf("Do = %d, want an error", resp.Status)
				}
				if errors.Is(err, ErrUnavailable) != tt.unavail {
					t.Fatalf("Do: %v; wraps ErrUnavailable: %v, want %v", err, !tt.unavail, tt.unavail)
				}
				if strings.Contains(err.Error(), "bad gateway") || strings.Contains(err.Error(), "not found") {
					t.Fatalf("Do: %v shows the response body", err)
				}
			case err != nil:
				t.Fatalf("Do: %v", err)
			case tt.retried:
				answeredBy(t, resp, err, second)
			default:
				if resp.Status != tt.status || resp.Replica != first.url || !strings.Contains(string(resp.Body), "GRAPHQL_VALIDATION_FAILED") {
					t.Fatalf("Do = %d from %s: %s", resp.Status, resp.Replica, resp.Body)
				}
			}
			want := int64(0)
			if tt.retried {
				want = 1
			}
			if n := second.hits.Load(); n != want {
				t.Fatalf("second replica got %d requests, want %d", n, want)
			}
		})
	}
}

func TestEjection(t *testing.T) {
	clock := newFakeClock()
	flaky, steady := startReplica(t, "flaky", badGateway), startReplica(t, "steady", answer)
	var ejections []string
	var mu sync.Mutex
	c := newClient(t, Config{
		EjectAfter: 3,
		EjectFor:   time.Minute,
		Now:        clock.Now,
		OnEject: func(subgraph, url string) {
			mu.Lock()
			defer mu.Unlock()
			ejections = append(ejections, subgraph+" "+url)
		},
	}, flaky.url, steady.url)

	// Every other Do starts at flaky, fails there, and is retried: no
	// failed request. After three failures flaky is ejected.
	for range 6 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, steady)
	}
	if n := flaky.hits.Load(); n != 3 {
		t.Fatalf("flaky got %d requests before its ejection, want 3", n)
	}
	if len(ejections) != 1 || ejections[0] != "books "+flaky.url {
		t.Fatalf("OnEject calls: %q", ejections)
	}
	// Ejected: no traffic, mutations included, until EjectFor passes.
	for i := range 10 {
		resp, err := do(c, i%2 == 0)
		answeredBy(t, resp, err, steady)
	}
	clock.Advance(time.Minute - time.Nanosecond)
	for range 4 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, steady)
	}
	if n := flaky.hits.Load(); n != 3 {
		t.Fatalf("ejected replica got %d requests, want none", n-3)
	}

	// After EjectFor the next request still skips it, but starts a
	// probe, which finds it healthy again: it takes its share.
	clock.Advance(time.Nanosecond)
	flaky.mode.Store(int32(answer))
	resp, err := do(c, false)
	answeredBy(t, resp, err, steady)
	settle(c)
	if n := flaky.hits.Load(); n != 4 {
		t.Fatalf("flaky got %d requests, want 4: 3 before its ejection, 1 probe", n)
	}
	for range 10 {
		if _, err := do(c, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := flaky.hits.Load() - 4; n != 5 {
		t.Fatalf("recovered replica got %d of 10 requests, want 5", n)
	}
	if len(ejections) != 1 {
		t.Fatalf("OnEject calls: %q", ejections)
	}

	// Back with a clean slate: its first failures do not eject it again.
	flaky.mode.Store(int32(badGateway))
	for range 4 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, steady)
	}
	if n := flaky.hits.Load() - 9; n != 2 || len(ejections) != 1 {
		t.Fatalf("after its return: %d failures, OnEject calls %q; want 2 failures and no ejection", n, ejections)
	}
	flaky.mode.Store(int32(answer))
	for range 2 {
		if _, err := do(c, false); err != nil {
			t.Fatal(err)
		}
	}

	// A success resets its count: two failures do not eject it again.
	flaky.mode.Store(int32(badGateway))
	for range 4 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, steady)
	}
	flaky.mode.Store(int32(answer))
	before := flaky.hits.Load()
	for range 4 {
		if _, err := do(c, false); err != nil {
			t.Fatal(err)
		}
	}
	if flaky.hits.Load() == before || len(ejections) != 1 {
		t.Fatalf("two failures ejected the replica (OnEject calls %q)", ejections)
	}
}

func TestEjectedAgainAfterFailedProbe(t *testing.T) {
	flaky, steady := startReplica(t, "flaky", badGateway), startReplica(t, "steady", answer)
	c, clock, ejections := ejectingClient(t, Config{EjectAfter: 2, EjectFor: time.Second}, flaky.url, steady.url)
	for range 4 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, steady)
	}
	if ejections.Load() != 1 || flaky.hits.Load() != 2 {
		t.Fatalf("ejections %d, flaky hits %d; want 1 and 2", ejections.Load(), flaky.hits.Load())
	}
	// Still failing after EjectFor: its probe fails, and ejects it again,
	// for twice as long. No request of a client reaches it.
	clock.Advance(time.Second)
	for range 6 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, steady)
	}
	settle(c)
	if ejections.Load() != 2 || flaky.hits.Load() != 3 {
		t.Fatalf("ejections %d, flaky hits %d; want 2 and 3", ejections.Load(), flaky.hits.Load())
	}
	// A probe is started by a request that passes the replica over.
	clock.Advance(time.Second) // half of the second ejection: no probe
	passOver(t, c, steady)
	if flaky.hits.Load() != 3 {
		t.Fatalf("probed %d times within the second ejection", flaky.hits.Load()-3)
	}
	clock.Advance(time.Second)
	passOver(t, c, steady)
	if ejections.Load() != 3 || flaky.hits.Load() != 4 {
		t.Fatalf("ejections %d, flaky hits %d; want 3 and 4", ejections.Load(), flaky.hits.Load())
	}
}

func TestBackoff(t *testing.T) {
	c := newClient(t, Config{EjectFor: time.Second, MaxEjectFor: 10 * time.Second}, "http://127.0.0.1:1/query")
	for streak, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 40: 10 * time.Second} {
		if got := c.backoff(streak); got != want {
			t.Errorf("backoff(%d) = %v, want %v", streak, got, want)
		}
	}
	if _, err := New(Config{Subgraphs: map[string][]string{"books": {"http://h/query"}}, EjectFor: time.Minute, MaxEjectFor: time.Second}); err == nil {
		t.Error("MaxEjectFor under EjectFor accepted")
	}
}

func TestAllEjectedAreStillTried(t *testing.T) {
	a, b := startReplica(t, "a", badGateway), startReplica(t, "b", badGateway)
	c, _, ejections := ejectingClient(t, Config{EjectAfter: 2, EjectFor: time.Hour}, a.url, b.url)
	for range 2 {
		if _, err := do(c, false); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Do: %v, want ErrUnavailable", err)
		}
	}
	if ejections.Load() != 2 {
		t.Fatalf("%d ejections, want 2", ejections.Load())
	}
	// Both ejected: both are still tried, in round-robin order.
	if _, err := do(c, false); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do: %v, want ErrUnavailable", err)
	}
	if a.hits.Load() != 3 || b.hits.Load() != 3 {
		t.Fatalf("hits a %d, b %d; want 3 and 3", a.hits.Load(), b.hits.Load())
	}
	b.mode.Store(int32(answer))
	for _, mutation := range []bool{false, true} {
		resp, err := do(c, mutation)
		answeredBy(t, resp, err, b)
	}
	// b's success ended its ejection: it now takes all the traffic.
	aHits := a.hits.Load()
	for range 4 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, b)
	}
	if a.hits.Load() != aHits {
		t.Fatal("the ejected replica got traffic while another was healthy")
	}
}

func TestAllDown(t *testing.T) {
	for _, mutation := range []bool{false, true} {
		t.Run(fmt.Sprintf("mutation=%v", mutation), func(t *testing.T) {
			c := newClient(t, Config{}, downURLs(t, 3)...)
			_, err := do(c, mutation)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Do: %v, want ErrUnavailable", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, `subgraph "books": no replica answered: POST http://127.0.0.1:`) || !strings.Contains(msg, "refused") {
				t.Fatalf("Do: %v", err)
			}
		})
	}
}

func TestForward(t *testing.T) {
	in := http.Header{
		"Authorization":   {"Bearer dev-admin-token"},
		"Traceparent":     {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		"Tracestate":      {"congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7"},
		"X-Request-Id":    {"req-1"},
		"Cookie":          {"session=1"},
		"Content-Type":    {"text/plain"},
		"Accept":          {"text/html"},
		"Host":            {"evil"},
		"Connection":      {"close"},
		"X-Forwarded-For": {"10.0.0.1"},
		"Idempotency-Key": {"k"},
	}
	out := Forward(in)
	if len(out) != 4 {
		t.Fatalf("Forward kept %d headers: %v", len(out), out)
	}
	for _, k := range []string{"Authorization", "Traceparent", "Tracestate", "X-Request-Id"} {
		if strings.Join(out[k], "|") != strings.Join(in[k], "|") {
			t.Errorf("%s = %q, want %q", k, out[k], in[k])
		}
	}
	out["Tracestate"][0] = "changed"
	if in["Tracestate"][0] == "changed" {
		t.Error("Forward shares value slices with its input")
	}
	if got := Forward(nil); got == nil || len(got) != 0 {
		t.Errorf("Forward(nil) = %v, want an empty header", got)
	}

	// And the replica sees them, with the client's own headers.
	r := startReplica(t, "a", answer)
	c := newClient(t, Config{}, r.url)
	resp, err := c.Do(context.Background(), Request{Subgraph: "books", Body: query, Header: Forward(in)})
	answeredBy(t, resp, err, r)
	got := *r.header.Load()
	want := map[string]string{
		"Authorization": "Bearer dev-admin-token",
		"X-Request-Id":  "req-1",
		"Content-Type":  "application/json",
		"Accept":        "application/json",
		"Cookie":        "",
	}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("replica saw %s: %q, want %q", k, got.Get(k), v)
		}
	}
	if strings.Join(got.Values("Tracestate"), "|") != "congo=t61rcWkgMzE|rojo=00f067aa0ba902b7" {
		t.Errorf("replica saw Tracestate %q", got.Values("Tracestate"))
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("a timed-out query is retried", func(t *testing.T) {
		slow, up := startReplica(t, "slow", hang), startReplica(t, "up", answer)
		c := newClient(t, Config{Timeout: 50 * time.Millisecond}, slow.url, up.url)
		resp, err := do(c, false)
		answeredBy(t, resp, err, up)
		if slow.hits.Load() != 1 {
			t.Fatalf("slow replica got %d requests, want 1", slow.hits.Load())
		}
	})
	t.Run("a timed-out mutation is not", func(t *testing.T) {
		slow, up := startReplica(t, "slow", hang), startReplica(t, "up", answer)
		c := newClient(t, Config{Timeout: 50 * time.Millisecond}, slow.url, up.url)
		_, err := do(c, true)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do: %v, want ErrUnavailable and DeadlineExceeded", err)
		}
		if up.hits.Load() != 0 {
			t.Fatal("a timed-out mutation was retried")
		}
	})
	t.Run("timeouts eject", func(t *testing.T) {
		slow, up := startReplica(t, "slow", hang), startReplica(t, "up", answer)
		var ejections atomic.Int64
		c := newClient(t, Config{Timeout: 50 * time.Millisecond, EjectAfter: 2, EjectFor: time.Hour,
			OnEject: func(string, string) { ejections.Add(1) }}, slow.url, up.url)
		for range 4 {
			resp, err := do(c, false)
			answeredBy(t, resp, err, up)
		}
		if ejections.Load() != 1 || slow.hits.Load() != 2 {
			t.Fatalf("ejections %d, slow hits %d; want 1 and 2", ejections.Load(), slow.hits.Load())
		}
		// Ejected: no request waits for it any more.
		for range 10 {
			start := time.Now()
			resp, err := do(c, false)
			answeredBy(t, resp, err, up)
			if d := time.Since(start); d >= 50*time.Millisecond {
				t.Fatalf("a request took %v with the slow replica ejected", d)
			}
		}
	})
	t.Run("slow everywhere: no second wait on a failing replica", func(t *testing.T) {
		a, b := startReplica(t, "a", hang), startReplica(t, "b", hang)
		c := newClient(t, Config{Timeout: 50 * time.Millisecond, EjectAfter: 100}, a.url, b.url)
		if _, err := do(c, false); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do: %v, want DeadlineExceeded", err)
		}
		if a.hits.Load() != 1 || b.hits.Load() != 1 {
			t.Fatalf("first Do: hits a %d, b %d; want one each (b had failed nothing)", a.hits.Load(), b.hits.Load())
		}
		for range 4 {
			if _, err := do(c, false); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Do: %v, want DeadlineExceeded", err)
			}
		}
		if n := a.hits.Load() + b.hits.Load(); n != 6 {
			t.Fatalf("%d attempts for 5 requests, want 6: once both failed, one attempt each", n)
		}
	})
	t.Run("the whole request is bounded by the caller", func(t *testing.T) {
		a, b := startReplica(t, "a", hang), startReplica(t, "b", hang)
		c := newClient(t, Config{Timeout: time.Second}, a.url, b.url)
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Do(ctx, Request{Subgraph: "books", Body: query})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do: %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 1400*time.Millisecond+time.Second {
			t.Fatalf("Do took %v past the caller's 1.5s", d)
		}
		if a.hits.Load()+b.hits.Load() != 2 {
			t.Fatalf("hits a %d, b %d; want one each", a.hits.Load(), b.hits.Load())
		}
	})
	t.Run("a subgraph's own timeout", func(t *testing.T) {
		slow := startReplica(t, "slow", hang)
		c := newClient(t, Config{Timeout: time.Hour, Timeouts: map[string]time.Duration{"books": 50 * time.Millisecond}}, slow.url)
		_, err := do(c, false)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "within 50ms") {
			t.Fatalf("Do: %v, want the books timeout of 50ms", err)
		}
	})
	t.Run("caller's deadline", func(t *testing.T) {
		slow, up := startReplica(t, "slow", hang), startReplica(t, "up", answer)
		c := newClient(t, Config{}, slow.url, up.url)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Do(ctx, Request{Subgraph: "books", Body: query})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Do: %v, want DeadlineExceeded", err)
		}
		if up.hits.Load() != 0 {
			t.Fatal("a timed-out query was retried")
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		slow, up := startReplica(t, "slow", hang), startReplica(t, "up", answer)
		c := newClient(t, Config{}, slow.url, up.url)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for slow.hits.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := c.Do(ctx, Request{Subgraph: "books", Body: query})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Do: %v, want Canceled", err)
		}
		if up.hits.Load() != 0 {
			t.Fatal("a cancelled query was retried")
		}
		// Already cancelled: nothing is sent.
		if _, err := c.Do(ctx, Request{Subgraph: "books", Body: query}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Do: %v, want Canceled", err)
		}
		if slow.hits.Load() != 1 || up.hits.Load() != 0 {
			t.Fatal("a request went out on a cancelled context")
		}
	})
}

func TestMaxResponseBytes(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name    string
		size    int
		chunked bool
		wantErr bool
	}{
		{"at the limit", limit, false, false},
		{"at the limit, chunked", limit, true, false},
		{"over the limit", limit + 1, false, true},
		{"over the limit, chunked", limit + 1, true, true},
		{"far over, chunked", 100 * limit, true, true},
		{"empty", 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.Header().Set("Content-Type", "application/json")
				body := strings.Repeat("x", tt.size)
				if !tt.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(tt.size))
				}
				for len(body) > 0 {
					n := min(len(body), 100)
					io.WriteString(w, body[:n])
					body = body[n:]
					if tt.chunked {
						http.NewResponseController(w).Flush()
					}
				}
			}))
			defer srv.Close()
			c := newClient(t, Config{MaxResponseBytes: limit}, srv.URL, srv.URL+"/other")
			resp, err := do(c, false)
			if tt.wantErr {
				if !errors.Is(err, ErrResponseTooLarge) || errors.Is(err, ErrUnavailable) {
					t.Fatalf("Do: %v, want ErrResponseTooLarge", err)
				}
				if hits.Load() != 1 {
					t.Fatalf("%d requests; a too large response was retried", hits.Load())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Body) != tt.size {
				t.Fatalf("body is %d bytes, want %d", len(resp.Body), tt.size)
			}
		})
	}
}

func TestFetchSDL(t *testing.T) {
	t.Run("skips a down replica", func(t *testing.T) {
		up := startReplica(t, "up", answer)
		c := newClient(t, Config{}, downURL(t), up.url)
		sdl, err := c.FetchSDL(context.Background(), "books")
		if err != nil {
			t.Fatal(err)
		}
		if sdl != "type Query { up: Int }" {
			t.Fatalf("SDL = %q", sdl)
		}
		if got := *up.header.Load(); got.Get("Content-Type") != "application/json" {
			t.Fatalf("Content-Type %q", got.Get("Content-Type"))
		}
	})
	t.Run("skips a replica that answers an error", func(t *testing.T) {
		bad, up := startReplica(t, "bad", invalid), startReplica(t, "up", answer)
		c := newClient(t, Config{}, bad.url, up.url)
		sdl, err := c.FetchSDL(context.Background(), "books")
		if err != nil || sdl != "type Query { up: Int }" {
			t.Fatalf("FetchSDL = %q, %v", sdl, err)
		}
	})
	t.Run("tries ejected replicas", func(t *testing.T) {
		r := startReplica(t, "a", badGateway)
		c := newClient(t, Config{EjectAfter: 1, EjectFor: time.Hour}, r.url)
		if _, err := c.FetchSDL(context.Background(), "books"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("FetchSDL: %v, want ErrUnavailable", err)
		}
		r.mode.Store(int32(answer))
		if sdl, err := c.FetchSDL(context.Background(), "books"); err != nil || sdl != "type Query { a: Int }" {
			t.Fatalf("FetchSDL = %q, %v", sdl, err)
		}
	})
	t.Run("all down", func(t *testing.T) {
		c := newClient(t, Config{}, downURLs(t, 2)...)
		_, err := c.FetchSDL(context.Background(), "books")
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), `subgraph "books"`) {
			t.Fatalf("FetchSDL: %v", err)
		}
	})
	t.Run("GraphQL error", func(t *testing.T) {
		bad := startReplica(t, "bad", invalid)
		c := newClient(t, Config{}, bad.url)
		_, err := c.FetchSDL(context.Background(), "books")
		if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), `subgraph "books"`) || !strings.Contains(err.Error(), "Cannot query field") {
			t.Fatalf("FetchSDL: %v", err)
		}
	})
	t.Run("unknown subgraph", func(t *testing.T) {
		c := newClient(t, Config{}, downURL(t))
		if _, err := c.FetchSDL(context.Background(), "authors"); err == nil || !strings.Contains(err.Error(), `"authors"`) {
			t.Fatalf("FetchSDL: %v", err)
		}
	})
}

// TestConcurrentKill runs many queries at once and kills a replica midway:
// not one query fails, whether identical queries share requests or not.
func TestConcurrentKill(t *testing.T) {
	for _, dedup := range []bool{false, true} {
		t.Run(fmt.Sprintf("dedup=%v", dedup), func(t *testing.T) { testConcurrentKill(t, dedup) })
	}
}

func testConcurrentKill(t *testing.T, dedup bool) {
	rs := []*backend{startReplica(t, "a", answer), startReplica(t, "b", answer), startReplica(t, "c", answer)}
	var ejections, sent, shared atomic.Int64
	c := newClient(t, Config{EjectFor: time.Hour, OnEject: func(string, string) { ejections.Add(1) },
		DisableDedup: !dedup, OnDedup: func(_ string, s bool) {
			if s {
				shared.Add(1)
			} else {
				sent.Add(1)
			}
		}},
		rs[0].url, rs[1].url, rs[2].url)

	const workers, perWorker = 32, 150
	var done atomic.Int64
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for done.Load() < workers*perWorker/3 {
			time.Sleep(time.Millisecond)
		}
		rs[1].srv.Close()
	}()
	var wg sync.WaitGroup
	var failures atomic.Int64
	var firstErr atomic.Pointer[error]
	for range workers {
		wg.Go(func() {
			for range perWorker {
				if _, err := do(c, false); err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	<-killed
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d queries failed; first: %v", n, workers*perWorker, *firstErr.Load())
	}
	if n := ejections.Load(); n != 1 {
		t.Fatalf("%d ejections, want 1", n)
	}
	hits := rs[1].hits.Load()
	total := rs[0].hits.Load() + hits + rs[2].hits.Load()
	if !dedup {
		if total < workers*perWorker {
			t.Fatalf("replicas saw %d requests, fewer than %d", total, workers*perWorker)
		}
		if sent.Load()+shared.Load() != 0 {
			t.Fatalf("dedup off, yet %d sent and %d shared counted", sent.Load(), shared.Load())
		}
		return
	}
	// Every query was sent or shared, and every one sent reached a
	// replica at least once.
	if s, sh := sent.Load(), shared.Load(); s+sh != workers*perWorker || total < s {
		t.Fatalf("%d sent, %d shared, replicas saw %d requests", s, sh, total)
	}
	t.Logf("%d queries: %d sent, %d shared; replicas saw %d requests", workers*perWorker, sent.Load(), shared.Load(), total)
}

func BenchmarkDo(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"books":{"totalCount":42}}}`)
	}))
	defer srv.Close()
	// Without sharing, so that every Do is an exchange, as it measured
	// before there was any (BenchmarkDoDedup measures the sharing).
	c, err := New(Config{Subgraphs: map[string][]string{"books": {srv.URL + "/a", srv.URL + "/b"}}, DisableDedup: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	hdr := Forward(http.Header{"Authorization": {"Bearer x"}, "X-Request-Id": {"r"}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := c.Do(ctx, Request{Subgraph: "books", Body: query, Header: hdr}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDoDedup measures Do with identical queries in flight sharing
// requests ("identical": the subgraph sees fewer), and what the sharing
// costs queries that never share ("distinct": every body differs), against
// the same without it ("off").
func BenchmarkDoDedup(b *testing.B) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"books":{"totalCount":42}}}`)
	}))
	defer srv.Close()
	hdr := Forward(http.Header{"Authorization": {"Bearer x"}, "X-Request-Id": {"r"}})
	sharetest.Bench{Requests: &hits, Setup: func(b *testing.B, off bool) func(int64) error {
		c, err := New(Config{Subgraphs: map[string][]string{"books": {srv.URL + "/a"}}, DisableDedup: off})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		return func(n int64) error {
			body := query
			if n != 0 {
				body = fmt.Appendf(nil, `{"query":"{ books(first: %d) { totalCount } }"}`, n)
			}
			_, err := c.Do(context.Background(), Request{Subgraph: "books", Body: body, Header: hdr})
			return err
		}
	}}.Run(b)
}

// countConns returns a replica, not started, that answers every request
// with {"data":{"ok":true}}, and the count of the connections it accepts.
// The test closes it when it ends.
func countConns(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"ok":true}}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	t.Cleanup(srv.Close)
	return srv, &conns
}

// An https replica is reached over TLS, verified against the configured
// roots, and its connections are kept alive.
func TestHTTPS(t *testing.T) {
	srv, conns := countConns(t)
	srv.StartTLS()
	roots := srv.Client().Transport.(*http.Transport).TLSClientConfig
	c := newClient(t, Config{TLS: roots}, srv.URL+"/query")
	for range 5 {
		resp, err := do(c, false)
		if err != nil || string(resp.Body) != `{"data":{"ok":true}}` {
			t.Fatalf("Do: %v %v", resp, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential requests, want 1 kept alive", n)
	}
	// Without the test CA the certificate does not verify.
	bare := newClient(t, Config{}, srv.URL+"/query")
	if _, err := do(bare, false); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an unverifiable certificate was accepted: %v", err)
	}
}

// balancer stands in for a Kubernetes ClusterIP Service: one address that
// sends each new TCP connection to the next backend in turn.
func balancer(t *testing.T, backends ...*backend) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", backends[i%len(backends)].srv.Listener.Addr().String())
			if err != nil {
				in.Close()
				continue
			}
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return "http://" + ln.Addr().String() + "/query"
}

// Behind one balanced address a kept connection pins every request to one
// backend; with MaxConnAge the client re-dials, and the balancer spreads
// the requests over every backend.
func TestMaxConnAgeRebalances(t *testing.T) {
	for _, tc := range []struct {
		name      string
		maxAge    time.Duration
		bothTaken bool
	}{
		{"kept forever", 0, false},
		{"retired after 5ms", 5 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := startReplica(t, "a", answer), startReplica(t, "b", answer)
			c := newClient(t, Config{MaxConnAge: tc.maxAge}, balancer(t, a, b))
			for range 8 {
				if _, err := do(c, false); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // longer than the age limit
			}
			if got := a.hits.Load() > 0 && b.hits.Load() > 0; got != tc.bothTaken {
				t.Errorf("hits a=%d b=%d; want both backends used: %v", a.hits.Load(), b.hits.Load(), tc.bothTaken)
			}
			if a.hits.Load()+b.hits.Load() != 8 {
				t.Errorf("hits a=%d b=%d, want 8 in all", a.hits.Load(), b.hits.Load())
			}
		})
	}
}

// passOver sends two requests, which want answers: with two replicas, one
// of any two requests passes the other over, and starts a probe of it when
// one is due. It waits for the probes.
func passOver(t *testing.T, c *Client, want *backend) {
	t.Helper()
	for range 2 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, want)
	}
	settle(c)
}

// settle waits for the probes started so far.
func settle(c *Client) { c.probes.wg.Wait() }

// A replica that answers with the drain header is ejected at once, with no
// failure counted, and probed back once it answers without it.
func TestDraining(t *testing.T) {
	leaving, staying := startReplica(t, "leaving", answer), startReplica(t, "staying", answer)
	leaving.drainHeader.Store(true)
	c, clock, ejections := ejectingClient(t, Config{EjectFor: time.Second}, leaving.url, staying.url)
	// Its answer is an answer: the client gets it.
	resp, err := do(c, true)
	answeredBy(t, resp, err, leaving)
	if ejections.Load() != 1 {
		t.Fatalf("%d ejections, want 1", ejections.Load())
	}
	for i := range 6 {
		resp, err := do(c, i%2 == 0)
		answeredBy(t, resp, err, staying)
	}
	// Probed while still draining: ejected again, for no longer.
	clock.Advance(time.Second)
	passOver(t, c, staying)
	if leaving.hits.Load() != 2 || ejections.Load() != 2 {
		t.Fatalf("leaving: %d hits, %d ejections; want 2 (one probe) and 2", leaving.hits.Load(), ejections.Load())
	}
	// Back (restarted): the next probe puts it in rotation.
	leaving.drainHeader.Store(false)
	clock.Advance(time.Second)
	passOver(t, c, staying)
	for range 4 {
		if _, err := do(c, false); err != nil {
			t.Fatal(err)
		}
	}
	if n := leaving.hits.Load(); n != 5 {
		t.Fatalf("leaving: %d hits, want 5 (two probes and 2 of 4)", n)
	}
}

// A replica that came back (it restarted) but is still ejected gets the
// traffic at once when its partner fails, mutations included when the
// request never reached the partner, and is back in rotation.
func TestLastResort(t *testing.T) {
	for _, mutation := range []bool{false, true} {
		t.Run(fmt.Sprintf("mutation=%v", mutation), func(t *testing.T) {
			back := startReplica(t, "back", badGateway)
			partner := downURL(t)
			c := newClient(t, Config{EjectAfter: 1, EjectFor: time.Hour}, back.url, partner)
			// back fails and is ejected; partner is down but never tried.
			if _, err := do(c, false); err == nil {
				t.Fatal("Do succeeded with every replica failing")
			}
			back.mode.Store(int32(answer))
			hits := back.hits.Load()
			for range 4 {
				resp, err := do(c, mutation)
				answeredBy(t, resp, err, back)
			}
			if back.hits.Load()-hits != 4 {
				t.Fatalf("back got %d of 4", back.hits.Load()-hits)
			}
		})
	}
	t.Run("a mutation that may have reached the partner is not", func(t *testing.T) {
		back, partner := startReplica(t, "back", answer), startReplica(t, "partner", drop)
		clock := newFakeClock()
		c := newClient(t, Config{EjectAfter: 1, EjectFor: time.Hour, Now: clock.Now}, back.url, partner.url)
		c.eject(c.pools["books"], c.pools["books"].replicas[0], false)
		if _, err := do(c, true); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Do: %v, want ErrUnavailable", err)
		}
		if back.hits.Load() != 0 {
			t.Fatal("a mutation the partner may have run was sent again")
		}
	})
}

// A probe runs off the request path: requests do not wait for a hung
// replica's probe, which times out and ejects it again.
func TestProbeOffTheRequestPath(t *testing.T) {
	hung, up := startReplica(t, "hung", hang), startReplica(t, "up", answer)
	c, clock, ejections := ejectingClient(t, Config{Timeout: 200 * time.Millisecond, EjectAfter: 1, EjectFor: time.Second}, hung.url, up.url)
	resp, err := do(c, false) // hung times out, up answers
	answeredBy(t, resp, err, up)
	clock.Advance(time.Second)
	start := time.Now()
	for range 5 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, up)
	}
	if d := time.Since(start); d >= 200*time.Millisecond {
		t.Fatalf("requests waited %v for the probe", d)
	}
	settle(c)
	if hung.hits.Load() != 2 || ejections.Load() != 2 {
		t.Fatalf("hung: %d hits, %d ejections; want 2 (one probe) and 2", hung.hits.Load(), ejections.Load())
	}
}

// Once closed, the client probes no more: an ejected replica stays out,
// a last resort only.
func TestCloseStopsProbes(t *testing.T) {
	clock := newFakeClock()
	a, b := startReplica(t, "a", badGateway), startReplica(t, "b", answer)
	c := newClient(t, Config{EjectAfter: 1, EjectFor: time.Second, Now: clock.Now}, a.url, b.url)
	resp, err := do(c, false)
	answeredBy(t, resp, err, b)
	c.Close()
	clock.Advance(time.Minute)
	for range 4 {
		resp, err := do(c, false)
		answeredBy(t, resp, err, b)
	}
	settle(c)
	if a.hits.Load() != 1 {
		t.Fatalf("a was probed after Close: %d hits", a.hits.Load())
	}
}

// A connection idle for IdleTimeout is closed, not used; fresher ones are
// kept alive.
func TestIdleTimeout(t *testing.T) {
	srv, conns := countConns(t)
	srv.Start()
	c := newClient(t, Config{IdleTimeout: 100 * time.Millisecond}, srv.URL+"/query")
	for _, tc := range []struct {
		pause time.Duration
		conns int64
	}{{0, 1}, {10 * time.Millisecond, 1}, {200 * time.Millisecond, 2}, {10 * time.Millisecond, 2}} {
		time.Sleep(tc.pause)
		if _, err := do(c, false); err != nil {
			t.Fatal(err)
		}
		if n := conns.Load(); n != tc.conns {
			t.Fatalf("after a pause of %v: %d connections, want %d", tc.pause, n, tc.conns)
		}
	}
}
