-- Schemas, tables and privileges of the bookstore.
--
-- Each service owns one schema and connects as a login role that is a member
-- of one of two group roles:
--   bookstore_books   reads and writes books.*, nothing else;
--   bookstore_orders  reads and writes orders.*, and changes stock only
--                     through books.reserve_stock / books.release_stock.
-- The group roles are created here (NOLOGIN); deployments create the login
-- roles and grant membership (see migrations/cmd/migrate -login-role).
-- Roles are global to a PostgreSQL cluster, so the down migration leaves them.

DO $$
BEGIN
  CREATE ROLE bookstore_books NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created earlier, or by a concurrent migration of another database
END $$;

DO $$
BEGIN
  CREATE ROLE bookstore_orders NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;

-- Trigram indexes serve the case-insensitive substring search on title and
-- author. pg_trgm is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SCHEMA books;
CREATE SCHEMA orders;

CREATE TABLE books.books (
  id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  isbn           text        NOT NULL,
  title          text        NOT NULL,
  author         text        NOT NULL,
  description    text        NOT NULL DEFAULT '',
  published_year integer,
  price_cents    integer     NOT NULL,
  currency       text        NOT NULL DEFAULT 'USD',
  stock          integer     NOT NULL DEFAULT 0,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT books_isbn_key UNIQUE (isbn),
  CONSTRAINT books_isbn_format CHECK (isbn ~ '^97[89][0-9]{10}$'),
  CONSTRAINT books_title_length CHECK (char_length(title) BETWEEN 1 AND 300),
  CONSTRAINT books_author_length CHECK (char_length(author) BETWEEN 1 AND 200),
  CONSTRAINT books_description_length CHECK (char_length(description) <= 5000),
  CONSTRAINT books_published_year CHECK (published_year >= 1450),
  CONSTRAINT books_price_cents CHECK (price_cents BETWEEN 0 AND 10000000),
  CONSTRAINT books_currency CHECK (currency ~ '^[A-Z]{3}$'),
  CONSTRAINT books_stock CHECK (stock BETWEEN 0 AND 1000000)
);

-- Orderings: every one breaks ties by id ascending, so pages are stable.
CREATE INDEX books_title_order ON books.books (lower(title), id);
CREATE INDEX books_title_desc_order ON books.books (lower(title) DESC, id);
CREATE INDEX books_price_order ON books.books (price_cents, id);
CREATE INDEX books_price_desc_order ON books.books (price_cents DESC, id);
CREATE INDEX books_newest_order ON books.books (created_at DESC, id);
-- Filters: substring search, exact author, and in stock.
CREATE INDEX books_title_trgm ON books.books USING gin (title gin_trgm_ops);
CREATE INDEX books_author_trgm ON books.books USING gin (author gin_trgm_ops);
CREATE INDEX books_author_lower ON books.books (lower(author));

CREATE TABLE orders.orders (
  id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_email  text        NOT NULL,
  status          text        NOT NULL DEFAULT 'PLACED',
  total_cents     bigint      NOT NULL,
  currency        text        NOT NULL,
  idempotency_key text,
  request_hash    bytea,
  created_at      timestamptz NOT NULL DEFAULT now(),
  cancelled_at    timestamptz,
  CONSTRAINT orders_status CHECK (status IN ('PLACED', 'CANCELLED')),
  CONSTRAINT orders_cancelled_at CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL)),
  CONSTRAINT orders_total_cents CHECK (total_cents >= 0),
  CONSTRAINT orders_email_length CHECK (char_length(customer_email) BETWEEN 3 AND 254),
  CONSTRAINT orders_idempotency_key_key UNIQUE (idempotency_key),
  CONSTRAINT orders_idempotency_key_length CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
  CONSTRAINT orders_idempotency_hash CHECK ((idempotency_key IS NULL) = (request_hash IS NULL))
);

-- book_id is not a foreign key: the orders role holds no privilege on the
-- catalogue table, not even REFERENCES. reserve_stock proves the book exists
-- in the same transaction, and books are never deleted.
CREATE TABLE orders.order_items (
  order_id         uuid    NOT NULL REFERENCES orders.orders (id),
  line_no          integer NOT NULL,
  book_id          uuid    NOT NULL,
  quantity         integer NOT NULL,
  unit_price_cents integer NOT NULL,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT order_items_book_once UNIQUE (order_id, book_id),
  CONSTRAINT order_items_quantity CHECK (quantity BETWEEN 1 AND 100),
  CONSTRAINT order_items_unit_price CHECK (unit_price_cents BETWEEN 0 AND 10000000)
);

-- Newest first, with the id as tie-break; the filters; units sold per book.
CREATE INDEX orders_newest_order ON orders.orders (created_at DESC, id);
CREATE INDEX orders_email_newest ON orders.orders (lower(customer_email), created_at DESC, id);
CREATE INDEX orders_status_newest ON orders.orders (status, created_at DESC, id);
CREATE INDEX order_items_book ON orders.order_items (book_id) INCLUDE (quantity, order_id);

