// Package transport is the router's HTTP client to its subgraphs.
//
// A [Client] sends GraphQL requests to a subgraph's replicas in round-robin
// order over one shared pool of keep-alive connections, and keeps a health
// model of every replica:
//
//   - A failure is a connection that cannot be opened or breaks, a request
//     that gets no answer within [Config.Timeout], or a 5xx (or 408, 429)
//     that is not a GraphQL answer. A replica that fails is skipped for the
//     rest of the request: a query goes on to the next replica, a mutation
//     only when the request surely never reached one. A success resets the
//     replica's count of consecutive failures.
//   - After [Config.EjectAfter] consecutive failures a replica is ejected:
//     requests skip it. A replica that answers with the drain header (it
//     is shutting down; see package drain) is ejected at once, with no
//     failure counted.
//   - An ejected replica is probed, off the request path, once
//     [Config.EjectFor] has passed: a probe ({ __typename }, answered 2xx
//     and not draining) puts it back in rotation with a clean slate, so
//     that a first failure after its return does not eject it again. A
//     failed probe ejects it again for twice as long, up to
//     [Config.MaxEjectFor].
//   - Ejected replicas are the last resort: when every replica in rotation
//     failed a request (or none is in rotation), the request tries the
//     ejected ones too, and one that answers is back in rotation at once.
//     So a replica that has restarted earns its traffic back the moment
//     its partner goes down, without waiting for its probe.
//
// Every attempt and the whole request are bounded by the caller's context
// (the router's operation deadline): a query that timed out on one replica
// is retried on the next only while time remains.
//
// Identical queries in flight at the same time share one request (see
// [Client.Do]): above the replicas and the retries, so that N callers
// asking the same thing cost a subgraph one request, and a failing replica
// one failure, not N.
package transport

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"bookstore/graph/platform/drain"
	"bookstore/graph/platform/httpkit"
	"bookstore/router/federation/internal/inflight"
)

// Defaults for the zero values of [Config].
const (
	DefaultTimeout          = 10 * time.Second
	DefaultDialTimeout      = 2 * time.Second
	DefaultEjectAfter       = 3
	DefaultEjectFor         = time.Second
	DefaultMaxEjectFor      = 30 * time.Second
	DefaultIdleTimeout      = 2 * time.Second
	DefaultMaxResponseBytes = 64 << 20
)

// probeTimeout bounds a probe of an ejected replica (or Timeout, if less).
const probeTimeout = 2 * time.Second

// ErrUnavailable reports that no replica of a subgraph answered. [Client.Do]
// and [Client.FetchSDL] wrap it, together with the last cause, so that
// errors.Is also finds the cause (context.DeadlineExceeded, for instance).
var ErrUnavailable = errors.New("transport: subgraph unavailable")

// ErrResponseTooLarge reports a response body over [Config.MaxResponseBytes].
// Such a response is not retried: every replica would send the same.
var ErrResponseTooLarge = errors.New("transport: response too large")

