// Package explain holds the EXPLAIN test: on a data set large enough for the
// planner's choices to be the ones it makes at scale (seedlarge at 10,000
// books and 30,000 orders, analyzed), it runs every query and mutation of
// the contract against the two subgraphs, catches each SQL statement their
// stores send, and explains it, with the arguments it was sent with:
//
//   - no plan reads a big table (books.books, orders.orders,
//     orders.order_items) with a sequential scan;
//   - no statement reads more than a few thousand rows and index entries,
//     except a search's count, which reads its matches (and is cached);
//   - a statement pgx prepares (planned for any value after five runs) is
//     explained with PostgreSQL's generic plan too.
//
// A failure names the request, the statement, its arguments and its plan.
package explain

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	books "bookstore/books-subgraph/graph"
	"bookstore/graph/platform/service"
	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/testdb"
	"bookstore/migrations/seedlarge"
	orders "bookstore/orders-subgraph/graph"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// size is the data set: large enough that a scan of any big table costs
// the planner far more than an index, small enough to load in a second.
var size = seedlarge.Sizes{Books: 10_000, Orders: 30_000}

// maxRead bounds the rows and index entries one statement may read.
const maxRead = 2_000

var bigTables = []string{"books", "orders", "order_items"}

const token = "plans-admin-token-0123456789"

// request is one GraphQL request to a subgraph.
type request struct {
	name     string
	orders   bool // to orders-subgraph; else books-subgraph
	query    string
	vars     map[string]any
	readsAll bool // a search's count reads its matches
}

