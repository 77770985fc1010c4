package migrations_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"bookstore/graph/testkit/testdb"
	"bookstore/migrations"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// tables lists the tables of the bookstore's schemas.
func tables(t *testing.T, db *testdb.DB) []string {
	t.Helper()
	return testdb.Strings(t, db.Admin,
		`SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname IN ('books', 'orders') ORDER BY 1`)
}

func TestUpDownUp(t *testing.T) {
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	want := []string{"books.books", "books.catalogue_counts", "orders.book_sales", "orders.order_counts", "orders.order_items", "orders.orders"}

	if err := migrations.Check(ctx, db.Admin); !errors.Is(err, migrations.ErrNotMigrated) {
		t.Fatalf("Check before any migration = %v, want ErrNotMigrated", err)
	}
	for i, step := range []struct {
		name   string
		run    func(context.Context, string) error
		tables []string
	}{
		{"up", migrations.Up, want},
		{"down", migrations.Down, nil},
		{"up again", migrations.Up, want},
		{"up when current", migrations.Up, want},
	} {
		if err := step.run(ctx, db.AdminURL); err != nil {
			t.Fatalf("step %d (%s): %v", i, step.name, err)
		}
		if got := tables(t, db); !equal(got, step.tables) {
			t.Fatalf("after %s: tables %v, want %v", step.name, got, step.tables)
		}
	}
	if err := migrations.Check(ctx, db.Admin); err != nil {
		t.Fatalf("Check after up: %v", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Replicas that start together all migrate; the advisory lock makes them
// apply each migration once and agree on the result.
func TestConcurrentUpTakesTheLock(t *testing.T) {
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	const replicas = 6
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { errs[i] = migrations.Up(ctx, db.AdminURL) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	var version int64
	var dirty bool
	if err := db.Admin.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations`).Scan(&version, &dirty); err != nil {
		t.Fatal(err)
	}
	if version != int64(migrations.Latest()) || dirty {
		t.Fatalf("schema_migrations = (%d, dirty=%v), want (%d, false)", version, dirty, migrations.Latest())
	}
	if got := tables(t, db); len(got) != 6 {
		t.Fatalf("tables = %v", got)
	}
	if err := migrations.Check(ctx, db.Admin); err != nil {
		t.Fatal(err)
	}
}

func TestCheckRejectsDirtyAndOldSchemas(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	for _, tc := range []struct {
		name, sql string
		ok        bool
	}{
		{"current", `UPDATE schema_migrations SET dirty = false`, true},
		{"dirty", `UPDATE schema_migrations SET dirty = true`, false},
		{"older", `UPDATE schema_migrations SET version = 0, dirty = false`, false},
		{"newer (rolling upgrade)", `UPDATE schema_migrations SET version = 999, dirty = false`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.Admin.Exec(ctx, tc.sql); err != nil {
				t.Fatal(err)
			}
			err := migrations.Check(ctx, db.Admin)
			if tc.ok != (err == nil) {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, migrations.ErrNotMigrated) {
				t.Fatalf("Check = %v, want ErrNotMigrated", err)
			}
		})
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// The two service roles are limited as the design says, proven with the
// real roles: each statement either works or is refused for privileges.
func TestRolesHaveLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	db.Seed(t)
	var bookID string
	if err := db.Admin.QueryRow(ctx, `SELECT id FROM books.books WHERE stock >= 5 ORDER BY isbn LIMIT 1`).Scan(&bookID); err != nil {
		t.Fatal(err)
	}
	books := connect(t, db.BooksURL)
	orders := connect(t, db.OrdersURL)

	for _, tc := range []struct {
		name    string
		conn    *pgx.Conn
		sql     string
		allowed bool
	}{
		{"books reads the catalogue", books, `SELECT count(*) FROM books.books`, true},
		{"books updates the catalogue", books, `UPDATE books.books SET stock = stock WHERE id = '` + bookID + `'`, true},
		{"books inserts a book", books, `INSERT INTO books.books (isbn, title, author, price_cents) VALUES ('9780000000002', 't', 'a', 1)`, true},
		{"books reads orders", books, `SELECT count(*) FROM orders.orders`, false},
		{"books reads order items", books, `SELECT count(*) FROM orders.order_items`, false},
		{"books writes orders", books, `INSERT INTO orders.orders (customer_email, total_cents, currency) VALUES ('a@b.co', 0, 'USD')`, false},
		{"books reads the schema version", books, `SELECT version FROM schema_migrations`, true},
		{"books reads its counts", books, `SELECT sum(books) FROM books.catalogue_counts`, true},
		{"books reads units sold", books, `SELECT count(*) FROM orders.book_sales`, false},
		{"books reads order counts", books, `SELECT count(*) FROM orders.order_counts`, false},
		{"orders reads orders", orders, `SELECT count(*) FROM orders.orders`, true},
		{"orders writes orders", orders, `INSERT INTO orders.orders (customer_email, total_cents, currency) VALUES ('a@b.co', 0, 'USD')`, true},
		{"orders reads the catalogue", orders, `SELECT count(*) FROM books.books`, false},
		{"orders updates stock directly", orders, `UPDATE books.books SET stock = 0`, false},
		{"orders changes a price", orders, `UPDATE books.books SET price_cents = 1 WHERE id = '` + bookID + `'`, false},
		{"orders inserts a book", orders, `INSERT INTO books.books (isbn, title, author, price_cents) VALUES ('9780000000019', 't', 'a', 1)`, false},
		{"orders deletes a book", orders, `DELETE FROM books.books`, false},
		{"orders creates a table", orders, `CREATE TABLE orders.sneaky (id int)`, false},
		{"orders reserves stock", orders, `SELECT * FROM books.reserve_stock(ARRAY['` + bookID + `']::uuid[], ARRAY[2])`, true},
		{"orders releases stock", orders, `SELECT * FROM books.release_stock(ARRAY['` + bookID + `']::uuid[], ARRAY[2])`, true},
		{"orders reads the schema version", orders, `SELECT version FROM schema_migrations`, true},
		{"orders reads units sold", orders, `SELECT count(*) FROM orders.book_sales`, true},
		{"orders reads its counts", orders, `SELECT sum(placed) FROM orders.order_counts`, true},
		{"orders reads the catalogue's counts", orders, `SELECT count(*) FROM books.catalogue_counts`, false},
		{"orders changes the catalogue's counts", orders, `UPDATE books.catalogue_counts SET books = 0`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := tc.conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			_, err = tx.Exec(ctx, tc.sql)
			var pgErr *pgconn.PgError
			switch {
			case tc.allowed && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.allowed && err == nil:
				t.Fatalf("allowed, want permission denied")
			case !tc.allowed && !(errors.As(err, &pgErr) && pgErr.Code == "42501"):
				t.Fatalf("error %v, want insufficient_privilege (42501)", err)
			}
		})
	}
}

func TestReserveStockIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	var a, b string
	err := db.Admin.QueryRow(ctx, `
WITH ins AS (
  INSERT INTO books.books (isbn, title, author, price_cents, stock) VALUES
    ('9780000000002', 'A', 'x', 100, 5), ('9780000000019', 'B', 'x', 250, 1)
  RETURNING id, isbn)
SELECT (SELECT id FROM ins WHERE isbn = '9780000000002'), (SELECT id FROM ins WHERE isbn = '9780000000019')`).Scan(&a, &b)
	if err != nil {
		t.Fatal(err)
	}
	orders := connect(t, db.OrdersURL)
	stock := func() (int, int) {
		var sa, sb int
		if err := db.Admin.QueryRow(ctx, `SELECT (SELECT stock FROM books.books WHERE id = $1), (SELECT stock FROM books.books WHERE id = $2)`, a, b).Scan(&sa, &sb); err != nil {
			t.Fatal(err)
		}
		return sa, sb
	}
	reserve := func(qa, qb int) (reserved bool, rows int) {
		rs, err := orders.Query(ctx, `SELECT reserved FROM books.reserve_stock(ARRAY[$1, $2]::uuid[], ARRAY[$3, $4]::int[])`, a, b, qa, qb)
		if err != nil {
			t.Fatal(err)
		}
		flags, err := pgx.CollectRows(rs, pgx.RowTo[bool])
		if err != nil {
			t.Fatal(err)
		}
		return len(flags) > 0 && flags[0], len(flags)
	}
	if ok, n := reserve(3, 2); ok || n != 2 {
		t.Fatalf("reserve(3, 2) with stock (5, 1) = reserved %v, %d rows; want false, 2", ok, n)
	}
	if sa, sb := stock(); sa != 5 || sb != 1 {
		t.Fatalf("after a refused reservation stock = (%d, %d), want (5, 1)", sa, sb)
	}
	if ok, _ := reserve(3, 1); !ok {
		t.Fatal("reserve(3, 1) with stock (5, 1) refused")
	}
	if sa, sb := stock(); sa != 2 || sb != 0 {
		t.Fatalf("after reserving (3, 1) stock = (%d, %d), want (2, 0)", sa, sb)
	}
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	db := testdb.New(t)
	db.Seed(t)
	db.Seed(t) // seeding twice changes nothing
	var n, zero, prices int
	err := db.Admin.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE stock = 0), count(DISTINCT price_cents) FROM books.books`).Scan(&n, &zero, &prices)
	if err != nil {
		t.Fatal(err)
	}
	if n < 24 || zero < 1 || prices < 10 {
		t.Fatalf("seed: %d books, %d without stock, %d distinct prices; want >= 24, >= 1, >= 10", n, zero, prices)
	}
	for _, isbn := range testdb.Strings(t, db.Admin, `SELECT isbn FROM books.books`) {
		if !checkDigitOK(isbn) {
			t.Errorf("seeded ISBN %s has a wrong check digit", isbn)
		}
	}
}

func checkDigitOK(isbn string) bool {
	if len(isbn) != 13 {
		return false
	}
	sum := 0
	for i, c := range isbn {
		d := int(c - '0')
		if d < 0 || d > 9 {
			return false
		}
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return sum%10 == 0
}

func TestEnsureDatabase(t *testing.T) {
	ctx := context.Background()
	server := testdb.AdminURL("")
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) }) // after the DROP below
	// Capitals, a space and a quote: the name must be quoted.
	name := `Ensure "db" ` + rand.Text()[:8]
	t.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			t.Error(err)
		}
	})
	for _, step := range []string{"absent: created", "present: left alone"} {
		if err := migrations.EnsureDatabase(ctx, server, name); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		var exists bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if !exists {
			t.Fatalf("%s: database %q does not exist", step, name)
		}
	}
}

