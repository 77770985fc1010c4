// Package config is the router binary's configuration: one table holds
// every setting, with its flag, its environment variable, its default, its
// help and its parser, and Parse derives the command line, the environment
// variables, the config file's keys and --help from it.
//
// A setting takes the first value it is given, in this order:
//
//  1. its flag: --poll-interval 30s;
//  2. its environment variable: POLL_INTERVAL=30s;
//  3. the config file named by --config (or ROUTER_CONFIG), a JSON object
//     whose keys are the environment variables in lower case, with the
//     same values: {"poll_interval": "30s"};
//  4. its default.
//
// An empty value is no value. A repeatable setting (--subgraph) takes all
// its items from one layer; layers are never merged.
//
// Where the subgraphs come from is not a matter of precedence: exactly one
// source must give them, --subgraph (or SUBGRAPHS), the config file's
// "subgraphs", --supergraph (or SUPERGRAPH_FILE), the config file's
// "supergraph_file", or --sdl (router compose only). Parse refuses two,
// naming both.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"bookstore/graph/platform/httpkit"
	"bookstore/router/bookstore/rest"
	"bookstore/router/federation/gateway"
	"bookstore/router/federation/transport"
	"bookstore/router/server"
)

// Config is every setting of the router binary.
type Config struct {
	// Config is what server.New takes.
	server.Config
	// File is the config file that was read (--config, ROUTER_CONFIG);
	// empty for none.
	File string
	// SDLFiles maps subgraph names to schema files (--sdl): `router
	// compose` composes them without running subgraphs.
	SDLFiles map[string]string
	// LogLevel is the level of the router's JSON log.
	LogLevel slog.Level
}

// ErrUsage reports a command line the flag package refused (or --help); it
// has already written why, and the usage, to Parse's stderr.
var ErrUsage = errors.New("usage")

// setting is one row of the table.
type setting struct {
	flag string // command-line flag, without dashes; "" for none
	env  string // environment variable, and in lower case the config file's key; "" for none
	arg  string // what a value looks like, for --help
	def  string // default, in the flag's syntax; "" for none
	help string
	// list marks a repeatable flag: each occurrence is an item, and the
	// environment variable holds items separated by ';'.
	list bool
	// source marks a setting that gives the subgraphs (see the package
	// documentation).
	source bool
	// noFile keeps the setting out of the config file.
	noFile bool
	// fromEnv, when set, turns a value of the environment variable (and of
	// the config file) into the flag's syntax.
	fromEnv func(string) (string, error)
	// parse sets the setting from one value, or from one item of a list.
	parse func(string) error
}

// configFlag is the flag of the setting that names the config file.
const configFlag = "config"

// key is the setting's key in the config file, "" when it has none.
func (s *setting) key() string {
	if s.noFile {
		return ""
	}
	return strings.ToLower(s.env)
}