// Config describes the subgraphs and the client's behaviour. Zero values take
// the defaults; negative durations and limits are an error.
type Config struct {
	// Subgraphs maps a subgraph's name to the URLs of its replicas' GraphQL
	// endpoints, such as http://127.0.0.1:4001/query. Only http and https
	// URLs with a host are accepted.
	Subgraphs map[string][]string
	// Timeout bounds one HTTP request to one replica, reading the response
	// included (default 10s). The caller's context deadline also applies.
	// A request that times out counts as a failure of the replica (the
	// caller's deadline does not), and a query is retried on the next
	// replica within the caller's deadline; a mutation is not.
	Timeout time.Duration
	// Timeouts overrides Timeout for the subgraphs it names.
	Timeouts map[string]time.Duration
	// DialTimeout bounds opening a connection (default 2s, at most Timeout).
	// A dial that times out is a dial failure, so it is retried on the next
	// replica, mutations included.
	DialTimeout time.Duration
	// EjectAfter is the number of consecutive failures that eject a replica
	// (default 3).
	EjectAfter int
	// EjectFor is how long an ejected replica is skipped before it is
	// first probed (default 1s). Each ejection in a row doubles it, up to
	// MaxEjectFor (default 30s); a replica that stays in rotation for
	// MaxEjectFor starts again from EjectFor.
	EjectFor    time.Duration
	MaxEjectFor time.Duration
	// IdleTimeout closes a kept connection idle for that long (default
	// 2s). Keep it below the subgraphs' drain period (see package drain):
	// a connection left idle through a replica's whole drain is closed by
	// the replica at its end, and a request written onto it then is lost.
	IdleTimeout time.Duration
	// MaxConnAge, when positive, retires a connection once it is that old
	// (it finishes its request first). Behind one load-balanced address,
	// such as a Kubernetes ClusterIP Service, the balancer picks a replica
	// per connection: re-dialling spreads the load over replicas that were
	// added since, instead of pinning it to the first ones for good.
	MaxConnAge time.Duration
	// MaxResponseBytes bounds a response body (default 64 MiB); a bigger
	// one is an error wrapping ErrResponseTooLarge.
	MaxResponseBytes int64
	// OnEject, if set, is called once per ejection (a failed probe's
	// included) with the subgraph's name and the replica's URL (its
	// password, if any, redacted). It runs on the request's or the
	// probe's goroutine and must not block.
	OnEject func(subgraph, url string)
	// Now, if set, replaces time.Now for ejection expiry (tests).
	Now func() time.Time
	// TLS, if set, configures https replicas (a private CA, client
	// certificates); by default the system's roots verify them.
	TLS *tls.Config
	// DisableDedup turns off the sharing of identical queries in flight
	// (see Do) for every subgraph but those Dedup turns on.
	DisableDedup bool
	// Dedup turns the sharing on (true) or off (false) for the subgraphs
	// it names, over DisableDedup. A name that is not a subgraph's is an
	// error.
	Dedup map[string]bool
	// OnDedup, if set, is told of every query request of a subgraph that
	// shares: shared is false for one sent to the subgraph, true for one
	// that joined an identical request in flight. It is called as soon as
	// the request has joined, before it waits, on the caller's goroutine,
	// and must not block.
	OnDedup func(subgraph string, shared bool)
}

// Request is one GraphQL request to a subgraph.
type Request struct {
	// Subgraph names the subgraph, a key of Config.Subgraphs.
	Subgraph string
	// Body is the JSON GraphQL request, {"query": ..., "variables": ...}.
	// The client only reads it; the caller must not modify it once Do is
	// called, since the connection may still be writing it when Do returns
	// early with an answer (or an identical request sharing it may still
	// be comparing it).
	Body []byte
	// Mutation marks an operation that must not run twice: it is retried
	// only when the request surely never reached a replica, and never
	// shared with another.
	Mutation bool
	// Header holds headers to send along, already filtered (see Forward);
	// it may be nil. Content-Type and Accept are set by the client. The
	// client only reads it.
	Header http.Header
}

// Response is a replica's answer: a 2xx, or any status with a JSON body (a
// GraphQL error, such as gqlgen's 422 for a document that does not
// validate). The caller parses the GraphQL body.
type Response struct {
	Status int
	// Body is the answer's body. It is read-only: callers whose identical
	// queries shared one request (see Client.Do) share the same bytes, so
	// a caller that wants to change them must copy them first.
	Body    []byte
	Replica string // the URL that answered, its password, if any, redacted
}

// Client sends requests to subgraphs. It is safe for concurrent use.
type Client struct {
	pools        map[string]*pool
	names        []string
	dialer       *net.Dialer
	tls          *tls.Config
	timeout      time.Duration
	ejectAfter   int64
	ejectFor     time.Duration
	maxEjectFor  time.Duration
	idleTimeout  time.Duration
	maxBody      int64
	maxConnAge   time.Duration
	onEject      func(subgraph, url string)
	now          func() time.Time // nil: the monotonic clock
	epoch        time.Time
	jsonValue    []string // shared, read-only header values
	agentValue   []string
	sdlRequest   []byte
	probeRequest []byte
	probes       probes
	// flights shares identical queries in flight; seed hashes them.
	flights *inflight.Group[dedupID, *Response]
	seed    maphash.Seed
}

// probes runs the probes of ejected replicas, each on a goroutine of its
// own, until the client is closed.
type probes struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// pool is one subgraph's replicas.
type pool struct {
	name     string
	timeout  time.Duration
	replicas []*replica
	next     atomic.Uint64 // round-robin counter
	dedup    bool          // identical queries in flight share a request
}

