package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// balancer stands in for what sits in front of the routers in a
// deployment (a Kubernetes Service): it sends each request to the next
// router whose /readyz answered 200 at its last poll, and polls every
// router every 100 ms, as the endpoints controller drops a pod that is
// not ready.
type balancer struct {
	mu        sync.Mutex
	endpoints []*endpoint
	next      atomic.Uint64
	stop      context.CancelFunc
	done      sync.WaitGroup
	ctx       context.Context
}

// endpoint is one router behind the balancer, with a client of its own:
// keep-alive connections, idle ones closed after a second.
type endpoint struct {
	base   string
	client *http.Client
	ready  atomic.Bool
	stop   context.CancelFunc
}

func newBalancer() *balancer {
	ctx, stop := context.WithCancel(context.Background())
	return &balancer{ctx: ctx, stop: stop}
}

// add puts a router behind the balancer, ready (it was checked).
func (b *balancer) add(base string) {
	ep := &endpoint{base: base, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     time.Second,
			DisableCompression:  true,
		},
	}}
	ep.ready.Store(true)
	ctx, stop := context.WithCancel(b.ctx)
	ep.stop = stop
	b.mu.Lock()
	b.endpoints = append(b.endpoints, ep)
	b.mu.Unlock()
	b.done.Go(func() { ep.poll(ctx) })
}

// remove takes a router out.
func (b *balancer) remove(base string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endpoints = slices.DeleteFunc(b.endpoints, func(ep *endpoint) bool {
		if ep.base == base {
			ep.stop()
			ep.client.CloseIdleConnections()
			return true
		}
		return false
	})
}

func (b *balancer) close() {
	b.stop()
	b.done.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ep := range b.endpoints {
		ep.client.CloseIdleConnections()
	}
}

// pick returns a ready router, or any when none is ready.
func (b *balancer) pick() *endpoint {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ready []*endpoint
	for _, ep := range b.endpoints {
		if ep.ready.Load() {
			ready = append(ready, ep)
		}
	}
	if len(ready) == 0 {
		ready = b.endpoints
	}
	if len(ready) == 0 {
		return nil
	}
	return ready[int(b.next.Add(1)%uint64(len(ready)))]
}

// poll keeps ep.ready up to date until ctx ends.
func (ep *endpoint) poll(ctx context.Context) {
	probe := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ep.base+"/readyz", nil)
		res, err := probe.Do(req)
		ok := err == nil && res.StatusCode == http.StatusOK
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		ep.ready.Store(ok)
	}
}

// kind is a kind of request of the load.
type kind int

const (
	gqlBooks   kind = iota // a federated query: books with unitsSold
	gqlOrder               // a federated query: an order with its books' titles
	restBooks              // GET /books?first=5
	restBook               // GET /books/{id}
	restOrder              // GET /orders/{id}
	placeOrder             // POST /orders with an Idempotency-Key
)

func (k kind) String() string {
	return [...]string{"gql-books", "gql-order", "rest-books", "rest-book", "rest-order", "place-order"}[k]
}

// mixed is the usual mix of requests, as weights: reads of every kind and
// a trickle of orders (1 in 11).
func mixed() []kind {
	return []kind{gqlBooks, gqlBooks, gqlBooks, gqlOrder, gqlOrder, restBooks, restBooks, restBook, restBook, restOrder, placeOrder}
}

// orderHeavy is mostly orders, for the database crash.
func orderHeavy() []kind { return []kind{placeOrder, placeOrder, placeOrder, gqlBooks, restBook} }

// result is one request's outcome.
type result struct {
	kind   kind
	at     time.Duration // when it was sent, from the load's start
	took   time.Duration
	status int    // 0 when no HTTP answer came
	code   string // the error code, or the transport error's kind
	ok     bool
	retry  bool // a placeOrder retried with the same key
	cut    bool // cut short by the end of the load: not counted
}

// failure names a failed result for counting: "503 SUBGRAPH_UNAVAILABLE",
// "200 INTERNAL_SERVER_ERROR" (a GraphQL error), "EOF".
func (r result) failure() string {
	if r.status == 0 {
		return r.code
	}
	return fmt.Sprintf("%d %s", r.status, r.code)
}

// orderRecord is what a client saw of one idempotency key.
type orderRecord struct {
	key      string
	attempts []result
	id       string // of the acknowledged order
	acked    bool
	replayed bool // the acknowledgement was a replay of an earlier attempt's order
	rejected bool // a 4xx: a definitive no
}

// loadConfig shapes a load.
type loadConfig struct {
	workers int
	think   time.Duration // between a worker's requests
	mix     []kind
	// retryFor is how long after the load ends a key still unanswered is
	// retried (default 30 s).
	retryFor time.Duration
}

