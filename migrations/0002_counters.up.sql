-- Figures kept as data, so that reading them costs the same with a hundred
-- orders or with millions (issue 12):
--   orders.book_sales        units of each book in PLACED orders (Book.unitsSold);
--   orders.order_counts      orders by status (orders' totalCount);
--   books.catalogue_counts   books, books in stock (books' totalCount), and
--                            changes: how many times a book was added or
--                            removed, retitled, re-authored, or went in or
--                            out of stock (it versions the search counts
--                            that books-subgraph caches).
-- Statement-level triggers keep them in the transaction that changes the
-- rows they count, whoever writes (the services, the seeds, an operator),
-- so they are exact for any snapshot.
--
-- Lock order. placeOrder and cancelOrder lock the books they touch first
-- (books.reserve_stock / release_stock, in id order); only then do the
-- triggers change the counters. A book's book_sales row is therefore only
-- ever changed by the transaction holding that book's row lock: it never
-- makes anyone wait, and orders for other books never wait for it. The two
-- count tables are split in 16 shards; a transaction changes the shard of
-- its backend (pg_backend_pid() % 16), so it locks at most one row of each,
-- last, just before it commits, and concurrent transactions queue only when
-- their backends share a shard. No cycle of waits can form.

-- Writers queue behind the backfill (readers do not), so that no change
-- slips between the backfill and the triggers.
LOCK TABLE books.books, orders.orders, orders.order_items IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE orders.book_sales (
  book_id    uuid   PRIMARY KEY,
  units_sold bigint NOT NULL,
  CONSTRAINT book_sales_units_sold CHECK (units_sold >= 0)
);

CREATE TABLE orders.order_counts (
  shard     smallint PRIMARY KEY,
  placed    bigint   NOT NULL DEFAULT 0,
  cancelled bigint   NOT NULL DEFAULT 0
);

CREATE TABLE books.catalogue_counts (
  shard    smallint PRIMARY KEY,
  books    bigint   NOT NULL DEFAULT 0,
  in_stock bigint   NOT NULL DEFAULT 0,
  changes  bigint   NOT NULL DEFAULT 0
);

INSERT INTO orders.order_counts (shard) SELECT generate_series(0, 15);
INSERT INTO books.catalogue_counts (shard) SELECT generate_series(0, 15);

-- Backfill.
INSERT INTO orders.book_sales (book_id, units_sold)
SELECT i.book_id, sum(i.quantity)
  FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id
 WHERE o.status = 'PLACED'
 GROUP BY i.book_id;

UPDATE orders.order_counts c
   SET placed = t.placed, cancelled = t.cancelled
  FROM (SELECT count(*) FILTER (WHERE status = 'PLACED') AS placed,
               count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled
          FROM orders.orders) t
 WHERE c.shard = 0;

UPDATE books.catalogue_counts c
   SET books = t.books, in_stock = t.in_stock
  FROM (SELECT count(*) AS books, count(*) FILTER (WHERE stock > 0) AS in_stock FROM books.books) t
 WHERE c.shard = 0;

-- Order lines: the units of lines of PLACED orders, added or removed.
-- An update counts as its old rows removed and its new rows added.
CREATE FUNCTION orders.count_lines() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO orders.book_sales AS s (book_id, units_sold)
    SELECT n.book_id, sum(n.quantity)
      FROM added n JOIN orders.orders o ON o.id = n.order_id
     WHERE o.status = 'PLACED'
     GROUP BY n.book_id
     ORDER BY n.book_id
    ON CONFLICT (book_id) DO UPDATE SET units_sold = s.units_sold + excluded.units_sold;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE orders.book_sales s
       SET units_sold = s.units_sold - r.units
      FROM (SELECT d.book_id, sum(d.quantity) AS units
              FROM removed d JOIN orders.orders o ON o.id = d.order_id
             WHERE o.status = 'PLACED'
             GROUP BY d.book_id) r
     WHERE s.book_id = r.book_id;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER order_items_count_insert AFTER INSERT ON orders.order_items
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION orders.count_lines();
CREATE TRIGGER order_items_count_update AFTER UPDATE ON orders.order_items
  REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION orders.count_lines();
CREATE TRIGGER order_items_count_delete AFTER DELETE ON orders.order_items
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION orders.count_lines();

-- Orders: the counts by status, and the units sold of orders whose status
-- moves in or out of PLACED (cancelOrder). Lines are inserted and deleted
-- while their order exists (the foreign key), so count_lines sees it.
CREATE FUNCTION orders.count_orders() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d_placed bigint := 0;
  d_cancelled bigint := 0;
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT d_placed + count(*) FILTER (WHERE status = 'PLACED'), d_cancelled + count(*) FILTER (WHERE status = 'CANCELLED')
      INTO d_placed, d_cancelled FROM added;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    SELECT d_placed - count(*) FILTER (WHERE status = 'PLACED'), d_cancelled - count(*) FILTER (WHERE status = 'CANCELLED')
      INTO d_placed, d_cancelled FROM removed;
  END IF;
  IF TG_OP = 'UPDATE' THEN
    -- Orders that left PLACED (cancelled) take their lines' units off;
    -- orders that came back to it put them back. (A CHECK constraint sees
    -- an upsert's proposed row before its conflict, so units come off with
    -- an UPDATE of rows that exist.)
    UPDATE orders.book_sales s
       SET units_sold = s.units_sold - m.units
      FROM (SELECT i.book_id, sum(i.quantity) AS units
              FROM added n
              JOIN removed r ON r.id = n.id AND r.status = 'PLACED' AND n.status <> 'PLACED'
              JOIN orders.order_items i ON i.order_id = n.id
             GROUP BY i.book_id) m
     WHERE s.book_id = m.book_id;
    INSERT INTO orders.book_sales AS s (book_id, units_sold)
    SELECT i.book_id, sum(i.quantity)
      FROM added n
      JOIN removed r ON r.id = n.id AND r.status <> 'PLACED' AND n.status = 'PLACED'
      JOIN orders.order_items i ON i.order_id = n.id
     GROUP BY i.book_id
     ORDER BY i.book_id
    ON CONFLICT (book_id) DO UPDATE SET units_sold = s.units_sold + excluded.units_sold;
  END IF;
  IF d_placed <> 0 OR d_cancelled <> 0 THEN
    UPDATE orders.order_counts
       SET placed = placed + d_placed, cancelled = cancelled + d_cancelled
     WHERE shard = pg_backend_pid() % 16;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER orders_count_insert AFTER INSERT ON orders.orders
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION orders.count_orders();
CREATE TRIGGER orders_count_update AFTER UPDATE ON orders.orders
  REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION orders.count_orders();
CREATE TRIGGER orders_count_delete AFTER DELETE ON orders.orders
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION orders.count_orders();

-- Books: how many, how many in stock, and the changes that can change
-- what a filter matches. Most stock moves leave a book in stock and change
-- none of these, so they touch no counter at all.
CREATE FUNCTION books.count_books() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d_books bigint := 0;
  d_in_stock bigint := 0;
  d_changes bigint := 0;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT count(*), count(*) FILTER (WHERE stock > 0) INTO d_books, d_in_stock FROM added;
    d_changes := d_books;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT -count(*), -count(*) FILTER (WHERE stock > 0) INTO d_books, d_in_stock FROM removed;
    d_changes := -d_books;
  ELSE
    SELECT count(*) FILTER (WHERE n.stock > 0 AND o.stock <= 0) - count(*) FILTER (WHERE n.stock <= 0 AND o.stock > 0),
           count(*) FILTER (WHERE n.title IS DISTINCT FROM o.title OR n.author IS DISTINCT FROM o.author
                               OR (n.stock > 0) IS DISTINCT FROM (o.stock > 0))
      INTO d_in_stock, d_changes
      FROM added n JOIN removed o ON o.id = n.id;
  END IF;
  IF d_books <> 0 OR d_in_stock <> 0 OR d_changes <> 0 THEN
    UPDATE books.catalogue_counts
       SET books = books + d_books, in_stock = in_stock + d_in_stock, changes = changes + d_changes
     WHERE shard = pg_backend_pid() % 16;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER books_count_insert AFTER INSERT ON books.books
  REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION books.count_books();
CREATE TRIGGER books_count_update AFTER UPDATE ON books.books
  REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION books.count_books();
CREATE TRIGGER books_count_delete AFTER DELETE ON books.books
  REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION books.count_books();

-- The services read the counters; the triggers, running as whoever
-- changed the rows, write them. reserve_stock and release_stock run as
-- bookstore_books, so the books role writes the catalogue's counts.
GRANT SELECT, UPDATE ON books.catalogue_counts TO bookstore_books;
GRANT SELECT, INSERT, UPDATE ON orders.book_sales TO bookstore_orders;
GRANT SELECT, UPDATE ON orders.order_counts TO bookstore_orders;

-- One customer's orders, counted from the index alone (an index-only scan:
-- the filter's columns are all in it).
DROP INDEX orders.orders_email_newest;
CREATE INDEX orders_email_newest ON orders.orders (lower(customer_email), created_at DESC, id) INCLUDE (customer_email, status);

-- The same for one author's books. (Not with inStock: stock in an index
-- would make every stock move a non-HOT update, which adds an entry to
-- every index of the table, the GIN ones included.)
DROP INDEX books.books_author_lower;
CREATE INDEX books_author_lower ON books.books (lower(author)) INCLUDE (author);
