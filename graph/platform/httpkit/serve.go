package httpkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// NewServer returns the http.Server every service runs h with: 10 s to
// read a request's header, keep-alive connections closed after 120 s idle,
// and the server's own errors (a TLS handshake, a handler's misuse of the
// ResponseWriter) logged to logger at WARN; nil leaves them to the log
// package.
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	if logger != nil {
		srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	return srv
}

// DefaultShutdownTimeout is the wait for requests in flight when
// [ServeOptions] gives none. The router's and the subgraphs' configurations
// take it as their SHUTDOWN_TIMEOUT default.
const DefaultShutdownTimeout = 20 * time.Second

// ServeOptions time Serve's graceful stop.
type ServeOptions struct {
	// DrainPeriod is how long the server keeps serving after its context
	// ends, before it stops accepting connections; 0 stops accepting at
	// once.
	DrainPeriod time.Duration
	// OnDrain, when set, is called once the context ends, before the drain
	// period: the drain hook, typically a drain.State's Begin, which makes
	// the server unready and marks its responses (see package
	// graph/platform/drain).
	OnDrain func()
	// ShutdownTimeout bounds the wait for the requests still in flight
	// once the server stops accepting (default 20 s).
	ShutdownTimeout time.Duration
	// Logger, optional, hears when the drain and the shutdown start.
	Logger *slog.Logger
}

// Serve serves srv on ln until ctx ends, then stops gracefully: it calls
// o.OnDrain, keeps serving for o.DrainPeriod, then stops accepting and
// waits up to o.ShutdownTimeout for the requests in flight
// (http.Server.Shutdown). It returns nil once srv has stopped so, or the
// error that stopped it: an error of srv.Serve (http.ErrServerClosed when
// srv was closed by someone else), or Shutdown's when requests were still
// in flight at the timeout.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, o ServeOptions) error {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
	}
	if o.OnDrain != nil {
		o.OnDrain()
	}
	if o.DrainPeriod > 0 {
		o.Logger.Info("draining: unready, serving on with Connection: close", "period", o.DrainPeriod)
		t := time.NewTimer(o.DrainPeriod)
		select {
		case err := <-errc:
			t.Stop()
			return fmt.Errorf("serving HTTP: %w", err)
		case <-t.C:
		}
	}
	o.Logger.Info("shutting down: no new connections; waiting for requests in flight", "timeout", o.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving HTTP: %w", err)
	}
	return nil
}
