package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"bookstore/graph/apierror"
	"bookstore/graph/auth"
	"bookstore/graph/platform/drain"
	"bookstore/graph/platform/gqlrun"
	"bookstore/graph/platform/httpkit"
	"bookstore/graph/platform/pgsql"
	"bookstore/graph/platform/telemetry"
	"bookstore/migrations"
)

// NewLogger returns the JSON logger every service writes to stdout.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// OpenPool connects to PostgreSQL. tracer may be nil; tests pass one to
// count statements.
//
// Every connection of the pool is set up for an API's short statements:
//   - statement_timeout (cfg.StatementTimeout): the server cancels a
//     statement that runs longer, whoever waits for it;
//   - a statement whose context ends (its request timed out, or its
//     client went away) is cancelled on the server at once with a cancel
//     request, and the connection serves the next statement (pgx's
//     default closes it, and a new one must be dialled); as a backstop,
//     client_connection_check_interval makes the server notice a client
//     that has gone while a statement runs;
//   - idle_in_transaction_session_timeout ends a transaction left open;
//   - no parallel query: a worker's start-up costs more than the few rows
//     a request reads, and concurrent requests keep the CPUs busy anyway;
//   - no JIT: compiling a plan takes 50-150 ms, far more than any of these
//     statements runs, and a plan's cost can pass jit_above_cost without
//     the statement being slow (enable_seqscan = off alone adds 10^10).
func OpenPool(ctx context.Context, cfg Config, tracer pgx.QueryTracer) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, errors.New("DATABASE_URL does not parse as a postgres:// URL")
	}
	pc.MaxConns, pc.MinConns = cfg.MaxConns, cfg.MinConns
	pc.ConnConfig.Tracer = tracer
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	params := pc.ConnConfig.RuntimeParams
	params["application_name"] = "bookstore"
	if cfg.StatementTimeout > 0 {
		params["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	}
	if cfg.IdleInTransactionTimeout > 0 {
		params["idle_in_transaction_session_timeout"] = strconv.FormatInt(cfg.IdleInTransactionTimeout.Milliseconds(), 10)
	}
	params["client_connection_check_interval"] = "1000"
	params["max_parallel_workers_per_gather"] = "0"
	params["jit"] = "off"
	pc.ConnConfig.BuildContextWatcherHandler = func(conn *pgconn.PgConn) ctxwatch.Handler {
		// The cancel request goes at once; if the server has not answered
		// a second later, the connection is closed (and the pool drops it).
		return &pgconn.CancelRequestContextWatcherHandler{Conn: conn, DeadlineDelay: time.Second}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("opening the database pool: %w", err)
	}
	return pool, nil
}

// Options describe one subgraph service.
type Options struct {
	// Name identifies the service in logs and metrics, e.g. "books-subgraph".
	Name   string
	Config Config
	Logger *slog.Logger
	Pool   *pgxpool.Pool
	// Schema is the subgraph's gqlgen executable schema.
	Schema graphql.ExecutableSchema
	// Middleware, when set, wraps the GraphQL handler (per-request loaders).
	Middleware func(http.Handler) http.Handler
	// Tracer, when set, makes a server span of every /query request,
	// continuing the router's traceparent; nil means no tracing.
	Tracer trace.Tracer
	// Drain, when set, is the server's drain state: while it drains,
	// /readyz answers 503 and every response is marked (see package
	// drain).
	Drain *drain.State
}

// Deps is what a subgraph's build function gets once the pool is open.
type Deps struct {
	Config Config
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Getenv reads the subgraph's own settings.
	Getenv func(string) string
}

// Subgraph is what a build function makes: the schema, and optional
// middleware around its handler.
type Subgraph struct {
	Schema     graphql.ExecutableSchema
	Middleware func(http.Handler) http.Handler
}

// BuildFunc makes a subgraph from its dependencies.
type BuildFunc func(Deps) (Subgraph, error)

// NewHandler returns the service's routes: POST/GET /query (GraphQL),
// /healthz, /readyz and /metrics.
func NewHandler(o Options) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newPoolCollector(o.Pool),
	)
	m := newHTTPMetrics(o.Name)
	reg.MustRegister(m.requests, m.latency)
	gql := handler.New(o.Schema)
	gql.AddTransport(transport.Options{})
	gql.AddTransport(transport.GET{})
	gql.AddTransport(gqlrun.POST{}) // gqlgen's, with a cheaper write of the response
	gql.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	gql.Use(extension.Introspection{}) // also enables _service { sdl } for federation
	gql.AroundOperations(noteOperation)
	// No AroundFields: most leaf fields never reach field middleware (see
	// graph/cmd/generate).
	gql.SetErrorPresenter(presenter(o.Logger))
	gql.SetRecoverFunc(apierror.Recover(o.Logger))

	var inner http.Handler = gql
	if o.Middleware != nil {
		inner = o.Middleware(gql)
	}
	admin := auth.NewAdmin(o.Config.AdminToken)
	query := admin.Middleware(limitBody(o.Config.MaxBodyBytes, jsonTimeout(inner, o.Config.RequestTimeout)))

	mux := http.NewServeMux()
	mux.Handle("/query", m.instrument("/query", telemetry.Middleware(o.Tracer, "/query", checkRequest(query))))
	mux.Handle("GET /healthz", m.instrument("/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})))
	mux.Handle("GET /readyz", m.instrument("/readyz", readyz(o.Pool, o.Drain, o.Logger)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not found: this service serves /query, /healthz, /readyz and /metrics", http.StatusNotFound)
	}))
	return o.Drain.Mark(httpkit.RequestID(requestLog(o.Logger, mux)))
}

