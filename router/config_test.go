package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "router.json")
	if err := os.WriteFile(cfgFile, []byte(`{"subgraphs": {"books": ["http://b1/query", "http://b2/query"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(badFile, []byte(`{"subgraph": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c *config)
		wantErr string
	}{
		{
			name: "defaults",
			args: []string{"--subgraph", "books=http://127.0.0.1:4001/query,http://127.0.0.1:4002/query"},
			check: func(t *testing.T, c *config) {
				if c.Listen != ":8080" || len(c.Subgraphs["books"]) != 2 || !c.Introspection ||
					c.Limits.MaxDepth != 25 || c.Limits.MaxAliases != 100 || c.Limits.MaxFields != 2000 ||
					c.MaxBodyBytes != 1<<20 || c.Limits.Timeout != 15*time.Second || c.PollInterval != 10*time.Second ||
					c.SubgraphConnMaxAge != time.Minute || c.ExposeQueryPlans || c.DrainPeriod != 5*time.Second ||
					c.SubgraphIdleTimeout != 2*time.Second || c.ShutdownTimeout != 20*time.Second {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "environment",
			env: map[string]string{"PORT": "9000", "SUBGRAPHS": "books=http://b/query;orders=http://o1/query,http://o2/query",
				"INTROSPECTION": "false", "MAX_DEPTH": "10", "OPERATION_TIMEOUT": "2s", "SUBGRAPH_TIMEOUTS": "orders=1s",
				"SUBGRAPH_CONN_MAX_AGE": "0", "EXPOSE_QUERY_PLANS": "true", "DRAIN_PERIOD": "0", "SUBGRAPH_IDLE_TIMEOUT": "1s"},
			check: func(t *testing.T, c *config) {
				if c.Listen != ":9000" || len(c.Subgraphs["orders"]) != 2 || c.Introspection || c.Limits.MaxDepth != 10 || !c.ExposeQueryPlans ||
					c.Limits.Timeout != 2*time.Second || c.SubgraphTimeouts["orders"] != time.Second || c.SubgraphConnMaxAge != 0 ||
					c.DrainPeriod != 0 || c.SubgraphIdleTimeout != time.Second {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "flags win over the environment",
			args: []string{"--listen", "127.0.0.1:7000", "--subgraph", "books=http://flag/query", "--introspection", "true", "--expose-query-plans", "false"},
			env:  map[string]string{"PORT": "9000", "SUBGRAPHS": "books=http://env/query", "INTROSPECTION": "false", "EXPOSE_QUERY_PLANS": "true"},
			check: func(t *testing.T, c *config) {
				if c.Listen != "127.0.0.1:7000" || c.Subgraphs["books"][0] != "http://flag/query" || !c.Introspection || c.ExposeQueryPlans {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "config file",
			args: []string{"--config", cfgFile},
			check: func(t *testing.T, c *config) {
				if len(c.Subgraphs["books"]) != 2 {
					t.Errorf("%+v", c.Subgraphs)
				}
			},
		},
		{name: "no subgraphs", wantErr: "no subgraphs"},
		{name: "subgraphs and a supergraph", args: []string{"--subgraph", "a=http://a", "--supergraph", "x.graphql"}, wantErr: "not several"},
		{name: "bad subgraph flag", args: []string{"--subgraph", "books"}, wantErr: "name=URL"},
		{name: "bad port", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"PORT": "http"}, wantErr: "PORT"},
		{name: "bad limit", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"MAX_ALIASES": "-1"}, wantErr: "MAX_ALIASES"},
		{name: "bad duration", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"OPERATION_TIMEOUT": "soon"}, wantErr: "OPERATION_TIMEOUT"},
		{name: "bad drain period", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"DRAIN_PERIOD": "-1s"}, wantErr: "DRAIN_PERIOD"},
		{name: "bad idle timeout", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"SUBGRAPH_IDLE_TIMEOUT": "0"}, wantErr: "SUBGRAPH_IDLE_TIMEOUT"},
		{name: "bad connection age", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"SUBGRAPH_CONN_MAX_AGE": "-5s"}, wantErr: "SUBGRAPH_CONN_MAX_AGE"},
		{name: "bad subgraph timeout", args: []string{"--subgraph", "a=http://a", "--subgraph-timeout", "a=0s"}, wantErr: "subgraph-timeout"},
		{name: "bad introspection", args: []string{"--subgraph", "a=http://a", "--introspection", "maybe"}, wantErr: "introspection"},
		{name: "bad query plan setting", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"EXPOSE_QUERY_PLANS": "yes please"}, wantErr: "expose-query-plans"},
		{name: "unknown field in the config file", args: []string{"--config", badFile}, wantErr: "unknown field"},
		{name: "stray argument", args: []string{"--subgraph", "a=http://a", "serve"}, wantErr: "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
