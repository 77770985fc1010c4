package seedlarge

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var small = Sizes{Books: 300, Orders: 1000}

func connect(t *testing.T, db *testdb.DB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// seeded returns a new seeded database, an admin connection to it, and
// what it holds.
func seeded(t *testing.T) (*testdb.DB, *pgx.Conn, snapshot) {
	t.Helper()
	db := testdb.New(t)
	db.Seed(t)
	conn := connect(t, db)
	return db, conn, take(t, conn)
}

type snapshot struct {
	books, orders, lines, indexes, fks int
	bad                                string
}

func take(t *testing.T, conn *pgx.Conn) snapshot {
	t.Helper()
	var s snapshot
	err := conn.QueryRow(context.Background(), `
SELECT (SELECT count(*) FROM books.books), (SELECT count(*) FROM orders.orders), (SELECT count(*) FROM orders.order_items),
       (SELECT count(*) FROM pg_index WHERE indrelid = ANY (ARRAY['books.books', 'orders.orders', 'orders.order_items']::regclass[])),
       (SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conrelid = 'orders.order_items'::regclass),
       concat_ws(', ',
         (SELECT 'an order whose total is not its lines'' sum' FROM orders.orders o
           WHERE o.total_cents <> (SELECT sum(i.quantity * i.unit_price_cents) FROM orders.order_items i WHERE i.order_id = o.id) LIMIT 1),
         (SELECT 'an order without lines' FROM orders.orders o WHERE NOT EXISTS (SELECT 1 FROM orders.order_items i WHERE i.order_id = o.id) LIMIT 1),
         (SELECT 'a line for an unknown book' FROM orders.order_items i WHERE NOT EXISTS (SELECT 1 FROM books.books b WHERE b.id = i.book_id) LIMIT 1),
         (SELECT 'a line whose price is not its book''s' FROM orders.order_items i JOIN books.books b ON b.id = i.book_id WHERE i.unit_price_cents <> b.price_cents LIMIT 1))`).
		Scan(&s.books, &s.orders, &s.lines, &s.indexes, &s.fks, &s.bad)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A load makes consistent data with its skew, says what it made, keeps
// every index and foreign key, and refuses to load twice unless asked to
// reload, which replaces the earlier load.
func TestLoadOnceThenReload(t *testing.T) {
	ctx := context.Background()
	_, conn, before := seeded(t)

	var progress strings.Builder
	r, err := Load(ctx, conn, Options{Sizes: small, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	after := take(t, conn)
	if r.Books != small.Books || r.Orders != small.Orders || after.books != before.books+small.Books ||
		after.orders != small.Orders || after.lines != r.Lines || r.Lines < small.Orders {
		t.Fatalf("report %+v; database before %+v, after %+v", r, before, after)
	}
	if after.bad != "" {
		t.Fatalf("the loaded data has %s", after.bad)
	}
	if after.indexes != before.indexes || after.fks != before.fks {
		t.Fatalf("indexes %d -> %d, foreign keys %d -> %d", before.indexes, after.indexes, before.fks, after.fks)
	}
	if r.Bestsellers[0] < small.Orders/10 || r.Bestsellers[0] < r.Bestsellers[1] || r.Bestsellers[1] < r.Bestsellers[2] {
		t.Fatalf("bestsellers' lines %v: want book 1 on at least a tenth of the orders, then fewer", r.Bestsellers)
	}
	var title string
	if err := conn.QueryRow(ctx, `SELECT title FROM books.books WHERE id = $1`, BookID(1)).Scan(&title); err != nil {
		t.Fatalf("BookID(1) %s: %v", BookID(1), err)
	}
	for _, want := range []string{"books (insert)", "order lines (insert)", "index ", "VACUUM ANALYZE"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("the progress lacks %q:\n%s", want, progress.String())
		}
	}

	r, err = Load(ctx, conn, Options{Sizes: small})
	if !errors.Is(err, ErrLoaded) || r.Found != (Found{Books: small.Books, Orders: small.Orders}) {
		t.Fatalf("second load = %+v, %v; want ErrLoaded and what is there", r, err)
	}
	if again := take(t, conn); again != after {
		t.Fatalf("a refused load changed the database: %+v -> %+v", after, again)
	}

	r, err = Load(ctx, conn, Options{Sizes: Sizes{Books: 200, Orders: 500}, Reload: true})
	if err != nil {
		t.Fatal(err)
	}
	reloaded := take(t, conn)
	if r.Found.Books != small.Books || reloaded.books != before.books+200 || reloaded.orders != 500 || reloaded.bad != "" {
		t.Fatalf("reload: report %+v, database %+v", r, reloaded)
	}
}

// A load that fails at any step leaves the database as it was: no rows,
// and every index and foreign key it dropped is back.
func TestFailedLoadLeavesNothing(t *testing.T) {
	ctx := context.Background()
	db, conn, before := seeded(t)
	for _, at := range []string{"drop secondary indexes and foreign keys", "orders (insert)", "order lines (insert)", "count what was loaded"} {
		t.Run(at, func(t *testing.T) {
			boom := errors.New("boom")
			_, err := Load(ctx, conn, Options{Sizes: small, afterStep: func(step string) error {
				if step == at {
					return boom
				}
				return nil
			}})
			if !errors.Is(err, boom) {
				t.Fatalf("Load = %v, want the step's error", err)
			}
			if after := take(t, conn); after != before {
				t.Fatalf("after a failed load the database changed: %+v -> %+v", before, after)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	_, err := Load(cctx, conn, Options{Sizes: small, afterStep: func(step string) error {
		if step == "books (insert)" {
			cancel()
		}
		return nil
	}})
	if err == nil {
		t.Fatal("an interrupted load succeeded")
	}
	conn = connect(t, db) // the interrupted connection may be closed
	if after := take(t, conn); after != before {
		t.Fatalf("after an interrupted load the database changed: %+v -> %+v", before, after)
	}
}

func TestBookIDIsTheDatabases(t *testing.T) {
	db := testdb.New(t)
	var id string
	if err := db.Admin.QueryRow(context.Background(), `SELECT md5('bookstore-large:book:' || 42)::uuid::text`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if BookID(42) != id {
		t.Fatalf("BookID(42) = %s, the database makes %s", BookID(42), id)
	}
}