// loadgen runs a closed-loop load of workers against the balancer and
// records every request.
type loadgen struct {
	lb     *balancer
	cfg    loadConfig
	books  []string
	orders []string // ids of existing orders
	prefix string   // of the idempotency keys and customer e-mails
	start  time.Time
	seq    atomic.Int64

	retries  sync.WaitGroup // orders being retried in the background
	retrying chan struct{}  // a slot per order retried in the background (4 per worker)

	mu      sync.Mutex
	results []result
	keys    map[string]*orderRecord
}

func newLoad(lb *balancer, cfg loadConfig, books, orders []string, prefix string) *loadgen {
	if cfg.retryFor == 0 {
		cfg.retryFor = 30 * time.Second
	}
	return &loadgen{lb: lb, cfg: cfg, books: books, orders: orders, prefix: prefix, keys: map[string]*orderRecord{},
		retrying: make(chan struct{}, 4*max(cfg.workers, 1))}
}

// email is the customer of every order of the load.
func (g *loadgen) email() string { return g.prefix + "@example.com" }

// run sends the load until ctx ends, then finishes the orders in hand
// (retrying them for up to retryFor) and returns.
func (g *loadgen) run(ctx context.Context) {
	g.start = time.Now()
	retryCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		time.AfterFunc(g.cfg.retryFor, cancel)
	})
	defer stop()
	var wg sync.WaitGroup
	for w := range g.cfg.workers {
		rng := newRand(w)
		wg.Go(func() {
			for ctx.Err() == nil {
				k := g.cfg.mix[rng.IntN(len(g.cfg.mix))]
				if k == placeOrder {
					g.order(retryCtx, rng)
				} else {
					g.record(g.query(ctx, k, rng))
				}
				select {
				case <-ctx.Done():
				case <-time.After(g.cfg.think):
				}
			}
		})
	}
	wg.Wait()
	g.retries.Wait()
}

// since returns the time since the load started.
func (g *loadgen) since() time.Duration { return time.Since(g.start) }

func (g *loadgen) record(r result) {
	if r.cut {
		return
	}
	g.mu.Lock()
	g.results = append(g.results, r)
	g.mu.Unlock()
}

// query sends one read.
func (g *loadgen) query(ctx context.Context, k kind, rng *rand.Rand) result {
	book := g.books[rng.IntN(len(g.books))]
	order := g.orders[rng.IntN(len(g.orders))]
	switch k {
	case gqlBooks:
		return g.graphql(ctx, k, `query ChaosBooks { books(first: 5, orderBy: PRICE_ASC) { edges { node { id title stock unitsSold } } } }`, nil)
	case gqlOrder:
		return g.graphql(ctx, k, `query ChaosOrder($id: ID!) { order(id: $id) { id status totalCents items { quantity book { title author } } } }`, map[string]any{"id": order})
	case restBooks:
		return g.rest(ctx, k, http.MethodGet, "/books?first=5&orderBy=NEWEST", nil, nil, nil)
	case restBook:
		return g.rest(ctx, k, http.MethodGet, "/books/"+book, nil, nil, nil)
	default:
		return g.rest(ctx, k, http.MethodGet, "/orders/"+order, nil, nil, nil)
	}
}

// order places one order. After a 5xx or a transport error it retries it
// with the same key, on a goroutine of its own (as a client's background
// retry would) so that the worker goes on with the load, until it is
// answered or retryCtx ends.
func (g *loadgen) order(retryCtx context.Context, rng *rand.Rand) {
	key := fmt.Sprintf("%s-%d", g.prefix, g.seq.Add(1))
	first := rng.IntN(len(g.books))
	second := (first + 1 + rng.IntN(len(g.books)-1)) % len(g.books)
	body, _ := json.Marshal(map[string]any{
		"customerEmail": g.email(),
		"items": []map[string]any{
			{"bookId": g.books[first], "quantity": 1 + rng.IntN(2)},
			{"bookId": g.books[second], "quantity": 1},
		},
	})
	rec := &orderRecord{key: key}
	g.mu.Lock()
	g.keys[key] = rec
	g.mu.Unlock()
	if g.attempt(retryCtx, rec, body, false) {
		return
	}
	retry := func(rng *rand.Rand) {
		backoff := 200 * time.Millisecond
		for {
			// Jittered, doubling up to 2 s, as a polite client backs off.
			wait := backoff/2 + time.Duration(rng.Int64N(int64(backoff)))
			backoff = min(2*backoff, 2*time.Second)
			select {
			case <-retryCtx.Done():
				return
			case <-time.After(wait):
			}
			if g.attempt(retryCtx, rec, body, true) {
				return
			}
		}
	}
	select {
	case g.retrying <- struct{}{}:
		seed := rng.Uint64()
		g.retries.Go(func() {
			defer func() { <-g.retrying }()
			retry(rand.New(rand.NewPCG(seed, 1)))
		})
	default:
		retry(rng) // every slot taken: this worker waits, as a blocked client would
	}
}