func TestEveryStatementUsesAnIndex(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	db := testdb.New(t)
	db.Seed(t)
	conn, err := pgx.Connect(ctx, db.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var progress strings.Builder
	if _, err := seedlarge.Load(ctx, conn, seedlarge.Options{Sizes: size, Progress: &progress}); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d books and %d orders in %s:\n%s", size.Books, size.Orders, time.Since(start).Round(time.Millisecond), progress.String())

	env := map[string]string{"ADMIN_TOKEN": token}
	srv := map[bool]*gqltest.Server{
		false: gqltest.StartSubgraph(t, "books-subgraph", db.BooksURL, env, books.Build),
		true:  gqltest.StartSubgraph(t, "orders-subgraph", db.OrdersURL, env, orders.Build),
	}
	// The statements are explained over a pool set up as the services'
	// are (no parallel query, ...), as the superuser.
	pool, err := service.OpenPool(ctx, service.Config{DatabaseURL: db.AdminURL, MaxConns: 2, StatementTimeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	p := discover(t, conn)
	for _, r := range requests(p) {
		t.Run(r.name, func(t *testing.T) {
			s := srv[r.orders]
			s.Counter.Reset()
			c := &gqltest.Client{URL: s.URL + "/query", Token: token}
			if res := c.Do(t, r.query, r.vars); len(res.Errors) > 0 {
				t.Fatalf("%s: %s", r.query, res.Raw)
			}
			sts := s.Counter.Statements()
			if s.Counter.Count() > len(sts) {
				t.Fatalf("%d statements, more than the counter keeps", s.Counter.Count())
			}
			var settings []string // SET LOCAL of the statement's transaction
			explained := 0
			for i, st := range sts {
				sql := strings.TrimSpace(st.SQL)
				head := strings.ToUpper(strings.Fields(sql)[0])
				switch {
				case head == "SET":
					settings = append(settings, sql)
					continue
				case head == "COMMIT" || head == "ROLLBACK" || head == "BEGIN":
					if head != "BEGIN" {
						settings = nil
					}
					continue
				case strings.Contains(sql, "pg_advisory_xact_lock"):
					continue
				}
				explained++
				check(t, pool, r, i, st, settings)
			}
			if explained == 0 {
				t.Fatal("no statement to explain")
			}
		})
	}
	t.Logf("the whole test took %s", time.Since(start).Round(time.Millisecond))
}

// params are the ids and cursors the requests use.
type params struct {
	bestsellers, tail []string
	mid               map[string]string // books ordering → cursor half way down
	ordersMid         string
	order, author     string
	orderIDs          []string
	customer          string
}

func discover(t *testing.T, conn *pgx.Conn) params {
	t.Helper()
	ctx := context.Background()
	var p params
	for i := 1; i <= seedlarge.Bestsellers; i++ {
		p.bestsellers = append(p.bestsellers, seedlarge.BookID(i))
	}
	for i := range 90 {
		p.tail = append(p.tail, seedlarge.BookID(100+i*97))
	}
	var err error
	if p.mid, p.ordersMid, err = seedlarge.MidCursors(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT order_id::text FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id
WHERE i.book_id = $1 AND o.status = 'PLACED' ORDER BY 1 LIMIT 1`, p.bestsellers[0]).Scan(&p.order); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT author FROM books.books GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`).Scan(&p.author); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT array_agg(id::text) FROM (SELECT id FROM orders.orders ORDER BY id LIMIT 20) s`).Scan(&p.orderIDs); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT customer_email FROM orders.orders WHERE customer_email <> $1 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
		seedlarge.BulkBuyer).Scan(&p.customer); err != nil {
		t.Fatal(err)
	}
	return p
}

// requests are the contract's queries and mutations, as the router sends
// them to the subgraphs.
func requests(p params) []request {
	const bookPage = `totalCount edges { cursor node { id title author priceCents stock } } pageInfo { hasNextPage endCursor }`
	const orderPage = `totalCount edges { cursor node { id status totalCents items { quantity unitPriceCents book { id } } } } pageInfo { hasNextPage endCursor }`
	var rs []request
	for _, o := range []string{"TITLE_ASC", "TITLE_DESC", "PRICE_ASC", "PRICE_DESC", "NEWEST"} {
		rs = append(rs,
			request{name: "books page 1 " + o, query: `query($o: BookOrder) { books(first: 20, orderBy: $o) { ` + bookPage + ` } }`,
				vars: map[string]any{"o": o}},
			request{name: "books deep page " + o, query: `query($o: BookOrder, $a: String) { books(first: 20, orderBy: $o, after: $a) { ` + bookPage + ` } }`,
				vars: map[string]any{"o": o, "a": p.mid[o]}},
		)
	}
	for _, term := range []string{"e", "go", "zq", "ö", "%", "the", "lighthouse", "100% Cotton", "no such book"} {
		for _, o := range []string{"TITLE_ASC", "PRICE_DESC"} {
			rs = append(rs, request{name: fmt.Sprintf("books search %q %s", term, o), readsAll: true,
				query: `query($s: String, $o: BookOrder) { books(first: 20, orderBy: $o, filter: {search: $s}) { ` + bookPage + ` } }`,
				vars:  map[string]any{"s": term, "o": o}})
		}
	}
	rs = append(rs,
		request{name: "books search deep page", readsAll: true,
			query: `query($a: String) { books(first: 20, orderBy: PRICE_DESC, after: $a, filter: {search: "the", inStock: true}) { ` + bookPage + ` } }`,
			vars:  map[string]any{"a": p.mid["PRICE_DESC"]}},
		request{name: "books by author", query: `query($a: String) { books(first: 20, filter: {author: $a}) { ` + bookPage + ` } }`,
			vars: map[string]any{"a": p.author}},
		request{name: "books by author out of stock", query: `query($a: String) { books(first: 20, orderBy: NEWEST, filter: {author: $a, inStock: false}) { ` + bookPage + ` } }`,
			vars: map[string]any{"a": p.author}},
		request{name: "books in stock", query: `{ books(first: 20, filter: {inStock: true}) { ` + bookPage + ` } }`},
		request{name: "books out of stock", query: `{ books(first: 20, orderBy: PRICE_DESC, filter: {inStock: false}) { ` + bookPage + ` } }`},
		request{name: "book by id", query: `query($id: ID!) { book(id: $id) { id title stock } }`, vars: map[string]any{"id": p.bestsellers[0]}},
		request{name: "books as entities", query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { id title } } }`,
			vars: map[string]any{"r": reps("Book", p.tail)}},
		request{name: "createBook", query: `mutation { createBook(input: {isbn: "9780000000002", title: "Plans", author: "Test", priceCents: 100, stock: 3}) { id } }`},
		request{name: "updateBook", query: `mutation($id: ID!) { updateBook(id: $id, input: {title: "Retitled"}) { id } }`, vars: map[string]any{"id": p.tail[0]}},
		request{name: "restockBook", query: `mutation($id: ID!) { restockBook(id: $id, quantity: 5) { id } }`, vars: map[string]any{"id": p.tail[1]}},

		request{name: "orders page 1", orders: true, query: `{ orders(first: 20) { ` + orderPage + ` } }`},
		request{name: "orders deep page", orders: true, query: `query($a: String) { orders(first: 20, after: $a) { ` + orderPage + ` } }`,
			vars: map[string]any{"a": p.ordersMid}},
		request{name: "orders cancelled", orders: true, query: `{ orders(first: 20, filter: {status: CANCELLED}) { ` + orderPage + ` } }`},
		request{name: "orders placed deep page", orders: true, query: `query($a: String) { orders(first: 20, after: $a, filter: {status: PLACED}) { ` + orderPage + ` } }`,
			vars: map[string]any{"a": p.ordersMid}},
		request{name: "orders by e-mail", orders: true, query: `query($e: String) { orders(first: 20, filter: {customerEmail: $e}) { ` + orderPage + ` } }`,
			vars: map[string]any{"e": strings.ToUpper(p.customer)}},
		request{name: "orders of the bulk buyer", orders: true, query: `query($e: String) { orders(first: 20, filter: {customerEmail: $e, status: PLACED}) { ` + orderPage + ` } }`,
			vars: map[string]any{"e": seedlarge.BulkBuyer}},
		request{name: "orders of the bulk buyer deep page", orders: true, query: `query($e: String, $a: String) { orders(first: 20, after: $a, filter: {customerEmail: $e}) { ` + orderPage + ` } }`,
			vars: map[string]any{"e": seedlarge.BulkBuyer, "a": p.ordersMid}},
		request{name: "order by id", orders: true, query: `query($id: ID!) { order(id: $id) { id items { quantity book { id unitsSold } } } }`,
			vars: map[string]any{"id": p.order}},
		request{name: "orders as entities", orders: true, query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id items { quantity } } } }`,
			vars: map[string]any{"r": reps("Order", p.orderIDs)}},
		request{name: "unitsSold of 100 books", orders: true, query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { unitsSold } } }`,
			vars: map[string]any{"r": reps("Book", append(slices.Clone(p.bestsellers), p.tail...))}},
		request{name: "placeOrder", orders: true, query: `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id items { book { unitsSold } } } }`,
			vars: map[string]any{"in": map[string]any{"customerEmail": "plans@example.com", "idempotencyKey": "plans-1",
				"items": []any{map[string]any{"bookId": p.bestsellers[0], "quantity": 1}, map[string]any{"bookId": p.tail[2], "quantity": 2}}}}},
		request{name: "placeOrder replayed", orders: true, query: `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id } }`,
			vars: map[string]any{"in": map[string]any{"customerEmail": "plans@example.com", "idempotencyKey": "plans-1",
				"items": []any{map[string]any{"bookId": p.bestsellers[0], "quantity": 1}, map[string]any{"bookId": p.tail[2], "quantity": 2}}}}},
		request{name: "cancelOrder", orders: true, query: `mutation($id: ID!) { cancelOrder(id: $id) { id status } }`,
			vars: map[string]any{"id": p.order}},
	)
	return rs
}