// Migration 2 adds the counters over the data version 1 holds: each equals
// a recount of its rows, and down and up again agree.
func TestCountersBackfill(t *testing.T) {
	ctx := context.Background()
	db := testdb.NewEmpty(t)
	if err := migrations.Goto(ctx, db.AdminURL, 1); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Seed(ctx, db.Admin); err != nil {
		t.Fatal(err)
	}
	// Orders of version 1: 30 orders over the seed's books, a third cancelled.
	if _, err := db.Admin.Exec(ctx, `
WITH o AS (
  INSERT INTO orders.orders (customer_email, status, total_cents, currency, cancelled_at)
  SELECT 'c' || n || '@example.com', CASE WHEN n % 3 = 0 THEN 'CANCELLED' ELSE 'PLACED' END, 0, 'USD',
         CASE WHEN n % 3 = 0 THEN now() END
    FROM generate_series(1, 30) n
  RETURNING id, customer_email)
INSERT INTO orders.order_items (order_id, line_no, book_id, quantity, unit_price_cents)
SELECT o.id, l, b.id, l, 0
  FROM o, generate_series(1, 2) l,
       LATERAL (SELECT id FROM books.books ORDER BY md5(o.customer_email || id) OFFSET l - 1 LIMIT 1) b`); err != nil {
		t.Fatal(err)
	}
	type counts struct {
		sold, wantSold                         string
		placed, cancelled, wantPl, wantCa      int
		books, inStock, wantBooks, wantInStock int
	}
	check := func(when string) {
		t.Helper()
		var c counts
		err := db.Admin.QueryRow(ctx, `
SELECT (SELECT string_agg(book_id || '=' || units_sold, ',' ORDER BY book_id) FROM orders.book_sales WHERE units_sold > 0),
       (SELECT string_agg(book_id || '=' || n, ',' ORDER BY book_id) FROM (SELECT i.book_id, sum(i.quantity) AS n
          FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id AND o.status = 'PLACED' GROUP BY 1) r),
       (SELECT sum(placed) FROM orders.order_counts), (SELECT sum(cancelled) FROM orders.order_counts),
       (SELECT count(*) FILTER (WHERE status = 'PLACED') FROM orders.orders), (SELECT count(*) FILTER (WHERE status = 'CANCELLED') FROM orders.orders),
       (SELECT sum(books) FROM books.catalogue_counts), (SELECT sum(in_stock) FROM books.catalogue_counts),
       (SELECT count(*) FROM books.books), (SELECT count(*) FILTER (WHERE stock > 0) FROM books.books)`).
			Scan(&c.sold, &c.wantSold, &c.placed, &c.cancelled, &c.wantPl, &c.wantCa, &c.books, &c.inStock, &c.wantBooks, &c.wantInStock)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if c.sold != c.wantSold || c.placed != c.wantPl || c.cancelled != c.wantCa || c.books != c.wantBooks || c.inStock != c.wantInStock || c.wantPl != 20 {
			t.Fatalf("%s: counters differ from a recount: %+v", when, c)
		}
	}
	if err := migrations.Up(ctx, db.AdminURL); err != nil {
		t.Fatal(err)
	}
	check("after the backfill")
	if err := migrations.Goto(ctx, db.AdminURL, 1); err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(ctx, db.AdminURL); err != nil {
		t.Fatal(err)
	}
	check("after down and up again")
}
