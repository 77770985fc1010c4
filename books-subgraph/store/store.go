// Package store is the books subgraph's access to PostgreSQL: every SQL
// statement of the catalogue lives here.
package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"bookstore/graph/cursor"
	"bookstore/graph/platform/pgsql"
)

// Errors the store reports to its callers.
var (
	ErrNotFound      = errors.New("book not found")
	ErrDuplicateISBN = errors.New("a book with this ISBN already exists")
	ErrStockLimit    = errors.New("stock would exceed the limit")
	ErrBadCursor     = cursor.ErrInvalid
)

// MaxStock is the most units of one book the catalogue holds.
const MaxStock = 1_000_000

// Store reads and writes the catalogue.
type Store struct {
	db     *pgxpool.Pool
	counts searchCounts
}

// New returns a store over pool.
func New(pool *pgxpool.Pool) *Store { return &Store{db: pool} }

const columns = `b.id, b.isbn, b.title, b.author, b.description, b.published_year,
  b.price_cents, b.currency, b.stock, b.created_at, b.updated_at`

// Columns are the columns of a book that a read loads besides its id,
// which every read loads. A Book read without a column holds its zero
// value there: a request loads what it selects (rounded up to groups of
// columns, see columnGroups).
type Columns uint16

// The columns of a book.
const (
	ISBN Columns = 1 << iota
	Title
	Author
	Description
	PublishedYear
	PriceCents
	Currency
	Stock
	CreatedAt
	UpdatedAt

	AllColumns = ISBN | Title | Author | Description | PublishedYear | PriceCents | Currency | Stock | CreatedAt | UpdatedAt
)

// columnGroups are the columns in three groups: a book's title and price
// (what an order's lines show of it), what a list of books shows besides,
// and the rest. A read loads every column of a group it needs one of, so
// that a subgraph sends at most eight select lists for each statement
// (each a prepared statement on every connection; see "Connections" in the
// README), however clients combine fields.
func columnGroups() [3]Columns {
	return [...]Columns{Title | PriceCents, Author | Currency | Stock, ISBN | Description | PublishedYear | CreatedAt | UpdatedAt}
}

// rounded returns c with every column of a group it has one of.
func (c Columns) rounded() Columns {
	for _, g := range columnGroups() {
		if c&g != 0 {
			c |= g
		}
	}
	return c
}

// sql returns the select list of the id and c.
func (c Columns) sql() string {
	if c == AllColumns {
		return columns
	}
	names := [...]string{"b.isbn", "b.title", "b.author", "b.description", "b.published_year",
		"b.price_cents", "b.currency", "b.stock", "b.created_at", "b.updated_at"}
	var b strings.Builder
	b.WriteString("b.id")
	for i, n := range names {
		if c&(1<<i) != 0 {
			b.WriteString(", ")
			b.WriteString(n)
		}
	}
	return b.String()
}

// scanner reads rows of the id and the columns c (as c.sql() lists them),
// then of any columns that follow them.
type scanner struct {
	c    Columns
	dest []any // reused from row to row
}

func newScanner(c Columns) *scanner { return &scanner{c: c, dest: make([]any, 0, 13)} }

// scan reads a row into a new Book, and into extra the columns after c.
func (s *scanner) scan(row pgx.Row, extra ...any) (*Book, error) {
	b := new(Book)
	fields := [...]any{&b.ISBN, &b.Title, &b.Author, &b.Description, &b.PublishedYear,
		&b.PriceCents, &b.Currency, &b.Stock, &b.CreatedAt, &b.UpdatedAt}
	s.dest = append(s.dest[:0], &b.ID)
	for i, f := range fields {
		if s.c&(1<<i) != 0 {
			s.dest = append(s.dest, f)
		}
	}
	s.dest = append(s.dest, extra...)
	if err := row.Scan(s.dest...); err != nil {
		return nil, err
	}
	return b, nil
}

// scanBook reads one row as scanner does.
func scanBook(row pgx.Row, c Columns, extra ...any) (*Book, error) {
	return newScanner(c).scan(row, extra...)
}

// ValidID reports whether id has the form of a book id (a UUID). Anything
// else names no book.
func ValidID(id string) bool { return pgsql.IsUUID(id) }

// Get returns the book with id, or nil when there is none, with the
// columns c.
func (s *Store) Get(ctx context.Context, id string, c Columns) (*Book, error) {
	if !ValidID(id) {
		return nil, nil
	}
	c = c.rounded()
	b, err := scanBook(s.db.QueryRow(ctx, `SELECT `+c.sql()+` FROM books.books b WHERE b.id = $1`, id), c)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get book %s: %w", id, err)
	}
	return b, nil
}