// table returns the settings, each parsing into c. It is the one place
// that names a setting or gives its default.
func table(c *Config) []setting {
	return []setting{
		{flag: configFlag, env: "ROUTER_CONFIG", arg: "FILE", noFile: true, parse: text(&c.File),
			help: `a JSON file of settings, keyed by the environment variables in lower case: {"subgraphs": {"books": ["http://…/query"]}, "max_depth": 10}`},
		{flag: "listen", env: "PORT", arg: "HOST:PORT", def: ":8080", fromEnv: portOnly, parse: text(&c.Listen),
			help: "where to listen; PORT (and the config file's port) gives the port alone, on every interface"},
		{flag: "subgraph", env: "SUBGRAPHS", arg: "name=URL[,URL...]", list: true, source: true, parse: subgraph(c),
			help: "a subgraph and its replicas' GraphQL URLs, one URL per replica"},
		{flag: "supergraph", env: "SUPERGRAPH_FILE", arg: "FILE", source: true, parse: text(&c.SupergraphFile),
			help: "serve a composed supergraph (Apollo join v0.3) instead of composing; each subgraph is reached at the URL it names"},
		{flag: "sdl", arg: "name=FILE", list: true, source: true, parse: sdl(c),
			help: "router compose only: compose a schema file instead of a running subgraph"},
		{flag: "poll-interval", env: "POLL_INTERVAL", arg: "DURATION", def: server.DefaultPollInterval.String(), parse: pollInterval(&c.PollInterval),
			help: "how often to re-fetch the subgraphs' schemas; a changed one is recomposed and swapped in (0: the default)"},
		{flag: "introspection", env: "INTROSPECTION", arg: "BOOL", def: "true", parse: boolean(&c.Introspection),
			help: "serve __schema and __type"},
		{flag: "override-label", env: "OVERRIDE_LABELS", arg: "label=on|off", list: true, parse: overrideLabel(c),
			help: "force a progressive @override label on or off; a percent(N) label left out is on for N% of requests, any other is off"},
		{flag: "expose-query-plans", env: "EXPOSE_QUERY_PLANS", arg: "BOOL", def: "false", parse: boolean(&c.ExposeQueryPlans),
			help: "answer X-Query-Plan: true with the plan in extensions.queryPlan"},
		{env: "MAX_DEPTH", arg: "N", def: strconv.Itoa(gateway.DefaultMaxDepth), parse: positive(&c.Limits.MaxDepth),
			help: "query depth, fragments expanded"},
		{env: "MAX_ALIASES", arg: "N", def: strconv.Itoa(gateway.DefaultMaxAliases), parse: positive(&c.Limits.MaxAliases),
			help: "aliases, fragments expanded"},
		{env: "MAX_FIELDS", arg: "N", def: strconv.Itoa(gateway.DefaultMaxFields), parse: positive(&c.Limits.MaxFields),
			help: "fields, fragments expanded"},
		{env: "MAX_TOKENS", arg: "N", def: strconv.Itoa(gateway.DefaultMaxTokens), parse: positive(&c.Limits.MaxTokens),
			help: "lexer tokens of a document"},
		{env: "MAX_BODY_BYTES", arg: "N", def: strconv.Itoa(rest.DefaultMaxBodyBytes), parse: positive(&c.MaxBodyBytes),
			help: "request body, GraphQL or REST (413 past it)"},
		{env: "OPERATION_TIMEOUT", arg: "DURATION", def: gateway.DefaultTimeout.String(), parse: positiveDuration(&c.Limits.Timeout),
			help: "time for one operation, all its fetches included"},
		{env: "PLAN_CACHE_SIZE", arg: "N", def: strconv.Itoa(gateway.DefaultPlanCacheSize), parse: positive(&c.PlanCacheSize),
			help: "operations whose plans are kept (LRU)"},
		{env: "SUBGRAPH_TIMEOUT", arg: "DURATION", def: transport.DefaultTimeout.String(), parse: positiveDuration(&c.SubgraphTimeout),
			help: "time for one subgraph request"},
		{flag: "subgraph-timeout", env: "SUBGRAPH_TIMEOUTS", arg: "name=DURATION", list: true, parse: subgraphTimeout(c),
			help: "a subgraph's own request timeout, over SUBGRAPH_TIMEOUT"},
		{flag: "inbound-dedup", env: "INBOUND_DEDUP", arg: "BOOL", def: "true", parse: negated(&c.DisableInboundDedup),
			help: "identical client queries in flight together (document, variables, Authorization) share one execution and one response"},
		{flag: "subgraph-dedup", env: "SUBGRAPH_DEDUP", arg: "BOOL|name=BOOL", list: true, def: "true", parse: subgraphDedup(c),
			help: "identical subgraph queries in flight together share one request: true or false for every subgraph, name=BOOL for one, over that"},
		{env: "SUBGRAPH_CONN_MAX_AGE", arg: "DURATION", def: "1m", parse: duration(&c.SubgraphConnMaxAge),
			help: "retire a connection to a subgraph once it is this old (0: never), so that a load balancer in front of replicas spreads requests over new ones"},
		{env: "SUBGRAPH_IDLE_TIMEOUT", arg: "DURATION", def: transport.DefaultIdleTimeout.String(), parse: positiveDuration(&c.SubgraphIdleTimeout),
			help: "close a connection to a subgraph idle this long; keep it below the subgraphs' DRAIN_PERIOD"},
		{env: "DRAIN_PERIOD", arg: "DURATION", def: "5s", parse: duration(&c.DrainPeriod),
			help: "after SIGTERM: unready, serving on with Connection: close, for this long (0: stop accepting at once)"},
		{env: "SHUTDOWN_TIMEOUT", arg: "DURATION", def: httpkit.DefaultShutdownTimeout.String(), parse: positiveDuration(&c.ShutdownTimeout),
			help: "then: no new connections, up to this long for the requests in flight"},
		{env: "LOG_LEVEL", arg: "LEVEL", def: "info", parse: func(v string) error { return c.LogLevel.UnmarshalText([]byte(v)) },
			help: "debug, info, warn or error"},
	}
}