// replica is one URL of a subgraph and its health.
type replica struct {
	url     *url.URL // shared by every request; never modified
	addr    string   // host:port to dial
	display string   // url with its password redacted
	conns   conns    // idle keep-alive connections
	// fails counts consecutive failures.
	fails atomic.Int64
	// ejectedUntil is when an ejected replica is due for a probe, in
	// nanoseconds since the client's epoch (at least 1); 0 means in
	// rotation.
	ejectedUntil atomic.Int64
	// probing is set while a probe of the replica runs.
	probing atomic.Bool
	// mu guards ejections: ejectedUntil changes from 0 and back only
	// under it.
	mu sync.Mutex
	// streak counts the ejections in a row, for the backoff.
	streak int
	// back is when the replica last came back into rotation, since the
	// client's epoch.
	back time.Duration
}

// New validates cfg and returns a client. Subgraph names must be non-empty,
// every subgraph needs at least one replica, and a replica URL must be http
// or https with a host, listed once.
func New(cfg Config) (*Client, error) {
	c := &Client{
		pools:        make(map[string]*pool, len(cfg.Subgraphs)),
		timeout:      cfg.Timeout,
		ejectFor:     cfg.EjectFor,
		maxEjectFor:  cfg.MaxEjectFor,
		idleTimeout:  cfg.IdleTimeout,
		ejectAfter:   int64(cfg.EjectAfter),
		maxBody:      cfg.MaxResponseBytes,
		maxConnAge:   cfg.MaxConnAge,
		onEject:      cfg.OnEject,
		now:          cfg.Now,
		jsonValue:    []string{"application/json"},
		agentValue:   []string{"bookstore-router"},
		sdlRequest:   []byte(`{"query":"query RouterServiceSDL { _service { sdl } }"}`),
		probeRequest: []byte(`{"query":"query RouterHealthProbe { __typename }"}`),
	}
	dialTimeout := cfg.DialTimeout
	if err := cmp.Or(
		negative("Timeout", c.timeout),
		negative("DialTimeout", dialTimeout),
		negative("EjectAfter", c.ejectAfter),
		negative("EjectFor", c.ejectFor),
		negative("MaxEjectFor", c.maxEjectFor),
		negative("IdleTimeout", c.idleTimeout),
		negative("MaxResponseBytes", c.maxBody),
		negative("MaxConnAge", c.maxConnAge),
	); err != nil {
		return nil, err
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if dialTimeout == 0 {
		dialTimeout = DefaultDialTimeout
	}
	dialTimeout = min(dialTimeout, c.timeout)
	if c.ejectAfter == 0 {
		c.ejectAfter = DefaultEjectAfter
	}
	if c.ejectFor == 0 {
		c.ejectFor = DefaultEjectFor
	}
	if c.maxEjectFor == 0 {
		c.maxEjectFor = max(DefaultMaxEjectFor, c.ejectFor)
	}
	if c.maxEjectFor < c.ejectFor {
		return nil, fmt.Errorf("transport: MaxEjectFor %v is less than EjectFor %v", c.maxEjectFor, c.ejectFor)
	}
	if c.idleTimeout == 0 {
		c.idleTimeout = DefaultIdleTimeout
	}
	if c.maxBody == 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	c.epoch = c.clock()
	c.probes.ctx, c.probes.cancel = context.WithCancel(context.Background())

	if len(cfg.Subgraphs) == 0 {
		return nil, errors.New("transport: no subgraphs")
	}
	for name, urls := range cfg.Subgraphs {
		if name == "" {
			return nil, errors.New("transport: empty subgraph name")
		}
		if len(urls) == 0 {
			return nil, fmt.Errorf("transport: subgraph %q: no replica URLs", name)
		}
		p := &pool{name: name, timeout: c.timeout, replicas: make([]*replica, 0, len(urls)), dedup: !cfg.DisableDedup}
		if on, ok := cfg.Dedup[name]; ok {
			p.dedup = on
		}
		if d, ok := cfg.Timeouts[name]; ok {
			if d <= 0 {
				return nil, fmt.Errorf("transport: subgraph %q: timeout %v is not positive", name, d)
			}
			p.timeout = d
		}
		seen := make(map[string]bool, len(urls))
		for i, raw := range urls {
			u, err := parseURL(raw)
			if err != nil {
				return nil, fmt.Errorf("transport: subgraph %q: replica %d: %w", name, i, err)
			}
			key := u.String()
			if seen[key] {
				return nil, fmt.Errorf("transport: subgraph %q: replica %s listed twice", name, u.Redacted())
			}
			seen[key] = true
			addr := u.Host
			if u.Port() == "" {
				port := "80"
				if u.Scheme == "https" {
					port = "443"
				}
				addr = net.JoinHostPort(u.Hostname(), port)
			}
			p.replicas = append(p.replicas, &replica{url: u, addr: addr, display: u.Redacted()})
		}
		c.pools[name] = p
		c.names = append(c.names, name)
	}
	slices.Sort(c.names)
	for name := range cfg.Dedup {
		if c.pools[name] == nil {
			return nil, fmt.Errorf("transport: deduplication set for %q, which is not a subgraph", name)
		}
	}
	c.seed = maphash.MakeSeed()
	var onJoin func(dedupID, bool)
	if cfg.OnDedup != nil {
		onJoin = func(id dedupID, shared bool) { cfg.OnDedup(id.subgraph, shared) }
	}
	c.flights = inflight.New[dedupID, *Response](sameRequest, onJoin)
	c.flights.KeepDeadline = true // a request ends by its first caller's deadline, as alone

	c.dialer = &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		c.tls = cfg.TLS.Clone()
	}
	return c, nil
}