// attempt sends one attempt of an order and records it; it reports
// whether the order is answered for good (acknowledged or refused).
func (g *loadgen) attempt(ctx context.Context, rec *orderRecord, body []byte, retry bool) bool {
	var out struct {
		ID string `json:"id"`
	}
	var hdr http.Header
	r := g.rest(ctx, placeOrder, http.MethodPost, "/orders", body, http.Header{"Idempotency-Key": {rec.key}},
		func(status int, h http.Header, raw []byte) {
			hdr = h
			if status == http.StatusCreated {
				_ = json.Unmarshal(raw, &out)
			}
		})
	r.retry = retry
	g.record(r)
	g.mu.Lock()
	defer g.mu.Unlock()
	rec.attempts = append(rec.attempts, r)
	switch {
	case r.status == http.StatusCreated && out.ID != "":
		rec.acked, rec.id = true, out.ID
		rec.replayed = hdr.Get("Idempotent-Replayed") == "true"
	case r.status >= 400 && r.status < 500:
		rec.rejected = true
	}
	return rec.acked || rec.rejected
}

// graphql posts an operation to /graphql; any error in the answer fails it.
func (g *loadgen) graphql(ctx context.Context, k kind, query string, vars map[string]any) result {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return g.send(ctx, k, http.MethodPost, "/graphql", body, http.Header{"Content-Type": {"application/json"}},
		func(status int, _ http.Header, raw []byte) (bool, string) {
			var resp struct {
				Data   json.RawMessage `json:"data"`
				Errors []struct {
					Extensions struct {
						Code string `json:"code"`
					} `json:"extensions"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(raw, &resp); err != nil {
				return false, "not JSON"
			}
			if len(resp.Errors) > 0 {
				return false, resp.Errors[0].Extensions.Code
			}
			return status == http.StatusOK && len(resp.Data) > 0 && string(resp.Data) != "null", ""
		})
}

// rest sends a REST request; a 2xx is a success. inspect, when not nil,
// sees the answer.
func (g *loadgen) rest(ctx context.Context, k kind, method, path string, body []byte, h http.Header,
	inspect func(int, http.Header, []byte)) result {
	if body != nil {
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Content-Type", "application/json")
	}
	return g.send(ctx, k, method, path, body, h, func(status int, hdr http.Header, raw []byte) (bool, string) {
		if inspect != nil {
			inspect(status, hdr, raw)
		}
		if status/100 == 2 {
			return true, ""
		}
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) != nil {
			return false, "not JSON"
		}
		return false, e.Error.Code
	})
}

// send sends one request to a ready router and judges the answer with
// judge. A request cut short because ctx ended is not a failure of the
// stack: it comes back with cut set.
func (g *loadgen) send(ctx context.Context, k kind, method, path string, body []byte, h http.Header,
	judge func(status int, h http.Header, raw []byte) (ok bool, code string)) result {
	r := result{kind: k, at: g.since()}
	start := time.Now()
	ep := g.lb.pick()
	if ep == nil {
		r.code = "no router"
		return r
	}
	req, err := http.NewRequestWithContext(ctx, method, ep.base+path, bytes.NewReader(body))
	if err != nil {
		r.code = err.Error()
		return r
	}
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := ep.client.Do(req)
	if err == nil {
		var raw []byte
		raw, err = io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			r.status = res.StatusCode
			r.ok, r.code = judge(res.StatusCode, res.Header, raw)
			r.took = time.Since(start)
			return r
		}
	}
	r.took = time.Since(start)
	r.code = transportError(err)
	r.cut = ctx.Err() != nil
	return r
}

// transportError names a client error briefly: EOF, reset, refused,
// timeout, or its message.
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	return strings.TrimSpace(err.Error())
}

// snapshot returns the results and order records so far.
func (g *loadgen) snapshot() ([]result, []*orderRecord) {
	g.mu.Lock()
	defer g.mu.Unlock()
	rs := slices.Clone(g.results)
	var recs []*orderRecord
	for _, rec := range g.keys {
		c := *rec
		c.attempts = slices.Clone(rec.attempts)
		recs = append(recs, &c)
	}
	return rs, recs
}

// newRand returns a generator for one worker.
func newRand(seed int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(time.Now().UnixNano())))
}