func reps(typename string, ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"__typename": typename, "id": id}
	}
	return out
}

// check explains one statement with its arguments, in a transaction that
// rolls back (EXPLAIN ANALYZE runs it), and fails the test on a
// sequential scan of a big table or too many rows read; a statement pgx
// prepares is explained with the generic plan as well.
func check(t *testing.T, pool *pgxpool.Pool, r request, i int, st gqltest.Statement, settings []string) {
	t.Helper()
	args := st.Args
	custom := false
	if len(args) > 0 {
		if m, ok := args[0].(pgx.QueryExecMode); ok {
			custom = m != pgx.QueryExecModeCacheStatement
			args = args[1:]
		}
	}
	explain := func(generic bool) (plan map[string]any, text string) {
		ctx := context.Background()
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		// PREPARE outlives the transaction: deallocate after the rollback.
		defer func() { _, _ = conn.Exec(ctx, "DEALLOCATE plans_stmt") }()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		for _, s := range settings {
			if _, err := tx.Exec(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		sql := st.SQL
		if generic {
			if _, err := tx.Exec(ctx, "PREPARE plans_stmt AS "+st.SQL); err != nil {
				t.Fatalf("PREPARE %s: %v", st.SQL, err)
			}
			if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
				t.Fatal(err)
			}
			// EXECUTE takes no parameters of its own: its arguments go as
			// literals, which the prepared statement's types convert.
			ps := make([]string, len(args))
			for j, a := range args {
				ps[j] = literal(t, a)
			}
			sql = "EXECUTE plans_stmt"
			if len(ps) > 0 {
				sql += "(" + strings.Join(ps, ", ") + ")"
			}
		}
		qargs := args
		if generic {
			qargs = nil
		}
		// An insert would run into the row the request inserted: its plan
		// is read without running it.
		analyze := "ANALYZE, BUFFERS, "
		if strings.Contains(strings.ToUpper(st.SQL), "INSERT INTO") {
			analyze = ""
		}
		var raw []byte
		if err := tx.QueryRow(ctx, "EXPLAIN ("+analyze+"FORMAT JSON) "+sql, qargs...).Scan(&raw); err != nil {
			t.Fatalf("EXPLAIN %s %v: %v", st.SQL, args, err)
		}
		var doc []struct{ Plan map[string]any }
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		lines := testdb.Strings(t, tx, "EXPLAIN ("+analyze+"COSTS OFF) "+sql, qargs...)
		return doc[0].Plan, strings.Join(lines, "\n")
	}
	kinds := []bool{false}
	if !custom {
		kinds = append(kinds, true)
	}
	for _, generic := range kinds {
		plan, text := explain(generic)
		var problems []string
		read := 0
		walk(plan, func(n map[string]any) {
			rel, _ := n["Relation Name"].(string)
			if n["Node Type"] == "Seq Scan" && slices.Contains(bigTables, rel) {
				problems = append(problems, "a sequential scan of "+rel)
			}
			if _, ok := n["Relation Name"]; ok || n["Index Name"] != nil {
				loops := num(n["Actual Loops"])
				read += int((num(n["Actual Rows"]) + num(n["Rows Removed by Filter"]) + num(n["Rows Removed by Index Recheck"])) * loops)
			}
		})
		if read > maxRead && !r.readsAll {
			problems = append(problems, fmt.Sprintf("%d rows and index entries read, more than %d", read, maxRead))
		}
		if len(problems) > 0 {
			kind := "its plan"
			if generic {
				kind = "its generic plan (pgx prepares it: PostgreSQL uses it after five runs)"
			}
			t.Errorf("statement %d: %s in %s\n%s\narguments: %v\n%s", i+1, strings.Join(problems, "; "), kind, st.SQL, args, text)
		}
	}
}

// literal writes an argument as a quoted SQL literal of its text form.
func literal(t *testing.T, v any) string {
	t.Helper()
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "NULL"
		}
		return literal(t, rv.Elem().Interface())
	}
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return quote(v)
	case int, int32, int64, bool:
		return quote(fmt.Sprint(v))
	case time.Time:
		return quote(v.UTC().Format(time.RFC3339Nano))
	case []byte:
		if v == nil {
			return "NULL"
		}
		return quote(fmt.Sprintf("\\x%x", v))
	case []string:
		elems := make([]string, len(v))
		for i, e := range v {
			elems[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(e) + `"`
		}
		return quote("{" + strings.Join(elems, ",") + "}")
	case []int32:
		elems := make([]string, len(v))
		for i, e := range v {
			elems[i] = fmt.Sprint(e)
		}
		return quote("{" + strings.Join(elems, ",") + "}")
	case []pgtype.UUID:
		elems := make([]string, len(v))
		for i, e := range v {
			elems[i] = "NULL"
			if e.Valid {
				elems[i] = e.String()
			}
		}
		return quote("{" + strings.Join(elems, ",") + "}")
	}
	t.Fatalf("no literal for %T", v)
	return ""
}

func walk(n map[string]any, f func(map[string]any)) {
	f(n)
	if kids, ok := n["Plans"].([]any); ok {
		for _, k := range kids {
			if m, ok := k.(map[string]any); ok {
				walk(m, f)
			}
		}
	}
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
