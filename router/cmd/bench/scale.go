package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/graph/testkit/stack"
	"bookstore/migrations/seedlarge"
)

// The scale bench (-scale, `make bench-scale`) measures the contract's
// requests on two data sets side by side: the 32-book demo seed and the
// large data set of `make seed-large` (100,000 books, 1,000,000 orders with
// bestsellers). Each data set has a database of its own in one PostgreSQL
// and a stack of its own like `make run`'s (2 replicas of each subgraph and
// the router); each request is measured on both, in interleaved rounds, at
// -concurrency clients. It prints p50, p99 and RPS per side and the ratio
// of the p50s. Then, with -explain, it sends every request a few times
// one after the other with auto_explain on and lists the SQL statements
// that took more than 10 ms.

// scaleConfig is what -scale adds to config.
type scaleConfig struct {
	dataDir  string // a cluster kept across runs; "" is a temporary one
	replicas int
	sizes    seedlarge.Sizes
	rows     *regexp.Regexp
	explain  bool
	slowMS   int
}

// dataSet is one database with its stack.
type dataSet struct {
	name   string // "seed" or "scale"
	db     string
	admin  string // owner URL
	svcs   *stack.Services
	router string // base URL
	p      params
	sizes  string // what the database holds, for the report
}

// params are the ids and cursors a data set's requests use.
type params struct {
	bestsellers []string // the 10 most ordered books, most first
	tail        []string // books from the long tail, for orders
	order       string   // an order with a line for bestsellers[0]
	anyOrder    string
	midCursor   map[string]string // books ordering → cursor of the row half way down
	ordersMid   string            // the orders list's cursor half way down
	author      string            // the author of the most books
	customer    string            // a customer with a few orders
	bigCustomer string            // the customer with the most orders
}

// scaleRow is one request of the bench.
type scaleRow struct {
	name   string
	method string
	path   string                // under the router's base URL
	query  func(p params) string // GraphQL on /graphql, when set
	rest   func(p params) string // the path and query of a REST GET, when set
	write  func(p params) [][]byte
}

func gqlRow(name string, q func(p params) string) scaleRow {
	return scaleRow{name: name, method: http.MethodPost, path: "/graphql", query: q}
}

func getRow(name string, path func(p params) string) scaleRow {
	return scaleRow{name: name, method: http.MethodGet, rest: path}
}

var bookOrders = []string{"TITLE_ASC", "TITLE_DESC", "PRICE_ASC", "PRICE_DESC", "NEWEST"}

