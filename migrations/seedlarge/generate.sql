-- The large demo data set, generated inside PostgreSQL: no row crosses the
-- network. seedlarge.go runs these statements one by one, in order, in one
-- transaction, after creating sl_params (books, orders, customers). Each
-- "-- step:" line starts a statement and names it in the progress output.
--
-- The data is made to look like a real store's, skew included:
--   books     titles from word lists (about half contain "the"), authors
--             from name lists with a few prolific ones, prices clustered on
--             x.99 (so prices tie a lot), 8% out of stock, creation times
--             with ties; books 1..10 are bestsellers with a large stock.
--   orders    one customer in fifty is the same bulk buyer, the others
--             follow a power law; 4% are cancelled; 1..5 lines each (2.5
--             on average), a line's book: 12% book 1, 8% book 2, 5% book 3,
--             3% books 4..10, the rest a long tail.
-- Book ids are md5('bookstore-large:book:' || n)::uuid, so that tools can
-- name book n (Go: seedlarge.BookID); ISBNs are 979 + n + a check digit.

-- step: word lists
CREATE TEMP TABLE sl_words ON COMMIT DROP AS SELECT
 ARRAY['Silent','Hidden','Last','Lost','Broken','Golden','Secret','Dark','Bright','Wild','Quiet','Ancient',
       'Burning','Frozen','Endless','Little','Great','Final','First','Crimson','Silver','Hollow','Distant',
       'Forgotten','Invisible','Midnight','Northern','Southern','Restless','Gentle','Bitter','Sweet','Strange',
       'Perfect','Practical','Modern','Applied','Concise','Complete','Essential','Everyday','Patient','Curious',
       'Brave','Fragile','Iron','Glass','Paper','Stone','Electric','Quantum','Digital','Tiny','Vast','Open',
       'Closed','Shared','Careful','Hungry','Lucky','Café','Naïve','Über','Señor'] AS adj,
 ARRAY['River','Garden','City','House','Mountain','Ocean','Forest','Road','Window','Door','Bridge','Island',
       'Kingdom','Empire','Machine','Algorithm','Compiler','Database','Network','System','Language','Code',
       'Program','Theory','History','Journey','Letter','Promise','Secret','Shadow','Light','Storm','Winter',
       'Summer','Harvest','Orchard','Lighthouse','Library','Museum','Station','Engine','Clock','Mirror','Map',
       'Atlas','Voyage','Festival','Symphony','Pattern','Design','Method','Practice','Craft','Art','Science',
       'Mind','Heart','Soul','Dream','Memory','Child','Daughter','Son','Mother','Father','Stranger','Traveler',
       'Gardener','Architect','Detective','Queen','King','Witch','Wolf','Fox','Raven','Tiger','Whale','Dragon',
       'Go','Rust','Python','Kubernetes','PostgreSQL','Straße','Gödel','Zürich','Ørsted','東京','Москва',
       '100% Cotton','Snake_case'] AS noun,
 ARRAY['Paris','Rome','Venice','Lisbon','Kyoto','Cairo','Oslo','Prague','Vienna','Dublin','Boston','Chicago',
       'Mars','the North','the Sea','the Sky','the Valley','the Desert','Tomorrow','Yesterday','Nowhere',
       'Everything','Nothing','Time','Space','Numbers','Words','Silence','Fire','Water'] AS place,
 ARRAY['James','Mary','John','Patricia','Robert','Jennifer','Michael','Linda','William','Elizabeth','David',
       'Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah','Charles','Karen','Daniel','Nancy',
       'Matthew','Lisa','Anthony','Betty','Mark','Margaret','Donald','Sandra','Steven','Ashley','Paul',
       'Kimberly','Andrew','Emily','Joshua','Donna','Kenneth','Michelle','Kevin','Dorothy','Brian','Carol',
       'George','Amanda','Edward','Melissa','Ronald','Deborah','Timothy','Stephanie','Jason','Rebecca',
       'Jeffrey','Sharon','Ryan','Laura','Jacob','Cynthia','Gary','Kathleen','Nicholas','Amy','Eric',
       'Shirley','Jonathan','Angela','Stephen','Helen','Larry','Anna','Justin','Brenda','Scott','Pamela',
       'Brandon','Nicole','Frank','Emma','Benjamin','Samantha','Gregory','Katherine','Samuel','Christine',
       'Raymond','Debra','Patrick','Rachel','Alexander','Catherine','Jack','Carolyn','Dennis','Janet','Jerry',
       'Ruth','Tyler','Maria','Aaron','Heather','José','Zoë','Søren','Björn','Chloé','François','Łukasz',
       'Yūki','Ana','Li'] AS first,
 ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
       'Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor','Moore','Jackson','Martin','Lee',
       'Perez','Thompson','White','Harris','Sanchez','Clark','Ramirez','Lewis','Robinson','Walker','Young',
       'Allen','King','Wright','Scott','Torres','Nguyen','Hill','Flores','Green','Adams','Nelson','Baker',
       'Hall','Rivera','Campbell','Mitchell','Carter','Roberts','Gomez','Phillips','Evans','Turner','Diaz',
       'Parker','Cruz','Edwards','Collins','Reyes','Stewart','Morris','Morales','Murphy','Cook','Rogers',
       'Gutierrez','Ortiz','Morgan','Cooper','Peterson','Bailey','Reed','Kelly','Howard','Ramos','Kim','Cox',
       'Ward','Richardson','Watson','Brooks','Chavez','Wood','James','Bennett','Gray','Mendoza','Ruiz',
       'Hughes','Price','Alvarez','Castillo','Sanders','Patel','Myers','Long','Ross','Foster','Jimenez',
       'Müller','Schäfer','Østergaard','Ångström','Nakamura','Tanaka','Kowalski','Novák','Dubois','Rossi',
       'Silva','Haddad','Okafor','Ivanova','O''Brien','McAllister','D''Souza','Van der Berg','Chen','Wang'] AS last;

