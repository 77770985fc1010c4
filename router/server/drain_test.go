package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"bookstore/graph/platform/drain"
	"bookstore/graph/testkit/sharetest"
	"bookstore/router/server"
)

// TestRouterDrains: told to stop, the router is unready at once but keeps
// serving for its drain period, every answer marked Connection: close,
// then refuses connections and returns.
func TestRouterDrains(t *testing.T) {
	sub := sharetest.Start(t, sharetest.GraphQL(`type Query { hello: String }`,
		func(_ *sharetest.Subgraph, w http.ResponseWriter, _ *http.Request, _ sharetest.Operation) {
			_, _ = io.WriteString(w, `{"data":{"hello":"world"}}`)
		}))
	const period = 500 * time.Millisecond
	r, err := server.New(server.Config{
		Subgraphs: map[string][]string{"a": {sub.URL}}, PollInterval: time.Hour,
		DrainPeriod: period, ShutdownTimeout: 5 * time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	get := func(path string) *http.Response {
		t.Helper()
		var res *http.Response
		var err error
		if path == "/graphql" {
			res, err = client.Post(base+path, "application/json", strings.NewReader(`{"query":"{ hello }"}`))
		} else {
			res, err = client.Get(base + path)
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for get("/readyz").StatusCode != http.StatusOK {
		time.Sleep(10 * time.Millisecond)
	}
	if res := get("/graphql"); res.StatusCode != 200 || res.Close || res.Header.Get(drain.Header) != "" {
		t.Fatalf("before: %d, Close %v, %s %q", res.StatusCode, res.Close, drain.Header, res.Header.Get(drain.Header))
	}
	stopped := time.Now()
	cancel()
	for get("/readyz").StatusCode != http.StatusServiceUnavailable {
		if time.Since(stopped) > period/2 {
			t.Fatal("/readyz still 200 after the router was told to stop")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, path := range []string{"/graphql", "/healthz"} {
		if res := get(path); res.StatusCode != 200 || !res.Close || res.Header.Get(drain.Header) != "true" {
			t.Fatalf("%s while draining: %d, Close %v, %s %q", path, res.StatusCode, res.Close, drain.Header, res.Header.Get(drain.Header))
		}
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v within the drain period", err)
	default:
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if took := time.Since(stopped); took < period {
		t.Fatalf("Serve returned after %v, within the drain period", took)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("a connection was accepted after the drain")
	}
}
