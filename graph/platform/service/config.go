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

	"bookstore/graph/platform/httpkit"
)

// Config is a subgraph's configuration, read from the environment: see
// settings for each field's variable and default.
type Config struct {
	// Addr is the listen address.
	Addr string
	// DatabaseURL is the service role's postgres:// URL.
	DatabaseURL string
	// AdminToken guards the admin-only operations. Empty means no request
	// is admin.
	AdminToken string
	// MaxConns and MinConns size the pool. PostgreSQL's max_connections
	// bounds the sum over every replica of every service: see README.md,
	// "Connections".
	MaxConns, MinConns int32
	// StatementTimeout bounds one SQL statement on the server: past it
	// PostgreSQL cancels the statement, even when its client has gone.
	StatementTimeout time.Duration
	// RequestTimeout bounds one GraphQL request.
	RequestTimeout time.Duration
	// IdleInTransactionTimeout is PostgreSQL's
	// idle_in_transaction_session_timeout for the service's sessions (0
	// turns it off). The services never wait inside a transaction, so a
	// session idle in one belongs to a replica that hangs (stopped,
	// starved): the server ends it, and the row locks it holds (an order's
	// books) stop blocking the others.
	IdleInTransactionTimeout time.Duration
	// DrainPeriod is how long the service keeps serving after SIGTERM,
	// with /readyz at 503 and every response marked Connection: close,
	// before it stops accepting connections (0 stops at once). See package
	// drain.
	DrainPeriod time.Duration
	// ShutdownTimeout bounds the wait for requests in flight once the
	// service stops accepting, after the drain period.
	ShutdownTimeout time.Duration
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes int64
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
}

// OrdersConfig is the orders subgraph's own configuration, read from the
// environment by its rows of settings.
type OrdersConfig struct {
	// ListPublic lets anyone list orders, for local development; else the
	// list is admin only (the contract).
	ListPublic bool
}

// setting is one environment variable of a subgraph.
type setting struct {
	env string // the variable; LogValue names it in lower case
	def string // its default, parsed as the variable would be; "" for none
	// subgraph, when set, names the one subgraph that reads the variable;
	// the others ignore it.
	subgraph string
	// required, when set, makes an empty variable an error, and shows
	// what a value looks like.
	required string
	// log is how LogValue shows the value.
	log logMode
	field
}

// logMode is how LogValue shows a setting.
type logMode int

const (
	logValue logMode = iota // its value
	logIsSet                // only whether it is set: a secret
	logNever                // not at all: a URL with a password
)

// field parses a variable into a field of Config, and reads it back for
// LogValue.
type field struct {
	// parse sets the field; its error says what the value should be.
	parse func(string) error
	value func() any
}

// ordersSubgraph is the orders subgraph's name in settings.
const ordersSubgraph = "orders-subgraph"

// settings is the subgraphs' table of settings, the one place that names a
// variable or gives its default: the rows every subgraph reads, parsing
// into c, then the orders subgraph's own, parsing into o. The listen
// address's default is the binary's own.
func settings(c *Config, o *OrdersConfig, defaultAddr string) []setting {
	return []setting{
		{env: "ADDR", def: defaultAddr, field: text(&c.Addr)},
		{env: "DATABASE_URL", required: "postgres://user:password@host:5432/db", log: logNever, field: text(&c.DatabaseURL)},
		{env: "ADMIN_TOKEN", log: logIsSet, field: text(&c.AdminToken)},
		{env: "DB_MAX_CONNS", def: "8", field: atLeast(&c.MaxConns, 1)},
		{env: "DB_MIN_CONNS", def: "1", field: atLeast(&c.MinConns, 0)},
		{env: "DB_STATEMENT_TIMEOUT", def: "5s", field: positive(&c.StatementTimeout)},
		{env: "REQUEST_TIMEOUT", def: "15s", field: positive(&c.RequestTimeout)},
		// Well below the router's subgraph timeout (10 s), so that an
		// order blocked by a hung replica's locks still answers in time.
		{env: "DB_IDLE_IN_TRANSACTION_TIMEOUT", def: "5s", field: orZero(&c.IdleInTransactionTimeout, time.Millisecond)},
		{env: "DRAIN_PERIOD", def: "5s", field: orZero(&c.DrainPeriod, 0)},
		{env: "SHUTDOWN_TIMEOUT", def: httpkit.DefaultShutdownTimeout.String(), field: positive(&c.ShutdownTimeout)},
		{env: "MAX_BODY_BYTES", def: "1048576", field: atLeast(&c.MaxBodyBytes, 1024)},
		{env: "LOG_LEVEL", def: "info", field: level(&c.LogLevel)},
		{env: "ORDERS_LIST_PUBLIC", def: "false", subgraph: ordersSubgraph, field: boolean(&o.ListPublic)},
	}
}

