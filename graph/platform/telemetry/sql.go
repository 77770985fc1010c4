package telemetry

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// SQLTracer is a pgx tracer that makes a client span for every statement,
// a child of the span in the statement's context. The span carries the
// statement's text (with its $n placeholders, never the argument values)
// and, when it fails, the error.
type SQLTracer struct {
	tracer trace.Tracer
}

// NewSQLTracer returns a pgx tracer, or nil (no tracer at all, so pgx
// does no tracing work) when tracer is nil.
func NewSQLTracer(tracer trace.Tracer) pgx.QueryTracer {
	if tracer == nil {
		return nil
	}
	return &SQLTracer{tracer: tracer}
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *SQLTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
		// A statement outside any request (a readiness probe, the
		// pool's health check) would start a trace of its own.
		return ctx
	}
	summary := sqlSummary(d.SQL)
	ctx, _ = t.tracer.Start(ctx, summary, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("db.system.name", "postgresql"),
			attribute.String("db.namespace", conn.Config().Database),
			attribute.String("db.operation.name", strings.ToUpper(strings.Fields(summary)[0])),
			attribute.String("db.query.text", d.SQL),
		))
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *SQLTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	Fail(span, d.Err)
	if d.Err == nil {
		span.SetAttributes(attribute.Int64("db.response.returned_rows", d.CommandTag.RowsAffected()))
	}
	span.End()
}

// sqlSummary names a statement's span by its first keyword, and for a
// WITH, SELECT, INSERT, UPDATE or DELETE the first table it names, e.g.
// "SELECT books.books". It never includes literals.
func sqlSummary(sql string) string {
	words := strings.Fields(sql)
	if len(words) == 0 {
		return "SQL"
	}
	verb := strings.ToUpper(words[0])
	after := map[string]string{"SELECT": "FROM", "DELETE": "FROM", "INSERT": "INTO", "UPDATE": "", "WITH": "FROM"}
	marker, ok := after[verb]
	if !ok {
		return verb
	}
	for i := 1; i < len(words); i++ {
		if marker == "" || strings.EqualFold(words[i], marker) {
			j := i
			if marker != "" {
				j = i + 1
			}
			if j < len(words) {
				if table := strings.Trim(strings.TrimRight(words[j], "),;"), `"`); table != "" && isIdentifier(table) {
					return verb + " " + table
				}
			}
			break
		}
	}
	return verb
}

func isIdentifier(s string) bool {
	for _, r := range s {
		if !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
