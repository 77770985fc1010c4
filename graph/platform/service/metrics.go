package service

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"bookstore/graph/platform/telemetry"
)

// httpMetrics count and time a service's requests.
type httpMetrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	operations *telemetry.Operations
}

func newHTTPMetrics(service string) *httpMetrics {
	return &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "http_requests_total",
			Help:        "HTTP requests by route, method, GraphQL operation name (empty when anonymous or none) and status code.",
			ConstLabels: prometheus.Labels{"service": service},
		}, []string{"handler", "method", "operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "http_request_duration_seconds",
			Help:        "HTTP request latency by route and GraphQL operation name.",
			ConstLabels: prometheus.Labels{"service": service},
			Buckets:     []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}, []string{"handler", "operation"}),
		operations: telemetry.NewOperations(),
	}
}

// instrument counts and times the requests to one route.
func (m *httpMetrics) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status, op := m.operations.Serve(next, w, r)
		m.latency.WithLabelValues(route, op).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(route, r.Method, op, strconv.Itoa(status)).Inc()
	})
}

// poolCollector exports a pgx pool's statistics, read at scrape time.
type poolCollector struct {
	pool                                          *pgxpool.Pool
	acquired, idle, total, max                    *prometheus.Desc
	acquires, acquireSeconds, canceled, emptyWait *prometheus.Desc
}

func newPoolCollector(pool *pgxpool.Pool) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("db_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		pool:           pool,
		acquired:       d("acquired_connections", "Connections in use."),
		idle:           d("idle_connections", "Idle connections."),
		total:          d("total_connections", "Open connections."),
		max:            d("max_connections", "The pool's size limit."),
		acquires:       d("acquires_total", "Connections acquired from the pool."),
		acquireSeconds: d("acquire_seconds_total", "Time spent waiting to acquire a connection."),
		canceled:       d("canceled_acquires_total", "Acquires cancelled by their context."),
		emptyWait:      d("empty_acquires_total", "Acquires that had to wait for a connection."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.max, c.acquires, c.acquireSeconds, c.canceled, c.emptyWait} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	g := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	n := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	g(c.acquired, float64(s.AcquiredConns()))
	g(c.idle, float64(s.IdleConns()))
	g(c.total, float64(s.TotalConns()))
	g(c.max, float64(s.MaxConns()))
	n(c.acquires, float64(s.AcquireCount()))
	n(c.acquireSeconds, s.AcquireDuration().Seconds())
	n(c.canceled, float64(s.CanceledAcquireCount()))
	n(c.emptyWait, float64(s.EmptyAcquireCount()))
}
