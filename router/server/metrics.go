package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"bookstore/graph/platform/httpkit"
	"bookstore/graph/platform/telemetry"
)

// metrics are the router's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	fetches    *prometheus.CounterVec
	fetchTimes *prometheus.HistogramVec
	plans      *prometheus.CounterVec
	ejections  *prometheus.CounterVec
	inbound    *prometheus.CounterVec // inbound deduplication
	subgraph   *prometheus.CounterVec // subgraph deduplication
	// operations labels requests by operation; clients choose the names.
	operations *telemetry.Operations
}

// latencyBuckets are the request and fetch latency buckets, in seconds.
func latencyBuckets() []float64 {
	return []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_http_requests_total",
			Help: "HTTP requests by route, method, GraphQL operation name (empty when anonymous or unparsed) and status code.",
		}, []string{"route", "method", "operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "router_http_request_duration_seconds", Help: "HTTP request latency by route and GraphQL operation name.",
			Buckets: latencyBuckets(),
		}, []string{"route", "operation"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_subgraph_fetches_total", Help: "Subgraph fetches by subgraph and outcome (ok or error).",
		}, []string{"subgraph", "outcome"}),
		fetchTimes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "router_subgraph_fetch_duration_seconds", Help: "Time in each subgraph fetch, retries on other replicas included, by subgraph.",
			Buckets: latencyBuckets(),
		}, []string{"subgraph"}),
		plans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_plan_cache_lookups_total", Help: "Plan cache lookups by result (hit or miss).",
		}, []string{"result"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_replica_ejections_total", Help: "Replica ejections (three failures in a row, a replica draining, or a failed probe of an ejected one), by subgraph.",
		}, []string{"subgraph"}),
		inbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_inbound_dedup_total",
			Help: "Client queries that could share an execution, by result: executed, or shared (joined an identical query executing).",
		}, []string{"result"}),
		subgraph: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_subgraph_dedup_total",
			Help: "Subgraph queries that could share a request, by subgraph and result: sent, or shared (joined an identical request in flight).",
		}, []string{"subgraph", "result"}),
	}
	m.inbound.WithLabelValues("executed")
	m.inbound.WithLabelValues("shared")
	m.operations = telemetry.NewOperations()
	m.reg.MustRegister(m.requests, m.latency, m.fetches, m.fetchTimes, m.plans, m.ejections, m.inbound, m.subgraph,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// subgraphs starts every subgraph's series at zero, so that a dashboard
// sees "no ejections yet" rather than no series.
func (m *metrics) subgraphs(names []string) {
	for _, n := range names {
		m.ejections.WithLabelValues(n)
		m.fetches.WithLabelValues(n, "ok")
		m.fetches.WithLabelValues(n, "error")
		m.fetchTimes.WithLabelValues(n)
		m.subgraph.WithLabelValues(n, "sent")
		m.subgraph.WithLabelValues(n, "shared")
	}
}

func (m *metrics) inboundShared(shared bool) {
	if shared {
		m.inbound.WithLabelValues("shared").Inc()
	} else {
		m.inbound.WithLabelValues("executed").Inc()
	}
}

func (m *metrics) subgraphShared(subgraph string, shared bool) {
	if shared {
		m.subgraph.WithLabelValues(subgraph, "shared").Inc()
	} else {
		m.subgraph.WithLabelValues(subgraph, "sent").Inc()
	}
}

func (m *metrics) ejected(subgraph, _ string) { m.ejections.WithLabelValues(subgraph).Inc() }

func (m *metrics) fetched(graph string, took time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.fetches.WithLabelValues(graph, outcome).Inc()
	m.fetchTimes.WithLabelValues(graph).Observe(took.Seconds())
}

func (m *metrics) planCache(hit bool) {
	if hit {
		m.plans.WithLabelValues("hit").Inc()
	} else {
		m.plans.WithLabelValues("miss").Inc()
	}
}

// observe counts and times each request, by the GraphQL operation it ran
// when it ran one, and logs failures.
func (m *metrics) observe(logger *slog.Logger) func(route string, next http.Handler) http.Handler {
	return func(route string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			status, op := m.operations.Serve(next, w, r)
			m.latency.WithLabelValues(route, op).Observe(time.Since(start).Seconds())
			m.requests.WithLabelValues(route, r.Method, op, strconv.Itoa(status)).Inc()
			if status >= 500 {
				logger.Warn("request failed", "route", route, "method", r.Method, "status", status,
					"request_id", r.Header.Get(httpkit.RequestIDHeader))
			}
		})
	}
}