// layer is where a value came from, in order of precedence.
type layer int

const (
	fromFlag layer = iota
	fromEnv
	fromFile
	fromDefault
)

// value is a setting's value as one layer gives it.
type value struct {
	layer layer
	where string // how the user named it: --listen, PORT, "port" in router.json
	items []string
}

// show names one item of the value for a message.
func (v *value) show(item string) string {
	switch v.layer {
	case fromFlag:
		return fmt.Sprintf("%s %q", v.where, item)
	case fromFile:
		return fmt.Sprintf("%s: %q", v.where, item)
	}
	return fmt.Sprintf("%s=%q", v.where, item)
}

// Parse reads the router's settings from args (without the program name),
// the environment through getenv and the config file, in that order of
// precedence, then the defaults. The flag package writes its complaints
// and --help to stderr.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c := &Config{Config: server.Config{Subgraphs: map[string][]string{}}, SDLFiles: map[string]string{}}
	rows := table(c)
	flags := make([]flagValue, len(rows))
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { _ = Usage(stderr) }
	for i, s := range rows {
		if s.flag != "" {
			flags[i].list = s.list
			fs.Var(&flags[i], s.flag, s.help)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, ErrUsage
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	// The command line and the environment, then the file they name.
	given := make([]*value, len(rows))
	for i := range rows {
		given[i] = commandLine(&rows[i], flags[i], getenv)
	}
	var errs []error
	file := make([]*value, len(rows))
	for i := range rows {
		if rows[i].flag == configFlag && given[i] != nil {
			var err error
			if file, err = readFile(rows, given[i].items[0]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for i := range rows {
		s, v := &rows[i], given[i]
		if v == nil {
			v = file[i]
		}
		if v == nil && s.def != "" {
			v = &value{layer: fromDefault, where: "the default of " + s.name(), items: []string{s.def}}
		}
		if v != nil {
			errs = append(errs, set(s, v)...)
		}
	}
	if err := oneSource(rows, given, file); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// name is how messages name the setting: its flag, else its variable.
func (s *setting) name() string {
	if s.flag != "" {
		return "--" + s.flag
	}
	return s.env
}

// commandLine returns the setting's value from its flag, else from its
// environment variable; nil when neither gives one.
func commandLine(s *setting, f flagValue, getenv func(string) string) *value {
	if items := f.items; len(items) > 0 && (s.list || items[0] != "") {
		return &value{layer: fromFlag, where: "--" + s.flag, items: items}
	}
	if s.env == "" {
		return nil
	}
	v := strings.TrimSpace(getenv(s.env))
	if v == "" {
		return nil
	}
	items := []string{v}
	if s.list {
		items = strings.Split(v, ";")
	}
	return &value{layer: fromEnv, where: s.env, items: items}
}

// set parses a setting's value into the Config.
func set(s *setting, v *value) []error {
	var errs []error
	for _, item := range v.items {
		in := item
		if s.fromEnv != nil && (v.layer == fromEnv || v.layer == fromFile) {
			var err error
			if in, err = s.fromEnv(item); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", v.show(item), err))
				continue
			}
		}
		if err := s.parse(in); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v.show(item), err))
		}
	}
	return errs
}

// readFile reads the config file: a JSON object keyed by the settings'
// environment variables in lower case. It returns each setting's value,
// by row.
func readFile(rows []setting, path string) ([]*value, error) {
	out := make([]*value, len(rows))
	raw, err := os.ReadFile(path)
	if err != nil {
		return out, fmt.Errorf("config file: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return out, fmt.Errorf("config file %s: %w", path, err)
	}
	var errs []error
	for key, raw := range obj {
		i := slices.IndexFunc(rows, func(s setting) bool { return s.key() != "" && s.key() == key })
		if i < 0 {
			errs = append(errs, fmt.Errorf("config file %s: unknown field %q", path, key))
			continue
		}
		items, err := fileItems(raw, rows[i].list)
		if err != nil {
			errs = append(errs, fmt.Errorf("config file %s: %q: %w", path, key, err))
			continue
		}
		if len(items) > 0 {
			out[i] = &value{layer: fromFile, where: fmt.Sprintf("%q in %s", key, path), items: items}
		}
	}
	return out, errors.Join(errs...)
}

// fileItems turns a config file's JSON value into the setting's items: a
// string, number or boolean as its text; for a list, a string of items
// separated by ';', an array of strings, or an object whose entries are
// the items name=value (an array value joined with ','), as in
// {"subgraphs": {"books": ["http://b1/query", "http://b2/query"]}}.
func fileItems(raw json.RawMessage, list bool) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if s, ok := v.(string); v == nil || ok && strings.TrimSpace(s) == "" {
		return nil, nil // no value
	}
	if !list {
		switch v.(type) {
		case string, json.Number, bool:
			return []string{strings.TrimSpace(fmt.Sprint(v))}, nil
		}
		return nil, errors.New("want a string, a number or a boolean")
	}
	switch v := v.(type) {
	case string:
		return strings.Split(v, ";"), nil
	case map[string]any:
		var items []string
		for _, k := range slices.Sorted(maps.Keys(v)) {
			vals, ok := strs(v[k])
			if !ok {
				return nil, fmt.Errorf("%q: want a string or an array of strings", k)
			}
			items = append(items, k+"="+strings.Join(vals, ","))
		}
		return items, nil
	}
	if items, ok := strs(v); ok {
		return items, nil
	}
	return nil, errors.New("want a string, an array of strings or an object")
}

// strs reads a JSON string or array of strings.
func strs(v any) ([]string, bool) {
	if s, ok := v.(string); ok {
		return []string{s}, true
	}
	a, ok := v.([]any)
	out := make([]string, len(a))
	for i, x := range a {
		if out[i], ok = x.(string); !ok {
			return nil, false
		}
	}
	return out, ok
}

// oneSource checks that exactly one source gives the subgraphs; a source
// given both on the command line (or in the environment) and in the config
// file counts twice.
func oneSource(rows []setting, given, file []*value) error {
	var from []string
	for i, s := range rows {
		if !s.source {
			continue
		}
		for _, v := range []*value{given[i], file[i]} {
			if v != nil {
				from = append(from, v.where)
			}
		}
	}
	switch len(from) {
	case 0:
		return errors.New("no subgraphs: give --subgraph name=URL (or SUBGRAPHS, or \"subgraphs\" in the --config file) or --supergraph FILE")
	case 1:
		return nil
	}
	return fmt.Errorf("the subgraphs are given by both %s and %s: give one source, not several", strings.Join(from[:len(from)-1], ", "), from[len(from)-1])
}

// Usage writes the router's usage: every setting with its flag, its
// environment variable and its default.
func Usage(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString(`Usage:
  router [flags]            serve
  router compose [flags]    print the client-facing SDL and exit

A setting takes its flag, else its environment variable, else its key in
the config file (--config: the variable in lower case), else its default.
The subgraphs come from exactly one of --subgraph (SUBGRAPHS), the config
file's "subgraphs", --supergraph (SUPERGRAPH_FILE), its "supergraph_file",
or --sdl.

`)
	rows := table(&Config{})
	flags, envs := make([]string, len(rows)), make([]string, len(rows))
	fw, ew := len("flag"), len("environment")
	for i, s := range rows {
		flags[i], envs[i] = "-", "-"
		if s.flag != "" {
			flags[i] = "--" + s.flag + " " + s.arg
		}
		if s.env != "" {
			envs[i] = s.env
		}
		fw, ew = max(fw, len(flags[i])), max(ew, len(envs[i]))
	}
	line := func(f, e, def string) {
		b.WriteString(strings.TrimRight(fmt.Sprintf("  %-*s  %-*s  %s", fw, f, ew, e, def), " ") + "\n")
	}
	line("flag", "environment", "default")
	for i, s := range rows {
		help := s.help
		if s.list {
			help += " (repeatable"
			if s.env != "" {
				help += "; " + s.env + " separates items with ';'"
			}
			help += ")"
		}
		line(flags[i], envs[i], s.def)
		b.WriteString("        " + help + "\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// flagValue records what a flag was given; Parse parses it with the rest.
type flagValue struct {
	list  bool
	items []string
}

func (f *flagValue) String() string { return strings.Join(f.items, " ") }

func (f *flagValue) Set(v string) error {
	if f.list {
		f.items = append(f.items, v)
	} else {
		f.items = []string{v}
	}
	return nil
}

// The parsers of the table.

func text(p *string) func(string) error {
	return func(v string) error { *p = v; return nil }
}

func boolean(p *bool) func(string) error {
	return func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*p = b
		return nil
	}
}

// negated sets *p to the opposite of a boolean: the setting turns on what
// *p turns off.
func negated(p *bool) func(string) error {
	return func(v string) error {
		var on bool
		if err := boolean(&on)(v); err != nil {
			return err
		}
		*p = !on
		return nil
	}
}

func positive[T int | int64](p *T) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || int64(T(n)) != n {
			return errors.New("want a positive integer")
		}
		*p = T(n)
		return nil
	}
}

// duration parses a duration of at least 0; "0" needs no unit.
func duration(p *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return errors.New("want a duration such as 5s, or 0")
		}
		*p = d
		return nil
	}
}