-- Stock moves for the orders service. They run with the books role's rights
-- (SECURITY DEFINER, owned by bookstore_books), so the orders role needs no
-- privilege on the catalogue table itself.

-- reserve_stock locks the named books in id order (no deadlocks between
-- concurrent orders), and takes every line's quantity from stock only when
-- all lines fit. It returns one row per book found, with the stock before the
-- reservation; the caller compares the rows with its request to report an
-- unknown book or a shortfall, and rolls back in either case.
CREATE FUNCTION books.reserve_stock(p_book_ids uuid[], p_quantities integer[])
RETURNS TABLE (book_id uuid, price_cents integer, currency text, available integer, reserved boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  all_fit boolean;
BEGIN
  IF cardinality(p_book_ids) IS DISTINCT FROM cardinality(p_quantities) THEN
    RAISE EXCEPTION 'reserve_stock: % ids but % quantities',
      cardinality(p_book_ids), cardinality(p_quantities);
  END IF;

  PERFORM 1 FROM books.books b
   WHERE b.id = ANY (p_book_ids)
   ORDER BY b.id
     FOR UPDATE;

  SELECT bool_and(b.stock >= r.qty) INTO all_fit
    FROM unnest(p_book_ids, p_quantities) AS r(id, qty)
    JOIN books.books b ON b.id = r.id;

  IF all_fit AND (SELECT count(*) FROM books.books b WHERE b.id = ANY (p_book_ids)) = cardinality(p_book_ids) THEN
    RETURN QUERY
      WITH r AS (SELECT * FROM unnest(p_book_ids, p_quantities) AS r(id, qty)),
      moved AS (
        UPDATE books.books b
           SET stock = b.stock - r.qty, updated_at = now()
          FROM r
         WHERE b.id = r.id
        RETURNING b.id, b.price_cents, b.currency, b.stock + r.qty AS before
      )
      SELECT m.id, m.price_cents, m.currency, m.before, true FROM moved m;
  ELSE
    RETURN QUERY
      SELECT b.id, b.price_cents, b.currency, b.stock, false
        FROM books.books b
       WHERE b.id = ANY (p_book_ids);
  END IF;
END
$$;

-- release_stock gives the quantities back, as when an order is cancelled. It
-- returns the ids it found; a book whose stock would pass the 1,000,000 limit
-- makes it raise check_violation, and the caller's transaction rolls back.
CREATE FUNCTION books.release_stock(p_book_ids uuid[], p_quantities integer[])
RETURNS SETOF uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF cardinality(p_book_ids) IS DISTINCT FROM cardinality(p_quantities) THEN
    RAISE EXCEPTION 'release_stock: % ids but % quantities',
      cardinality(p_book_ids), cardinality(p_quantities);
  END IF;

  PERFORM 1 FROM books.books b
   WHERE b.id = ANY (p_book_ids)
   ORDER BY b.id
     FOR UPDATE;

  RETURN QUERY
    WITH r AS (SELECT * FROM unnest(p_book_ids, p_quantities) AS r(id, qty))
    UPDATE books.books b
       SET stock = b.stock + r.qty, updated_at = now()
      FROM r
     WHERE b.id = r.id
    RETURNING b.id;
END
$$;

ALTER FUNCTION books.reserve_stock(uuid[], integer[]) OWNER TO bookstore_books;
ALTER FUNCTION books.release_stock(uuid[], integer[]) OWNER TO bookstore_books;
REVOKE ALL ON FUNCTION books.reserve_stock(uuid[], integer[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION books.release_stock(uuid[], integer[]) FROM PUBLIC;

-- Privileges. Nothing is granted to PUBLIC.
REVOKE ALL ON SCHEMA books, orders FROM PUBLIC;

GRANT USAGE ON SCHEMA books TO bookstore_books;
GRANT SELECT, INSERT, UPDATE ON books.books TO bookstore_books;

-- USAGE on the books schema lets the orders role name the two functions; it
-- grants no access to the table.
GRANT USAGE ON SCHEMA orders, books TO bookstore_orders;
GRANT SELECT, INSERT, UPDATE ON orders.orders TO bookstore_orders;
GRANT SELECT, INSERT ON orders.order_items TO bookstore_orders;
GRANT EXECUTE ON FUNCTION books.reserve_stock(uuid[], integer[]) TO bookstore_orders;
GRANT EXECUTE ON FUNCTION books.release_stock(uuid[], integer[]) TO bookstore_orders;

-- Readiness checks compare the applied version with the one the service was
-- built for.
GRANT SELECT ON public.schema_migrations TO bookstore_books, bookstore_orders;
