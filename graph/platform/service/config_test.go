package service

import (
	"log/slog"
	"strings"
	"testing"
	"time"
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

func TestBool(t *testing.T) {
	for v, want := range map[string]bool{"": false, "true": true, "TRUE": true, "1": true, "on": true, "false": false, "0": false, "no": false} {
		got, err := Bool(env(map[string]string{"X": v}), "X", false)
		if err != nil || got != want {
			t.Errorf("Bool(%q) = %v, %v", v, got, err)
		}
	}
	if _, err := Bool(env(map[string]string{"X": "maybe"}), "X", false); err == nil {
		t.Error("Bool(maybe) accepted")
	}
}
