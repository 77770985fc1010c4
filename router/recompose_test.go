package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/router/routertest"
	"bookstore/router/server"
)

// sdlProxy stands in front of a subgraph and can change the SDL it
// reports, as a redeployed subgraph would.
type sdlProxy struct {
	target string
	extra  atomic.Value // string appended to the SDL ("" for none)
}

func (p *sdlProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.target, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if extra, _ := p.extra.Load().(string); extra != "" && bytes.Contains(body, []byte("_service")) {
		var sdl struct {
			Data struct {
				Service struct{ SDL string } `json:"_service"`
			}
		}
		if err := json.Unmarshal(out, &sdl); err == nil {
			out, _ = json.Marshal(map[string]any{"data": map[string]any{"_service": map[string]any{"sdl": sdl.Data.Service.SDL + "\n" + extra}}})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// A subgraph whose schema changes is recomposed and swapped in while
// requests run; a change that does not compose leaves the old supergraph
// serving.
func TestRecomposition(t *testing.T) {
	proxy := &sdlProxy{}
	proxy.extra.Store("")
	s := routertest.StartBookstore(t, routertest.Options{Configure: func(c *server.Config) {
		proxy.target = c.Subgraphs["books"][0]
		srv := httptest.NewServer(proxy)
		t.Cleanup(srv.Close)
		c.Subgraphs["books"] = []string{srv.URL + "/query"}
		c.PollInterval = 20 * time.Millisecond
	}})
	r := s.Router
	queryFields := func() string {
		resp := r.GraphQL(t, `{ __type(name: "Query") { fields { name } } }`, nil, nil)
		return string(resp.Data)
	}
	waitFor := func(cond func() bool, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Queries keep running through every swap.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if !booksAnswer(r.URL) {
					failures.Add(1)
				}
			}
		}()
	}

	proxy.extra.Store(`extend type Query { bestseller: Book @shareable }`)
	waitFor(func() bool { return strings.Contains(queryFields(), `"bestseller"`) }, "the new field to be served")

	// A schema that does not compose (a field of another type in two
	// subgraphs) is refused; the last good supergraph keeps serving.
	proxy.extra.Store(`extend type Order @key(fields: "id") { id: ID! status: Int }`)
	time.Sleep(200 * time.Millisecond) // ten polls
	if !strings.Contains(queryFields(), `"bestseller"`) {
		t.Error("a failed composition replaced the supergraph")
	}

	proxy.extra.Store("")
	waitFor(func() bool { return !strings.Contains(queryFields(), `"bestseller"`) }, "the field to go")
	close(stop)
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d queries failed while the supergraph was swapped", n)
	}
}

// booksAnswer runs a federated query off the test goroutine (no t.Fatal
// there) and reports whether it fully succeeded.
func booksAnswer(base string) bool {
	resp, err := http.Post(base+"/graphql", "application/json",
		strings.NewReader(`{"query":"{ books(first: 2) { edges { node { title unitsSold } } } }"}`))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var out struct {
		Data *struct {
			Books struct{ Edges []json.RawMessage }
		}
		Errors []json.RawMessage
	}
	return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&out) == nil &&
		len(out.Errors) == 0 && out.Data != nil && len(out.Data.Books.Edges) == 2
}

// The router is not ready, and /graphql answers 503, until every subgraph
// has answered _service; it retries until they do.
func TestReadyOnlyOnceComposed(t *testing.T) {
	proxy := &sdlProxy{}
	proxy.extra.Store("")
	var up atomic.Bool
	gate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	// Build the stack by hand: StartBookstore waits for readiness.
	var cfg server.Config
	s := routertest.StartBookstore(t, routertest.Options{Configure: func(c *server.Config) { cfg = *c }})
	proxy.target = s.Books[0].URL + "/query"
	srv := httptest.NewServer(gate)
	t.Cleanup(srv.Close)
	cfg.Subgraphs = map[string][]string{"books": {srv.URL + "/query"}, "orders": cfg.Subgraphs["orders"]}
	r, err := server.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	h := httptest.NewServer(r.Handler)
	t.Cleanup(h.Close)
	get := func(path string) int {
		resp, err := http.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	time.Sleep(300 * time.Millisecond) // a few retries
	if code := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d before books answered, want 503", code)
	}
	if code := get("/graphql?query=%7B__typename%7D"); code != http.StatusServiceUnavailable {
		t.Errorf("/graphql = %d before composition, want 503", code)
	}
	if code := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200 while the process lives", code)
	}
	up.Store(true)
	deadline := time.Now().Add(15 * time.Second)
	for get("/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the router never became ready once books answered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !booksAnswer(h.URL) {
		t.Error("the federated query failed once ready")
	}
}

// Selecting only an entity's key needs no fetch from its owner:
// order { items { book { id } } } never calls books-subgraph.
func TestKeyOnlySelectionSkipsTheOwner(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	r := s.Router
	place := r.GraphQL(t, `mutation { placeOrder(input: {customerEmail: "k@example.com", items: [{bookId: "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", quantity: 1}]}) { id } }`, nil, nil)
	var placed struct{ PlaceOrder struct{ ID string } }
	if err := json.Unmarshal(place.Data, &placed); err != nil || placed.PlaceOrder.ID == "" {
		t.Fatalf("%s", place.Body)
	}
	s.Books[0].Counter.Reset()
	before := strings.Count(s.Books[0].Logs.String(), `"path":"/query"`)
	if before == 0 {
		t.Fatal("books-subgraph's log shows no request at all (composition asked it for its SDL): the log format changed")
	}
	resp := r.GraphQL(t, `query($id: ID!) { order(id: $id) { items { book { id __typename } } } }`, map[string]any{"id": placed.PlaceOrder.ID}, nil)
	want := `{"order":{"items":[{"book":{"id":"96d4816c-1d71-3e59-2cd2-8f7f36d767b9","__typename":"Book"}}]}}`
	if string(resp.Data) != want {
		t.Errorf("got %s, want %s", resp.Data, want)
	}
	if n := s.Books[0].Counter.Count(); n != 0 {
		t.Errorf("books-subgraph ran %d statements", n)
	}
	if after := strings.Count(s.Books[0].Logs.String(), `"path":"/query"`); after != before {
		t.Errorf("books-subgraph got %d requests", after-before)
	}
}