// parseURL parses a replica URL, keeping the URL itself out of the error
// since it may hold a password.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %s: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("URL %s: no host", u.Redacted())
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("URL %s: has a fragment", u.Redacted())
	}
	return u, nil
}

// Subgraphs returns the subgraphs' names, sorted.
func (c *Client) Subgraphs() []string {
	return slices.Clone(c.names)
}

// Close stops the probes of ejected replicas (an ejected replica then
// stays ejected, a last resort only) and closes the client's idle
// connections. Requests still running are not interrupted, and the client
// remains usable.
func (c *Client) Close() {
	c.probes.mu.Lock()
	c.probes.closed = true
	c.probes.mu.Unlock()
	c.probes.cancel()
	c.probes.wg.Wait()
	for _, p := range c.pools {
		for _, r := range p.replicas {
			r.conns.closeAll()
		}
	}
}

// forwarded are the headers of a client's request that the router passes
// on to subgraphs.
var forwarded = [...]string{"Authorization", "Traceparent", "Tracestate", "X-Request-Id"}

// correlation are the forwarded headers that only name a request for logs
// and traces: a subgraph's answer does not depend on them. They are left
// out of the keys of deduplication (see AppendDedupKey): X-Request-Id and
// traceparent differ on every request (the router gives a request without
// an id one of its own), so keying on them would share nothing, and two
// requests that differ only in them get the same answer. Authorization,
// which decides what a subgraph answers, is in the keys, and so is any
// header forwarded later that is not listed here.
var correlation = [...]string{"Traceparent", "Tracestate", "X-Request-Id"}

// Forward returns the headers of a client's request that the router passes
// on to subgraphs: Authorization, Traceparent, Tracestate and X-Request-Id,
// and no other. The result is never nil and shares no slice with in.
func Forward(in http.Header) http.Header {
	out := make(http.Header, len(forwarded))
	for _, k := range forwarded {
		if v := in[k]; len(v) > 0 {
			out[k] = slices.Clone(v)
		}
	}
	return out
}

// isCorrelation reports whether the header named k (canonical) is a
// correlation header.
func isCorrelation(k string) bool {
	return slices.Contains(correlation[:], k)
}

