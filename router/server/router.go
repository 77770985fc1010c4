package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"bookstore/graph/platform/drain"
	"bookstore/graph/platform/httpkit"
	"bookstore/graph/platform/telemetry"
	"bookstore/router/bookstore/ide"
	"bookstore/router/bookstore/openapi"
	"bookstore/router/bookstore/rest"
	"bookstore/router/federation/compose"
	"bookstore/router/federation/gateway"
	"bookstore/router/federation/transport"
)

// DefaultPollInterval is how often the router re-fetches the subgraphs'
// schemas when [Config.PollInterval] is zero. The router's configuration
// (package config) takes it as its default too.
const DefaultPollInterval = 10 * time.Second

// Config is what New needs to build a router. The router binary fills it
// from its one table of settings (package config), which also holds the
// binary's defaults; here, zero values take the packages' defaults named
// below, for tests and other library use.
type Config struct {
	// Listen is the HOST:PORT to listen on.
	Listen string
	// Subgraphs maps each subgraph name to its replicas' GraphQL URLs; the
	// router composes their schemas, and polls them every PollInterval.
	Subgraphs map[string][]string
	// SupergraphFile, instead, serves a composed supergraph (join v0.3),
	// reaching each subgraph at the URL it names.
	SupergraphFile string
	// PollInterval is how often the subgraphs' schemas are re-fetched
	// (default DefaultPollInterval).
	PollInterval time.Duration
	// Introspection serves __schema and __type.
	Introspection bool
	// Limits bound one operation (see gateway.Limits for the defaults).
	Limits gateway.Limits
	// MaxBodyBytes limits a request body, GraphQL or REST (default
	// rest.DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// PlanCacheSize is the number of operations whose plans are kept
	// (default gateway.DefaultPlanCacheSize).
	PlanCacheSize int
	// SubgraphTimeout bounds one request to a subgraph (default
	// transport.DefaultTimeout).
	SubgraphTimeout time.Duration
	// SubgraphTimeouts overrides SubgraphTimeout per subgraph.
	SubgraphTimeouts map[string]time.Duration
	// SubgraphConnMaxAge retires a connection to a subgraph once it is that
	// old (0: never), so that a load balancer in front of several replicas
	// (a Kubernetes Service) spreads requests over replicas added since.
	SubgraphConnMaxAge time.Duration
	// SubgraphIdleTimeout closes a connection to a subgraph idle that long
	// (default transport.DefaultIdleTimeout). Keep it below the subgraphs'
	// drain period: a connection idle through a replica's whole drain is
	// closed by it, and a request written onto it then could be lost.
	SubgraphIdleTimeout time.Duration
	// DrainPeriod is how long the router keeps serving after it is told to
	// stop, unready and marking its responses Connection: close, before
	// it stops accepting connections (see package drain); 0 stops at once.
	DrainPeriod time.Duration
	// ShutdownTimeout bounds the wait for requests in flight once the
	// router stops accepting (default httpkit.DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// ExposeQueryPlans answers a request's X-Query-Plan: true with its
	// plan in extensions.queryPlan. For development: the plan shows the
	// subgraphs' operations.
	ExposeQueryPlans bool
	// OverrideLabels forces progressive @override labels on or off (see
	// gateway.Options.OverrideLabels).
	OverrideLabels map[string]bool
	// DisableInboundDedup runs every client query on its own, even when an
	// identical one is executing (see gateway.Gateway.Do).
	DisableInboundDedup bool
	// DisableSubgraphDedup sends every subgraph query, even when an
	// identical one is in flight (see transport.Client.Do), to every
	// subgraph but those SubgraphDedup turns on; SubgraphDedup turns the
	// sharing on (true) or off (false) for the subgraphs it names.
	DisableSubgraphDedup bool
	SubgraphDedup        map[string]bool
	// TracerProvider, when set, traces requests (see package telemetry);
	// nil turns tracing off, at no cost.
	TracerProvider trace.TracerProvider
}

// Router is a configured router: its gateway, its HTTP handler and the
// composition loop.
type Router struct {
	Gateway *gateway.Gateway
	Handler http.Handler
	cfg     Config
	logger  *slog.Logger
	client  *transport.Client
	stop    context.CancelFunc
	wg      sync.WaitGroup
	drain   *drain.State
}

// LoadSupergraphFile reads a supergraph SDL file (join v0.3).
func LoadSupergraphFile(path string) (*compose.Supergraph, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the supergraph: %w", err)
	}
	return compose.ParseSupergraph(string(raw))
}