// GetMany returns the books with the given ids, with the columns c, in one
// statement. The result lines up with ids: result[i] is the book of
// ids[i], or nil.
func (s *Store) GetMany(ctx context.Context, ids []string, c Columns) ([]*Book, error) {
	c = c.rounded()
	out := make([]*Book, len(ids))
	keys := pgsql.UUIDs(ids) // an id that is no UUID is NULL
	valid := make([]pgtype.UUID, 0, len(keys))
	for _, k := range keys {
		if k.Valid {
			valid = append(valid, k)
		}
	}
	if len(valid) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `SELECT `+c.sql()+` FROM books.books b WHERE b.id = ANY($1::uuid[])`, valid)
	if err != nil {
		return nil, fmt.Errorf("get %d books: %w", len(valid), err)
	}
	defer rows.Close()
	byID := make(map[[16]byte]*Book, len(valid))
	sc := newScanner(c)
	for rows.Next() {
		b, err := sc.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan book: %w", err)
		}
		key, _ := pgsql.ParseUUID(b.ID)
		byID[key] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get %d books: %w", len(valid), err)
	}
	for i, k := range keys {
		if k.Valid {
			out[i] = byID[k.Bytes]
		}
	}
	return out, nil
}

// Order is a sort order of the catalogue. Every order breaks ties by id.
type Order string

// The orders of the catalogue, spelled as in the GraphQL enum.
const (
	TitleAsc  Order = "TITLE_ASC"
	TitleDesc Order = "TITLE_DESC"
	PriceAsc  Order = "PRICE_ASC"
	PriceDesc Order = "PRICE_DESC"
	Newest    Order = "NEWEST"
)

// Filter narrows the catalogue. Nil fields do not filter.
type Filter struct {
	// Search matches a case-insensitive substring of the title or author.
	Search *string
	// Author matches the author case-insensitively and exactly.
	Author *string
	// InStock keeps books with stock > 0 (true) or stock = 0 (false).
	InStock *bool
}

// ListParams selects one page of the catalogue.
type ListParams struct {
	Filter Filter
	Order  Order
	First  int
	// After is the cursor of the last book of the previous page, or "".
	After string
	// Columns are the columns the page's books need.
	Columns Columns
}

// Edge is one book of a page.
type Edge struct {
	Book  *Book
	order Order
	key   any // the row's sort key
}

// Cursor returns the edge's cursor. It is encoded on demand: a client
// seldom selects the cursor of every edge.
func (e Edge) Cursor() string {
	key := e.key
	if t, ok := key.(time.Time); ok {
		key = t.UTC().Format(time.RFC3339Nano)
	}
	return cursor.Encode(string(e.order), key, e.Book.ID)
}

// Page is one page of the catalogue.
type Page struct {
	Edges       []Edge
	HasNextPage bool
}

// sortSpec says how one Order sorts and pages.
type sortSpec struct {
	key     string // SQL expression of the sort key
	desc    bool
	keyKind string // "text", "int" or "time": the JSON form of the key in a cursor
}

var sortSpecs = map[Order]sortSpec{
	TitleAsc:  {key: "lower(b.title)", keyKind: "text"},
	TitleDesc: {key: "lower(b.title)", desc: true, keyKind: "text"},
	PriceAsc:  {key: "b.price_cents", keyKind: "int"},
	PriceDesc: {key: "b.price_cents", desc: true, keyKind: "int"},
	Newest:    {key: "b.created_at", desc: true, keyKind: "time"},
}

// maxSearch is the longest search term that can match: a title has at
// most 300 characters, an author 200, and lower() makes at most 3
// characters of one. A longer term matches nothing.
const maxSearch = 3 * 300

// matchesNothing reports whether the filter is sure to match no book, so
// that no statement need run.
func (f Filter) matchesNothing() bool {
	return f.Search != nil && utf8.RuneCountInString(*f.Search) > maxSearch
}

