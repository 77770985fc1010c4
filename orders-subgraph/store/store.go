// Package store is the orders subgraph's access to PostgreSQL: every SQL
// statement of orders lives here. It connects as the orders role, which may
// change stock only through books.reserve_stock and books.release_stock.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"bookstore/graph/cursor"
	"bookstore/graph/platform/pgsql"
)

// Order statuses, spelled as in the GraphQL enum.
const (
	Placed    = "PLACED"
	Cancelled = "CANCELLED"
)

// MaxTotalCents is the largest order total: GraphQL's Int is 32-bit.
const MaxTotalCents = math.MaxInt32

// Errors the store reports to its callers.
var (
	ErrNotFound        = errors.New("order not found")
	ErrNotCancellable  = errors.New("order is not PLACED")
	ErrKeyReused       = errors.New("idempotency key was used with a different input")
	ErrTotalTooLarge   = errors.New("order total is too large")
	ErrReleaseOverflow = errors.New("returning the items would pass a book's stock limit")
	ErrBadCursor       = cursor.ErrInvalid
)

// CommitUnknownError reports a Place whose COMMIT got no answer: the
// connection to PostgreSQL failed while committing, so order OrderID may
// or may not exist. TxStatus of Xid tells, once the database answers
// again.
type CommitUnknownError struct {
	OrderID string
	Xid     string // the transaction's id (xid8)
	Err     error
}

func (e *CommitUnknownError) Error() string {
	return "place order: commit of order " + e.OrderID + " unanswered: " + e.Err.Error()
}

func (e *CommitUnknownError) Unwrap() error { return e.Err }

// UnknownBookError reports an order line naming no book.
type UnknownBookError struct{ BookID string }

func (e *UnknownBookError) Error() string { return "no book has id " + e.BookID }

// InsufficientStockError reports a line asking for more than the stock.
type InsufficientStockError struct {
	BookID    string
	Requested int
	Available int
}

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("book %s: %d requested, %d available", e.BookID, e.Requested, e.Available)
}

// Item is one line of an order.
type Item struct {
	BookID         string
	Quantity       int
	UnitPriceCents int
}

// Order is an order with its lines.
type Order struct {
	ID            string
	CustomerEmail string
	Status        string
	Items         []Item
	TotalCents    int64
	Currency      string
	CreatedAt     time.Time
	CancelledAt   *time.Time
}

// Store reads and writes orders.
type Store struct {
	db *pgxpool.Pool
}

// New returns a store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{db: pool} }

// ValidID reports whether id has the form of an order id (a UUID). Anything
// else names no order.
func ValidID(id string) bool { return pgsql.IsUUID(id) }

// selectOrders loads orders with their lines in one statement. The lines
// come as text, in line order: each line's book id, quantity and unit
// price, all separated by single spaces (see parseItems). That costs
// PostgreSQL what json_agg did, and the service a fraction of decoding
// JSON.
const selectOrders = `SELECT o.id, o.customer_email, o.status, o.total_cents, o.currency, o.created_at, o.cancelled_at,
  (SELECT string_agg(i.book_id::text || ' ' || i.quantity || ' ' || i.unit_price_cents, ' ' ORDER BY i.line_no)
     FROM orders.order_items i WHERE i.order_id = o.id)
FROM orders.orders o`

func scanOrder(row pgx.Row) (*Order, error) {
	var o Order
	var items pgtype.Text
	if err := row.Scan(&o.ID, &o.CustomerEmail, &o.Status, &o.TotalCents, &o.Currency, &o.CreatedAt, &o.CancelledAt, &items); err != nil {
		return nil, err
	}
	if items.Valid {
		var err error
		if o.Items, err = parseItems(items.String); err != nil {
			return nil, fmt.Errorf("order %s: %w", o.ID, err)
		}
	}
	return &o, nil
}