// AppendDedupKey appends to b the headers of h that may change a
// subgraph's answer, every one but the correlation headers (Traceparent,
// Tracestate, X-Request-Id), in a canonical order: two requests that must
// not share an answer, as two users' Authorization, have different keys.
// Header names are taken as they are in h, canonical as Forward makes them.
// The key is self-delimiting: a caller may append more after it.
func AppendDedupKey(b []byte, h http.Header) []byte {
	var one [1]string // most requests have one such header, Authorization, or none
	keys := one[:0]
	for k, v := range h {
		if len(v) > 0 && !isCorrelation(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	// The number of headers, then each string after its length: the key
	// ends where it says, whatever follows, and lengths cost less than
	// quoting.
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		vs := h[k]
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

// dedupID identifies a query request for deduplication: its subgraph, its
// body and the headers AppendDedupKey keys on.
type dedupID struct {
	subgraph string
	body     []byte
	header   http.Header
}

// sameRequest reports whether two requests are identical for
// deduplication.
func sameRequest(a, b dedupID) bool {
	return a.subgraph == b.subgraph && bytes.Equal(a.body, b.body) && sameHeaders(a.header, b.header)
}

// sameHeaders reports whether a and b hold the same headers, correlation
// headers aside.
func sameHeaders(a, b http.Header) bool {
	n := 0
	for k, v := range a {
		if len(v) == 0 || isCorrelation(k) {
			continue
		}
		if !slices.Equal(v, b[k]) {
			return false
		}
		n++
	}
	for k, v := range b {
		if len(v) > 0 && !isCorrelation(k) {
			n--
		}
	}
	return n == 0
}

// hash hashes a request's identity, the same for identical ones: the
// headers are summed, so that their order does not count.
func (c *Client) hash(id dedupID) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(id.subgraph)
	h.WriteByte(0)
	h.Write(id.body)
	sum := h.Sum64()
	for k, v := range id.header {
		if len(v) == 0 || isCorrelation(k) {
			continue
		}
		h.Reset()
		h.WriteString(k)
		for _, x := range v {
			h.WriteByte(0)
			h.WriteString(x)
		}
		sum += h.Sum64()
	}
	return sum
}

// negative is the error for a setting of Config below zero, or nil.
func negative[T int64 | time.Duration](setting string, v T) error {
	if v < 0 {
		return fmt.Errorf("transport: negative %s %v", setting, v)
	}
	return nil
}

// outcome says what Do does after a failed attempt.
type outcome int

const (
	next     outcome = iota // try the next replica
	stop                    // give up: no replica answered
	giveBack                // return the attempt's error as it is
)

// Do sends req to one of its subgraph's replicas and returns the answer.
//
// Replicas are taken in round-robin order, skipping ejected ones. A query
// that fails on a replica (connection refused or reset, no answer within
// the timeout, or a 5xx that is not JSON) is sent to the next, each
// replica at most once; a mutation only when the request surely never
// reached the replica. After a timeout only a replica with no failure
// counted is tried: another slow one would double the wait. When every
// replica in rotation failed otherwise, or none is in rotation, the
// ejected ones are tried last (after a timeout there, Do gives up: they
// are all suspect). When no replica answers, the error wraps
// ErrUnavailable and the last cause.
//
// Two answers are errors that are neither retried nor ErrUnavailable: a body
// over MaxResponseBytes (ErrResponseTooLarge), and a status that is not 2xx,
// 5xx, 408 or 429 without a JSON body (a 404 page, say: a misconfigured URL).
//
// A query (not Mutation) identical to one in flight, the same subgraph,
// body and headers (correlation headers aside: see AppendDedupKey), shares
// its request instead of sending its own, unless deduplication is off for
// the subgraph (Config.DisableDedup, Config.Dedup). Every caller gets the
// same answer, or the same error, each its own Response, with the same
// read-only Body. The caller that sends the request does so on its own
// goroutine, within its own deadline; the request is cancelled only when
// every caller sharing it has given up. A caller that waits for it and
// whose context ends gets at once an error wrapping ErrUnavailable and its
// context's error; one whose context still has time when the request ran
// out of the first caller's sends its own. Sharing sits above the
// replicas and the retries: the callers share the retries too, and a
// failing replica counts one failure, not one per caller.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	p := c.pools[req.Subgraph]
	if p == nil {
		return nil, fmt.Errorf("transport: unknown subgraph %q", req.Subgraph)
	}
	if req.Mutation || !p.dedup {
		return c.send(ctx, p, req)
	}
	id := dedupID{subgraph: req.Subgraph, body: req.Body, header: req.Header}
	resp, err, _ := c.flights.Do(ctx, c.hash(id), id, func(ctx context.Context) (*Response, error) {
		return c.send(ctx, p, req)
	})
	if err != nil {
		if errors.Is(err, inflight.ErrExpired) {
			// The request shared ran out of its first caller's time,
			// not of this one's: send this one's own.
			return c.send(ctx, p, req)
		}
		if cerr := ctx.Err(); cerr != nil && err == cerr {
			// This caller gave up waiting for the shared request.
			return nil, &unavailableError{subgraph: p.name, cause: fmt.Errorf("waiting for an identical request in flight: %w", err)}
		}
		return nil, err
	}
	own := *resp // each caller its own Response; the body is shared
	return &own, nil
}

// send sends req to one of p's replicas (see Do), retrying on the next.
func (c *Client) send(ctx context.Context, p *pool, req Request) (*Response, error) {
	h := c.header(req.Header)
	n := uint64(len(p.replicas))
	start := p.next.Add(1) - 1
	now := time.Duration(-1) // read lazily: only ejected replicas need it
	var tried tried
	var last error
	timedOut := false
	for i := range n {
		r := p.replicas[(start+i)%n]
		if c.ejected(p, r, &now) {
			continue
		}
		if timedOut && r.fails.Load() > 0 {
			// After a timeout, another costs the caller as much again:
			// only a replica failing nothing is worth it.
			continue
		}
		tried.add(int((start + i) % n))
		resp, o, err := c.attempt(ctx, p, r, req.Body, h, req.Mutation, false)
		if err == nil || o != next {
			return resp, p.failure(o, err)
		}
		last = err
		timedOut = errors.Is(err, context.DeadlineExceeded)
	}
	if timedOut {
		// The ejected replicas are no better bets.
		return nil, &unavailableError{subgraph: p.name, cause: last}
	}
	// The last resort: the replicas skipped above, ejected ones.
	for i := range n {
		idx := int((start + i) % n)
		if tried.has(idx) {
			continue
		}
		resp, o, err := c.attempt(ctx, p, p.replicas[idx], req.Body, h, req.Mutation, true)
		if err == nil || o != next {
			return resp, p.failure(o, err)
		}
		last = err
	}
	return nil, &unavailableError{subgraph: p.name, cause: last}
}

// failure is the error send returns after an attempt that ends it: none
// for an answer (err nil), the attempt's own error on giveBack, and the
// subgraph unavailable on stop.
func (p *pool) failure(o outcome, err error) error {
	if err == nil || o == giveBack {
		return err
	}
	return &unavailableError{subgraph: p.name, cause: err}
}

// tried is the set of replicas a Do has tried, by index: a bit mask for
// the first 64, a map past them.
type tried struct {
	low  uint64
	high map[int]bool
}

func (t *tried) add(i int) {
	if i < 64 {
		t.low |= 1 << i
		return
	}
	if t.high == nil {
		t.high = map[int]bool{}
	}
	t.high[i] = true
}

func (t *tried) has(i int) bool {
	if i < 64 {
		return t.low&(1<<i) != 0
	}
	return t.high[i]
}

// header builds the request header shared by a Do's attempts.
func (c *Client) header(fwd http.Header) http.Header {
	h := make(http.Header, 3+len(fwd))
	for k, v := range fwd {
		h[k] = v
	}
	h["Content-Type"] = c.jsonValue
	h["Accept"] = c.jsonValue
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = c.agentValue
	}
	return h
}