// New builds a router. With subgraph URLs it starts composing in the
// background (Ready reports when it has); with a supergraph file it is ready
// at once. Close stops it.
func New(cfg Config, logger *slog.Logger) (*Router, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := newMetrics()
	var fixed *compose.Supergraph
	subgraphs := cfg.Subgraphs
	if cfg.SupergraphFile != "" {
		sg, err := LoadSupergraphFile(cfg.SupergraphFile)
		if err != nil {
			return nil, err
		}
		fixed, subgraphs = sg, map[string][]string{}
		for _, g := range sg.Graphs {
			if g.URL == "" {
				return nil, fmt.Errorf("the supergraph gives subgraph %q no URL", g.Name)
			}
			subgraphs[g.Name] = []string{g.URL}
		}
	}
	if len(subgraphs) == 0 {
		return nil, errors.New("no subgraphs are configured")
	}
	client, err := transport.New(transport.Config{
		Subgraphs: subgraphs, Timeout: cfg.SubgraphTimeout, Timeouts: cfg.SubgraphTimeouts,
		MaxConnAge: cfg.SubgraphConnMaxAge, IdleTimeout: cfg.SubgraphIdleTimeout, OnEject: m.ejected,
		DisableDedup: cfg.DisableSubgraphDedup, Dedup: cfg.SubgraphDedup, OnDedup: m.subgraphShared,
	})
	if err != nil {
		return nil, err
	}
	m.subgraphs(client.Subgraphs())
	var tracer trace.Tracer
	if cfg.TracerProvider != nil {
		tracer = cfg.TracerProvider.Tracer(telemetry.ScopeName)
	}
	gw := gateway.New(gateway.Options{
		Limits: cfg.Limits, Introspection: cfg.Introspection, PlanCacheSize: cfg.PlanCacheSize,
		Fetcher: transport.Fetcher{Client: client}, Logger: logger, OnFetch: m.fetched, OnPlanCache: m.planCache,
		Tracer: tracer, ExposePlans: cfg.ExposeQueryPlans, OverrideLabels: cfg.OverrideLabels,
		DisableDedup: cfg.DisableInboundDedup, OnDedup: m.inboundShared,
		// A replayed placeOrder says so in its response's extensions; the
		// REST shim turns it into the Idempotent-Replayed header.
		PassExtensions: []string{"idempotentReplayed"},
	})
	page := ide.New("/graphql")
	if missing := page.Missing(); len(missing) > 0 {
		logger.Warn("the GraphQL IDE's files are missing; run `make ide`", "missing", missing)
	}
	r := &Router{Gateway: gw, cfg: cfg, logger: logger, client: client, drain: &drain.State{}}
	r.Handler = NewHandler(Options{
		Drain:   r.drain,
		Gateway: gw, Logger: logger, MaxBodyBytes: cfg.MaxBodyBytes,
		IDE: page, AssetPrefix: ide.AssetPrefix, Assets: page.Assets(),
		Metrics: m.handler(), Observe: m.observe(logger), Tracer: tracer,
		REST: rest.New(rest.Options{Gateway: gw, Logger: logger, MaxBodyBytes: cfg.MaxBodyBytes}),
		// The REST shims' OpenAPI document, served at /openapi.yaml.
		OpenAPI: openapi.Document(),
	})
	ctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	if fixed != nil {
		gw.SetSupergraph(fixed)
	} else {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.watch(ctx)
		}()
	}
	return r, nil
}

// Close stops the composition loop and closes idle subgraph connections.
func (r *Router) Close() {
	r.stop()
	r.wg.Wait()
	r.client.Close()
}

// Serve serves on ln until ctx ends, then stops gracefully (see package
// drain): it keeps serving for DrainPeriod, unready and marking its
// responses, then stops accepting and waits up to ShutdownTimeout for the
// requests in flight.
func (r *Router) Serve(ctx context.Context, ln net.Listener) error {
	r.logger.Info("router listening", "addr", ln.Addr().String(), "subgraphs", r.client.Subgraphs(), "supergraph_file", r.cfg.SupergraphFile)
	return httpkit.Serve(ctx, httpkit.NewServer(r.Handler, r.logger), ln, httpkit.ServeOptions{
		DrainPeriod: r.cfg.DrainPeriod, OnDrain: r.drain.Begin, ShutdownTimeout: r.cfg.ShutdownTimeout, Logger: r.logger})
}

// FetchSDLs asks every subgraph for its SDL, in name order.
func FetchSDLs(ctx context.Context, client *transport.Client) ([]compose.Subgraph, error) {
	names := client.Subgraphs()
	subs := make([]compose.Subgraph, 0, len(names))
	for _, name := range names {
		sdl, err := client.FetchSDL(ctx, name)
		if err != nil {
			return nil, err
		}
		subs = append(subs, compose.Subgraph{Name: name, SDL: sdl})
	}
	return subs, nil
}

// watch composes the supergraph from the running subgraphs: first with
// retries and backoff until every subgraph answers, then again every poll
// interval, swapping in a changed composition. A failed composition leaves
// the current supergraph serving.
func (r *Router) watch(ctx context.Context) {
	var last string
	backoff := 100 * time.Millisecond
	interval := r.cfg.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	for {
		subs, err := FetchSDLs(ctx, r.client)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.logger.Warn("fetching the subgraphs' schemas failed", "err", err.Error())
			}
		default:
			key := ""
			for _, s := range subs {
				key += s.Name + "\x00" + s.SDL + "\x00"
			}
			if key == last {
				break
			}
			sg, err := compose.Compose(subs)
			if err != nil {
				r.logger.Error("composition failed; the current supergraph keeps serving", "err", err.Error())
				last = key // do not log the same failure every interval
				break
			}
			r.Gateway.SetSupergraph(sg)
			last = key
			r.logger.Info("supergraph composed", "subgraphs", r.client.Subgraphs())
		}
		wait := interval
		if !r.Gateway.Ready() {
			wait = backoff
			backoff = min(backoff*2, 5*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