// LogValue shows the settings by their variables in lower case, and keeps
// secrets out of logs: the token and the database URL are never printed.
func (c Config) LogValue() slog.Value {
	var attrs []slog.Attr
	for _, s := range settings(&c, &OrdersConfig{}, "") {
		if s.subgraph != "" {
			continue
		}
		key := strings.ToLower(s.env)
		switch s.log {
		case logValue:
			attrs = append(attrs, slog.Any(key, s.value()))
		case logIsSet:
			attrs = append(attrs, slog.Bool(key+"_set", s.value() != ""))
		}
	}
	return slog.GroupValue(attrs...)
}

// FromEnv reads the configuration every subgraph shares through getenv
// (os.Getenv in main); an unset or empty variable takes its default.
func FromEnv(getenv func(string) string, defaultAddr string) (Config, error) {
	var c Config
	errs := readSettings(getenv, settings(&c, &OrdersConfig{}, defaultAddr), "")
	if c.MinConns > c.MaxConns {
		errs = append(errs, fmt.Errorf("DB_MIN_CONNS (%d) is more than DB_MAX_CONNS (%d)", c.MinConns, c.MaxConns))
	}
	return c, errors.Join(errs...)
}

// OrdersFromEnv reads the orders subgraph's own variables through getenv,
// as FromEnv reads the shared ones.
func OrdersFromEnv(getenv func(string) string) (OrdersConfig, error) {
	var o OrdersConfig
	errs := readSettings(getenv, settings(&Config{}, &o, ""), ordersSubgraph)
	return o, errors.Join(errs...)
}

// readSettings parses the variables of the rows that subgraph reads ("":
// the shared rows) through getenv, each into its field, and returns what
// was wrong with them.
func readSettings(getenv func(string) string, rows []setting, subgraph string) []error {
	var errs []error
	for _, s := range rows {
		if s.subgraph != subgraph {
			continue
		}
		v, given := getenv(s.env), true
		if v == "" {
			v, given = s.def, false
		}
		switch {
		case v == "" && s.required != "":
			errs = append(errs, fmt.Errorf("%s is required (%s)", s.env, s.required))
		case v == "":
		case given:
			if err := s.parse(v); err != nil {
				errs = append(errs, fmt.Errorf("%s must be %w, got %q", s.env, err, v))
			}
		default:
			if err := s.parse(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: the default %q: %w", s.env, v, err))
			}
		}
	}
	return errs
}

// The fields of the table.

func text(p *string) field {
	return field{
		parse: func(v string) error { *p = v; return nil },
		value: func() any { return *p },
	}
}

func atLeast[T int32 | int64](p *T, low T) field {
	return field{
		parse: func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || int64(T(n)) != n || T(n) < low {
				return fmt.Errorf("an integer >= %d", low)
			}
			*p = T(n)
			return nil
		},
		value: func() any { return *p },
	}
}

func positive(p *time.Duration) field {
	return field{
		parse: func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return errors.New("a positive duration such as 15s")
			}
			*p = d
			return nil
		},
		value: func() any { return *p },
	}
}

// orZero is a duration of at least low, or 0 (with or without a unit).
func orZero(p *time.Duration, low time.Duration) field {
	return field{
		parse: func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > 0 && d < low {
				if low > 0 {
					return fmt.Errorf("a duration of at least %v such as 5s, or 0", low)
				}
				return errors.New("a duration such as 5s, or 0")
			}
			*p = d
			return nil
		},
		value: func() any { return *p },
	}
}

func level(p *slog.Level) field {
	return field{
		parse: func(v string) error {
			if err := p.UnmarshalText([]byte(v)); err != nil {
				return errors.New("debug, info, warn or error")
			}
			return nil
		},
		value: func() any { return p.String() },
	}
}

// boolean reads "true", "1", "yes" or "on" (any case, spaces around) as
// true, and "false", "0", "no", "off" or a blank value as false.
func boolean(p *bool) field {
	return field{
		parse: func(v string) error {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true", "1", "yes", "on":
				*p = true
			case "false", "0", "no", "off", "":
				*p = false
			default:
				return errors.New("true or false")
			}
			return nil
		},
		value: func() any { return *p },
	}
}