func positiveDuration(p *time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("want a positive duration such as 15s")
		}
		*p = d
		return nil
	}
}

// pollInterval is a positive duration, where 0 keeps the default.
func pollInterval(p *time.Duration) func(string) error {
	return func(v string) error {
		if d, err := time.ParseDuration(v); err == nil && d == 0 {
			*p = server.DefaultPollInterval
			return nil
		}
		return positiveDuration(p)(v)
	}
}

// portOnly turns PORT into a listen address on every interface.
func portOnly(v string) (string, error) {
	if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 65535 {
		return "", errors.New("not a port number")
	}
	return ":" + v, nil
}

// nameValue splits a list item name=value.
func nameValue(v, want string) (string, string, error) {
	name, val, ok := strings.Cut(strings.TrimSpace(v), "=")
	if !ok || name == "" || val == "" {
		return "", "", errors.New("want " + want)
	}
	return name, val, nil
}

func subgraph(c *Config) func(string) error {
	return func(v string) error {
		name, urls, err := nameValue(v, "name=URL[,URL...]")
		if err != nil {
			return err
		}
		for _, u := range strings.Split(urls, ",") {
			if u = strings.TrimSpace(u); u != "" {
				c.Subgraphs[name] = append(c.Subgraphs[name], u)
			}
		}
		return nil
	}
}