-- step: books (generate)
CREATE TEMP TABLE sl_books ON COMMIT DROP AS
SELECT n,
       md5('bookstore-large:book:' || n)::uuid AS id,
       '979' || lpad(n::text, 9, '0') AS isbn12,
       CASE floor(random() * 5)::int
         WHEN 0 THEN 'The ' || w.adj[1 + floor(random() * cardinality(w.adj))::int] || ' '
                    || w.noun[1 + floor(random() * cardinality(w.noun))::int]
         WHEN 1 THEN w.noun[1 + floor(random() * cardinality(w.noun))::int] || ' of '
                    || w.place[1 + floor(random() * cardinality(w.place))::int]
         WHEN 2 THEN w.adj[1 + floor(random() * cardinality(w.adj))::int] || ' '
                    || w.noun[1 + floor(random() * cardinality(w.noun))::int]
         WHEN 3 THEN 'The ' || w.noun[1 + floor(random() * cardinality(w.noun))::int] || ' and the '
                    || w.noun[1 + floor(random() * cardinality(w.noun))::int]
         ELSE w.noun[1 + floor(random() * cardinality(w.noun))::int] || ': '
              || w.adj[1 + floor(random() * cardinality(w.adj))::int] || ' '
              || w.noun[1 + floor(random() * cardinality(w.noun))::int] || ' in '
              || (2 + floor(random() * 98))::int || ' Steps'
       END AS title,
       floor(pow(random(), 2) * 20000)::int AS author_n,
       CASE WHEN random() < 0.7 THEN (4 + floor(pow(random(), 2) * 56)::int) * 100 + 99
            ELSE 100 + floor(random() * 19900)::int END AS price,
       CASE WHEN n <= 10 THEN 900000 WHEN random() < 0.08 THEN 0 ELSE 1 + floor(random() * 300)::int END AS stock,
       1900 + floor(random() * 127)::int AS year,
       -- One book in ten shares its creation time with its neighbours (an import).
       timestamptz '2021-01-01 00:00:00+00' + make_interval(secs =>
         CASE WHEN n % 20 < 2 THEN (n / 20) * 20 * 1500 ELSE n * 1500 + floor(random() * 1000) END) AS created_at
FROM generate_series(1, (SELECT books FROM sl_params)) AS n, sl_words w;

