package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"bookstore/graph/testkit/wanterr"
)

func TestFromEnv(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		on      bool
		wantErr string
	}{
		{name: "nothing set is off"},
		{name: "an endpoint turns it on", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, on: true},
		{name: "a traces endpoint too", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, on: true},
		{name: "disabled SDK", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "TRUE"}},
		{name: "exporter none", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}},
		{name: "grpc is refused", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, wantErr: "only http/protobuf"},
		{name: "another exporter is refused", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: "only otlp"},
		{name: "a ratio sampler", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, on: true},
		{name: "a bad ratio", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}, wantErr: "not a ratio"},
		{name: "an unknown sampler", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_SAMPLER": "sometimes"}, wantErr: "not a sampler"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := FromEnv(context.Background(), "test", func(k string) string { return c.env[k] })
			if wanterr.Check(t, err, c.wantErr) {
				return
			}
			defer func() { _ = tr.Shutdown(context.Background()) }()
			if got := tr.Tracer() != nil; got != c.on {
				t.Fatalf("on = %v, want %v", got, c.on)
			}
		})
	}
}

func TestSQLSummary(t *testing.T) {
	for _, c := range []struct{ sql, want string }{
		{"SELECT id, title FROM books.books WHERE id = ANY($1)", "SELECT books.books"},
		{"select count(*) from books.books b where b.stock > 0", "SELECT books.books"},
		{"INSERT INTO orders.orders (id) VALUES ($1) RETURNING created_at", "INSERT orders.orders"},
		{"UPDATE books.books SET stock = stock + $2 WHERE id = $1", "UPDATE books.books"},
		{"DELETE FROM orders.orders WHERE id = $1", "DELETE orders.orders"},
		{"SELECT books.reserve_stock($1, $2)", "SELECT"},
		{"SELECT 'x' FROM (SELECT 1) s", "SELECT"},
		{"BEGIN", "BEGIN"},
		{"  ", "SQL"},
	} {
		if got := sqlSummary(c.sql); got != c.want {
			t.Errorf("sqlSummary(%q) = %q, want %q", c.sql, got, c.want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	if h := Middleware(nil, "/x", http.NotFoundHandler()); h == nil {
		t.Fatal("nil tracer: no handler")
	}
	exp := tracetest.NewInMemoryExporter()
	tp := NewProvider("svc", func(k string) string {
		return map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test, service.name=ignored"}[k]
	}, sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	var inner trace.SpanContext
	h := Middleware(tp.Tracer(ScopeName), "/query", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner = trace.SpanContextFromContext(r.Context())
		out := http.Header{}
		Inject(r.Context(), out)
		if !strings.HasPrefix(out.Get("Traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-") {
			t.Errorf("injected traceparent %q", out.Get("Traceparent"))
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	req := httptest.NewRequest(http.MethodPost, "/query", nil)
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	if s.Name != "POST /query" || !s.SpanContext.Equal(inner) || s.Parent.SpanID().String() != "00f067aa0ba902b7" || s.Status.Code.String() != "Error" {
		t.Errorf("span %q parent %s status %v", s.Name, s.Parent.SpanID(), s.Status)
	}
	res := map[string]string{}
	for _, kv := range s.Resource.Attributes() {
		res[string(kv.Key)] = kv.Value.Emit()
	}
	if res["service.name"] != "svc" || res["deployment.environment"] != "test" {
		t.Errorf("resource %v", res)
	}
}

// TestOTLPExport runs an OTLP/HTTP receiver and checks that a service
// configured only through the environment exports its spans there.
func TestOTLPExport(t *testing.T) {
	got := make(chan *coltracepb.ExportTraceServiceRequest, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
			t.Errorf("%s %s (%s): %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Errorf("the export is not an ExportTraceServiceRequest: %v", err)
		}
		got <- &req
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	defer srv.Close()
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL + "/", "OTEL_SERVICE_NAME": "otlp-test"}
	tr, err := FromEnv(context.Background(), "router", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Tracer().Start(context.Background(), "hello")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil { // flushes the batch
		t.Fatal(err)
	}
	select {
	case req := <-got:
		rs := req.GetResourceSpans()
		if len(rs) != 1 || len(rs[0].GetScopeSpans()) != 1 || len(rs[0].GetScopeSpans()[0].GetSpans()) != 1 {
			t.Fatalf("export = %v", req)
		}
		service := ""
		for _, kv := range rs[0].GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		ss := rs[0].GetScopeSpans()[0]
		if service != "otlp-test" || ss.GetScope().GetName() != ScopeName || ss.GetSpans()[0].GetName() != "hello" {
			t.Errorf("service %q, scope %q, span %q", service, ss.GetScope().GetName(), ss.GetSpans()[0].GetName())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no export reached the receiver")
	}
}
