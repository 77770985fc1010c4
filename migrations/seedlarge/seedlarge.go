// Package seedlarge loads a large, realistic demo data set into a migrated
// bookstore database: by default 100,000 books and 1,000,000 orders of 1..5
// lines, with bestsellers that hold 100,000+ order lines each. It is demo
// data, for measuring the bookstore at scale (`make seed-large`, `make
// bench-scale`, the stores' EXPLAIN tests at a smaller size); it is never
// part of the migrations.
//
// The rows are generated inside PostgreSQL with set-based SQL
// (generate.sql), in one transaction: a failed or interrupted load leaves
// nothing behind. To be fast, the load drops the tables' secondary indexes
// and foreign keys inside that transaction and builds them again at its
// end, so other sessions that touch the tables wait until it commits.
// Triggers stay on, so whatever the schema keeps up to date from its rows
// (counters) is kept up to date by the load too.
package seedlarge

import (
	"context"
	"crypto/md5"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/cursor"
)

//go:embed generate.sql
var generateSQL string

// Sizes is how much to load.
type Sizes struct {
	Books  int
	Orders int
}

// Full is the data set of `make seed-large`.
var Full = Sizes{Books: 100_000, Orders: 1_000_000}

// Bestsellers is how many of the first books are bestsellers: book 1 gets
// 12% of all order lines, book 2 8%, book 3 5%, books 4..10 3% together.
const Bestsellers = 10

// EmailDomain is the domain of every generated customer's e-mail.
const EmailDomain = "seed-large.example"

// BulkBuyer is the customer who places one order in fifty.
const BulkBuyer = "bulk.buyer@" + EmailDomain

