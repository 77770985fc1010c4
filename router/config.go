package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"bookstore/router/federation/gateway"
	"bookstore/router/server"
)

// config is the router's configuration: flags first, then the environment,
// then defaults.
type config struct {
	server.Config
	// SDLFiles maps subgraph names to schema files: `router compose --sdl`
	// composes them without running subgraphs.
	SDLFiles map[string]string
	LogLevel slog.Level
}

// listFlag collects a repeatable name=value flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// fileConfig is the JSON config file (--config): {"subgraphs": {"books":
// ["http://…/query", …]}}.
type fileConfig struct {
	Subgraphs map[string][]string `json:"subgraphs"`
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var subgraphs, sdls, timeouts, labels listFlag
	listen := fs.String("listen", "", "listen `address` HOST:PORT (default :$PORT, PORT defaults to 8080)")
	fs.Var(&subgraphs, "subgraph", "a subgraph as `name=URL[,URL...]`, one URL per replica (repeatable; env SUBGRAPHS, ';'-separated)")
	fs.Var(&timeouts, "subgraph-timeout", "a subgraph's own request timeout as `name=DURATION`, e.g. books=3s (repeatable; env SUBGRAPH_TIMEOUTS, ';'-separated); others use SUBGRAPH_TIMEOUT")
	fs.Var(&sdls, "sdl", "compose from a schema file instead of a running subgraph: `name=FILE` (repeatable)")
	configFile := fs.String("config", "", "JSON `file` listing the subgraphs: {\"subgraphs\": {\"name\": [\"URL\", ...]}} (env ROUTER_CONFIG)")
	supergraph := fs.String("supergraph", "", "serve a composed supergraph `file` (Apollo join v0.3) instead of composing (env SUPERGRAPH_FILE)")
	poll := fs.Duration("poll-interval", 0, "how often to re-fetch the subgraphs' schemas (env POLL_INTERVAL, default 10s; 0 keeps the default)")
	introspection := fs.String("introspection", "", "serve introspection: true or false (env INTROSPECTION, default true)")
	fs.Var(&labels, "override-label", "force a progressive @override label on or off: `label=on|off` (repeatable; env OVERRIDE_LABELS, ';'-separated); a percent(N) label left out is on for N% of requests, others are off")
	exposePlans := fs.String("expose-query-plans", "", "answer X-Query-Plan: true with the plan in extensions.queryPlan: true or false (env EXPOSE_QUERY_PLANS, default false)")
	if err := fs.Parse(args); err != nil {
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := &config{Config: server.Config{Subgraphs: map[string][]string{}}, SDLFiles: map[string]string{}}
	var errs []error
	c.Listen = *listen
	if c.Listen == "" {
		port := env("PORT", "8080")
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("PORT=%q is not a port number", port))
		}
		c.Listen = ":" + port
	}
	if len(subgraphs) == 0 {
		if v := env("SUBGRAPHS", ""); v != "" {
			subgraphs = strings.Split(v, ";")
		}
	}
	for _, s := range subgraphs {
		name, urls, ok := strings.Cut(strings.TrimSpace(s), "=")
		if !ok || name == "" || urls == "" {
			errs = append(errs, fmt.Errorf("--subgraph %q: want name=URL[,URL...]", s))
			continue
		}
		for _, u := range strings.Split(urls, ",") {
			if u = strings.TrimSpace(u); u != "" {
				c.Subgraphs[name] = append(c.Subgraphs[name], u)
			}
		}
	}
	for _, s := range sdls {
		name, file, ok := strings.Cut(s, "=")
		if !ok || name == "" || file == "" {
			errs = append(errs, fmt.Errorf("--sdl %q: want name=FILE", s))
			continue
		}
		c.SDLFiles[name] = file
	}
	if f := env("ROUTER_CONFIG", *configFile); f != "" {
		var fc fileConfig
		raw, err := os.ReadFile(f)
		if err == nil {
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			err = dec.Decode(&fc)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("config file %s: %w", f, err))
		}
		for name, urls := range fc.Subgraphs {
			c.Subgraphs[name] = append(c.Subgraphs[name], urls...)
		}
	}
	c.SupergraphFile = env("SUPERGRAPH_FILE", *supergraph)
	if *supergraph != "" {
		c.SupergraphFile = *supergraph
	}
	sources := 0
	for _, n := range []int{len(c.Subgraphs), len(c.SDLFiles)} {
		if n > 0 {
			sources++
		}
	}
	if c.SupergraphFile != "" {
		sources++
	}
	switch {
	case sources == 0:
		errs = append(errs, errors.New("no subgraphs: give --subgraph name=URL (or SUBGRAPHS, --config) or --supergraph FILE"))
	case sources > 1:
		errs = append(errs, errors.New("give subgraphs (--subgraph/--config), --sdl files or --supergraph, not several"))
	}

	dur := func(name string, def time.Duration) time.Duration {
		v := env(name, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive duration such as 15s", name, v))
			return def
		}
		return d
	}
	num := func(name string, def int64) int64 {
		v := env(name, "")
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive integer", name, v))
			return def
		}
		return n
	}
	c.PollInterval = *poll
	if c.PollInterval <= 0 {
		c.PollInterval = dur("POLL_INTERVAL", 10*time.Second)
	}
	intro := env("INTROSPECTION", "true")
	if *introspection != "" {
		intro = *introspection
	}
	b, err := strconv.ParseBool(intro)
	if err != nil {
		errs = append(errs, fmt.Errorf("introspection %q is not true or false", intro))
	}
	c.Introspection = b
	plans := env("EXPOSE_QUERY_PLANS", "false")
	if *exposePlans != "" {
		plans = *exposePlans
	}
	if c.ExposeQueryPlans, err = strconv.ParseBool(plans); err != nil {
		errs = append(errs, fmt.Errorf("expose-query-plans %q is not true or false", plans))
	}
	if len(labels) == 0 {
		if v := env("OVERRIDE_LABELS", ""); v != "" {
			labels = listFlag{v}
		}
	}
	if c.OverrideLabels, err = gateway.ParseOverrideLabels(strings.Join(labels, ";")); err != nil {
		errs = append(errs, err)
	}
	c.Limits = gateway.Limits{
		MaxDepth:   int(num("MAX_DEPTH", 25)),
		MaxAliases: int(num("MAX_ALIASES", 100)),
		MaxFields:  int(num("MAX_FIELDS", 2000)),
		MaxTokens:  int(num("MAX_TOKENS", 50_000)),
		Timeout:    dur("OPERATION_TIMEOUT", 15*time.Second),
	}
	c.MaxBodyBytes = num("MAX_BODY_BYTES", 1<<20)
	c.PlanCacheSize = int(num("PLAN_CACHE_SIZE", 1000))
	c.SubgraphTimeout = dur("SUBGRAPH_TIMEOUT", 10*time.Second)
	if v := env("SUBGRAPH_CONN_MAX_AGE", ""); v == "0" {
		c.SubgraphConnMaxAge = 0 // keep connections for as long as they stay idle-fresh
	} else {
		c.SubgraphConnMaxAge = dur("SUBGRAPH_CONN_MAX_AGE", time.Minute)
	}
	if len(timeouts) == 0 {
		if v := env("SUBGRAPH_TIMEOUTS", ""); v != "" {
			timeouts = strings.Split(v, ";")
		}
	}
	for _, t := range timeouts {
		name, d, ok := strings.Cut(strings.TrimSpace(t), "=")
		td, err := time.ParseDuration(d)
		if !ok || name == "" || err != nil || td <= 0 {
			errs = append(errs, fmt.Errorf("--subgraph-timeout %q: want name=DURATION, e.g. books=3s", t))
			continue
		}
		if c.SubgraphTimeouts == nil {
			c.SubgraphTimeouts = map[string]time.Duration{}
		}
		c.SubgraphTimeouts[name] = td
	}
	c.SubgraphIdleTimeout = dur("SUBGRAPH_IDLE_TIMEOUT", 2*time.Second)
	if v := env("DRAIN_PERIOD", ""); v == "0" {
		c.DrainPeriod = 0 // stop accepting at once
	} else {
		c.DrainPeriod = dur("DRAIN_PERIOD", 5*time.Second)
	}
	c.ShutdownTimeout = dur("SHUTDOWN_TIMEOUT", 20*time.Second)
	if err := c.LogLevel.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// names returns the subgraph names in a stable order.
func (c *config) names() []string {
	var out []string
	for n := range c.Subgraphs {
		out = append(out, n)
	}
	for n := range c.SDLFiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
