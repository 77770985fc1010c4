package drain

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"bookstore/graph/platform/httpkit"
)

// server runs httpkit.Serve, draining st, with a handler that answers "ok", or blocks until
// release for /slow.
type server struct {
	addr    string
	st      *State
	cancel  context.CancelFunc
	done    chan error
	release chan struct{}
	started chan struct{}
}

func start(t *testing.T, period time.Duration) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{addr: ln.Addr().String(), st: &State{}, done: make(chan error, 1),
		release: make(chan struct{}), started: make(chan struct{}, 1)}
	h := s.st.Mark(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			s.started <- struct{}{}
			<-s.release
		}
		_, _ = io.WriteString(w, "ok")
	}))
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		s.done <- httpkit.Serve(ctx, &http.Server{Handler: h, ReadHeaderTimeout: time.Second}, ln,
			httpkit.ServeOptions{DrainPeriod: period, OnDrain: s.st.Begin, ShutdownTimeout: 5 * time.Second})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.release:
		default:
			close(s.release)
		}
		<-s.done
	})
	return s
}

// roundTrip writes a GET on conn and reads the answer.
func roundTrip(t *testing.T, conn net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatalf("writing: %v", err)
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
	return res
}

// A connection kept alive from before the drain still serves during it,
// its answer marked; new connections are served too, until the period
// ends; then they are refused, while a request in flight completes.
func TestDrain(t *testing.T) {
	s := start(t, 400*time.Millisecond)
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	if res := roundTrip(t, conn, br, "/"); res.Close || res.Header.Get(Header) != "" {
		t.Fatalf("before the drain: Close %v, %s %q", res.Close, Header, res.Header.Get(Header))
	}
	slow := make(chan error, 1)
	go func() {
		res, err := http.Get("http://" + s.addr + "/slow")
		if err == nil {
			res.Body.Close()
		}
		slow <- err
	}()
	<-s.started
	begun := time.Now()
	s.cancel()
	for !s.st.Draining() {
		time.Sleep(time.Millisecond)
	}
	// The idle connection was not closed: it serves, and is closed after.
	res := roundTrip(t, conn, br, "/")
	if !res.Close || res.Header.Get(Header) != "true" {
		t.Fatalf("during the drain: Close %v, %s %q", res.Close, Header, res.Header.Get(Header))
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("the connection stayed open after Connection: close: %v", err)
	}
	// A new connection is still served.
	fresh, err := http.Get("http://" + s.addr + "/")
	if err != nil {
		t.Fatalf("a new request during the drain: %v", err)
	}
	fresh.Body.Close()
	if fresh.Header.Get(Header) != "true" {
		t.Fatal("a response during the drain is not marked")
	}
	// Past the period: refused, while /slow is still in flight.
	time.Sleep(time.Until(begun.Add(600 * time.Millisecond)))
	if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		t.Fatal("a connection was accepted after the drain period")
	}
	select {
	case err := <-s.done:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(s.release)
	if err := <-slow; err != nil {
		t.Fatalf("the request in flight: %v", err)
	}
	if err := <-s.done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	s.done <- nil // for the cleanup
}

// With no drain period the server stops accepting at once.
func TestNoPeriod(t *testing.T) {
	s := start(t, 0)
	s.cancel()
	if err := <-s.done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	s.done <- nil
	if !s.st.Draining() {
		t.Fatal("not marked draining")
	}
	if _, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		t.Fatal("a connection was accepted after Serve returned")
	}
}

func TestNilStateNeverDrains(t *testing.T) {
	var st *State
	if st.Draining() {
		t.Fatal("a nil State drains")
	}
	rec := &headerRecorder{h: http.Header{}}
	st.Mark(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, &http.Request{})
	if len(rec.h) != 0 {
		t.Fatalf("headers %v", rec.h)
	}
}

type headerRecorder struct{ h http.Header }

func (r *headerRecorder) Header() http.Header         { return r.h }
func (r *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *headerRecorder) WriteHeader(int)             {}
