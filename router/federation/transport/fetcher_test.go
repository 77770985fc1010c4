package transport

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"bookstore/router/federation/execute"
)

// TestFetcher checks the executor's view of the client: its requests
// reach the subgraph, the answer comes back, and a subgraph that cannot be
// reached is execute.ErrUnavailable as well as ErrUnavailable.
func TestFetcher(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Request-Id") != "r1" {
			http.Error(w, "no request id", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"ok":true}}`))
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/query"
	ln.Close()
	c, err := New(Config{Subgraphs: map[string][]string{"up": {srv.URL}, "down": {down}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var f execute.Fetcher = Fetcher{Client: c}
	resp, err := f.Do(context.Background(), execute.FetchRequest{Subgraph: "up", Body: []byte(`{"query":"{ ok }"}`),
		Header: http.Header{"X-Request-Id": {"r1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != http.StatusOK || string(resp.Body) != `{"data":{"ok":true}}` || resp.Replica == "" {
		t.Errorf("answer %d %q from %q", resp.Status, resp.Body, resp.Replica)
	}
	_, err = f.Do(context.Background(), execute.FetchRequest{Subgraph: "down", Body: []byte(`{"query":"{ ok }"}`)})
	if !errors.Is(err, execute.ErrUnavailable) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("a subgraph down: %v, want execute.ErrUnavailable and ErrUnavailable", err)
	}
	_, err = f.Do(context.Background(), execute.FetchRequest{Subgraph: "nope"})
	if err == nil || errors.Is(err, execute.ErrUnavailable) {
		t.Errorf("an unknown subgraph: %v, want an error that is not ErrUnavailable", err)
	}
}
