package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// The client speaks HTTP/1.1 to a replica over keep-alive connections of
// its own, writing the request and reading the answer on the caller's
// goroutine. net/http's Transport hands every request to two goroutines
// per connection (a writer and a reader), and on the router's hot path
// those hand-offs cost more CPU than the rest of the exchange; the request
// and response encoding are still net/http's own (Request.Write and
// ReadResponse).

// maxIdlePerReplica bounds the idle connections kept for one replica.
const maxIdlePerReplica = 512

// longAgo is a deadline in the past: setting it aborts blocked I/O.
var longAgo = time.Unix(1, 0)

// pconn is one keep-alive connection to a replica.
type pconn struct {
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	created  time.Time
	lastUsed time.Time
}

// conns holds one replica's idle connections, most recently used last.
// A connection idle for the client's IdleTimeout is closed instead of
// used: the servers keep idle connections longer (120 s), and a draining
// one keeps them through its drain period, so the router, not the server,
// closes them (see package drain).
type conns struct {
	mu   sync.Mutex
	idle []*pconn
}

// get returns the most recently used idle connection, or nil, closing
// those idle for idleTimeout or more.
func (cs *conns) get(now time.Time, idleTimeout time.Duration) *pconn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for len(cs.idle) > 0 {
		pc := cs.idle[len(cs.idle)-1]
		cs.idle = cs.idle[:len(cs.idle)-1]
		if now.Sub(pc.lastUsed) < idleTimeout {
			return pc
		}
		pc.conn.Close()
	}
	return nil
}

// put keeps pc for the next request, unless it is older than maxAge (when
// maxAge > 0) or the replica has enough idle connections. It closes the
// connections idle for idleTimeout or more (the least recently used come
// first), so that a burst's connections do not outlive it.
func (cs *conns) put(pc *pconn, now time.Time, maxAge, idleTimeout time.Duration) {
	if maxAge > 0 && now.Sub(pc.created) >= maxAge {
		pc.conn.Close()
		return
	}
	pc.lastUsed = now
	var stale []*pconn
	cs.mu.Lock()
	n := 0
	for n < len(cs.idle) && now.Sub(cs.idle[n].lastUsed) >= idleTimeout {
		n++
	}
	if n > 0 {
		stale = append(stale, cs.idle[:n]...)
		cs.idle = append(cs.idle[:0], cs.idle[n:]...)
	}
	if len(cs.idle) < maxIdlePerReplica {
		cs.idle = append(cs.idle, pc)
		pc = nil
	}
	cs.mu.Unlock()
	if pc != nil {
		pc.conn.Close()
	}
	for _, s := range stale {
		s.conn.Close()
	}
}

func (cs *conns) closeAll() {
	cs.mu.Lock()
	idle := cs.idle
	cs.idle = nil
	cs.mu.Unlock()
	for _, pc := range idle {
		pc.conn.Close()
	}
}

// dial opens a connection to the replica (TLS for https).
func (c *Client) dial(ctx context.Context, r *replica) (*pconn, error) {
	var conn net.Conn
	var err error
	if r.url.Scheme == "https" {
		cfg := c.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = r.url.Hostname()
		}
		d := &tls.Dialer{NetDialer: c.dialer, Config: cfg}
		conn, err = d.DialContext(ctx, "tcp", r.addr)
	} else {
		conn, err = c.dialer.DialContext(ctx, "tcp", r.addr)
	}
	if err != nil {
		return nil, err
	}
	return &pconn{conn: conn, br: bufio.NewReaderSize(conn, 16<<10), bw: bufio.NewWriterSize(conn, 8<<10), created: time.Now()}, nil
}

// exchange sends req on one connection and reads the answer's body (up
// to the client's limit). wrote says whether the whole request left; a
// failure before that reached no server.
func (c *Client) exchange(ctx context.Context, r *replica, req *http.Request, body []byte) (resp *http.Response, data []byte, wrote bool, err error) {
	return c.exchangeOn(ctx, r, req, body, r.conns.get(time.Now(), c.idleTimeout))
}

// exchangeOn is exchange on pc, a kept connection, or on a new one when pc
// is nil.
func (c *Client) exchangeOn(ctx context.Context, r *replica, req *http.Request, body []byte, pc *pconn) (resp *http.Response, data []byte, wrote bool, err error) {
	reused := pc != nil
	if !reused {
		if pc, err = c.dial(ctx, r); err != nil {
			return nil, nil, false, err
		}
	}
	stop := context.AfterFunc(ctx, func() { pc.conn.SetDeadline(longAgo) })
	keep := false
	defer func() {
		if !stop() || !keep {
			pc.conn.Close()
			return
		}
		_ = pc.conn.SetDeadline(time.Time{})
		r.conns.put(pc, time.Now(), c.maxConnAge, c.idleTimeout)
	}()
	if d, ok := ctx.Deadline(); ok {
		_ = pc.conn.SetDeadline(d)
	}
	req.Body = newBody(body)
	if err = req.Write(pc.bw); err == nil {
		err = pc.bw.Flush()
	}
	if err != nil {
		if reused && ctx.Err() == nil {
			// A kept connection the server has closed: try a new one,
			// once; the request never got through.
			return c.exchangeOn(ctx, r, req, body, nil)
		}
		return nil, nil, false, fmt.Errorf("writing the request: %w", err)
	}
	resp, err = http.ReadResponse(pc.br, req)
	if err != nil {
		return nil, nil, true, err
	}
	data, err = readBody(resp.Body, resp.ContentLength, c.maxBody)
	resp.Body.Close()
	if err != nil {
		return resp, nil, true, err
	}
	keep = !resp.Close && ctx.Err() == nil
	return resp, data, true, nil
}
