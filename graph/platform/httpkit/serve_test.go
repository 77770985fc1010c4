package httpkit_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/graph/platform/httpkit"
)

func TestNewServer(t *testing.T) {
	h := http.NotFoundHandler()
	for _, tc := range []struct {
		name   string
		logger *slog.Logger
		errLog bool
	}{
		{"with a logger", slog.New(slog.DiscardHandler), true},
		{"without", nil, false},
	} {
		srv := httpkit.NewServer(h, tc.logger)
		if srv.ReadHeaderTimeout != 10*time.Second || srv.IdleTimeout != 120*time.Second || srv.Handler == nil ||
			(srv.ErrorLog != nil) != tc.errLog {
			t.Errorf("%s: %+v", tc.name, srv)
		}
	}
}

// The tests of the drain sequence itself, with a drain.State, are
// graph/platform/drain's.
func TestServe(t *testing.T) {
	for _, tc := range []struct {
		name string
		// slow is how long /slow takes, in flight when the context ends.
		slow    time.Duration
		o       httpkit.ServeOptions
		wantErr string
	}{
		{"stops at once", 0, httpkit.ServeOptions{}, ""},
		{"waits for a request in flight", 200 * time.Millisecond, httpkit.ServeOptions{ShutdownTimeout: 5 * time.Second}, ""},
		{"drains first", 0, httpkit.ServeOptions{DrainPeriod: 100 * time.Millisecond}, ""},
		{"a request in flight past the timeout", 2 * time.Second, httpkit.ServeOptions{ShutdownTimeout: 50 * time.Millisecond},
			"shutting down: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			started := make(chan struct{})
			srv := httpkit.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/slow" {
					close(started)
					time.Sleep(tc.slow)
				}
				_, _ = io.WriteString(w, "ok")
			}), nil)
			var drained atomic.Int64 // when OnDrain ran, in ns since the start
			begun := time.Now()
			o := tc.o
			o.OnDrain = func() { drained.Store(int64(time.Since(begun))) }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- httpkit.Serve(ctx, srv, ln, o) }()
			slow := make(chan error, 1)
			if tc.slow > 0 {
				go func() {
					resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
					if err == nil {
						resp.Body.Close()
					}
					slow <- err
				}()
				<-started
			} else {
				resp, err := http.Get("http://" + ln.Addr().String() + "/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				slow <- nil
			}
			begun = time.Now()
			cancel()
			err = <-done
			took := time.Since(begun)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("Serve = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr == "" {
				if err := <-slow; err != nil {
					t.Fatalf("the request in flight: %v", err)
				}
				if took < tc.slow || took < o.DrainPeriod {
					t.Fatalf("Serve returned after %v", took)
				}
			}
			if time.Duration(drained.Load()) <= 0 || time.Duration(drained.Load()) > took {
				t.Fatalf("OnDrain ran at %v; Serve returned at %v", time.Duration(drained.Load()), took)
			}
			if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				c.Close()
				t.Fatal("a connection was accepted after Serve returned")
			}
		})
	}
}

func TestServeError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(net.Listener, *http.Server)
		want    error // nil: any error saying "serving HTTP"
	}{
		{"a closed listener", func(ln net.Listener, _ *http.Server) { ln.Close() }, nil},
		{"the server closed by another", func(_ net.Listener, srv *http.Server) {
			go func() { time.Sleep(50 * time.Millisecond); srv.Close() }()
		}, http.ErrServerClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{}
			tc.prepare(ln, srv)
			err = httpkit.Serve(context.Background(), srv, ln, httpkit.ServeOptions{})
			if err == nil || !strings.Contains(err.Error(), "serving HTTP") || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Serve = %v", err)
			}
		})
	}
}