// where renders the filter as SQL conditions.
//
// A search is a case-insensitive ILIKE of the escaped term (%, _ and \
// match themselves) on the title or the author. The trigram indexes serve
// terms of 3 characters or more. A term of 1 or 2 characters has no
// trigram: the condition on books.search_grams (migration 3), which every
// match meets, lets the planner find its few books through that GIN index
// when the term is rare; when it is common, walking the ordering's index
// finds a page sooner, and the planner, planning for this very term,
// chooses that.
func (f Filter) where(a *pgsql.Args) []string {
	var conds []string
	if f.Search != nil {
		p := a.Add("%" + pgsql.EscapeLike(*f.Search) + "%")
		if n := utf8.RuneCountInString(*f.Search); n >= 1 && n <= 2 { // "" matches every book
			conds = append(conds, "books.search_grams(b.title, b.author) @> ARRAY[left(lower("+a.Add(*f.Search)+"::text), 2)]")
		}
		conds = append(conds, "(b.title ILIKE "+p+" OR b.author ILIKE "+p+")")
	}
	if f.Author != nil {
		conds = append(conds, "lower(b.author) = lower("+a.Add(*f.Author)+")")
	}
	if f.InStock != nil {
		if *f.InStock {
			conds = append(conds, "b.stock > 0")
		} else {
			conds = append(conds, "b.stock = 0")
		}
	}
	return conds
}

// List returns one page of the catalogue in one statement.
//
// Every page is a range of the ordering's index, however deep: an
// ascending ordering continues after the cursor with a row comparison,
// (key, id) > (k, id0). A descending one breaks ties by id ascending, as
// every ordering does, so "after (k, id0)" is not one row comparison; it is
// two ranges of the (key DESC, id) index, the rest of k's ties (key = k AND
// id > id0) then the keys below k (key < k), each limited to the page
// size, merged in order.
func (s *Store) List(ctx context.Context, p ListParams) (Page, error) {
	spec, ok := sortSpecs[p.Order]
	if !ok {
		return Page{}, fmt.Errorf("list books: unknown order %q", p.Order)
	}
	var k any
	var afterID string
	if p.After != "" {
		var err error
		if k, afterID, err = spec.decode(p.Order, p.After); err != nil {
			return Page{}, err
		}
	}
	if p.Filter.matchesNothing() {
		return Page{}, nil
	}
	p.Columns = p.Columns.rounded()
	var a pgsql.Args
	filter := p.Filter.where(&a)
	var kp, ip string
	if p.After != "" {
		kp, ip = a.Add(k), a.Add(afterID)+"::uuid"
	}
	limit := a.Add(p.First + 1)
	selectWhere := func(conds ...string) string {
		q := `SELECT ` + p.Columns.sql() + `, ` + spec.key + ` AS sort_key FROM books.books b`
		if all := append(slices.Clip(filter), conds...); len(all) > 0 {
			q += " WHERE " + strings.Join(all, " AND ")
		}
		return q
	}
	var q string
	switch {
	case p.After == "" && spec.desc:
		q = selectWhere() + " ORDER BY " + spec.key + " DESC, b.id LIMIT " + limit
	case p.After == "":
		q = selectWhere() + " ORDER BY " + spec.key + ", b.id LIMIT " + limit
	case !spec.desc:
		q = selectWhere("("+spec.key+", b.id) > ("+kp+", "+ip+")") + " ORDER BY " + spec.key + ", b.id LIMIT " + limit
	default:
		q = `SELECT * FROM ((` + selectWhere(spec.key+" = "+kp, "b.id > "+ip) + ` ORDER BY b.id LIMIT ` + limit + `)
UNION ALL (` + selectWhere(spec.key+" < "+kp) + ` ORDER BY ` + spec.key + ` DESC, b.id LIMIT ` + limit + `)) p
ORDER BY p.sort_key DESC, p.id LIMIT ` + limit
	}

	args := []any(a)
	if len(filter) > 0 {
		args = a.PlannedEachTime()
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list books: %w", err)
	}
	defer rows.Close()
	var page Page
	sc := newScanner(p.Columns)
	for rows.Next() {
		var key any
		b, err := sc.scan(rows, &key)
		if err != nil {
			return Page{}, fmt.Errorf("list books: scan: %w", err)
		}
		if len(page.Edges) == p.First {
			page.HasNextPage = true
			break
		}
		page.Edges = append(page.Edges, Edge{Book: b, order: p.Order, key: key})
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list books: %w", err)
	}
	return page, nil
}