// scaleRows are the table of slow requests, then every ordering,
// the filters, the order reads and POST /orders (last: it changes the
// data the reads compare their answers with).
func scaleRows() []scaleRow {
	rows := []scaleRow{
		getRow("GET /books/{id} of a bestseller", func(p params) string { return "/books/" + p.bestsellers[0] }),
		gqlRow("book(id) { unitsSold } of a bestseller", func(p params) string {
			return fmt.Sprintf(`{ book(id: %q) { unitsSold } }`, p.bestsellers[0])
		}),
		gqlRow("unitsSold of 10 bestsellers in one query", func(p params) string {
			var b strings.Builder
			b.WriteString("{")
			for i, id := range p.bestsellers {
				fmt.Fprintf(&b, " b%d: book(id: %q) { title unitsSold }", i, id)
			}
			b.WriteString(" }")
			return b.String()
		}),
		gqlRow("order with a bestseller, federated", func(p params) string {
			return fmt.Sprintf(`{ order(id: %q) { status totalCents items { quantity book { title stock unitsSold } } } }`, p.order)
		}),
		gqlRow("orders { totalCount }", func(params) string { return `{ orders { totalCount } }` }),
		getRow("GET /orders?first=20", func(params) string { return "/orders?first=20" }),
		getRow("GET /books?search=go (2 letters)", func(params) string { return "/books?search=go" }),
		getRow("GET /books?search=e (1 letter)", func(params) string { return "/books?search=e" }),
		getRow("GET /books?search=zq (2 letters, no match)", func(params) string { return "/books?search=zq" }),
		getRow("GET /books?search=the (common word)", func(params) string { return "/books?search=the" }),
		getRow("GET /books?search=lighthouse", func(params) string { return "/books?search=lighthouse" }),
		gqlRow(`books(search: "the") { totalCount }`, func(params) string {
			return `{ books(filter: {search: "the"}) { totalCount } }`
		}),
		gqlRow("books(inStock: true) { totalCount }", func(params) string {
			return `{ books(filter: {inStock: true}) { totalCount } }`
		}),
		gqlRow("books { totalCount }", func(params) string { return `{ books { totalCount } }` }),
	}
	const page = `edges { node { id title author priceCents } } pageInfo { hasNextPage endCursor }`
	for _, o := range bookOrders {
		rows = append(rows, gqlRow("books page 1, "+o, func(params) string {
			return fmt.Sprintf(`{ books(first: 20, orderBy: %s) { %s } }`, o, page)
		}))
	}
	for _, o := range bookOrders {
		rows = append(rows, gqlRow("books page mid-catalogue by cursor, "+o, func(p params) string {
			return fmt.Sprintf(`{ books(first: 20, orderBy: %s, after: %q) { %s } }`, o, p.midCursor[o], page)
		}))
	}
	rows = append(rows,
		gqlRow("books by author (the most prolific) + totalCount", func(p params) string {
			return fmt.Sprintf(`{ books(first: 20, filter: {author: %q}) { totalCount %s } }`, p.author, page)
		}),
		gqlRow("orders page 1 + totalCount", func(params) string {
			return `{ orders(first: 20) { totalCount edges { node { id totalCents } } } }`
		}),
		gqlRow("orders page mid-list by cursor", func(p params) string {
			return fmt.Sprintf(`{ orders(first: 20, after: %q) { edges { node { id totalCents } } } }`, p.ordersMid)
		}),
		gqlRow("orders(status: CANCELLED) + totalCount", func(params) string {
			return `{ orders(first: 20, filter: {status: CANCELLED}) { totalCount edges { node { id totalCents } } } }`
		}),
		gqlRow("orders by e-mail (a customer with a few) + totalCount", func(p params) string {
			return fmt.Sprintf(`{ orders(first: 20, filter: {customerEmail: %q}) { totalCount edges { node { id totalCents } } } }`, p.customer)
		}),
		gqlRow("orders by e-mail (the customer with the most) + totalCount", func(p params) string {
			return fmt.Sprintf(`{ orders(first: 20, filter: {customerEmail: %q}) { totalCount edges { node { id totalCents } } } }`, p.bigCustomer)
		}),
		getRow("GET /orders/{id}", func(p params) string { return "/orders/" + p.anyOrder }),
		scaleRow{name: "POST /orders (a bestseller and a tail book)", method: http.MethodPost, path: "/orders",
			write: func(p params) [][]byte {
				var out [][]byte
				for i := range 50 {
					b, _ := json.Marshal(map[string]any{
						"customerEmail": fmt.Sprintf("bench-scale-%d@example.com", i%7),
						"items": []map[string]any{
							{"bookId": p.bestsellers[i%len(p.bestsellers)], "quantity": 1},
							{"bookId": p.tail[i%len(p.tail)], "quantity": 1 + i%2},
						},
					})
					out = append(out, b)
				}
				return out
			}},
	)
	return rows
}

