package graph

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"bookstore/graph/apierror"
	"bookstore/graph/connection"
	"bookstore/orders-subgraph/graph/model"
	"bookstore/orders-subgraph/store"
)

// Rules of the contract.
const (
	maxEmail    = 254
	maxLines    = 50
	maxQuantity = 100
	maxKey      = 200
)

// toModel maps an order to its GraphQL type and primes the request's
// unitsSold loader with the order's books.
func (r *Resolver) toModel(ctx context.Context, o *store.Order) *model.Order {
	m := &model.Order{
		ID:            o.ID,
		CustomerEmail: o.CustomerEmail,
		Status:        model.OrderStatus(o.Status),
		Items:         make([]*model.OrderItem, len(o.Items)),
		TotalCents:    int(o.TotalCents),
		Currency:      o.Currency,
		CreatedAt:     o.CreatedAt,
		CancelledAt:   o.CancelledAt,
	}
	// One allocation each for the lines and their books.
	items := make([]model.OrderItem, len(o.Items))
	books := make([]model.Book, len(o.Items))
	for i, it := range o.Items {
		books[i].ID = it.BookID
		items[i] = model.OrderItem{
			Book:           &books[i],
			Quantity:       it.Quantity,
			UnitPriceCents: it.UnitPriceCents,
			LineTotalCents: it.Quantity * it.UnitPriceCents,
		}
		m.Items[i] = &items[i]
	}
	r.loader(ctx).primeItems(o.Items)
	return m
}

// validEmail applies the contract's e-mail rule: at most 254 characters,
// exactly one @ with something before it, a dot inside the domain, and no
// whitespace or control characters.
func validEmail(s string) bool {
	if s == "" || utf8.RuneCountInString(s) > maxEmail || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			return false
		}
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") {
		return false
	}
	dot := strings.LastIndexByte(domain, '.')
	return dot > 0 && dot < len(domain)-1 && !strings.Contains(domain, "..") && !strings.HasPrefix(domain, ".")
}

// validKey checks an idempotency key: 1..200 characters, printable.
func validKey(k string) error {
	n := utf8.RuneCountInString(k)
	if n < 1 || n > maxKey {
		return apierror.Input("input.idempotencyKey", "must be 1 to %d characters, got %d", maxKey, n)
	}
	if strings.IndexFunc(k, unicode.IsControl) >= 0 {
		return apierror.Input("input.idempotencyKey", "must not contain control characters")
	}
	return nil
}

// newOrder validates placeOrder's input: every BAD_USER_INPUT rule first,
// then ids that cannot name a book (NOT_FOUND). The request hash covers the
// normalised input, so a replay may list its lines in another order or spell
// the e-mail in another case.
func newOrder(in model.PlaceOrderInput) (store.NewOrder, error) {
	no := store.NewOrder{CustomerEmail: in.CustomerEmail}
	if !validEmail(in.CustomerEmail) {
		return no, apierror.Input("input.customerEmail",
			"must be an e-mail address: at most %d characters, one @, a dot in the domain, no spaces", maxEmail)
	}
	if n := len(in.Items); n < 1 || n > maxLines {
		return no, apierror.Input("input.items", "must have 1 to %d lines, got %d", maxLines, n)
	}
	seen := make(map[string]int, len(in.Items))
	for i, it := range in.Items {
		field := "input.items[" + strconv.Itoa(i) + "]"
		if it.Quantity < 1 || it.Quantity > maxQuantity {
			return no, apierror.Input(field+".quantity", "must be between 1 and %d, got %d", maxQuantity, it.Quantity)
		}
		key := strings.ToLower(it.BookID)
		if j, dup := seen[key]; dup {
			return no, apierror.Input(field+".bookId", "book %s is already on line %d; put each book on one line", it.BookID, j)
		}
		seen[key] = i
		no.Lines = append(no.Lines, store.Line{BookID: it.BookID, Quantity: it.Quantity})
	}
	if in.IdempotencyKey != nil {
		if err := validKey(*in.IdempotencyKey); err != nil {
			return no, err
		}
		no.IdempotencyKey = *in.IdempotencyKey
	}
	for _, l := range no.Lines {
		if !store.ValidID(l.BookID) {
			return no, bookNotFound(l.BookID)
		}
	}
	if no.IdempotencyKey != "" {
		no.RequestHash = requestHash(no)
	}
	return no, nil
}

func requestHash(no store.NewOrder) []byte {
	lines := make([]string, len(no.Lines))
	for i, l := range no.Lines {
		lines[i] = strings.ToLower(l.BookID) + "x" + strconv.Itoa(l.Quantity)
	}
	slices.Sort(lines)
	h := sha256.New()
	fmt.Fprintf(h, "v1\n%s\n%s", strings.ToLower(no.CustomerEmail), strings.Join(lines, ","))
	return h.Sum(nil)
}

