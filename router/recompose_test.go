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