// decode reads a cursor of this ordering: the sort key of the last row seen
// (a string, an int64 or a time.Time) and its id.
func (spec sortSpec) decode(order Order, c string) (key any, id string, err error) {
	var dst any
	switch spec.keyKind {
	case "text", "time":
		dst = new(string)
	case "int":
		dst = new(int64)
	}
	id, err = cursor.Decode(c, string(order), dst)
	if err != nil || !ValidID(id) {
		return nil, "", ErrBadCursor
	}
	switch v := dst.(type) {
	case *string:
		if spec.keyKind == "time" {
			t, err := time.Parse(time.RFC3339Nano, *v)
			if err != nil {
				return nil, "", ErrBadCursor
			}
			return t, id, nil
		}
		return *v, id, nil
	case *int64:
		return *v, id, nil
	}
	return nil, "", ErrBadCursor
}

// Count returns how many books match the filter, exactly, for the
// statement's snapshot.
//
// The whole catalogue, or only its books in stock or out of stock, is read
// from the counters the triggers keep (books.catalogue_counts: 16 rows,
// whatever the number of books); an author's books are counted from the
// author index alone. A search counts its matches, which costs as many
// index entries and rows as it matches: a common term matches half the
// catalogue. So the store keeps the counts of searches it made (see
// searchCounts), each with the catalogue's change counter as it was; a
// count is used again only while that counter is the same, read in the
// statement that uses it, so it is still exact.
func (s *Store) Count(ctx context.Context, f Filter) (int, error) {
	if f.matchesNothing() {
		return 0, nil
	}
	var a pgsql.Args
	switch {
	case f.Search == nil && f.Author == nil:
		col := "books"
		if f.InStock != nil && *f.InStock {
			col = "in_stock"
		} else if f.InStock != nil {
			col = "books - in_stock"
		}
		var n int64
		if err := s.db.QueryRow(ctx, `SELECT COALESCE(sum(`+col+`), 0) FROM books.catalogue_counts`).Scan(&n); err != nil {
			return 0, fmt.Errorf("count books: %w", err)
		}
		return int(n), nil
	case f.Search == nil:
		var n int64
		q := `SELECT count(*) FROM books.books b WHERE ` + strings.Join(f.where(&a), " AND ")
		if err := s.db.QueryRow(ctx, q, a.PlannedEachTime()...).Scan(&n); err != nil {
			return 0, fmt.Errorf("count books: %w", err)
		}
		return int(n), nil
	}
	key := f.key()
	if n, version, ok := s.counts.get(key); ok {
		var now int64
		if err := s.db.QueryRow(ctx, `SELECT COALESCE(sum(changes), 0) FROM books.catalogue_counts`).Scan(&now); err != nil {
			return 0, fmt.Errorf("count books: %w", err)
		}
		if now == version {
			return n, nil
		}
	}
	n, version, err := s.countSearch(ctx, f)
	if err != nil {
		return 0, err
	}
	if len(key) <= maxSearchCountKey {
		s.counts.put(key, n, version)
	}
	return n, nil
}

// countSearch counts a search's matches, with the change counter of the
// same snapshot (one statement). It plans with sequential scans off: for
// a term most books match, a scan looks as cheap to the planner as the
// search indexes, but it would compute books.search_grams for each row,
// which the index has kept.
func (s *Store) countSearch(ctx context.Context, f Filter) (n int, version int64, err error) {
	tx, err := s.db.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, 0, fmt.Errorf("count books: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		return 0, 0, fmt.Errorf("count books: %w", err)
	}
	var a pgsql.Args
	q := `SELECT count(*), (SELECT COALESCE(sum(changes), 0) FROM books.catalogue_counts)
FROM books.books b WHERE ` + strings.Join(f.where(&a), " AND ")
	var count int64
	if err := tx.QueryRow(ctx, q, a.PlannedEachTime()...).Scan(&count, &version); err != nil {
		return 0, 0, fmt.Errorf("count books: %w", err)
	}
	return int(count), version, tx.Commit(ctx)
}

// key identifies a filter in searchCounts.
func (f Filter) key() string {
	var b strings.Builder
	for _, v := range []*string{f.Search, f.Author} {
		if v == nil {
			b.WriteString("-")
		} else {
			b.WriteString(strconv.Quote(*v))
		}
	}
	if f.InStock != nil {
		b.WriteString(strconv.FormatBool(*f.InStock))
	}
	return b.String()
}

// searchCounts keeps the counts of searches, each with the value of the
// catalogue's change counter (the sum of books.catalogue_counts.changes)
// in the snapshot it was counted in. The triggers add to that counter, in
// the same transaction, whenever a book is added or removed, is retitled
// or re-authored, or goes in or out of stock: whenever any filter's
// matches can change. Snapshots only ever see more commits, and the
// counter only grows, so two snapshots that read the same value see the
// same matches, and the kept count is exact in both.
type searchCounts struct {
	mu sync.Mutex
	m  map[string]searchCount
}

