// Package service runs one subgraph process: its configuration, its
// PostgreSQL pool, its HTTP routes (/query, /healthz, /readyz, /metrics),
// JSON logs, and a graceful shutdown on SIGTERM.
package service

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Config is a subgraph's configuration, read from the environment.
type Config struct {
	// Addr is the listen address (ADDR).
	Addr string
	// DatabaseURL is the service role's postgres:// URL (DATABASE_URL).
	DatabaseURL string
	// AdminToken guards the admin-only operations (ADMIN_TOKEN). Empty means
	// no request is admin.
	AdminToken string
	// MaxConns and MinConns size the pool (DB_MAX_CONNS, DB_MIN_CONNS).
	// PostgreSQL's max_connections bounds the sum over every replica of
	// every service: see README.md, "Connections".
	MaxConns, MinConns int32
	// StatementTimeout bounds one SQL statement on the server
	// (DB_STATEMENT_TIMEOUT): past it PostgreSQL cancels the statement,
	// even when its client has gone.
	StatementTimeout time.Duration
	// RequestTimeout bounds one GraphQL request (REQUEST_TIMEOUT).
	RequestTimeout time.Duration
	// IdleInTransactionTimeout is PostgreSQL's
	// idle_in_transaction_session_timeout for the service's sessions
	// (DB_IDLE_IN_TRANSACTION_TIMEOUT; 0 turns it off). The services never
	// wait inside a transaction, so a session idle in one belongs to a
	// replica that hangs (stopped, starved): the server ends it, and the
	// row locks it holds (an order's books) stop blocking the others.
	IdleInTransactionTimeout time.Duration
	// DrainPeriod is how long the service keeps serving after SIGTERM,
	// with /readyz at 503 and every response marked Connection: close,
	// before it stops accepting connections (DRAIN_PERIOD; 0 stops at
	// once). See package drain.
	DrainPeriod time.Duration
	// ShutdownTimeout bounds the wait for requests in flight once the
	// service stops accepting, after the drain period (SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// MaxBodyBytes bounds a request body (MAX_BODY_BYTES).
	MaxBodyBytes int64
	// LogLevel is debug, info, warn or error (LOG_LEVEL).
	LogLevel slog.Level
}

// LogValue keeps secrets out of logs: the token and the database password
// are never printed.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.Bool("admin_token_set", c.AdminToken != ""),
		slog.Int("db_max_conns", int(c.MaxConns)),
		slog.Int("db_min_conns", int(c.MinConns)),
		slog.Duration("db_statement_timeout", c.StatementTimeout),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.Duration("db_idle_in_transaction_timeout", c.IdleInTransactionTimeout),
		slog.Duration("drain_period", c.DrainPeriod),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Int64("max_body_bytes", c.MaxBodyBytes),
	)
}

// FromEnv reads the configuration through getenv (os.Getenv in main).
func FromEnv(getenv func(string) string, defaultAddr string) (Config, error) {
	c := Config{
		Addr:             defaultAddr,
		DatabaseURL:      getenv("DATABASE_URL"),
		AdminToken:       getenv("ADMIN_TOKEN"),
		MaxConns:         8,
		MinConns:         1,
		StatementTimeout: 5 * time.Second,
		RequestTimeout:   15 * time.Second,
		DrainPeriod:      5 * time.Second,
		// Well below the router's subgraph timeout (10 s), so that an
		// order blocked by a hung replica's locks still answers in time.
		IdleInTransactionTimeout: 5 * time.Second,
		ShutdownTimeout:          20 * time.Second,
		MaxBodyBytes:             1 << 20,
		LogLevel:                 slog.LevelInfo,
	}
	if v := getenv("ADDR"); v != "" {
		c.Addr = v
	}
	var errs []error
	if c.DatabaseURL == "" {
		errs = append(errs, errors.New("DATABASE_URL is required (postgres://user:password@host:5432/db)"))
	}
	intVar := func(name string, dst *int32, min int32) {
		if v := getenv(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || int32(n) < min {
				errs = append(errs, fmt.Errorf("%s must be an integer >= %d, got %q", name, min, v))
				return
			}
			*dst = int32(n)
		}
	}
	durVar := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("%s must be a positive duration such as 15s, got %q", name, v))
				return
			}
			*dst = d
		}
	}
	intVar("DB_MAX_CONNS", &c.MaxConns, 1)
	intVar("DB_MIN_CONNS", &c.MinConns, 0)
	durVar("DB_STATEMENT_TIMEOUT", &c.StatementTimeout)
	durVar("REQUEST_TIMEOUT", &c.RequestTimeout)
	durVar("SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	orZero := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if v == "0" {
				d, err = 0, nil
			}
			if err != nil || d < 0 {
				errs = append(errs, fmt.Errorf("%s must be a duration such as 5s, or 0, got %q", name, v))
				return
			}
			*dst = d
		}
	}
	orZero("DRAIN_PERIOD", &c.DrainPeriod)
	orZero("DB_IDLE_IN_TRANSACTION_TIMEOUT", &c.IdleInTransactionTimeout)
	if c.IdleInTransactionTimeout > 0 && c.IdleInTransactionTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("DB_IDLE_IN_TRANSACTION_TIMEOUT must be at least 1ms, got %v", c.IdleInTransactionTimeout))
	}
	if v := getenv("MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1024 {
			errs = append(errs, fmt.Errorf("MAX_BODY_BYTES must be an integer >= 1024, got %q", v))
		} else {
			c.MaxBodyBytes = n
		}
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			errs = append(errs, fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, got %q", v))
		}
	}
	if c.MinConns > c.MaxConns {
		errs = append(errs, fmt.Errorf("DB_MIN_CONNS (%d) is more than DB_MAX_CONNS (%d)", c.MinConns, c.MaxConns))
	}
	return c, errors.Join(errs...)
}

// Bool reads a boolean environment value: "true", "1", "yes" or "on" (any
// case) are true, an empty value is def, anything else is an error.
func Bool(getenv func(string) string, name string, def bool) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(name))); v {
	case "":
		return def, nil
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	default:
		return false, fmt.Errorf("%s must be true or false, got %q", name, v)
	}
}
