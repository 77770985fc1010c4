package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"bookstore/graph/testkit/repofile"
	"bookstore/graph/testkit/wanterr"
)

// writeFile writes a config file into a temporary directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "router.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestParse(t *testing.T) {
	cfgFile := writeFile(t, `{"subgraphs": {"books": ["http://b1/query", "http://b2/query"]}}`)
	badFile := writeFile(t, `{"subgraph": {}}`)
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(t *testing.T, c *Config)
		wantErr string
	}{
		{
			name: "defaults",
			args: []string{"--subgraph", "books=http://127.0.0.1:4001/query,http://127.0.0.1:4002/query"},
			check: func(t *testing.T, c *Config) {
				if c.Listen != ":8080" || len(c.Subgraphs["books"]) != 2 || !c.Introspection ||
					c.Limits.MaxDepth != 25 || c.Limits.MaxAliases != 100 || c.Limits.MaxFields != 2000 || c.Limits.MaxTokens != 50_000 ||
					c.MaxBodyBytes != 1<<20 || c.Limits.Timeout != 15*time.Second || c.PollInterval != 10*time.Second ||
					c.PlanCacheSize != 1000 || c.SubgraphTimeout != 10*time.Second ||
					c.SubgraphConnMaxAge != time.Minute || c.ExposeQueryPlans || c.DrainPeriod != 5*time.Second ||
					c.SubgraphIdleTimeout != 2*time.Second || c.ShutdownTimeout != 20*time.Second || c.LogLevel.String() != "INFO" ||
					c.DisableInboundDedup || c.DisableSubgraphDedup || c.SubgraphDedup != nil {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "environment",
			env: map[string]string{"PORT": "9000", "SUBGRAPHS": "books=http://b/query;orders=http://o1/query,http://o2/query",
				"INTROSPECTION": "false", "MAX_DEPTH": "10", "OPERATION_TIMEOUT": "2s", "SUBGRAPH_TIMEOUTS": "orders=1s",
				"SUBGRAPH_CONN_MAX_AGE": "0", "EXPOSE_QUERY_PLANS": "true", "DRAIN_PERIOD": "0", "SUBGRAPH_IDLE_TIMEOUT": "1s",
				"OVERRIDE_LABELS": "a=on; b=off", "LOG_LEVEL": "warn", "POLL_INTERVAL": "1m",
				"INBOUND_DEDUP": "false", "SUBGRAPH_DEDUP": "false; orders=true"},
			check: func(t *testing.T, c *Config) {
				if c.Listen != ":9000" || len(c.Subgraphs["orders"]) != 2 || c.Introspection || c.Limits.MaxDepth != 10 || !c.ExposeQueryPlans ||
					c.Limits.Timeout != 2*time.Second || c.SubgraphTimeouts["orders"] != time.Second || c.SubgraphConnMaxAge != 0 ||
					c.DrainPeriod != 0 || c.SubgraphIdleTimeout != time.Second || !c.OverrideLabels["a"] || c.OverrideLabels["b"] ||
					c.LogLevel.String() != "WARN" || c.PollInterval != time.Minute ||
					!c.DisableInboundDedup || !c.DisableSubgraphDedup || len(c.SubgraphDedup) != 1 || !c.SubgraphDedup["orders"] {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "flags win over the environment",
			args: []string{"--listen", "127.0.0.1:7000", "--subgraph", "books=http://flag/query", "--introspection", "true", "--expose-query-plans", "false",
				"--override-label", "a=off", "--subgraph-timeout", "books=3s", "--subgraph-timeout", "orders=4s",
				"--inbound-dedup=true", "--subgraph-dedup", "orders=false"},
			env: map[string]string{"PORT": "9000", "SUBGRAPHS": "books=http://env/query", "INTROSPECTION": "false", "EXPOSE_QUERY_PLANS": "true",
				"OVERRIDE_LABELS": "a=on;b=on", "SUBGRAPH_TIMEOUTS": "books=1s", "INBOUND_DEDUP": "false", "SUBGRAPH_DEDUP": "false"},
			check: func(t *testing.T, c *Config) {
				if c.Listen != "127.0.0.1:7000" || len(c.Subgraphs) != 1 || c.Subgraphs["books"][0] != "http://flag/query" || !c.Introspection || c.ExposeQueryPlans ||
					len(c.OverrideLabels) != 1 || c.OverrideLabels["a"] || c.SubgraphTimeouts["books"] != 3*time.Second || c.SubgraphTimeouts["orders"] != 4*time.Second ||
					c.DisableInboundDedup || c.DisableSubgraphDedup || len(c.SubgraphDedup) != 1 || c.SubgraphDedup["orders"] {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "an empty flag or variable is no value",
			args: []string{"--listen", "", "--subgraph", "a=http://a"},
			env:  map[string]string{"PORT": " ", "INTROSPECTION": ""},
			check: func(t *testing.T, c *Config) {
				if c.Listen != ":8080" || !c.Introspection {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "config file",
			args: []string{"--config", cfgFile},
			check: func(t *testing.T, c *Config) {
				if len(c.Subgraphs["books"]) != 2 || c.File != cfgFile {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "ROUTER_CONFIG",
			env:  map[string]string{"ROUTER_CONFIG": cfgFile},
			check: func(t *testing.T, c *Config) {
				if len(c.Subgraphs["books"]) != 2 {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "--config wins over ROUTER_CONFIG",
			args: []string{"--config", cfgFile},
			env:  map[string]string{"ROUTER_CONFIG": badFile},
			check: func(t *testing.T, c *Config) {
				if c.File != cfgFile || len(c.Subgraphs["books"]) != 2 {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "a supergraph",
			args: []string{"--supergraph", "x.graphql"},
			check: func(t *testing.T, c *Config) {
				if c.SupergraphFile != "x.graphql" || len(c.Subgraphs) != 0 {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "poll interval 0 keeps the default",
			args: []string{"--subgraph", "a=http://a", "--poll-interval", "0"},
			check: func(t *testing.T, c *Config) {
				if c.PollInterval != 10*time.Second {
					t.Errorf("%v", c.PollInterval)
				}
			},
		},
		{name: "no subgraphs", wantErr: "no subgraphs"},
		{name: "bad subgraph flag", args: []string{"--subgraph", "books"}, wantErr: "name=URL"},
		{name: "bad subgraph variable", env: map[string]string{"SUBGRAPHS": "a=http://a;"}, wantErr: "SUBGRAPHS"},
		{name: "bad port", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"PORT": "http"}, wantErr: "PORT"},
		{name: "bad limit", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"MAX_ALIASES": "-1"}, wantErr: "MAX_ALIASES"},
		{name: "bad duration", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"OPERATION_TIMEOUT": "soon"}, wantErr: "OPERATION_TIMEOUT"},
		{name: "bad poll interval", args: []string{"--subgraph", "a=http://a", "--poll-interval", "-1s"}, wantErr: "--poll-interval"},
		{name: "bad drain period", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"DRAIN_PERIOD": "-1s"}, wantErr: "DRAIN_PERIOD"},
		{name: "bad idle timeout", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"SUBGRAPH_IDLE_TIMEOUT": "0"}, wantErr: "SUBGRAPH_IDLE_TIMEOUT"},
		{name: "bad connection age", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"SUBGRAPH_CONN_MAX_AGE": "-5s"}, wantErr: "SUBGRAPH_CONN_MAX_AGE"},
		{name: "bad subgraph timeout", args: []string{"--subgraph", "a=http://a", "--subgraph-timeout", "a=0s"}, wantErr: "subgraph-timeout"},
		{name: "bad introspection", args: []string{"--subgraph", "a=http://a", "--introspection", "maybe"}, wantErr: "introspection"},
		{name: "bad query plan setting", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"EXPOSE_QUERY_PLANS": "yes please"}, wantErr: "EXPOSE_QUERY_PLANS"},
		{name: "bad override label", args: []string{"--subgraph", "a=http://a", "--override-label", "a=maybe"}, wantErr: "--override-label"},
		{name: "bad inbound dedup", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"INBOUND_DEDUP": "sometimes"}, wantErr: "INBOUND_DEDUP"},
		{name: "bad subgraph dedup", args: []string{"--subgraph", "a=http://a", "--subgraph-dedup", "maybe"}, wantErr: "--subgraph-dedup"},
		{name: "bad subgraph dedup item", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"SUBGRAPH_DEDUP": "orders=perhaps"}, wantErr: "SUBGRAPH_DEDUP"},
		{name: "subgraph dedup with no name", args: []string{"--subgraph", "a=http://a", "--subgraph-dedup", "=false"}, wantErr: "name=BOOL"},
		{name: "bad log level", args: []string{"--subgraph", "a=http://a"}, env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
		{name: "unknown field in the config file", args: []string{"--config", badFile}, wantErr: "unknown field"},
		{name: "missing config file", args: []string{"--subgraph", "a=http://a", "--config", filepath.Join(t.TempDir(), "none.json")}, wantErr: "config file"},
		{name: "stray argument", args: []string{"--subgraph", "a=http://a", "serve"}, wantErr: "unexpected argument"},
		{name: "unknown flag", args: []string{"--subgraph", "a=http://a", "--max-depht", "3"}, wantErr: "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.args, getenv(tc.env), io.Discard)
			if wanterr.Check(t, err, tc.wantErr) {
				return
			}
			tc.check(t, c)
		})
	}
}

// Each setting takes its flag, else its environment variable, else its key
// in the config file, else its default: with every layer from one down
// given a different value, that layer's value wins.
func TestPrecedence(t *testing.T) {
	type layers struct {
		flag, env string // values, "" when the setting has no such layer
		file      any    // the config file's JSON value
	}
	for _, tc := range []struct {
		flag, env string // the setting's names
		give      layers
		get       func(*Config) any
		want      [4]any // by the highest layer given: flag, environment, file, default
	}{
		{flag: "listen", env: "PORT", give: layers{"127.0.0.1:1", "2", 3},
			get: func(c *Config) any { return c.Listen }, want: [4]any{"127.0.0.1:1", ":2", ":3", ":8080"}},
		{flag: "poll-interval", env: "POLL_INTERVAL", give: layers{"1s", "2s", "3s"},
			get: func(c *Config) any { return c.PollInterval }, want: [4]any{time.Second, 2 * time.Second, 3 * time.Second, 10 * time.Second}},
		{flag: "introspection", env: "INTROSPECTION", give: layers{"false", "true", false},
			get: func(c *Config) any { return c.Introspection }, want: [4]any{false, true, false, true}},
		{flag: "subgraph-timeout", env: "SUBGRAPH_TIMEOUTS", give: layers{"a=1s", "a=2s", map[string]string{"a": "3s"}},
			get: func(c *Config) any { return c.SubgraphTimeouts["a"] }, want: [4]any{time.Second, 2 * time.Second, 3 * time.Second, time.Duration(0)}},
		{flag: "inbound-dedup", env: "INBOUND_DEDUP", give: layers{"false", "true", false},
			get: func(c *Config) any { return c.DisableInboundDedup }, want: [4]any{true, false, true, false}},
		{flag: "subgraph-dedup", env: "SUBGRAPH_DEDUP", give: layers{"a=false", "a=true", map[string]string{"a": "false"}},
			get: func(c *Config) any { v, ok := c.SubgraphDedup["a"]; return fmt.Sprint(v, ok) }, want: [4]any{"false true", "true true", "false true", "false false"}},
		{env: "MAX_DEPTH", give: layers{"", "7", 8},
			get: func(c *Config) any { return c.Limits.MaxDepth }, want: [4]any{nil, 7, 8, 25}},
		{env: "DRAIN_PERIOD", give: layers{"", "0", "1s"},
			get: func(c *Config) any { return c.DrainPeriod }, want: [4]any{nil, time.Duration(0), time.Second, 5 * time.Second}},
	} {
		for top, layer := range []string{"flag", "environment", "config file", "default"} {
			if tc.want[top] == nil {
				continue // the setting has no such layer
			}
			name := tc.env
			if tc.flag != "" {
				name = tc.flag
			}
			t.Run(name+"/"+layer, func(t *testing.T) {
				args := []string{"--subgraph", "a=http://a"}
				env := map[string]string{}
				file := map[string]any{}
				if top <= 0 && tc.flag != "" {
					args = append(args, "--"+tc.flag, tc.give.flag)
				}
				if top <= 1 {
					env[tc.env] = tc.give.env
				}
				if top <= 2 {
					file[strings.ToLower(tc.env)] = tc.give.file
				}
				raw, err := json.Marshal(file)
				if err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", writeFile(t, string(raw)))
				c, err := Parse(args, getenv(env), io.Discard)
				if err != nil {
					t.Fatal(err)
				}
				if got := tc.get(c); got != tc.want[top] {
					t.Errorf("got %v, want %v", got, tc.want[top])
				}
			})
		}
	}
}

// The subgraphs come from one source; two are refused, by name.
func TestOneSource(t *testing.T) {
	withSubgraphs := writeFile(t, `{"subgraphs": {"books": ["http://b/query"]}}`)
	withSupergraph := writeFile(t, `{"supergraph_file": "x.graphql"}`)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"flag and file", []string{"--subgraph", "a=http://a", "--config", withSubgraphs}, nil, []string{"--subgraph", `"subgraphs" in ` + withSubgraphs}},
		{"variable and file", []string{"--config", withSubgraphs}, map[string]string{"SUBGRAPHS": "a=http://a"}, []string{"SUBGRAPHS", `"subgraphs" in `}},
		{"flag and supergraph", []string{"--subgraph", "a=http://a", "--supergraph", "x.graphql"}, nil, []string{"--subgraph", "--supergraph"}},
		{"variable and supergraph variable", nil, map[string]string{"SUBGRAPHS": "a=http://a", "SUPERGRAPH_FILE": "x.graphql"}, []string{"SUBGRAPHS", "SUPERGRAPH_FILE"}},
		{"file's subgraphs and supergraph flag", []string{"--config", withSubgraphs, "--supergraph", "x.graphql"}, nil, []string{"--supergraph", `"subgraphs" in `}},
		{"file's supergraph and subgraph flag", []string{"--config", withSupergraph, "--subgraph", "a=http://a"}, nil, []string{"--subgraph", `"supergraph_file" in `}},
		{"supergraph flag and file", []string{"--config", withSupergraph, "--supergraph", "y.graphql"}, nil, []string{"--supergraph", `"supergraph_file" in `}},
		{"sdl and subgraphs", []string{"--sdl", "a=a.graphql"}, map[string]string{"SUBGRAPHS": "a=http://a"}, []string{"SUBGRAPHS", "--sdl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.args, getenv(tc.env), io.Discard)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range append(tc.want, "not several") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not name %s", err, w)
				}
			}
		})
	}
}

// The config file takes every setting with a variable, under its name in
// lower case, as a string, a number, a boolean or, for a list, an array or
// an object.
func TestConfigFile(t *testing.T) {
	path := writeFile(t, `{
		"subgraphs": {"books": ["http://b1/query", "http://b2/query"], "orders": "http://o/query"},
		"port": 9000, "introspection": false, "max_depth": 7, "poll_interval": "1m",
		"subgraph_timeouts": "books=1s;orders=2s", "override_labels": ["a=on", "b=off"], "log_level": "debug",
		"inbound_dedup": false, "subgraph_dedup": {"orders": "false"}
	}`)
	c, err := Parse([]string{"--config", path}, getenv(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Subgraphs["books"]) != 2 || c.Subgraphs["orders"][0] != "http://o/query" || c.Listen != ":9000" || c.Introspection ||
		c.Limits.MaxDepth != 7 || c.PollInterval != time.Minute || c.SubgraphTimeouts["orders"] != 2*time.Second ||
		!c.OverrideLabels["a"] || c.OverrideLabels["b"] || c.LogLevel.String() != "DEBUG" ||
		!c.DisableInboundDedup || c.DisableSubgraphDedup || c.SubgraphDedup["orders"] || len(c.SubgraphDedup) != 1 {
		t.Errorf("%+v", c)
	}
	for content, want := range map[string]string{
		`{"config": "x"}`:                  "unknown field",
		`{"router_config": "x"}`:           "unknown field",
		`{"max_depth": [1]}`:               "want a string, a number or a boolean",
		`{"max_depth": "deep"}`:            `"max_depth" in`,
		`{"subgraphs": {"books": [1]}}`:    "want a string or an array of strings",
		`{"subgraphs": 3, "max_depth": 1}`: "subgraphs",
		`[1]`:                              "config file",
	} {
		if _, err := Parse([]string{"--config", writeFile(t, content)}, getenv(nil), io.Discard); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error mentioning %q", content, err, want)
		}
	}
}

// --help lists every setting with its flag, its variable and its default,
// and every default parses.
func TestUsage(t *testing.T) {
	var help bytes.Buffer
	if _, err := Parse([]string{"--help"}, getenv(nil), &help); !errors.Is(err, ErrUsage) {
		t.Fatalf("--help: %v", err)
	}
	lines := strings.Split(help.String(), "\n")
	for _, s := range table(&Config{}) {
		var found bool
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) == 0 {
				continue
			}
			want := []string{"-", s.env, s.def}
			if s.flag != "" {
				want = []string{"--" + s.flag, s.arg, s.env, s.def}
			}
			if s.env == "" {
				want[len(want)-2] = "-"
			}
			if s.def == "" {
				want = want[:len(want)-1]
			}
			if strings.Join(f, " ") == strings.Join(want, " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("--help has no line for %s:\n%s", s.name(), help.String())
		}
		if s.def != "" {
			if err := s.parse(s.def); err != nil {
				t.Errorf("the default of %s: %v", s.name(), err)
			}
		}
	}
}