func bookNotFound(id string) error {
	return apierror.New(apierror.NotFound, "no book has id "+apierror.Quote(id), map[string]any{"bookId": id})
}

func orderNotFound(id string) error {
	return apierror.New(apierror.NotFound, "no order has id "+apierror.Quote(id), map[string]any{"id": id})
}

// placeError maps the store's errors of placeOrder to the contract.
func placeError(err error) error {
	var unknown *store.UnknownBookError
	var short *store.InsufficientStockError
	switch {
	case errors.As(err, &unknown):
		return bookNotFound(unknown.BookID)
	case errors.As(err, &short):
		return apierror.New(apierror.InsufficientStock,
			fmt.Sprintf("book %s: %d requested, only %d in stock", short.BookID, short.Requested, short.Available),
			map[string]any{"bookId": short.BookID, "available": short.Available, "requested": short.Requested})
	case errors.Is(err, store.ErrKeyReused):
		return apierror.New(apierror.IdempotencyKeyReuse,
			"idempotencyKey was already used for a different order input", map[string]any{"field": "input.idempotencyKey"})
	case errors.Is(err, store.ErrTotalTooLarge):
		return apierror.Input("input.items", "the order total would exceed %d cents; split it into smaller orders", store.MaxTotalCents)
	}
	return err
}

// listParams validates the arguments of Query.orders.
func listParams(first *int, after *string, filter *model.OrderFilter) (store.ListParams, error) {
	var p store.ListParams
	var err error
	if p.First, p.After, err = connection.Args(first, after); err != nil {
		return p, err
	}
	if filter != nil {
		if filter.CustomerEmail != nil && strings.ContainsRune(*filter.CustomerEmail, 0) {
			return p, apierror.Input("filter.customerEmail", "must not contain NUL characters")
		}
		p.Filter.CustomerEmail = filter.CustomerEmail
		if filter.Status != nil {
			s := string(*filter.Status)
			p.Filter.Status = &s
		}
	}
	return p, nil
}

// settleCommit learns the outcome of a placeOrder whose COMMIT got no
// answer (the database crashed or went away while committing), so that a
// committed order is never answered as a failure. It asks the status of
// the order's transaction (status), every interval, until it is final:
// "aborted", or "committed", and then the order, read with get, says
// whether that commit was ours (after a crash the server may give our
// transaction's id, which it never logged, to another). A server on its
// way down may answer "in progress" for a commit it has written, and may
// not see the order yet, so nothing else counts. It gives up when
// ctx ends (the router gives up on the request, or the service's request
// timeout). It returns the order when it was committed, and the commit's
// error (the database's unavailability: SUBGRAPH_UNAVAILABLE, the client
// may retry) when it was not, or when the database did not answer in time.
func settleCommit(ctx context.Context, logger *slog.Logger, status func(context.Context, string) (string, error),
	get func(context.Context, string) (*store.Order, error), unknown *store.CommitUnknownError, interval time.Duration) (*store.Order, error) {
	logger.WarnContext(ctx, "placeOrder: the commit got no answer; asking how it ended", "order", unknown.OrderID,
		"xid", unknown.Xid, "err", unknown.Err.Error())
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		st, err := status(ctx, unknown.Xid)
		switch {
		case err != nil:
		case st == "aborted":
			logger.WarnContext(ctx, "placeOrder: the order was not committed", "order", unknown.OrderID)
			return nil, unknown // the client may retry
		case st == "committed":
			o, err := get(ctx, unknown.OrderID)
			switch {
			case err == nil && o != nil:
				logger.WarnContext(ctx, "placeOrder: the order was committed", "order", unknown.OrderID)
				return o, nil
			case err == nil:
				// Committed, not in progress, and yet no order: the id
				// is another transaction's. A server that crashed before
				// our transaction's log reached its disk hands its id
				// out again; ours did not commit.
				logger.WarnContext(ctx, "placeOrder: the order was not committed (its transaction id was reused after a crash)", "order", unknown.OrderID)
				return nil, unknown
			}
		}
		select {
		case <-ctx.Done():
			logger.WarnContext(ctx, "placeOrder: gave up asking how the commit ended", "order", unknown.OrderID, "last_status", st)
			return nil, unknown
		case <-tick.C:
		}
	}
}

// markReplayed tells the client, through the response's extensions, that
// placeOrder returned an earlier order for its idempotency key. The router's
// REST shim turns it into the Idempotent-Replayed header.
func markReplayed(ctx context.Context) {
	graphql.RegisterExtension(ctx, "idempotentReplayed", true)
}
