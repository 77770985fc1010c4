// Package telemetry is the bookstore's OpenTelemetry tracing: a tracer
// provider built from the standard OTEL_* environment, W3C trace-context
// propagation (traceparent and tracestate, the only format the bookstore
// speaks), HTTP server spans, and SQL spans
// for pgx.
//
// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Off means a nil
// trace.Tracer: every caller checks for nil and does nothing else, so a
// service without an exporter pays no tracing cost at all, and passes the
// client's traceparent on untouched.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"bookstore/graph/platform/httpkit"
)

// ScopeName is the instrumentation scope of every bookstore span.
const ScopeName = "bookstore"

// Tracing is a service's tracer provider and how to flush it.
type Tracing struct {
	// Provider is nil when tracing is off.
	Provider *sdktrace.TracerProvider
}

// Tracer returns the service's tracer, or nil when tracing is off.
func (t *Tracing) Tracer() trace.Tracer {
	if t == nil || t.Provider == nil {
		return nil
	}
	return t.Provider.Tracer(ScopeName)
}

// Shutdown flushes the spans not yet exported and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.Provider == nil {
		return nil
	}
	if err := t.Provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flushing traces: %w", err)
	}
	return nil
}

// closeTimeout bounds the last export when a service stops.
const closeTimeout = 5 * time.Second

// Close flushes and stops the exporter as a service stops, giving it
// closeTimeout, and logs a failure: there is no one left to return it to.
func (t *Tracing) Close(logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := t.Shutdown(ctx); err != nil {
		logger.Warn("flushing traces failed", "err", err.Error())
	}
}

// FromEnv builds the tracing of one service from the standard OpenTelemetry
// variables, read through getenv:
//
//   - OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
//     turns tracing on, exporting over OTLP/HTTP (protobuf) in batches; the
//     exporter also honours OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
//     _COMPRESSION and _INSECURE;
//   - OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn it off again;
//   - OTEL_EXPORTER_OTLP_PROTOCOL may only be http/protobuf;
//   - OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG choose the sampler
//     (default parentbased_always_on);
//   - OTEL_SERVICE_NAME overrides service and OTEL_RESOURCE_ATTRIBUTES adds
//     resource attributes.
//
// With none of them set it returns a Tracing that is off.
func FromEnv(ctx context.Context, service string, getenv func(string) string) (*Tracing, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	endpoint := env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if endpoint == "" {
		endpoint = env("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if endpoint == "" || strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") || env("OTEL_TRACES_EXPORTER") == "none" {
		return &Tracing{}, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := env(k); p != "" && p != "http/protobuf" {
			return nil, fmt.Errorf("%s=%q: only http/protobuf is supported", k, p)
		}
	}
	if e := env("OTEL_TRACES_EXPORTER"); e != "" && e != "otlp" {
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (or none) is supported", e)
	}
	sampler, err := samplerFromEnv(env("OTEL_TRACES_SAMPLER"), env("OTEL_TRACES_SAMPLER_ARG"))
	if err != nil {
		return nil, err
	}
	// The exporter reads its other OTEL_EXPORTER_OTLP_* settings (headers,
	// timeout, compression, certificates) from the process environment.
	url := endpoint
	if env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		url = strings.TrimRight(endpoint, "/") + "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(url))
	if err != nil {
		return nil, fmt.Errorf("the OTLP trace exporter: %w", err)
	}
	return &Tracing{Provider: NewProvider(service, getenv, sdktrace.WithBatcher(exp), sdktrace.WithSampler(sampler))}, nil
}

// NewProvider returns a tracer provider for service with opts (an exporter,
// a sampler). Tests pass an in-memory exporter with sdktrace.WithSyncer.
func NewProvider(service string, getenv func(string) string, opts ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	if name := strings.TrimSpace(getenv("OTEL_SERVICE_NAME")); name != "" {
		service = name
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", service)}
	for _, kv := range strings.Split(getenv("OTEL_RESOURCE_ATTRIBUTES"), ",") {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); ok && k != "" && k != "service.name" {
			attrs = append(attrs, attribute.String(k, strings.TrimSpace(v)))
		}
	}
	opts = append([]sdktrace.TracerProviderOption{sdktrace.WithResource(resource.NewSchemaless(attrs...))}, opts...)
	return sdktrace.NewTracerProvider(opts...)
}

func samplerFromEnv(name, arg string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		f, err := strconv.ParseFloat(arg, 64)
		if err != nil || f < 0 || f > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q is not a ratio between 0 and 1", arg)
		}
		return f, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, errors.New("OTEL_TRACES_SAMPLER=" + strconv.Quote(name) + " is not a sampler this service knows")
}

// Inject writes the trace context of ctx's span into h, replacing any
// traceparent and tracestate already there.
func Inject(ctx context.Context, h http.Header) {
	h.Del("Traceparent")
	h.Del("Tracestate")
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
}

// Middleware starts a server span for every request, a child of the
// client's traceparent when it sent one, named "METHOD route". With a nil
// tracer it returns next itself.
func Middleware(tracer trace.Tracer, route string, next http.Handler) http.Handler {
	if tracer == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("http.route", route),
				attribute.String("url.path", r.URL.Path),
				attribute.String("user_agent.original", r.UserAgent()),
			))
		defer span.End()
		if id := r.Header.Get(httpkit.RequestIDHeader); id != "" {
			span.SetAttributes(attribute.String("http.request.header.x-request-id", id))
		}
		sw := httpkit.NewRecorder(w)
		next.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.Status()
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
	})
}

// Fail marks span as failed with err, when err is not nil.
func Fail(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}