// runScale is the scale bench.
func (b *bench) runScale(ctx context.Context) error {
	// The cluster both data sets live in, with auto_explain loaded (and
	// off until the explain pass).
	cluster := pgcluster.Options{DataDir: b.scfg.dataDir, Settings: []string{
		// auto_explain.log_min_duration stays at its default, -1 (off),
		// and is not set here: a command-line setting would override the
		// ALTER SYSTEM of the explain pass.
		"shared_preload_libraries=auto_explain",
		"auto_explain.log_analyze=on",
		"auto_explain.log_buffers=on",
		"auto_explain.log_nested_statements=on",
		"log_line_prefix=%m [%p] %d ",
		"shared_buffers=256MB",
	}}
	if err := b.setUp(ctx, "bench -scale", cluster, false, nil); err != nil {
		return err
	}
	sets := []*dataSet{{name: "seed", db: "bookstore_seed"}, {name: "scale", db: "bookstore_large"}}
	for _, ds := range sets {
		if err := b.prepareDataSet(ctx, ds); err != nil {
			return err
		}
	}
	// The seed's orders: a few, through its router, as a user would.
	if err := b.placeOrdersAt(ctx, sets[0].router+"/graphql", 40, 5); err != nil {
		return err
	}
	for _, ds := range sets {
		if err := b.discover(ctx, ds); err != nil {
			return fmt.Errorf("%s: %w", ds.name, err)
		}
	}

	rows := scaleRows()
	if b.scfg.rows != nil {
		rows = slices.DeleteFunc(rows, func(r scaleRow) bool { return !b.scfg.rows.MatchString(r.name) })
	}
	b.printMachine()
	for _, ds := range sets {
		b.logf("data set %-5s %s", ds.name+":", ds.sizes)
	}
	type result struct {
		row  scaleRow
		comp *comparison
	}
	var results []result
	for _, row := range rows {
		if err := b.settle(ctx, sets); err != nil {
			return err
		}
		c := &comparison{title: row.name}
		for _, ds := range sets {
			t, err := scaleTarget(ds, row, b.cfg.concurrency)
			if err != nil {
				return err
			}
			c.sides = append(c.sides, t)
		}
		if err := scalePreflight(ctx, c); err != nil {
			return err
		}
		b.logf("\n%s", row.name)
		if err := c.run(ctx, b.cfg, b.out); err != nil {
			return err
		}
		if err := b.checkAlive(); err != nil {
			return err
		}
		results = append(results, result{row, c})
		b.logf("  %s", scaleLine(c))
	}

	b.logf("\n\n════ the scale bench: %d concurrent clients, per side %s warm-up then %d rounds × %s, sides interleaved",
		b.cfg.concurrency, b.cfg.warmup, b.cfg.rounds, b.cfg.duration)
	b.printMachine()
	for _, ds := range sets {
		b.logf("data set %-5s %s", ds.name+":", ds.sizes)
	}
	b.logf("\n| request | seed p50 | seed p99 | seed RPS | scale p50 | scale p99 | scale RPS | p50 scale/seed | failures (seed, scale) |")
	b.logf("|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range results {
		s, l := r.comp.stats[0], r.comp.stats[1]
		p50s, p50l := percentile(s.lat, 0.5), percentile(l.lat, 0.5)
		ratio := "—"
		if p50s > 0 {
			ratio = fmt.Sprintf("%.1f×", float64(p50l)/float64(p50s))
		}
		b.logf("| %s | %s | %s | %.0f | %s | %s | %.0f | %s | %d, %d |", r.row.name,
			fmtDur(p50s), fmtDur(percentile(s.lat, 0.99)), s.rps(),
			fmtDur(p50l), fmtDur(percentile(l.lat, 0.99)), l.rps(), ratio, s.failures, l.failures)
		if s.failures+l.failures > 0 {
			b.failed = true
		}
	}
	for _, r := range results {
		for i, st := range r.comp.stats {
			if st.failures > 0 {
				b.logf("\nFAILURES of %q on %s: %d of %d", r.row.name, sets[i].name, st.failures, st.requests)
				for k, v := range st.kinds {
					b.logf("  %6d × %s", v, k)
				}
				for _, smp := range st.samples {
					b.logf("  e.g. %.300s", smp)
				}
			}
		}
	}
	if b.scfg.explain {
		if err := b.explainPass(ctx, sets, rows); err != nil {
			return err
		}
	}
	return nil
}

// scaleLine is a row's one-line result, printed as it ends.
func scaleLine(c *comparison) string {
	var parts []string
	for i, t := range c.sides {
		st := c.stats[i]
		slices.Sort(st.lat)
		parts = append(parts, fmt.Sprintf("%s p50 %s p99 %s %.0f/s (%d failed)", t.name,
			fmtDur(percentile(st.lat, 0.5)), fmtDur(percentile(st.lat, 0.99)), st.rps(), st.failures))
	}
	return strings.Join(parts, "   ")
}

