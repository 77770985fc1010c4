package benchgraph_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bookstore/router/federation/benchgraph"
	"bookstore/router/federation/oracle"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

var update = flag.Bool("update", false, "rewrite testdata/testquery.json with Apollo Gateway's answer")

// serve runs every subgraph in-process and returns the server's URL.
func serve(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(benchgraph.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// post sends a query and returns the body; any status but 200 fails.
func post(t testing.TB, url, query string, vars map[string]any) []byte {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	status, _, raw := routertest.Send(t, url, http.MethodPost, "", "application/json", string(body), nil)
	if status != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d: %.500s", url, status, raw)
	}
	return raw
}

// data returns a response's data, failing on errors.
func data(t testing.TB, raw []byte) json.RawMessage {
	t.Helper()
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("not a GraphQL response: %v: %.500s", err, raw)
	}
	if len(r.Errors) > 0 || r.Data == nil {
		t.Fatalf("errors: %.1000s", raw)
	}
	return r.Data
}

func startRouter(t testing.TB, base string, names ...string) string {
	t.Helper()
	subs := map[string][]string{}
	for _, n := range names {
		subs[n] = []string{base + "/" + n}
	}
	r := routertest.StartRouter(t, server.Config{Subgraphs: subs, PollInterval: time.Hour})
	return r.URL + "/graphql"
}