// post returns a POST to r with header h and a body of size bytes, bound
// to ctx; exchange writes the body.
func (r *replica) post(ctx context.Context, h http.Header, size int) *http.Request {
	return (&http.Request{
		Method:        http.MethodPost,
		URL:           r.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(size),
		Host:          r.url.Host,
	}).WithContext(ctx)
}

// attempt sends body to one replica. On failure it says whether Do goes on
// to the next replica.
//
// lastResort says that r was tried although ejected: a success puts it
// back in rotation, and a timeout there ends the request.
func (c *Client) attempt(ctx context.Context, p *pool, r *replica, body []byte, h http.Header, mutation, lastResort bool) (*Response, outcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, stop, fmt.Errorf("POST %s: %w", r.display, err)
	}
	actx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	hreq := r.post(actx, h, len(body))

	resp, data, wrote, err := c.exchange(actx, r, hreq, body)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The connection's deadline is the context's, or the context was
		// cancelled: the context's own timer fires at the same moment.
		<-actx.Done()
	}
	if err != nil && resp == nil {
		if cause, o, ok := c.timedOut(ctx, actx, p, r, mutation, lastResort); ok {
			return nil, o, cause
		}
		c.failed(p, r)
		cause := fmt.Errorf("POST %s: %w", r.display, err)
		if !mutation || isDialError(err) || !wrote {
			return nil, next, cause
		}
		return nil, stop, cause
	}
	ct := resp.Header.Get("Content-Type")
	if err != nil {
		if errors.Is(err, ErrResponseTooLarge) {
			return nil, giveBack, fmt.Errorf("subgraph %q: POST %s: %w: over %d bytes", p.name, r.display, ErrResponseTooLarge, c.maxBody)
		}
		if cause, o, ok := c.timedOut(ctx, actx, p, r, mutation, lastResort); ok {
			return nil, o, cause
		}
		// The connection broke mid-answer: the request was received, so
		// only a query may go on.
		c.failed(p, r)
		cause := fmt.Errorf("POST %s: reading response: %w", r.display, err)
		if mutation {
			return nil, stop, cause
		}
		return nil, next, cause
	}
	if resp.StatusCode/100 == 2 || httpkit.IsJSON(ct) {
		if resp.Header.Get(drain.Header) != "" {
			// It answered, and is going away: send it nothing more
			// until a probe finds it back.
			c.eject(p, r, true)
		} else {
			c.succeeded(r, lastResort)
		}
		return &Response{Status: resp.StatusCode, Body: data, Replica: r.display}, next, nil
	}
	// Not JSON and not a success: a proxy's or a server's own error page.
	switch code := resp.StatusCode; {
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		c.failed(p, r)
		cause := fmt.Errorf("POST %s: %s (Content-Type %q)", r.display, resp.Status, ct)
		if mutation {
			return nil, stop, cause
		}
		return nil, next, cause
	default:
		return nil, giveBack, fmt.Errorf("subgraph %q: POST %s: unexpected %s (Content-Type %q)", p.name, r.display, resp.Status, ct)
	}
}