// prepareDataSet creates, migrates and seeds a data set's database, loads
// the large data set into the scale one (unless a kept cluster already has
// it), and starts the data set's stack.
func (b *bench) prepareDataSet(ctx context.Context, ds *dataSet) error {
	if ds.name == "seed" {
		// Always a fresh one: POST /orders adds to it on every run.
		if err := stack.DropDatabase(ctx, b.server, ds.db); err != nil {
			return err
		}
	}
	db, err := stack.PrepareDatabase(ctx, b.server, ds.db, stack.DatabaseOptions{Roles: stack.RandomRoles(), Seed: true, Logf: b.progress})
	if err != nil {
		return fmt.Errorf("%s: %w", ds.db, err)
	}
	ds.admin = db.URL
	if ds.name == "scale" {
		if err := b.loadLarge(ctx, ds); err != nil {
			return err
		}
	}
	if ds.svcs, err = b.startServices(ctx, stack.ServicesOptions{Bin: b.bin, DB: db, Replicas: b.scfg.replicas, Prefix: ds.name + "-"}); err != nil {
		return err
	}
	ds.router = ds.svcs.Router().URL()
	b.logf("bench: %s stack: router %s, %d replicas of each subgraph", ds.name, ds.router, b.scfg.replicas)
	return nil
}

// loadLarge loads the large data set of make seed-large.
func (b *bench) loadLarge(ctx context.Context, ds *dataSet) error {
	conn, err := pgx.Connect(ctx, ds.admin)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", ds.db, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	b.logf("bench: loading the large data set into %s (%d books, %d orders)", ds.db, b.scfg.sizes.Books, b.scfg.sizes.Orders)
	r, err := seedlarge.Load(ctx, conn, seedlarge.Options{Sizes: b.scfg.sizes})
	switch {
	case errors.Is(err, seedlarge.ErrLoaded):
		b.logf("bench: %s already holds the large data set (%d books, %d orders)", ds.db, r.Found.Books, r.Found.Orders)
	case err != nil:
		return err
	default:
		b.logf("bench: loaded %d books, %d orders, %d lines in %.1f s (VACUUM ANALYZE %.1f s)",
			r.Books, r.Orders, r.Lines, r.Load.Seconds(), r.Vacuum.Seconds())
	}
	return nil
}

// placeOrdersAt places n orders of two lines through a router's /graphql,
// from customers customers: the first line one of the three books with the
// most stock, the second one of the others in turn.
func (b *bench) placeOrdersAt(ctx context.Context, endpoint string, n, customers int) error {
	books, err := readStock(ctx, endpoint, "first: 100, filter: {inStock: true}")
	if err != nil {
		return err
	}
	if len(books) < 4 {
		return errors.New("the catalogue has fewer than 4 books in stock")
	}
	sort.SliceStable(books, func(i, j int) bool { return books[i].Stock > books[j].Stock })
	for i := range n {
		second := &books[3+i%(len(books)-3)]
		if second.Stock < 1 {
			continue
		}
		second.Stock--
		if err := placeOrder(ctx, endpoint, i, fmt.Sprintf("bench-%d@example.com", i%customers), orderItem{books[i%3].ID, 1}, orderItem{second.ID, 1}); err != nil {
			return err
		}
	}
	return nil
}

