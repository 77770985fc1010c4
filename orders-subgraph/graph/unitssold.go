package graph

import (
	"context"
	"net/http"
	"sync"

	"bookstore/orders-subgraph/store"
)

// soldLoader batches Book.unitsSold within one request. Whatever returns
// books (the entity resolver, an order's lines) primes their ids first; the
// first unitsSold to resolve then loads every primed id in one statement, and
// the others read the result. It waits on no timer, so a batch is exactly
// the books known when the first one is asked for.
type soldLoader struct {
	store   *store.Store
	mu      sync.Mutex
	pending map[string]struct{}
	sold    map[string]int
}

type loaderKey struct{}

// WithLoaders is HTTP middleware that gives each request its own loader.
func (r *Resolver) WithLoaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		l := &soldLoader{store: r.Store, pending: map[string]struct{}{}, sold: map[string]int{}}
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), loaderKey{}, l)))
	})
}

func (r *Resolver) loader(ctx context.Context) *soldLoader {
	if l, ok := ctx.Value(loaderKey{}).(*soldLoader); ok {
		return l
	}
	// Outside HTTP (a test calling a resolver directly): no batching.
	return &soldLoader{store: r.Store, pending: map[string]struct{}{}, sold: map[string]int{}}
}

// prime registers book ids whose unitsSold may be asked for.
func (l *soldLoader) prime(ids ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if _, done := l.sold[id]; !done {
			l.pending[id] = struct{}{}
		}
	}
}

// primeItems registers the books of an order's lines.
func (l *soldLoader) primeItems(items []store.Item) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range items {
		if _, done := l.sold[it.BookID]; !done {
			l.pending[it.BookID] = struct{}{}
		}
	}
}

// get returns the units sold of book id, loading it with every primed id.
func (l *soldLoader) get(ctx context.Context, id string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n, ok := l.sold[id]; ok {
		return n, nil
	}
	l.pending[id] = struct{}{}
	ids := make([]string, 0, len(l.pending))
	for p := range l.pending {
		ids = append(ids, p)
	}
	sold, err := l.store.UnitsSold(ctx, ids)
	if err != nil {
		return 0, err
	}
	clear(l.pending)
	for _, p := range ids {
		l.sold[p] = sold[p]
	}
	return l.sold[id], nil
}

// forget drops the units sold loaded so far: a mutation that placed or
// cancelled an order changed them, and a later field of the same request
// (mutation fields run in order) must see the new figures. The ids stay
// primed, so the next load still fetches them in one batch.
func (l *soldLoader) forget() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id := range l.sold {
		l.pending[id] = struct{}{}
	}
	clear(l.sold)
}