func sdl(c *Config) func(string) error {
	return func(v string) error {
		name, file, err := nameValue(v, "name=FILE")
		if err != nil {
			return err
		}
		c.SDLFiles[name] = file
		return nil
	}
}

func subgraphTimeout(c *Config) func(string) error {
	return func(v string) error {
		const want = "name=DURATION, e.g. books=3s"
		name, d, err := nameValue(v, want)
		if err != nil {
			return err
		}
		td, err := time.ParseDuration(d)
		if err != nil || td <= 0 {
			return errors.New("want " + want)
		}
		if c.SubgraphTimeouts == nil {
			c.SubgraphTimeouts = map[string]time.Duration{}
		}
		c.SubgraphTimeouts[name] = td
		return nil
	}
}

// subgraphDedup parses an item of --subgraph-dedup: true or false for
// every subgraph, or name=true|false for one, which wins over that.
func subgraphDedup(c *Config) func(string) error {
	return func(v string) error {
		const want = "want true, false or name=BOOL, e.g. orders=false"
		v = strings.TrimSpace(v)
		if !strings.Contains(v, "=") {
			on, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New(want)
			}
			c.DisableSubgraphDedup = !on
			return nil
		}
		name, b, err := nameValue(v, want)
		if err != nil {
			return err
		}
		on, err := strconv.ParseBool(strings.TrimSpace(b))
		if err != nil {
			return errors.New(want)
		}
		if c.SubgraphDedup == nil {
			c.SubgraphDedup = map[string]bool{}
		}
		c.SubgraphDedup[name] = on
		return nil
	}
}

func overrideLabel(c *Config) func(string) error {
	return func(v string) error {
		labels, err := gateway.ParseOverrideLabels(v)
		if err != nil {
			return err
		}
		if c.OverrideLabels == nil {
			c.OverrideLabels = map[string]bool{}
		}
		for name, on := range labels {
			c.OverrideLabels[name] = on
		}
		return nil
	}
}