// discover reads the ids and cursors a data set's requests use, and gives
// the books that POST /orders orders enough stock for the whole run.
func (b *bench) discover(ctx context.Context, ds *dataSet) error {
	conn, err := pgx.Connect(ctx, ds.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	p := &ds.p
	q := func(dst any, sql string, args ...any) error {
		if err := conn.QueryRow(ctx, sql, args...).Scan(dst); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(strings.Fields(sql), " "), err)
		}
		return nil
	}
	if err := q(&p.bestsellers, `SELECT array_agg(book_id::text ORDER BY n DESC, book_id) FROM (
  SELECT book_id, sum(quantity) AS n FROM orders.order_items GROUP BY book_id ORDER BY n DESC, book_id LIMIT 10) s`); err != nil {
		return err
	}
	if err := q(&p.tail, `SELECT array_agg(id::text) FROM (
  SELECT id FROM books.books WHERE NOT (id::text = ANY ($1)) ORDER BY isbn DESC LIMIT 20) s`, p.bestsellers); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `UPDATE books.books SET stock = 900000 WHERE id::text = ANY ($1) OR id::text = ANY ($2)`,
		p.bestsellers, p.tail); err != nil {
		return err
	}
	if err := q(&p.order, `SELECT order_id::text FROM orders.order_items WHERE book_id = $1 ORDER BY order_id LIMIT 1`, p.bestsellers[0]); err != nil {
		return err
	}
	if err := q(&p.anyOrder, `SELECT id::text FROM orders.orders ORDER BY id DESC LIMIT 1`); err != nil {
		return err
	}
	if p.midCursor, p.ordersMid, err = seedlarge.MidCursors(ctx, conn); err != nil {
		return err
	}
	if err := q(&p.author, `SELECT author FROM books.books GROUP BY author ORDER BY count(*) DESC, author LIMIT 1`); err != nil {
		return err
	}
	if err := q(&p.bigCustomer, `SELECT customer_email FROM orders.orders GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`); err != nil {
		return err
	}
	if err := q(&p.customer, `SELECT customer_email FROM orders.orders GROUP BY 1 ORDER BY abs(count(*) - 8), 1 LIMIT 1`); err != nil {
		return err
	}
	var books, orders, lines int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM books.books), (SELECT count(*) FROM orders.orders),
  (SELECT count(*) FROM orders.order_items)`).Scan(&books, &orders, &lines); err != nil {
		return err
	}
	var top []int64
	if err := q(&top, `SELECT array_agg(n ORDER BY n DESC) FROM (SELECT count(*) AS n FROM orders.order_items
  WHERE book_id::text = ANY ($1) GROUP BY book_id) s`, p.bestsellers[:3]); err != nil {
		return err
	}
	ds.sizes = fmt.Sprintf("%d books, %d orders, %d order lines; the top 3 books have %v lines (database %s)",
		books, orders, lines, top, ds.db)
	return nil
}

// scaleTarget makes a row's request on a data set.
func scaleTarget(ds *dataSet, row scaleRow, conc int) (*target, error) {
	switch {
	case row.query != nil:
		body, _ := json.Marshal(map[string]string{"query": row.query(ds.p)})
		return newHTTPTarget(ds.name, http.MethodPost, ds.router+"/graphql", body, conc), nil
	case row.rest != nil:
		return newHTTPTarget(ds.name, http.MethodGet, ds.router+row.rest(ds.p), nil, conc), nil
	case row.write != nil:
		t := newHTTPTarget(ds.name, row.method, ds.router+row.path, nil, conc)
		t.bodies = row.write(ds.p)
		t.status = http.StatusCreated
		return t, nil
	}
	return nil, fmt.Errorf("row %q has no request", row.name)
}

// scalePreflight sends each side's request once: it must succeed, and a
// read's answer is then the one every later answer must equal.
func scalePreflight(ctx context.Context, c *comparison) error {
	for _, t := range c.sides {
		body, err := t.do(ctx, nil)
		if err != nil {
			return fmt.Errorf("pre-flight of %q on %s (%s): %v: %.600s", c.title, t.name, t.url, err, body)
		}
		if len(t.bodies) == 0 {
			t.want = body
		}
	}
	return nil
}

// settle waits until neither database runs a statement, so that one
// row's leftovers (statements whose clients gave up) do not slow the next.
func (b *bench) settle(ctx context.Context, sets []*dataSet) error {
	conn, err := pgx.Connect(ctx, b.server.URL(""))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(2 * time.Minute)
	var dbs []string
	for _, ds := range sets {
		dbs = append(dbs, ds.db)
	}
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = ANY ($1)`, dbs).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			b.logf("bench: %d statements still running after 2 minutes; going on", n)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// explainPass sends every row's request a few times, one at a time, with
// auto_explain logging each statement over -slow-ms, and lists them.
func (b *bench) explainPass(ctx context.Context, sets []*dataSet, rows []scaleRow) error {
	conn, err := pgx.Connect(ctx, b.server.URL(""))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	set := func(v string) error {
		if _, err := conn.Exec(ctx, `ALTER SYSTEM SET auto_explain.log_min_duration = '`+v+`'`); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, `SELECT pg_reload_conf()`)
		time.Sleep(300 * time.Millisecond) // backends read the new setting between statements
		return err
	}
	logPath := b.server.Cluster.LogPath()
	st, err := os.Stat(logPath)
	if err != nil {
		return err
	}
	offset := st.Size()
	if err := set(strconv.Itoa(b.scfg.slowMS) + "ms"); err != nil {
		return err
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `ALTER SYSTEM RESET auto_explain.log_min_duration`)
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_reload_conf()`)
	}()
	b.logf("\nexplain pass: each request 3 times, one at a time, with auto_explain logging statements over %d ms", b.scfg.slowMS)
	for _, row := range rows {
		if row.write != nil {
			continue
		}
		for _, ds := range sets {
			t, err := scaleTarget(ds, row, 1)
			if err != nil {
				return err
			}
			for range 3 {
				if _, err := t.do(ctx, nil); err != nil {
					b.logf("  %s on %s: %v", row.name, ds.name, err)
				}
			}
		}
	}
	if err := set("-1"); err != nil {
		return err
	}
	f, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	type slow struct {
		db, query, entry string
		ms               float64
		n                int
	}
	byQuery := map[string]*slow{}
	durRE := regexp.MustCompile(`^\S+ \S+ \S+ \[\d+\] (\S*) LOG:  duration: ([0-9.]+) ms  plan:`)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	// An entry is its LOG line, then tab-indented lines: "Query Text: ",
	// the statement's lines, then the plan, whose first line has "(cost=".
	var cur *slow
	var entry, query []string
	inQuery := false
	flush := func() {
		if cur == nil {
			return
		}
		cur.query = strings.Join(strings.Fields(strings.Join(query, " ")), " ")
		cur.entry = strings.Join(entry, "\n")
		key := cur.db + "\x00" + cur.query
		if s := byQuery[key]; s != nil {
			s.n++
			if cur.ms > s.ms {
				s.ms, s.entry = cur.ms, cur.entry
			}
		} else {
			cur.n = 1
			byQuery[key] = cur
		}
		cur, entry, query, inQuery = nil, nil, nil, false
	}
	for sc.Scan() {
		line := sc.Text()
		if m := durRE.FindStringSubmatch(line); m != nil {
			flush()
			ms, _ := strconv.ParseFloat(m[2], 64)
			cur, entry = &slow{db: m[1], ms: ms}, []string{line}
			continue
		}
		if cur == nil {
			continue
		}
		if !strings.HasPrefix(line, "\t") {
			flush()
			continue
		}
		entry = append(entry, line)
		text := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(text, "Query Text:"):
			inQuery = true
			query = append(query, strings.TrimPrefix(text, "Query Text:"))
		case inQuery && strings.Contains(text, "(cost="):
			inQuery = false
		case inQuery:
			query = append(query, text)
		}
	}
	flush()
	var list []*slow
	for _, s := range byQuery {
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ms > list[j].ms })
	plans := filepath.Join(b.cfg.root, "out", "bench-scale", "slow-statements.txt")
	var all strings.Builder
	b.logf("statements over %d ms (from auto_explain; slowest first; their plans in %s): %d", b.scfg.slowMS, plans, len(list))
	for _, s := range list {
		q := s.query
		if len(q) > 200 {
			q = q[:200] + "…"
		}
		b.logf("  %-16s max %8.1f ms  ×%d  %s", s.db, s.ms, s.n, q)
		fmt.Fprintf(&all, "%s\n\n", s.entry)
	}
	if err := os.MkdirAll(filepath.Dir(plans), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(plans, []byte(all.String()), 0o644); err != nil {
		return err
	}
	return sc.Err()
}
