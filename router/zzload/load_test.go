package zzload

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/graph/testkit/testdb"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

func scrape(t *testing.T, url string) string {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func sum(body, prefix string) float64 {
	total := 0.0
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += v
		}
	}
	return total
}

func TestLoad(t *testing.T) {
	const clients, perClient = 64, 40
	for _, wl := range strings.Split(os.Getenv("WL"), ",") {
		for _, c := range []struct {
			name string
			cfg  func(*server.Config)
		}{
			{"both on (default)", func(*server.Config) {}},
			{"inbound off", func(c *server.Config) { c.DisableInboundDedup = true }},
			{"subgraph off", func(c *server.Config) { c.DisableSubgraphDedup = true }},
			{"both off", func(c *server.Config) { c.DisableInboundDedup, c.DisableSubgraphDedup = true, true }},
		} {
			if !strings.Contains(os.Getenv("CFG"), c.name[:4]) {
				continue
			}
			s := routertest.StartBookstore(t, routertest.Options{Configure: c.cfg})
			before := 0.0
			for _, g := range append(append([]string{}, s.Books[0].URL), s.Orders[0].URL) {
				before += sum(scrape(t, g), `http_requests_total{code="200",handler="/query"`)
			}
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
			var errs atomic.Int64
			var seq atomic.Int64
			start := time.Now()
			var wg sync.WaitGroup
			for range clients {
				wg.Go(func() {
					for range perClient {
						q := `{"query":"{ books(first: 10) { edges { node { title unitsSold } } } }"}`
						if wl == "distinct" {
							q = fmt.Sprintf(`{"query":"query($s: String) { books(first: 10, filter: {search: $s}) { edges { node { title unitsSold } } } }","variables":{"s":"x%d"}}`, seq.Add(1))
						}
						res, err := hc.Post(s.Router.URL+"/graphql", "application/json", bytes.NewReader([]byte(q)))
						if err != nil {
							errs.Add(1)
							continue
						}
						b, _ := io.ReadAll(res.Body)
						res.Body.Close()
						if res.StatusCode != 200 || bytes.Contains(b, []byte(`"errors"`)) {
							errs.Add(1)
						}
					}
				})
			}
			wg.Wait()
			took := time.Since(start)
			after := 0.0
			for _, g := range append(append([]string{}, s.Books[0].URL), s.Orders[0].URL) {
				after += sum(scrape(t, g), `http_requests_total{code="200",handler="/query"`)
			}
			m := scrape(t, s.Router.URL)
			n := clients * perClient
			t.Logf("%-9s %-18s %d queries in %v (%.0f/s), errors %d; subgraph requests %.0f (%.3f per query); inbound executed %.0f shared %.0f; subgraph sent %.0f shared %.0f",
				wl, c.name, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), errs.Load(), after-before, (after-before)/float64(n),
				sum(m, `router_inbound_dedup_total{result="executed"}`), sum(m, `router_inbound_dedup_total{result="shared"}`),
				sum(m, `router_subgraph_dedup_total{result="sent"`), sum(m, `router_subgraph_dedup_total{result="shared"`))
			hc.CloseIdleConnections()
		}
	}
}