// timedOut reports whether the attempt ended because a context did: the
// caller's, which says nothing about the replica and ends the request, or
// the client's Timeout, which counts as the replica's failure. A query
// that timed out on a replica in rotation goes on to the next; a mutation
// (it may have reached the replica) and a last resort do not.
func (c *Client) timedOut(ctx, actx context.Context, p *pool, r *replica, mutation, lastResort bool) (error, outcome, bool) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("POST %s: %w", r.display, err), stop, true
	}
	if actx.Err() == nil {
		return nil, next, false
	}
	c.failed(p, r)
	cause := fmt.Errorf("POST %s: no answer within %v: %w", r.display, p.timeout, context.DeadlineExceeded)
	if mutation || lastResort {
		return cause, stop, true
	}
	return cause, next, true
}

// isDialError reports whether err is a failure to open a connection, in
// which case no byte of the request was sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// body is a request body over a byte slice: one allocation, no copy.
type body struct{ bytes.Reader }

func newBody(b []byte) *body {
	r := new(body)
	r.Reset(b)
	return r
}

// Close implements io.Closer.
func (*body) Close() error { return nil }

// readBody reads a response body of at most limit bytes. size is the
// Content-Length, or -1 when unknown.
func readBody(r io.Reader, size, limit int64) ([]byte, error) {
	if size > limit {
		return nil, ErrResponseTooLarge
	}
	if size >= 0 {
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, ErrResponseTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// clock returns the current time.
func (c *Client) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// elapsed returns the time since the client's epoch: monotonic with the
// real clock.
func (c *Client) elapsed() time.Duration {
	return c.clock().Sub(c.epoch)
}

// ejected reports whether r is ejected, and starts its probe when one is
// due. *now caches the clock across a Do's replicas; a negative value
// means not read yet.
func (c *Client) ejected(p *pool, r *replica, now *time.Duration) bool {
	until := r.ejectedUntil.Load()
	if until == 0 {
		return false
	}
	if *now < 0 {
		*now = max(c.elapsed(), 0)
	}
	if int64(*now) >= until {
		c.probe(p, r)
	}
	return true
}

// failed counts a failure of r and ejects it at the threshold.
func (c *Client) failed(p *pool, r *replica) {
	if r.fails.Add(1) >= c.ejectAfter {
		c.eject(p, r, false)
	}
}

// eject takes r out of rotation until a probe puts it back, unless it is
// out already. draining says why: a replica shutting down is not failing,
// and its ejection does not lengthen the backoff.
func (c *Client) eject(p *pool, r *replica, draining bool) {
	if r.ejectedUntil.Load() != 0 {
		return
	}
	now := max(c.elapsed(), 0)
	r.mu.Lock()
	if r.ejectedUntil.Load() != 0 {
		r.mu.Unlock()
		return
	}
	if r.streak > 0 && now-r.back >= c.maxEjectFor {
		r.streak = 0 // it stayed in rotation long enough: a fresh start
	}
	if !draining || r.streak == 0 {
		r.streak++
	}
	r.ejectedUntil.Store(int64(now + c.backoff(r.streak)))
	r.mu.Unlock()
	if c.onEject != nil {
		c.onEject(p.name, r.display)
	}
}

// backoff returns how long the streak-th ejection in a row lasts before
// the first probe: EjectFor, doubled per ejection, up to MaxEjectFor.
func (c *Client) backoff(streak int) time.Duration {
	d := c.ejectFor
	for i := 1; i < streak && d < c.maxEjectFor; i++ {
		d *= 2
	}
	return max(min(d, c.maxEjectFor), 1)
}

// reinstate puts r back in rotation with no failures counted.
func (c *Client) reinstate(r *replica) {
	now := max(c.elapsed(), 0)
	r.mu.Lock()
	r.fails.Store(0)
	r.back = now
	r.ejectedUntil.Store(0)
	r.mu.Unlock()
}

// succeeded resets r's count of failures. While r is ejected only a
// success of the last resort counts (and puts it back in rotation): the
// success of a request sent before the ejection says nothing of the
// replica now. It reads before it writes, so that the hot path does not
// bounce a shared cache line between cores.
func (c *Client) succeeded(r *replica, lastResort bool) {
	if r.ejectedUntil.Load() != 0 {
		if lastResort {
			c.reinstate(r)
		}
		return
	}
	if r.fails.Load() != 0 {
		r.fails.Store(0)
	}
}

// probe starts a probe of the ejected replica r on a goroutine of its own,
// unless one runs or the client is closed. A probe that finds r answering
// (2xx, not draining) puts it back in rotation; one that does not ejects
// it again, for longer when r failed (not when it was draining).
func (c *Client) probe(p *pool, r *replica) {
	if !r.probing.CompareAndSwap(false, true) {
		return
	}
	if until := r.ejectedUntil.Load(); until == 0 || max(c.elapsed(), 0) < time.Duration(until) {
		// Another probe settled it since the caller looked.
		r.probing.Store(false)
		return
	}
	c.probes.mu.Lock()
	if c.probes.closed {
		c.probes.mu.Unlock()
		r.probing.Store(false)
		return
	}
	c.probes.wg.Add(1)
	c.probes.mu.Unlock()
	go func() {
		defer c.probes.wg.Done()
		defer r.probing.Store(false)
		ok, draining := c.check(p, r)
		if c.probes.ctx.Err() != nil {
			return // closed meanwhile: no verdict
		}
		if ok {
			c.reinstate(r)
			return
		}
		now := max(c.elapsed(), 0)
		r.mu.Lock()
		if !draining {
			r.streak++
		}
		r.ejectedUntil.Store(int64(now + c.backoff(r.streak)))
		r.mu.Unlock()
		if c.onEject != nil {
			c.onEject(p.name, r.display)
		}
	}()
}

// check sends a probe, { __typename }, to r. ok says it answered 2xx
// without the drain header; draining that it answered with it.
func (c *Client) check(p *pool, r *replica) (ok, draining bool) {
	ctx, cancel := context.WithTimeout(c.probes.ctx, min(p.timeout, probeTimeout))
	defer cancel()
	hreq := r.post(ctx, c.header(nil), len(c.probeRequest))
	resp, _, _, err := c.exchange(ctx, r, hreq, c.probeRequest)
	if err != nil {
		return false, false
	}
	draining = resp.Header.Get(drain.Header) != ""
	return resp.StatusCode/100 == 2 && !draining, draining
}

// unavailableError is Do's error when no replica answered.
type unavailableError struct {
	subgraph string
	cause    error
}

func (e *unavailableError) Error() string {
	return "subgraph " + strconv.Quote(e.subgraph) + ": no replica answered: " + e.cause.Error()
}

// Unwrap returns ErrUnavailable and the last cause.
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }
