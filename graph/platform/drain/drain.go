// Package drain stops an HTTP server without failing a request, for the
// subgraphs and the router alike.
//
// When it is told to stop (SIGTERM), the server first says it is going
// away and keeps serving for a drain period: /readyz answers 503, so that
// a Kubernetes Service (or whatever balances over the server) stops
// sending it new requests, and every response carries Connection: close
// and [Header], so that a client closes the keep-alive connection it
// used (the server closes it after the response) and, if it knows the
// header, sends its next requests elsewhere at once. Only then does the
// server stop accepting connections and wait for the requests in flight
// (http.Server.Shutdown).
//
// A keep-alive connection that stays idle through the whole drain period
// is closed by Shutdown at its end; a client that writes a request onto it
// at that moment gets no answer, and cannot know whether the server saw
// it. A client that retires idle connections sooner than the drain period
// (the router's subgraph client does, after 2 s) never does.
package drain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Header is set, to "true", on every response of a server that is
// draining.
const Header = "Bookstore-Draining"

// State says whether a server is draining. The zero value, and a nil
// *State, is not draining.
type State struct {
	draining atomic.Bool
}

// Draining reports whether the server is draining.
func (s *State) Draining() bool { return s != nil && s.draining.Load() }

// Begin marks the server as draining; Serve calls it when its context ends.
func (s *State) Begin() { s.draining.Store(true) }

// Mark wraps next so that, while draining, every response carries
// Connection: close and Header.
func (s *State) Mark(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Draining() {
			h := w.Header()
			h.Set("Connection", "close")
			h.Set(Header, "true")
		}
		next.ServeHTTP(w, r)
	})
}

// DefaultTimeout is the wait for requests in flight when [Options] gives
// none. The router's and the subgraphs' configurations take it as their
// SHUTDOWN_TIMEOUT default.
const DefaultTimeout = 20 * time.Second

// Options time a drain.
type Options struct {
	// Period is how long the server keeps serving, marked as draining,
	// after its context ends; 0 stops accepting at once.
	Period time.Duration
	// Timeout bounds the wait for the requests still in flight once the
	// server stops accepting (default DefaultTimeout).
	Timeout time.Duration
	// Logger, optional, hears when the drain starts and ends.
	Logger *slog.Logger
}

// Serve serves srv on ln until ctx ends, then drains: it calls st.Begin,
// keeps serving for o.Period, and shuts srv down gracefully. Its handler
// should be wrapped in st.Mark, and its readiness answer 503 while
// st.Draining. It returns nil once srv has stopped, or the error that
// stopped it.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, st *State, o Options) error {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
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
	st.Begin()
	if o.Period > 0 {
		o.Logger.Info("draining: unready, serving on with Connection: close", "period", o.Period)
		t := time.NewTimer(o.Period)
		select {
		case err := <-errc:
			t.Stop()
			return fmt.Errorf("serving HTTP: %w", err)
		case <-t.C:
		}
	}
	o.Logger.Info("shutting down: no new connections; waiting for requests in flight", "timeout", o.Timeout)
	sctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving HTTP: %w", err)
	}
	return nil
}