// parseItems reads the lines selectOrders aggregates: "id q p id q p …".
// The book ids are substrings of s.
func parseItems(s string) ([]Item, error) {
	items := make([]Item, 0, (strings.Count(s, " ")+1)/3)
	for rest := s; rest != ""; {
		var id, q, p string
		id, rest, _ = strings.Cut(rest, " ")
		q, rest, _ = strings.Cut(rest, " ")
		p, rest, _ = strings.Cut(rest, " ")
		quantity, qerr := strconv.Atoi(q)
		price, perr := strconv.Atoi(p)
		if id == "" || qerr != nil || perr != nil {
			return nil, fmt.Errorf("order lines %q do not parse", s)
		}
		items = append(items, Item{BookID: id, Quantity: quantity, UnitPriceCents: price})
	}
	return items, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getOrder(ctx context.Context, q querier, id string) (*Order, error) {
	o, err := scanOrder(q.QueryRow(ctx, selectOrders+` WHERE o.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get order %s: %w", id, err)
	}
	return o, nil
}

// Get returns the order with id, or nil when there is none.
func (s *Store) Get(ctx context.Context, id string) (*Order, error) {
	if !ValidID(id) {
		return nil, nil
	}
	return getOrder(ctx, s.db, id)
}

// GetMany returns the orders with the given ids in one statement, lined up
// with ids (nil for an unknown id).
func (s *Store) GetMany(ctx context.Context, ids []string) ([]*Order, error) {
	out := make([]*Order, len(ids))
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if ValidID(id) {
			valid = append(valid, id)
		}
	}
	if len(valid) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, selectOrders+` WHERE o.id = ANY($1::uuid[])`, pgsql.UUIDs(valid))
	if err != nil {
		return nil, fmt.Errorf("get %d orders: %w", len(valid), err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Order, error) { return scanOrder(r) })
	if err != nil {
		return nil, fmt.Errorf("get %d orders: %w", len(valid), err)
	}
	byID := make(map[string]*Order, len(orders))
	for _, o := range orders {
		byID[o.ID] = o
	}
	for i, id := range ids {
		if ValidID(id) {
			out[i] = byID[strings.ToLower(id)]
		}
	}
	return out, nil
}

// Filter narrows the order list. Nil fields do not filter.
type Filter struct {
	// CustomerEmail matches case-insensitively and exactly.
	CustomerEmail *string
	Status        *string
}

func (f Filter) where(a *pgsql.Args) []string {
	var conds []string
	if f.CustomerEmail != nil {
		conds = append(conds, "lower(o.customer_email) = lower("+a.Add(*f.CustomerEmail)+")")
	}
	if f.Status != nil {
		conds = append(conds, "o.status = "+a.Add(*f.Status))
	}
	return conds
}

// ListParams selects one page of orders, newest first.
type ListParams struct {
	Filter Filter
	First  int
	After  string
}

// Edge is one order of a page.
type Edge struct {
	Order *Order
}

// Cursor returns the edge's cursor. It is encoded on demand: a client
// seldom selects the cursor of every edge.
func (e Edge) Cursor() string {
	return cursor.Encode(newestFirst, e.Order.CreatedAt.UTC().Format(time.RFC3339Nano), e.Order.ID)
}

// Page is one page of orders.
type Page struct {
	Edges       []Edge
	HasNextPage bool
}

const newestFirst = "NEWEST"

// List returns one page of orders, newest first (ties by id), lines
// included, in one statement.
//
// Every page is a range of an index, however deep: ties on created_at
// break by id ascending, so "after (t, id0)" is the rest of t's ties
// (created_at = t AND id > id0) then the older orders (created_at < t),
// each a range of the (created_at DESC, id) indexes, each limited to the
// page size, merged in order.
func (s *Store) List(ctx context.Context, p ListParams) (Page, error) {
	var a pgsql.Args
	filter := p.Filter.where(&a)
	var tp, ip string
	if p.After != "" {
		var key string
		id, err := cursor.Decode(p.After, newestFirst, &key)
		if err != nil || !ValidID(id) {
			return Page{}, ErrBadCursor
		}
		t, err := time.Parse(time.RFC3339Nano, key)
		if err != nil {
			return Page{}, ErrBadCursor
		}
		tp, ip = a.Add(t), a.Add(id)+"::uuid"
	}
	limit := a.Add(p.First + 1)
	where := func(conds ...string) string {
		if all := append(slices.Clip(filter), conds...); len(all) > 0 {
			return " WHERE " + strings.Join(all, " AND ")
		}
		return ""
	}
	var q string
	if p.After == "" {
		q = selectOrders + where() + " ORDER BY o.created_at DESC, o.id LIMIT " + limit
	} else {
		// The page's rows first, then their lines: the lines' subquery runs
		// for the page only.
		q = `WITH page AS (
  (SELECT o.* FROM orders.orders o` + where("o.created_at = "+tp, "o.id > "+ip) + ` ORDER BY o.id LIMIT ` + limit + `)
  UNION ALL
  (SELECT o.* FROM orders.orders o` + where("o.created_at < "+tp) + ` ORDER BY o.created_at DESC, o.id LIMIT ` + limit + `)
  ORDER BY created_at DESC, id LIMIT ` + limit + `
)
` + strings.Replace(selectOrders, "FROM orders.orders o", "FROM page o", 1) + ` ORDER BY o.created_at DESC, o.id`
	}
	args := []any(a)
	if p.Filter.CustomerEmail != nil {
		// One customer has one order, another thousands.
		args = a.PlannedEachTime()
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Order, error) { return scanOrder(r) })
	if err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	var page Page
	if len(orders) > p.First {
		page.HasNextPage = true
		orders = orders[:p.First]
	}
	page.Edges = make([]Edge, len(orders))
	for i, o := range orders {
		page.Edges[i] = Edge{Order: o}
	}
	return page, nil
}

// Count returns how many orders match the filter. Without a customer it
// reads the counters the triggers keep (orders.order_counts: 16 rows,
// whatever the number of orders); a customer's orders are counted from the
// e-mail index alone. Either way the count is exact for the statement's
// snapshot.
func (s *Store) Count(ctx context.Context, f Filter) (int, error) {
	var q string
	var args []any
	switch {
	case f.CustomerEmail != nil:
		var a pgsql.Args
		q = `SELECT count(*) FROM orders.orders o WHERE ` + strings.Join(f.where(&a), " AND ")
		args = a.PlannedEachTime()
	case f.Status == nil:
		q = `SELECT COALESCE(sum(placed + cancelled), 0) FROM orders.order_counts`
	case *f.Status == Placed:
		q = `SELECT COALESCE(sum(placed), 0) FROM orders.order_counts`
	case *f.Status == Cancelled:
		q = `SELECT COALESCE(sum(cancelled), 0) FROM orders.order_counts`
	default:
		return 0, nil // no such status: no order has it
	}
	var n int64
	if err := s.db.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count orders: %w", err)
	}
	return int(n), nil
}

// UnitsSold returns, for each of the given book ids, the units in PLACED
// orders, in one statement: primary-key reads of orders.book_sales, which
// the triggers keep. Ids with no sales map to 0.
func (s *Store) UnitsSold(ctx context.Context, bookIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(bookIDs))
	valid := make([]string, 0, len(bookIDs))
	for _, id := range bookIDs {
		if ValidID(id) {
			valid = append(valid, strings.ToLower(id))
			out[id] = 0
		}
	}
	if len(valid) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `SELECT book_id::text, units_sold FROM orders.book_sales WHERE book_id = ANY($1::uuid[])`, pgsql.UUIDs(valid))
	if err != nil {
		return nil, fmt.Errorf("units sold of %d books: %w", len(valid), err)
	}
	defer rows.Close()
	sold := make(map[string]int, len(valid))
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("units sold: scan: %w", err)
		}
		sold[id] = int(n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("units sold: %w", err)
	}
	for _, id := range bookIDs {
		if ValidID(id) {
			out[id] = sold[strings.ToLower(id)]
		}
	}
	return out, nil
}

// Line is a requested order line.
type Line struct {
	BookID   string
	Quantity int
}

// NewOrder is an order to place, already validated: 1..50 lines, each book
// at most once, quantities 1..100, a valid e-mail.
type NewOrder struct {
	CustomerEmail string
	Lines         []Line
	// IdempotencyKey is "" for none. RequestHash identifies the input, so
	// that a replay with another input is told apart.
	IdempotencyKey string
	RequestHash    []byte
}

// advisory lock namespace for idempotency keys ("ORDR").
const idempotencyLockNS = 0x4f524452

// Place reserves the stock of every line and records the order, in one
// transaction: all lines or none. With an idempotency key already used for
// the same input, it returns that order as it is now and replayed = true,
// reserving nothing.
func (s *Store) Place(ctx context.Context, no NewOrder) (o *Order, replayed bool, err error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("place order: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit

	if no.IdempotencyKey != "" {
		// Requests with the same key queue here; each then sees what the
		// ones before it committed.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, idempotencyLockNS, no.IdempotencyKey); err != nil {
			return nil, false, fmt.Errorf("place order: lock idempotency key: %w", err)
		}
		var id string
		var hash []byte
		err := tx.QueryRow(ctx, `SELECT id, request_hash FROM orders.orders WHERE idempotency_key = $1`, no.IdempotencyKey).Scan(&id, &hash)
		switch {
		case err == nil:
			if string(hash) != string(no.RequestHash) {
				return nil, false, ErrKeyReused
			}
			o, err := getOrder(ctx, tx, id)
			if err != nil {
				return nil, false, err
			}
			return o, true, tx.Commit(ctx)
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, false, fmt.Errorf("place order: look up idempotency key: %w", err)
		}
	}

	ids := make([]string, len(no.Lines))
	qtys := make([]int32, len(no.Lines))
	for i, l := range no.Lines {
		ids[i], qtys[i] = strings.ToLower(l.BookID), int32(l.Quantity)
	}
	type reservation struct {
		price, available int
		currency         string
		reserved         bool
	}
	res := make(map[string]reservation, len(ids))
	rows, err := tx.Query(ctx, `SELECT book_id::text, price_cents, currency, available, reserved
FROM books.reserve_stock($1::uuid[], $2::integer[])`, pgsql.UUIDs(ids), qtys)
	if err != nil {
		return nil, false, fmt.Errorf("place order: reserve stock: %w", err)
	}
	for rows.Next() {
		var id string
		var r reservation
		if err := rows.Scan(&id, &r.price, &r.currency, &r.available, &r.reserved); err != nil {
			rows.Close()
			return nil, false, fmt.Errorf("place order: reserve stock: scan: %w", err)
		}
		res[id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("place order: reserve stock: %w", err)
	}

	// Report problems in the order of the client's lines.
	var total int64
	prices := make([]int32, len(ids))
	currency := ""
	for i, l := range no.Lines {
		r, ok := res[ids[i]]
		switch {
		case !ok:
			return nil, false, &UnknownBookError{BookID: l.BookID}
		case !r.reserved && r.available < l.Quantity:
			return nil, false, &InsufficientStockError{BookID: l.BookID, Requested: l.Quantity, Available: r.available}
		}
		prices[i] = int32(r.price)
		total += int64(r.price) * int64(l.Quantity)
		if currency == "" {
			currency = r.currency
		}
	}
	if !res[ids[0]].reserved {
		// Every book exists and fits, yet nothing was reserved: the function
		// and this code disagree. Never record an order without its stock.
		return nil, false, errors.New("place order: stock was not reserved")
	}
	if total > MaxTotalCents {
		return nil, false, ErrTotalTooLarge
	}

	var key *string
	var hash []byte
	if no.IdempotencyKey != "" {
		key, hash = &no.IdempotencyKey, no.RequestHash
	}
	var id, xid string
	err = tx.QueryRow(ctx, `
WITH o AS (
  INSERT INTO orders.orders (customer_email, total_cents, currency, idempotency_key, request_hash)
  VALUES ($1, $2, $3, $4, $5)
  RETURNING id
), items AS (
  INSERT INTO orders.order_items (order_id, line_no, book_id, quantity, unit_price_cents)
  SELECT o.id, t.n, t.book_id, t.qty, t.price
    FROM o, unnest($6::uuid[], $7::integer[], $8::integer[]) WITH ORDINALITY AS t(book_id, qty, price, n)
)
SELECT id::text, pg_current_xact_id()::text FROM o`, no.CustomerEmail, total, currency, key, hash, pgsql.UUIDs(ids), qtys, prices).Scan(&id, &xid)
	if err != nil {
		return nil, false, fmt.Errorf("place order: insert: %w", err)
	}
	if o, err = getOrder(ctx, tx, id); err != nil {
		return nil, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		if pgsql.Unavailable(err) {
			return nil, false, &CommitUnknownError{OrderID: id, Xid: xid, Err: err}
		}
		return nil, false, fmt.Errorf("place order: commit: %w", err)
	}
	return o, false, nil
}

// TxStatus returns the status of transaction xid (xid8): "committed",
// "aborted" (rolled back, or in progress when the server crashed) or "in
// progress". A server going down may still answer "in progress" for a
// transaction whose commit it has written: only the two others are final.
// A server that crashed before a transaction's log reached its disk may
// give its id to a later transaction: "committed" is then that one's.
func (s *Store) TxStatus(ctx context.Context, xid string) (string, error) {
	var status *string
	if err := s.db.QueryRow(ctx, `SELECT pg_xact_status($1::xid8)`, xid).Scan(&status); err != nil {
		return "", fmt.Errorf("status of transaction %s: %w", xid, err)
	}
	if status == nil {
		return "", fmt.Errorf("status of transaction %s: too old to know", xid)
	}
	return *status, nil
}

// Cancel cancels a PLACED order and returns its lines to stock, in one
// transaction. An unknown id is ErrNotFound; an order that is not PLACED is
// ErrNotCancellable.
func (s *Store) Cancel(ctx context.Context, id string) (*Order, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("cancel order: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()

	var status string
	err = tx.QueryRow(ctx, `SELECT status FROM orders.orders WHERE id = $1 FOR UPDATE`, id).Scan(&status)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("cancel order %s: %w", id, err)
	case status != Placed:
		return nil, ErrNotCancellable
	}
	_, err = tx.Exec(ctx, `
SELECT count(*) FROM books.release_stock(
  ARRAY(SELECT book_id FROM orders.order_items WHERE order_id = $1 ORDER BY line_no),
  ARRAY(SELECT quantity FROM orders.order_items WHERE order_id = $1 ORDER BY line_no))`, id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23514" { // check_violation: stock over its limit
		return nil, ErrReleaseOverflow
	}
	if err != nil {
		return nil, fmt.Errorf("cancel order %s: release stock: %w", id, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE orders.orders SET status = 'CANCELLED', cancelled_at = now() WHERE id = $1`, id); err != nil {
		return nil, fmt.Errorf("cancel order %s: %w", id, err)
	}
	o, err := getOrder(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("cancel order %s: commit: %w", id, err)
	}
	return o, nil
}
