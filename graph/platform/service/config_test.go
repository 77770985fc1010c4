package service

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"bookstore/graph/testkit/repofile"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"DATABASE_URL": "postgres://u:pw@h/db", "ADDR": ":9999", "ADMIN_TOKEN": "t0k3n",
		"DB_MAX_CONNS": "20", "DB_MIN_CONNS": "2", "REQUEST_TIMEOUT": "3s", "SHUTDOWN_TIMEOUT": "1m",
		"DRAIN_PERIOD": "2s", "DB_IDLE_IN_TRANSACTION_TIMEOUT": "0", "MAX_BODY_BYTES": "4096", "LOG_LEVEL": "debug",
		"DB_STATEMENT_TIMEOUT": "750ms",
	}), ":4001")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9999" || c.MaxConns != 20 || c.MinConns != 2 || c.RequestTimeout != 3*time.Second ||
		c.ShutdownTimeout != time.Minute || c.DrainPeriod != 2*time.Second || c.IdleInTransactionTimeout != 0 ||
		c.MaxBodyBytes != 4096 || c.LogLevel != slog.LevelDebug || c.StatementTimeout != 750*time.Millisecond {
		t.Fatalf("config %+v", c)
	}
	if v := c.LogValue().String(); strings.Contains(v, "t0k3n") || strings.Contains(v, "pw") {
		t.Fatalf("LogValue leaks a secret: %s", v)
	}
	d, err := FromEnv(env(map[string]string{"DATABASE_URL": "postgres://h/db"}), ":4001")
	if err != nil || d.Addr != ":4001" || d.MaxConns != 8 || d.RequestTimeout != 15*time.Second || d.MaxBodyBytes != 1<<20 ||
		d.StatementTimeout != 5*time.Second || d.DrainPeriod != 5*time.Second || d.IdleInTransactionTimeout != 5*time.Second {
		t.Fatalf("defaults %+v, %v", d, err)
	}
	for _, v := range []string{"0", "0s"} {
		if z, err := FromEnv(env(map[string]string{"DATABASE_URL": "postgres://h/db", "DRAIN_PERIOD": v}), ":4001"); err != nil || z.DrainPeriod != 0 {
			t.Fatalf("DRAIN_PERIOD=%s: %v, %v", v, z.DrainPeriod, err)
		}
	}
}

// Each variable of the table sets its field, and takes its default when
// unset; every variable has a row here.
// settingsRead is what the table's rows set: the shared configuration,
// and the orders subgraph's own.
type settingsRead struct {
	Config
	Orders OrdersConfig
}

// readAll reads every row of the table through getenv.
func readAll(getenv func(string) string) (settingsRead, error) {
	c, err := FromEnv(getenv, ":4001")
	o, oerr := OrdersFromEnv(getenv)
	return settingsRead{c, o}, errors.Join(err, oerr)
}

func TestSettings(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://h/db"}
	rows := map[string]bool{}
	for _, tc := range []struct {
		env, give string
		get       func(settingsRead) any
		def, want any
	}{
		{"ADDR", ":9999", func(c settingsRead) any { return c.Addr }, ":4001", ":9999"},
		{"DATABASE_URL", "postgres://u@x/y", func(c settingsRead) any { return c.DatabaseURL }, "postgres://h/db", "postgres://u@x/y"},
		{"ADMIN_TOKEN", "t", func(c settingsRead) any { return c.AdminToken }, "", "t"},
		{"DB_MAX_CONNS", "20", func(c settingsRead) any { return c.MaxConns }, int32(8), int32(20)},
		{"DB_MIN_CONNS", "0", func(c settingsRead) any { return c.MinConns }, int32(1), int32(0)},
		{"DB_STATEMENT_TIMEOUT", "750ms", func(c settingsRead) any { return c.StatementTimeout }, 5 * time.Second, 750 * time.Millisecond},
		{"REQUEST_TIMEOUT", "3s", func(c settingsRead) any { return c.RequestTimeout }, 15 * time.Second, 3 * time.Second},
		{"DB_IDLE_IN_TRANSACTION_TIMEOUT", "0", func(c settingsRead) any { return c.IdleInTransactionTimeout }, 5 * time.Second, time.Duration(0)},
		{"DRAIN_PERIOD", "0s", func(c settingsRead) any { return c.DrainPeriod }, 5 * time.Second, time.Duration(0)},
		{"SHUTDOWN_TIMEOUT", "1m", func(c settingsRead) any { return c.ShutdownTimeout }, 20 * time.Second, time.Minute},
		{"MAX_BODY_BYTES", "4096", func(c settingsRead) any { return c.MaxBodyBytes }, int64(1 << 20), int64(4096)},
		{"LOG_LEVEL", "DEBUG", func(c settingsRead) any { return c.LogLevel }, slog.LevelInfo, slog.LevelDebug},
		{"ORDERS_LIST_PUBLIC", "yes", func(c settingsRead) any { return c.Orders.ListPublic }, false, true},
	} {
		rows[tc.env] = true
		d, err := readAll(env(base))
		if err != nil || tc.get(d) != tc.def {
			t.Errorf("%s unset: %v (%v), want %v", tc.env, tc.get(d), err, tc.def)
		}
		given := map[string]string{"DATABASE_URL": "postgres://h/db", tc.env: tc.give}
		c, err := readAll(env(given))
		if err != nil || tc.get(c) != tc.want {
			t.Errorf("%s=%s: %v (%v), want %v", tc.env, tc.give, tc.get(c), err, tc.want)
		}
	}
	for _, s := range settings(&Config{}, &OrdersConfig{}, "") {
		if !rows[s.env] {
			t.Errorf("%s has no row in TestSettings", s.env)
		}
	}
}

