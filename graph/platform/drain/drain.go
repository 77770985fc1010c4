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
// (http.Server.Shutdown). httpkit.Serve runs that sequence, with a
// State's Begin as its drain hook.
//
// A keep-alive connection that stays idle through the whole drain period
// is closed by Shutdown at its end; a client that writes a request onto it
// at that moment gets no answer, and cannot know whether the server saw
// it. A client that retires idle connections sooner than the drain period
// (the router's subgraph client does, after 2 s) never does.
package drain

import (
	"net/http"
	"sync/atomic"
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

// Begin marks the server as draining: httpkit.Serve calls it, as
// ServeOptions.OnDrain, when its context ends.
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