// TestTestQuery sends TestQuery through the router and compares its answer
// with Apollo Gateway's, run on the same subgraphs when node is on PATH,
// else with the answer recorded from it in testdata/testquery.json.
func TestTestQuery(t *testing.T) {
	base := serve(t)
	got := data(t, post(t, startRouter(t, base, benchgraph.GraphNames...), benchgraph.TestQuery, nil))
	if n := len(got); n < 80_000 || n > 95_000 {
		t.Errorf("TestQuery's data is %d bytes, want about 87 KB", n)
	}
	golden := filepath.Join("testdata", "testquery.json")
	var want json.RawMessage
	if _, err := exec.LookPath("node"); err == nil {
		var subs []oracle.Subgraph
		for _, n := range benchgraph.GraphNames {
			subs = append(subs, oracle.Subgraph{Name: n, URL: base + "/" + n})
		}
		want = data(t, post(t, oracle.StartGateway(t, subs), benchgraph.TestQuery, nil))
		if *update {
			var buf bytes.Buffer
			if err := json.Indent(&buf, want, "", " "); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, append(buf.Bytes(), '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	} else {
		t.Logf("node is not on PATH: comparing with %s instead of Apollo Gateway", golden)
		var err error
		if want, err = os.ReadFile(golden); err != nil {
			t.Fatal(err)
		}
	}
	if err := oracle.SameJSON(want, got); err != nil {
		t.Errorf("the router's answer differs from Apollo Gateway's: %v", err)
	}
}

// TestBigQuery checks the big-response graph's size, and that the router
// passes its answer through unchanged (for a smaller tree of the same
// shape: the whole 8 MiB is slow under -race).
func TestBigQuery(t *testing.T) {
	base := serve(t)
	direct := data(t, post(t, base+"/big", benchgraph.BigQuery, nil))
	if n := len(direct); n < 7<<20 || n > 9<<20 {
		t.Errorf("BigQuery's data is %d bytes, want about 8 MiB", n)
	}
	small := strings.ReplaceAll(benchgraph.BigQuery, "n: 8", "n: 3")
	want := data(t, post(t, base+"/big", small, nil))
	got := data(t, post(t, startRouter(t, base, "big"), small, nil))
	if err := oracle.SameJSON(want, got); err != nil {
		t.Errorf("the router's answer differs from the subgraph's: %v", err)
	}
}

// TestExecutor covers what the gateways send a subgraph: _service,
// _entities with variables, aliases, __typename, fragments, @skip and
// @include, and errors.
func TestExecutor(t *testing.T) {
	base := serve(t)
	cases := []struct {
		name, path, query string
		vars              map[string]any
		want              string
	}{
		{"service", "/accounts", `{ _service { sdl } }`, nil, ""},
		{"aliases and typename", "/accounts", `{ a: user(id: "2") { __typename n: name id } b: me { username } }`, nil,
			`{"a":{"__typename":"User","n":"Bruno Castell","id":"2"},"b":{"username":"abrennan"}}`},
		{"fragments merge", "/accounts", `query Q { user(id: "3") { ...F ... on User { name id } } } fragment F on User { id username }`, nil,
			`{"user":{"id":"3","username":"cdufour","name":"Clara Dufour"}}`},
		{"skip and include", "/accounts", `query($s: Boolean!) { me { id @skip(if: $s) name @include(if: $s) } }`, map[string]any{"s": true},
			`{"me":{"name":"Ada Brennan"}}`},
		{"variable default", "/products", `query($n: Int = 2) { topProducts(first: $n) { upc } }`, nil,
			`{"topProducts":[{"upc":"1"},{"upc":"2"}]}`},
		{"entities with requires", "/inventory",
			`query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Product { upc inStock shippingEstimate } } }`,
			map[string]any{"r": []any{
				map[string]any{"__typename": "Product", "upc": "1", "price": 899, "weight": 120},
				map[string]any{"__typename": "Product", "upc": "2", "price": 1299, "weight": 900},
				map[string]any{"__typename": "Product", "upc": "99", "price": 1, "weight": 1},
			}},
			`{"_entities":[{"__typename":"Product","upc":"1","inStock":true,"shippingEstimate":60},{"__typename":"Product","upc":"2","inStock":false,"shippingEstimate":0},null]}`},
		{"entities of several types", "/reviews",
			`query($r: [_Any!]!) { _entities(representations: $r) { ... on User { reviews { id } } ... on Product { reviews { id author { username } } } } }`,
			map[string]any{"r": []any{
				map[string]any{"__typename": "User", "id": "6"},
				map[string]any{"__typename": "Product", "upc": "3"},
			}},
			`{"_entities":[{"reviews":[{"id":"6"}]},{"reviews":[{"id":"9","author":{"username":"cdufour"}}]}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := data(t, post(t, base+c.path, c.query, c.vars))
			if c.want == "" {
				if !bytes.Contains(got, []byte("@key")) {
					t.Errorf("no SDL: %s", got)
				}
				return
			}
			if string(got) != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	for _, q := range []string{`{ nope }`, `{ me { nope } }`, `query A { me { id } } query B { me { id } }`, `{ me {`, `mutation { me { id } }`} {
		raw := post(t, base+"/accounts", q, nil)
		if !bytes.Contains(raw, []byte(`"errors"`)) || !strings.HasPrefix(string(raw), `{"data":null`) {
			t.Errorf("%s: want an error, got %s", q, raw)
		}
	}
}

// The router in front of in-process subgraphs, all in this process: what
// one request costs the router and the subgraphs together (the subgraphs'
// share is small: see BenchmarkSubgraphs).

func BenchmarkRouterTestQuery(b *testing.B) {
	base := serve(b)
	benchPost(b, startRouter(b, base, benchgraph.GraphNames...), benchgraph.TestQuery)
}

func BenchmarkRouterBigQuery(b *testing.B) {
	base := serve(b)
	benchPost(b, startRouter(b, base, "big"), benchgraph.BigQuery)
}

// BenchmarkSubgraphs is the subgraphs' own cost: BigQuery sent straight to
// big, and an _entities batch of 11 reviews' authors sent to reviews.
func BenchmarkSubgraphs(b *testing.B) {
	base := serve(b)
	b.Run("big", func(b *testing.B) { benchPost(b, base+"/big", benchgraph.BigQuery) })
	b.Run("reviews-entities", func(b *testing.B) {
		var reps []string
		for i := 1; i <= 6; i++ {
			reps = append(reps, `{"__typename":"User","id":"`+string(rune('0'+i))+`"}`)
		}
		body := `{"query":"query($r:[_Any!]!){_entities(representations:$r){... on User{reviews{id body product{upc}}}}}","variables":{"r":[` + strings.Join(reps, ",") + `]}}`
		benchBody(b, base+"/reviews", []byte(body))
	})
}

func benchPost(b *testing.B, url, query string) {
	body, _ := json.Marshal(map[string]string{"query": query})
	benchBody(b, url, body)
}

func benchBody(b *testing.B, url string, body []byte) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	defer client.CloseIdleConnections()
	send := func() int {
		res, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || bytes.Contains(raw, []byte(`"errors"`)) {
			b.Fatalf("HTTP %d, %v: %.300s", res.StatusCode, err, raw)
		}
		return len(raw)
	}
	n := send()
	b.SetBytes(int64(n))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		send()
	}
}
