package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"bookstore/graph/httpstatus"
)

// metrics are the router's Prometheus metrics, on a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	fetches   *prometheus.CounterVec
	plans     *prometheus.CounterVec
	ejections *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "router_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_subgraph_fetches_total", Help: "Subgraph fetches by subgraph and outcome.",
		}, []string{"subgraph", "outcome"}),
		plans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_plan_cache_lookups_total", Help: "Plan cache lookups by result (hit or miss).",
		}, []string{"result"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "router_replica_ejections_total", Help: "Replicas ejected after repeated failures, by subgraph.",
		}, []string{"subgraph"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.fetches, m.plans, m.ejections,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) ejected(subgraph, _ string) { m.ejections.WithLabelValues(subgraph).Inc() }

func (m *metrics) fetched(graph string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.fetches.WithLabelValues(graph, outcome).Inc()
}

func (m *metrics) planCache(hit bool) {
	if hit {
		m.plans.WithLabelValues("hit").Inc()
	} else {
		m.plans.WithLabelValues("miss").Inc()
	}
}

// observe counts and times each request, and logs failures.
func (m *metrics) observe(logger *slog.Logger) func(route string, next http.Handler) http.Handler {
	return func(route string, next http.Handler) http.Handler {
		hist := m.latency.WithLabelValues(route)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := httpstatus.NewRecorder(w)
			next.ServeHTTP(sw, r)
			status := sw.Status()
			hist.Observe(time.Since(start).Seconds())
			m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			if status >= 500 {
				logger.Warn("request failed", "route", route, "method", r.Method, "status", status,
					"request_id", r.Header.Get("X-Request-Id"))
			}
		})
	}
}