type searchCount struct {
	n       int
	version int64
}

// maxSearchCounts and maxSearchCountKey bound the memory searchCounts may
// take (about 3 MB): past maxSearchCounts entries it starts afresh, and a
// filter of a longer key is counted every time (a long term is rare in
// the catalogue, so its count is cheap).
const (
	maxSearchCounts   = 10_000
	maxSearchCountKey = 256
)

func (c *searchCounts) get(key string) (n int, version int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	return e.n, e.version, ok
}

func (c *searchCounts) put(key string, n int, version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxSearchCounts {
		c.m = make(map[string]searchCount)
	}
	if e, ok := c.m[key]; !ok || e.version <= version {
		c.m[key] = searchCount{n: n, version: version}
	}
}

// NewBook is a book to add to the catalogue, already validated.
type NewBook struct {
	ISBN          string
	Title         string
	Author        string
	Description   string
	PublishedYear *int
	PriceCents    int
	Stock         int
}

// Create adds a book. A taken ISBN is ErrDuplicateISBN.
func (s *Store) Create(ctx context.Context, nb NewBook) (*Book, error) {
	b, err := scanBook(s.db.QueryRow(ctx, `
INSERT INTO books.books AS b (isbn, title, author, description, published_year, price_cents, stock)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING `+columns,
		nb.ISBN, nb.Title, nb.Author, nb.Description, nb.PublishedYear, nb.PriceCents, nb.Stock), AllColumns)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "books_isbn_key" {
		return nil, ErrDuplicateISBN
	}
	if err != nil {
		return nil, fmt.Errorf("create book: %w", err)
	}
	return b, nil
}

// Update is a change to a book's details; nil fields stay as they are.
type Update struct {
	Title       *string
	Author      *string
	Description *string
	// SetYear says whether PublishedYear applies; a nil year then clears it.
	SetYear       bool
	PublishedYear *int
	PriceCents    *int
}

// Update changes a book's details. An unknown id is ErrNotFound.
func (s *Store) Update(ctx context.Context, id string, u Update) (*Book, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	var a pgsql.Args
	var sets []string
	if u.Title != nil {
		sets = append(sets, "title = "+a.Add(*u.Title))
	}
	if u.Author != nil {
		sets = append(sets, "author = "+a.Add(*u.Author))
	}
	if u.Description != nil {
		sets = append(sets, "description = "+a.Add(*u.Description))
	}
	if u.SetYear {
		sets = append(sets, "published_year = "+a.Add(u.PublishedYear))
	}
	if u.PriceCents != nil {
		sets = append(sets, "price_cents = "+a.Add(*u.PriceCents))
	}
	if len(sets) == 0 {
		b, err := s.Get(ctx, id, AllColumns)
		if err == nil && b == nil {
			err = ErrNotFound
		}
		return b, err
	}
	q := `UPDATE books.books AS b SET ` + strings.Join(sets, ", ") + `, updated_at = now()
WHERE b.id = ` + a.Add(id) + ` RETURNING ` + columns
	b, err := scanBook(s.db.QueryRow(ctx, q, a...), AllColumns)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("update book %s: %w", id, err)
	}
	return b, nil
}

// Restock adds quantity units to a book's stock, atomically. An unknown id is
// ErrNotFound; a stock that would pass MaxStock is ErrStockLimit, and nothing
// changes.
func (s *Store) Restock(ctx context.Context, id string, quantity int) (*Book, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	// One statement: the update applies only within the limit, and the outer
	// query tells "not found" from "over the limit" without a second trip.
	row := s.db.QueryRow(ctx, `
WITH moved AS (
  UPDATE books.books AS b SET stock = b.stock + $2, updated_at = now()
   WHERE b.id = $1 AND b.stock + $2 <= $3
  RETURNING `+columns+`
)
SELECT m.*, true FROM moved m
UNION ALL
SELECT `+columns+`, false FROM books.books b WHERE b.id = $1 AND NOT EXISTS (SELECT 1 FROM moved)`,
		id, quantity, MaxStock)
	var moved bool
	b, err := scanBook(row, AllColumns, &moved)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("restock book %s: %w", id, err)
	case !moved:
		return b, ErrStockLimit
	}
	return b, nil
}
