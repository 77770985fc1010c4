package telemetry

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	"bookstore/graph/platform/httpkit"
)

// OperationNote carries the name of the GraphQL operation a request ran
// from the pipeline, which learns it, back to the HTTP middleware that
// counts the request. The middleware puts one in the request's context
// with WithOperationNote; the pipeline fills it with NoteOperation.
//
// It is safe for concurrent use: a handler that runs past its timeout may
// still note while the middleware reads.
type OperationNote struct {
	name atomic.Pointer[string]
}

type noteKey struct{}

// WithOperationNote returns ctx with an empty note, and the note.
func WithOperationNote(ctx context.Context) (context.Context, *OperationNote) {
	n := &OperationNote{}
	return context.WithValue(ctx, noteKey{}, n), n
}

// NoteOperation records the operation's name ("" for an anonymous one) in
// ctx's note, if it has one.
func NoteOperation(ctx context.Context, name string) {
	if n, ok := ctx.Value(noteKey{}).(*OperationNote); ok {
		n.name.Store(&name)
	}
}

// Name returns the noted operation's name, and whether one was noted: an
// operation that did not parse, or a request that was no operation, has
// none.
func (n *OperationNote) Name() (string, bool) {
	if p := n.name.Load(); p != nil {
		return *p, true
	}
	return "", false
}

// Label bounds what client-chosen strings, such as operation names, may
// become metric label values: the first Max distinct values are kept and
// every later one is counted as Overflow, so a client cannot grow the
// metrics without bound by sending ever new names.
type Label struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

// Overflow is the label value of the names past a Label's limit.
const Overflow = "__other__"

// NewLabel returns a Label that keeps max distinct values.
func NewLabel(max int) *Label {
	return &Label{max: max, seen: make(map[string]struct{}, max)}
}

// Value returns v, or Overflow when v is new and the limit is reached.
func (l *Label) Value(v string) string {
	l.mu.RLock()
	_, ok := l.seen[v]
	l.mu.RUnlock()
	if ok {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[v]; ok {
		return v
	}
	if len(l.seen) >= l.max {
		return Overflow
	}
	l.seen[v] = struct{}{}
	return v
}

// MaxOperations is how many distinct operation names a service's metrics
// keep as label values; later ones are counted as Overflow.
const MaxOperations = 200

// Operations labels requests by the GraphQL operation they ran, for the
// metrics middleware of every service.
type Operations struct {
	names *Label
}

// NewOperations returns an Operations that keeps MaxOperations names.
func NewOperations() *Operations { return &Operations{names: NewLabel(MaxOperations)} }

// Serve serves r through next with an operation note in its context, and
// returns the status next wrote and the label value of the operation it
// ran: its name, Overflow past the limit, or "" for an anonymous operation
// or none at all.
func (o *Operations) Serve(next http.Handler, w http.ResponseWriter, r *http.Request) (status int, operation string) {
	sw := httpkit.NewRecorder(w)
	ctx, note := WithOperationNote(r.Context())
	next.ServeHTTP(sw, r.WithContext(ctx))
	name, _ := note.Name()
	return sw.Status(), o.names.Value(name)
}