// The README documents every variable, with its default.
func TestREADME(t *testing.T) {
	section := repofile.Section(t, "../../../README.md", "## Configuration", "### Connections")
	for _, s := range settings(&Config{}, &OrdersConfig{}, "") {
		var row []string
		for _, l := range strings.Split(section, "\n") {
			if strings.HasPrefix(l, "| `"+s.env+"` |") {
				row = strings.Split(l, "|")
			}
		}
		if len(row) < 4 {
			t.Errorf("README.md, Configuration: no row for %s", s.env)
			continue
		}
		if def := strings.Trim(strings.TrimSpace(row[2]), "`"); s.def != "" && def != s.def {
			t.Errorf("README.md: %s's default is %q, want %q", s.env, def, s.def)
		}
	}
}

// The variables the Kubernetes manifests give each subgraph are the ones
// it reads, and accepted.
func TestManifestEnvironment(t *testing.T) {
	for _, name := range []string{"books-subgraph", ordersSubgraph} {
		known := map[string]bool{}
		for _, s := range settings(&Config{}, &OrdersConfig{}, "") {
			known[s.env] = s.subgraph == "" || s.subgraph == name
		}
		keys, vars := repofile.Env(t, "../../../kustomize/base/config/"+name+".env")
		for _, k := range keys {
			if !known[k] && !strings.HasPrefix(k, "OTEL_") {
				t.Errorf("%s.env sets %s, which the subgraph does not read", name, k)
			}
		}
		if _, err := readAll(env(vars)); err != nil {
			t.Errorf("%s.env: %v", name, err)
		}
	}
}

func TestFromEnvRejects(t *testing.T) {
	for name, m := range map[string]map[string]string{
		"no database":       {},
		"pool size":         {"DB_MAX_CONNS": "0"},
		"min over max":      {"DB_MAX_CONNS": "2", "DB_MIN_CONNS": "5"},
		"timeout":           {"REQUEST_TIMEOUT": "soon"},
		"negative timeout":  {"SHUTDOWN_TIMEOUT": "-1s"},
		"statement timeout": {"DB_STATEMENT_TIMEOUT": "0s"},
		"negative drain":    {"DRAIN_PERIOD": "-1s"},
		"drain":             {"DRAIN_PERIOD": "later"},
		"idle transaction":  {"DB_IDLE_IN_TRANSACTION_TIMEOUT": "1us"},
		"body limit":        {"MAX_BODY_BYTES": "12"},
		"log level":         {"LOG_LEVEL": "loud"},
	} {
		if name != "no database" {
			m["DATABASE_URL"] = "postgres://h/db"
		}
		if _, err := FromEnv(env(m), ":1"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// ORDERS_LIST_PUBLIC is a boolean, false unless set.
func TestOrdersFromEnv(t *testing.T) {
	for v, want := range map[string]bool{"": false, " ": false, "true": true, "TRUE": true, "1": true, "on": true, "Yes ": true, "false": false, "0": false, "no": false, "OFF": false} {
		got, err := OrdersFromEnv(env(map[string]string{"ORDERS_LIST_PUBLIC": v}))
		if err != nil || got.ListPublic != want {
			t.Errorf("ORDERS_LIST_PUBLIC=%q: %v, %v", v, got.ListPublic, err)
		}
	}
	if _, err := OrdersFromEnv(env(map[string]string{"ORDERS_LIST_PUBLIC": "maybe"})); err == nil || err.Error() != `ORDERS_LIST_PUBLIC must be true or false, got "maybe"` {
		t.Errorf("ORDERS_LIST_PUBLIC=maybe: %v", err)
	}
}