// The README documents every flag and variable, with its default.
func TestREADME(t *testing.T) {
	section := repofile.Section(t, "../../README.md", "## The router", "### Federation support")
	for _, s := range table(&Config{}) {
		row := ""
		for _, l := range strings.Split(section, "\n") {
			if (s.flag != "" && strings.HasPrefix(l, "| `--"+s.flag+" ")) || (s.flag == "" && strings.HasPrefix(l, "| | `"+s.env+"`")) {
				row = l
			}
		}
		if row == "" {
			t.Errorf("README.md, The router: no row for %s", s.name())
			continue
		}
		cells := strings.Split(strings.ReplaceAll(row, `\|`, "/"), "|")
		if len(cells) < 5 {
			t.Errorf("README.md: row %q", row)
			continue
		}
		env, def := strings.TrimSpace(cells[2]), strings.Trim(strings.TrimSpace(cells[3]), "`")
		if s.env != "" && !strings.HasPrefix(env, "`"+s.env+"`") {
			t.Errorf("README.md: %s's variable is %s, want %s", s.name(), env, s.env)
		}
		if def != s.def {
			t.Errorf("README.md: %s's default is %q, want %q", s.name(), def, s.def)
		}
	}
}

// What the Kubernetes manifests give the router is a configuration it
// accepts.
func TestManifestEnvironment(t *testing.T) {
	keys, env := repofile.Env(t, "../../kustomize/base/config/router.env")
	known := map[string]bool{}
	for _, s := range table(&Config{}) {
		known[s.env] = true
	}
	for _, k := range keys {
		if !known[k] && !regexp.MustCompile(`^(OTEL_|GO)`).MatchString(k) {
			t.Errorf("router.env sets %s, which the router does not read", k)
		}
	}
	c, err := Parse(nil, getenv(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Subgraphs) != 2 || c.Listen != ":"+env["PORT"] {
		t.Errorf("%+v", c)
	}
}