-- step: books (insert)
INSERT INTO books.books (id, isbn, title, author, description, published_year, price_cents, stock, created_at, updated_at)
SELECT b.id,
       b.isbn12 || ((10 - (SELECT sum(substr(b.isbn12, i, 1)::int * (1 + 2 * ((i + 1) % 2)))
                             FROM generate_series(1, 12) AS i) % 10) % 10),
       b.title,
       w.first[1 + b.author_n % cardinality(w.first)] || ' '
         || w.last[1 + (b.author_n / cardinality(w.first)) % cardinality(w.last)],
       'A ' || lower(w.adj[1 + b.n % cardinality(w.adj)]) || ' book about '
         || lower(w.noun[1 + b.n % cardinality(w.noun)]) || ', and what it teaches.',
       b.year, b.price, b.stock, b.created_at, b.created_at
FROM sl_books b, sl_words w
ORDER BY b.id;

-- step: orders (generate)
CREATE TEMP TABLE sl_orders ON COMMIT DROP AS
SELECT n, gen_random_uuid() AS id,
       CASE WHEN random() < 0.02 THEN 'bulk.buyer@seed-large.example'
            ELSE 'reader' || floor((SELECT customers FROM sl_params) * pow(random(), 1.5))::int || '@seed-large.example'
       END AS email,
       CASE WHEN random() < 0.04 THEN 'CANCELLED' ELSE 'PLACED' END AS status,
       -- A minute apart on average, from 2024-12-01; a few share a second.
       timestamptz '2024-12-01 00:00:00+00' + make_interval(secs => n * 60 + floor(random() * 30)) AS created_at,
       CASE WHEN u < 0.30 THEN 1 WHEN u < 0.55 THEN 2 WHEN u < 0.75 THEN 3 WHEN u < 0.90 THEN 4 ELSE 5 END AS lines
FROM (SELECT n, random() AS u FROM generate_series(1, (SELECT orders FROM sl_params)) AS n) s;

-- step: order lines (generate)
CREATE TEMP TABLE sl_lines ON COMMIT DROP AS
SELECT order_n, row_number() OVER (PARTITION BY order_n ORDER BY l) AS line_no, book_n, qty
FROM (
  -- A book appears at most once per order: a line that drew the same book
  -- as an earlier line of its order is dropped.
  SELECT DISTINCT ON (order_n, book_n) order_n, l, book_n, qty FROM (
    SELECT o.n AS order_n, g.l,
           CASE WHEN g.u < 0.12 THEN 1 WHEN g.u < 0.20 THEN 2 WHEN g.u < 0.25 THEN 3
                WHEN g.u < 0.28 THEN 4 + floor(random() * 7)::int
                ELSE 11 + floor(((SELECT books FROM sl_params) - 10) * pow(random(), 3))::int
           END AS book_n,
           CASE WHEN g.v < 0.7 THEN 1 WHEN g.v < 0.9 THEN 2 ELSE 3 + floor(random() * 3)::int END AS qty
      FROM sl_orders o,
           LATERAL (SELECT l, random() AS u, random() AS v FROM generate_series(1, o.lines) AS l) g
  ) x
  ORDER BY order_n, book_n, l
) d;

-- step: orders (insert)
INSERT INTO orders.orders (id, customer_email, status, total_cents, currency, created_at, cancelled_at)
SELECT o.id, o.email, o.status, t.total, 'USD', o.created_at,
       CASE WHEN o.status = 'CANCELLED' THEN o.created_at + interval '1 day' END
FROM sl_orders o
JOIN (SELECT l.order_n, sum(l.qty * b.price) AS total
        FROM sl_lines l JOIN sl_books b ON b.n = l.book_n
       GROUP BY l.order_n) t ON t.order_n = o.n
ORDER BY o.id;

-- step: order lines (insert)
INSERT INTO orders.order_items (order_id, line_no, book_id, quantity, unit_price_cents)
SELECT o.id, l.line_no, b.id, l.qty, b.price
FROM sl_lines l
JOIN sl_orders o ON o.n = l.order_n
JOIN sl_books b ON b.n = l.book_n
ORDER BY o.id, l.line_no;