// noteOperation tells the metrics and the request's span which operation
// the request runs.
func noteOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	name := oc.OperationName
	if oc.Operation != nil {
		name = oc.Operation.Name
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.SetAttributes(attribute.String("graphql.operation.type", string(oc.Operation.Operation)),
				attribute.String("graphql.operation.name", name))
		}
	}
	telemetry.NoteOperation(ctx, name)
	return next(ctx)
}

// presenter is apierror's presenter, but for an error of a database that
// cannot be reached or is not serving (see pgsql.Unavailable): that is
// SUBGRAPH_UNAVAILABLE, which tells the client to retry (REST: 503),
// where any other uncoded error is INTERNAL_SERVER_ERROR.
func presenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	inner := apierror.Presenter(logger)
	return func(ctx context.Context, err error) *gqlerror.Error {
		if apierror.Code(err) == "" && pgsql.Unavailable(err) {
			logger.WarnContext(ctx, "the database is unavailable", "err", err.Error())
			err = apierror.New(apierror.SubgraphUnavailable, "the service's database is unavailable; retry later", nil)
		}
		return inner(ctx, err)
	}
}

// jsonTimeout bounds a GraphQL request: past timeout its context is
// cancelled (so its SQL is cancelled too) and the client gets 503 with a
// GraphQL error body, SUBGRAPH_UNAVAILABLE: it may retry.
func jsonTimeout(next http.Handler, timeout time.Duration) http.Handler {
	th := http.TimeoutHandler(next, timeout,
		`{"errors":[{"message":"the request took longer than `+timeout.String()+`","extensions":{"code":"SUBGRAPH_UNAVAILABLE"}}],"data":null}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// TimeoutHandler writes its body without a Content-Type; a handler
		// that finishes in time sets its own, which replaces this one.
		w.Header().Set("Content-Type", httpkit.MediaTypeJSON)
		th.ServeHTTP(w, r)
	})
}

// readyz answers 200 once the database answers and its schema is migrated,
// and 503 while it does not, or while the service drains.
func readyz(pool *pgxpool.Pool, st *drain.State, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if st.Draining() {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "not ready: shutting down\n")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		err := migrations.Check(ctx, pool)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err != nil {
			logger.WarnContext(ctx, "not ready", "err", err.Error())
			w.WriteHeader(http.StatusServiceUnavailable)
			if errors.Is(err, migrations.ErrNotMigrated) {
				_, _ = io.WriteString(w, "not ready: "+err.Error()+"\n")
			} else {
				_, _ = io.WriteString(w, "not ready: the database does not answer\n")
			}
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	}
}

// checkRequest refuses methods and content types that GraphQL over HTTP
// does not use, with the contract's BAD_REQUEST code.
func checkRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodOptions:
		case http.MethodPost:
			if !httpkit.HasMediaType(r.Header.Get("Content-Type"), httpkit.MediaTypeJSON) {
				httpkit.WriteGraphQLError(w, httpkit.NewError(http.StatusUnsupportedMediaType, apierror.BadRequest,
					"POST /query needs Content-Type: application/json"))
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			httpkit.WriteGraphQLError(w, httpkit.NewError(http.StatusMethodNotAllowed, apierror.BadRequest, "use GET or POST"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds the request body; reading past it fails.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			httpkit.WriteGraphQLError(w, httpkit.BodyTooLarge(max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

// requestLog logs every request when done, with its X-Request-Id, which
// httpkit.RequestID, around it, sets. Headers are never logged: they may
// carry the admin token.
func requestLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := httpkit.NewRecorder(w)
		next.ServeHTTP(sw, r)
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
			return // probes and scrapes would drown the log
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", r.Header.Get(httpkit.RequestIDHeader)),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.Status()),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

// Serve serves h on ln until ctx is done, then stops gracefully (see
// package drain): it keeps serving for the drain period, unready and
// marking its responses, then stops accepting and lets requests in flight
// finish (up to the shutdown timeout), and returns. h should be
// NewHandler's, given the same st.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cfg Config, st *drain.State, logger *slog.Logger) error {
	return httpkit.Serve(ctx, httpkit.NewServer(h, logger), ln, httpkit.ServeOptions{
		DrainPeriod: cfg.DrainPeriod, OnDrain: st.Begin, ShutdownTimeout: cfg.ShutdownTimeout, Logger: logger})
}

// Main runs a subgraph from the environment until SIGTERM or SIGINT. build
// makes the executable schema once the pool is open. It exits the process
// with status 1 on a configuration or start-up error.
//
// Unless GOGC is set, it collects garbage less often than Go's default
// (GOGC=400): a subgraph's live heap is small (the schema, parsed queries,
// the pool) and its garbage is per request, so collecting less often buys
// CPU for a few MiB. GOGC (and GOMEMLIMIT) still rule when set.
func Main(name, defaultAddr string, build BuildFunc) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := Run(ctx, name, defaultAddr, os.Getenv, os.Stdout, build, nil); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Run is Main without the process: it reads the configuration through
// getenv, logs to stdout, and calls onListen (when not nil) with the bound
// address once it accepts connections. It returns when ctx is done and the
// server has drained.
func Run(ctx context.Context, name, defaultAddr string, getenv func(string) string, stdout io.Writer,
	build BuildFunc, onListen func(addr string)) error {
	cfg, err := FromEnv(getenv, defaultAddr)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := NewLogger(stdout, cfg.LogLevel).With("service", name)
	if cfg.AdminToken == "" {
		logger.Warn("ADMIN_TOKEN is not set: admin-only operations will always answer UNAUTHENTICATED")
	}
	tracing, err := telemetry.FromEnv(ctx, name, getenv)
	if err != nil {
		return fmt.Errorf("configuration: tracing: %w", err)
	}
	defer tracing.Close(logger)
	tracer := tracing.Tracer()
	pool, err := OpenPool(ctx, cfg, telemetry.NewSQLTracer(tracer))
	if err != nil {
		return err
	}
	defer pool.Close()
	sg, err := build(Deps{Config: cfg, Pool: pool, Logger: logger, Getenv: getenv})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "config", cfg)
	if onListen != nil {
		onListen(ln.Addr().String())
	}
	st := &drain.State{}
	h := NewHandler(Options{Name: name, Config: cfg, Logger: logger, Pool: pool, Schema: sg.Schema,
		Middleware: sg.Middleware, Tracer: tracer, Drain: st})
	if err := Serve(ctx, ln, h, cfg, st, logger); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}