// BookID returns the id of generated book n (1-based), as generate.sql
// makes it: md5('bookstore-large:book:' || n)::uuid.
func BookID(n int) string {
	sum := md5.Sum([]byte("bookstore-large:book:" + strconv.Itoa(n)))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Found is what earlier loads left in a database.
type Found struct {
	Books  int // generated books
	Orders int // orders with a generated customer's e-mail
}

// Empty reports whether nothing of a load is there.
func (f Found) Empty() bool { return f.Books == 0 && f.Orders == 0 }

// ErrLoaded is returned by Load when the data set is already there and
// Options.Reload is not set.
var ErrLoaded = errors.New("the large data set is already loaded")

// Options describe one load.
type Options struct {
	Sizes
	// Reload deletes what earlier loads left (their books, and every order
	// with a line for one of them or with a generated e-mail) before
	// loading, in the same transaction.
	Reload bool
	// Progress, when not nil, receives a line per step with its time.
	Progress io.Writer
	// afterStep, in tests, runs after each step; an error aborts the load.
	afterStep func(step string) error
}

// Report says what a load did.
type Report struct {
	Found       Found // before the load
	Books       int
	Orders      int
	Lines       int
	Bestsellers []int // order lines of books 1, 2 and 3
	Load        time.Duration
	Vacuum      time.Duration
}

// The tables the load writes; their secondary indexes and foreign keys are
// rebuilt.
var tables = []string{"books.books", "orders.orders", "orders.order_items"}

// generatedBook is true for a row of books.books b that the load made.
const generatedBook = `b.isbn LIKE '979%' AND b.id = md5('bookstore-large:book:' || substr(b.isbn, 4, 9)::int)::uuid`

// Existing counts what earlier loads left in the database.
func Existing(ctx context.Context, conn *pgx.Conn) (Found, error) {
	var f Found
	err := conn.QueryRow(ctx, `
SELECT (SELECT count(*) FROM books.books b WHERE `+generatedBook+`),
       (SELECT count(*) FROM orders.orders WHERE customer_email LIKE '%@`+EmailDomain+`')`).Scan(&f.Books, &f.Orders)
	if err != nil {
		return Found{}, fmt.Errorf("seedlarge: looking for an earlier load: %w", err)
	}
	return f, nil
}

// Load loads the data set in one transaction, then VACUUM ANALYZEs the
// tables. conn must own the tables (the database owner or a superuser). A
// database that already holds the data set is ErrLoaded, with the Report's
// Found saying what is there, unless o.Reload.
func Load(ctx context.Context, conn *pgx.Conn, o Options) (Report, error) {
	if o.Books < Bestsellers+10 || o.Orders < 1 {
		return Report{}, fmt.Errorf("seedlarge: want at least %d books and 1 order, got %d and %d", Bestsellers+10, o.Books, o.Orders)
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	var r Report
	var err error
	if r.Found, err = Existing(ctx, conn); err != nil {
		return r, err
	}
	if !r.Found.Empty() && !o.Reload {
		return r, ErrLoaded
	}
	start := time.Now()
	if err := load(ctx, conn, o, progress, &r); err != nil {
		return r, err
	}
	r.Load = time.Since(start)

	// VACUUM cannot run in a transaction. It sets the visibility map, which
	// index-only scans need, and ANALYZE gives the planner the new sizes.
	start = time.Now()
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname IN ('books', 'orders') ORDER BY 1`)
	if err != nil {
		return r, fmt.Errorf("seedlarge: listing tables: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return r, fmt.Errorf("seedlarge: listing tables: %w", err)
	}
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+strings.Join(names, ", ")); err != nil {
		return r, fmt.Errorf("seedlarge: VACUUM ANALYZE: %w", err)
	}
	r.Vacuum = time.Since(start)
	fmt.Fprintf(progress, "  %-44s %6.1f s\n", "VACUUM ANALYZE", r.Vacuum.Seconds())
	return r, nil
}

// load is the transaction.
func load(ctx context.Context, conn *pgx.Conn, o Options, progress io.Writer, r *Report) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("seedlarge: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit

	step := func(name string, f func() error) error {
		t := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("seedlarge: %s: %w", name, err)
		}
		fmt.Fprintf(progress, "  %-44s %6.1f s\n", name, time.Since(t).Seconds())
		if o.afterStep != nil {
			if err := o.afterStep(name); err != nil {
				return fmt.Errorf("seedlarge: after %s: %w", name, err)
			}
		}
		return nil
	}
	exec := func(sql string, args ...any) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	}

	var super bool
	if err := tx.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil {
		return fmt.Errorf("seedlarge: %w", err)
	}
	settings := []string{
		"SET LOCAL statement_timeout = 0",
		"SET LOCAL lock_timeout = '30s'",
		"SET LOCAL work_mem = '256MB'",
		"SET LOCAL maintenance_work_mem = '512MB'",
		"SELECT setseed(0.4242)", // the same data on every machine, but for the orders' random ids
	}
	if super {
		settings = append(settings, "SET LOCAL wal_compression = on") // less WAL for the rebuilt indexes' pages
	}
	for _, s := range settings {
		if err := exec(s); err != nil {
			return fmt.Errorf("seedlarge: %s: %w", s, err)
		}
	}
	// Writers wait until the load commits; the index drops below make
	// readers wait too.
	if err := step("lock the tables", func() error {
		return exec(`LOCK TABLE ` + strings.Join(tables, ", ") + ` IN SHARE ROW EXCLUSIVE MODE`)
	}); err != nil {
		return err
	}

	// What to rebuild: the foreign keys, and the indexes that back no
	// constraint (primary keys and unique constraints stay; the rows go in
	// in their order).
	type ddl struct{ table, name, def string }
	var fks, indexes []ddl
	if err := step("drop secondary indexes and foreign keys", func() error {
		// list reads the table, name and definition of each row of sql.
		list := func(sql string) ([]ddl, error) {
			rows, err := tx.Query(ctx, sql, tables)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ddl, error) {
				var d ddl
				return d, r.Scan(&d.table, &d.name, &d.def)
			})
		}
		var err error
		if fks, err = list(`
SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE contype = 'f' AND conrelid = ANY ($1::regclass[])
 ORDER BY 1, 2`); err != nil {
			return err
		}
		if indexes, err = list(`
SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
  FROM pg_index i
 WHERE i.indrelid = ANY ($1::regclass[])
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
 ORDER BY 1, 2`); err != nil {
			return err
		}
		for _, fk := range fks {
			if err := exec(`ALTER TABLE ` + fk.table + ` DROP CONSTRAINT ` + fk.name); err != nil {
				return err
			}
		}
		for _, ix := range indexes {
			if err := exec(`DROP INDEX ` + ix.name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}

	if o.Reload && !r.Found.Empty() {
		if err := step("delete the earlier load", func() error { return deleteEarlier(ctx, tx) }); err != nil {
			return err
		}
	}

	customers := max(1, o.Orders/7)
	if err := exec(`CREATE TEMP TABLE sl_params ON COMMIT DROP AS SELECT $1::int AS books, $2::int AS orders, $3::int AS customers`,
		o.Books, o.Orders, customers); err != nil {
		return fmt.Errorf("seedlarge: %w", err)
	}
	for _, s := range steps() {
		if err := step(s.name, func() error { return exec(s.sql) }); err != nil {
			return err
		}
	}

	for _, ix := range indexes {
		if err := step("index "+ix.name, func() error { return exec(ix.def) }); err != nil {
			return err
		}
	}
	for _, fk := range fks {
		if err := step("foreign key "+fk.name, func() error {
			return exec(`ALTER TABLE ` + fk.table + ` ADD CONSTRAINT ` + fk.name + ` ` + fk.def)
		}); err != nil {
			return err
		}
	}

	ids := []string{BookID(1), BookID(2), BookID(3)}
	if err := step("count what was loaded", func() error {
		if err := tx.QueryRow(ctx, `
SELECT (SELECT count(*) FROM books.books b WHERE `+generatedBook+`),
       (SELECT count(*) FROM orders.orders WHERE customer_email LIKE '%@`+EmailDomain+`'),
       (SELECT count(*) FROM sl_lines),
       ARRAY(SELECT (SELECT count(*) FROM orders.order_items i WHERE i.book_id = id::uuid)
               FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n) ORDER BY n)`, ids).
			Scan(&r.Books, &r.Orders, &r.Lines, &r.Bestsellers); err != nil {
			return err
		}
		return nil
	}); err != nil {
		return err
	}
	if err := step("commit", func() error { return tx.Commit(ctx) }); err != nil {
		return err
	}
	return nil
}

// deleteEarlier removes what earlier loads left: every order with a
// generated e-mail or a line for a generated book, then the books.
func deleteEarlier(ctx context.Context, tx pgx.Tx) error {
	for _, sql := range []string{
		`CREATE TEMP TABLE sl_old_books ON COMMIT DROP AS SELECT b.id FROM books.books b WHERE ` + generatedBook,
		`CREATE TEMP TABLE sl_old_orders ON COMMIT DROP AS
SELECT id FROM orders.orders WHERE customer_email LIKE '%@` + EmailDomain + `'
UNION
SELECT i.order_id FROM orders.order_items i JOIN sl_old_books b ON b.id = i.book_id`,
		`DELETE FROM orders.order_items i USING sl_old_orders o WHERE i.order_id = o.id`,
		`DELETE FROM orders.orders t USING sl_old_orders o WHERE t.id = o.id`,
		`DELETE FROM books.books t USING sl_old_books b WHERE t.id = b.id`,
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}

type sqlStep struct{ name, sql string }

// steps splits generate.sql at its "-- step: name" lines.
func steps() []sqlStep {
	var out []sqlStep
	for i, part := range strings.Split(generateSQL, "-- step: ") {
		if i == 0 {
			continue // the header comment
		}
		name, sql, _ := strings.Cut(part, "\n")
		out = append(out, sqlStep{name: strings.TrimSpace(name), sql: sql})
	}
	return out
}

// MidCursors returns the cursors of the middle of the data set's lists,
// where the next page costs a store the most: of the catalogue in each of
// its orderings (by name: TITLE_ASC, TITLE_DESC, PRICE_ASC, PRICE_DESC,
// NEWEST), and of the orders, newest first. Each is the cursor the store
// gives the row at half the list's length.
func MidCursors(ctx context.Context, conn *pgx.Conn) (books map[string]string, orders string, err error) {
	books = map[string]string{}
	for _, o := range []struct{ name, key, dir string }{
		{"TITLE_ASC", "lower(title)", "ASC"}, {"TITLE_DESC", "lower(title)", "DESC"},
		{"PRICE_ASC", "price_cents", "ASC"}, {"PRICE_DESC", "price_cents", "DESC"},
		{"NEWEST", "created_at", "DESC"},
	} {
		var k any
		var id string
		if err := conn.QueryRow(ctx, `SELECT `+o.key+`, id::text FROM books.books ORDER BY `+o.key+` `+o.dir+`, id
OFFSET (SELECT count(*) / 2 FROM books.books) LIMIT 1`).Scan(&k, &id); err != nil {
			return nil, "", fmt.Errorf("the mid-catalogue row of %s: %w", o.name, err)
		}
		if t, ok := k.(time.Time); ok {
			k = t.UTC().Format(time.RFC3339Nano)
		}
		books[o.name] = cursor.Encode(o.name, k, id)
	}
	var t time.Time
	var id string
	if err := conn.QueryRow(ctx, `SELECT created_at, id::text FROM orders.orders ORDER BY created_at DESC, id
OFFSET (SELECT count(*) / 2 FROM orders.orders) LIMIT 1`).Scan(&t, &id); err != nil {
		return nil, "", fmt.Errorf("the mid-list order: %w", err)
	}
	return books, cursor.Encode("NEWEST", t.UTC().Format(time.RFC3339Nano), id), nil
}
