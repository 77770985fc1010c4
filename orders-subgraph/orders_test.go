package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"bookstore/graph/platform/service"
	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/testdb"
	"bookstore/orders-subgraph/graph"
	"bookstore/orders-subgraph/store"
)

const adminToken = "orders-admin-token-0123456789"

type env struct {
	db    *testdb.DB
	srv   *gqltest.Server
	anon  *gqltest.Client
	admin *gqltest.Client
}

func start(t *testing.T, extra map[string]string) *env {
	t.Helper()
	db := testdb.New(t)
	settings := map[string]string{"ADMIN_TOKEN": adminToken}
	for k, v := range extra {
		settings[k] = v
	}
	srv := gqltest.StartSubgraph(t, "orders-subgraph", db.OrdersURL, settings, graph.Build)
	anon := &gqltest.Client{URL: srv.URL + "/query"}
	return &env{db: db, srv: srv, anon: anon, admin: anon.AsAdmin(adminToken)}
}

// addBook puts a book in the catalogue directly, as the books subgraph
// would, and returns its id.
func (e *env) addBook(t *testing.T, n, priceCents, stock int) string {
	t.Helper()
	var id string
	err := e.db.Admin.QueryRow(context.Background(), `INSERT INTO books.books (isbn, title, author, price_cents, stock)
VALUES ($1, $2, 'Author', $3, $4) RETURNING id`, testdb.ISBN(n), fmt.Sprintf("Book %d", n), priceCents, stock).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) stock(t *testing.T, id string) int {
	t.Helper()
	var s int
	if err := e.db.Admin.QueryRow(context.Background(), `SELECT stock FROM books.books WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

type order struct {
	ID            string `json:"id"`
	CustomerEmail string `json:"customerEmail"`
	Status        string `json:"status"`
	TotalCents    int    `json:"totalCents"`
	Currency      string `json:"currency"`
	CreatedAt     string `json:"createdAt"`
	CancelledAt   *string
	Items         []struct {
		Book struct {
			ID        string `json:"id"`
			UnitsSold *int   `json:"unitsSold"`
		} `json:"book"`
		Quantity       int `json:"quantity"`
		UnitPriceCents int `json:"unitPriceCents"`
		LineTotalCents int `json:"lineTotalCents"`
	} `json:"items"`
}

const orderFields = `id customerEmail status totalCents currency createdAt cancelledAt
  items { book { id } quantity unitPriceCents lineTotalCents }`

const placeMutation = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { ` + orderFields + ` } }`

type line struct {
	id string
	q  int
}

func input(email string, lines ...line) map[string]any {
	items := make([]any, len(lines))
	for i, l := range lines {
		items[i] = map[string]any{"bookId": l.id, "quantity": l.q}
	}
	return map[string]any{"customerEmail": email, "items": items}
}

func (e *env) place(t *testing.T, in map[string]any) gqltest.Response {
	t.Helper()
	return e.anon.Do(t, placeMutation, map[string]any{"in": in})
}

func (e *env) placeOK(t *testing.T, in map[string]any) order {
	t.Helper()
	var out struct{ PlaceOrder order }
	e.place(t, in).Decode(t, &out)
	return out.PlaceOrder
}

func (e *env) unitsSold(t *testing.T, ids ...string) []int {
	t.Helper()
	reps := make([]any, len(ids))
	for i, id := range ids {
		reps[i] = map[string]any{"__typename": "Book", "id": id}
	}
	var out struct {
		Entities []struct{ UnitsSold int } `json:"_entities"`
	}
	e.anon.Do(t, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { unitsSold } } }`, map[string]any{"r": reps}).Decode(t, &out)
	sold := make([]int, len(out.Entities))
	for i, en := range out.Entities {
		sold[i] = en.UnitsSold
	}
	return sold
}

func TestServiceSDLIsFederationV2(t *testing.T) {
	e := start(t, nil)
	var out struct {
		Service struct{ SDL string } `json:"_service"`
	}
	e.anon.Do(t, `{ _service { sdl } }`, nil).Decode(t, &out)
	for _, want := range []string{`@link(url: "https://specs.apollo.dev/federation/v2.`, `type Order @key(fields: "id")`, `type Book @key(fields: "id")`, `unitsSold: Int`} {
		if !strings.Contains(out.Service.SDL, want) {
			t.Errorf("SDL lacks %q", want)
		}
	}
}

func TestPlaceOrder(t *testing.T) {
	e := start(t, nil)
	a, b := e.addBook(t, 1, 1999, 10), e.addBook(t, 2, 550, 3)
	o := e.placeOK(t, input("Reader@Example.com", line{a, 2}, line{b, 3}))
	if o.Status != "PLACED" || o.TotalCents != 2*1999+3*550 || o.Currency != "USD" || o.CustomerEmail != "Reader@Example.com" || o.CancelledAt != nil {
		t.Fatalf("order %+v", o)
	}
	if len(o.ID) != 36 || o.ID[14] != '4' {
		t.Fatalf("id %q is not a random (v4) UUID", o.ID)
	}
	if _, err := time.Parse(time.RFC3339Nano, o.CreatedAt); err != nil || !strings.HasSuffix(o.CreatedAt, "Z") {
		t.Fatalf("createdAt %q", o.CreatedAt)
	}
	if len(o.Items) != 2 || o.Items[0].Book.ID != a || o.Items[0].UnitPriceCents != 1999 || o.Items[0].LineTotalCents != 3998 ||
		o.Items[1].Book.ID != b || o.Items[1].Quantity != 3 || o.Items[1].LineTotalCents != 1650 {
		t.Fatalf("items %+v", o.Items)
	}
	if sa, sb := e.stock(t, a), e.stock(t, b); sa != 8 || sb != 0 {
		t.Fatalf("stock after the order = (%d, %d), want (8, 0)", sa, sb)
	}
	// The price is a snapshot: a later price change leaves the order alone.
	if _, err := e.db.Admin.Exec(context.Background(), `UPDATE books.books SET price_cents = 1 WHERE id = $1`, a); err != nil {
		t.Fatal(err)
	}
	var got struct{ Order order }
	e.anon.Do(t, `query($id: ID!) { order(id: $id) { `+orderFields+` } }`, map[string]any{"id": o.ID}).Decode(t, &got)
	if got.Order.Items[0].UnitPriceCents != 1999 || got.Order.TotalCents != o.TotalCents {
		t.Fatalf("order after a price change: %+v", got.Order)
	}
	if sold := e.unitsSold(t, a, b); sold[0] != 2 || sold[1] != 3 {
		t.Fatalf("unitsSold = %v, want [2 3]", sold)
	}
}

func TestPlaceOrderRejectsBadInput(t *testing.T) {
	e := start(t, nil)
	a := e.addBook(t, 1, 100, 1000)
	b := e.addBook(t, 2, 100, 1000)
	many := make([]line, 51)
	for i := range many {
		many[i] = line{e.addBook(t, 100+i, 1, 10), 1}
	}
	for _, tc := range []struct {
		name  string
		in    map[string]any
		code  string
		field string
	}{
		{"empty e-mail", input("", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"no @", input("reader.example.com", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"two @", input("a@b@example.com", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"no dot in the domain", input("reader@localhost", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"dot at the end of the domain", input("reader@example.", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"nothing before @", input("@example.com", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"a space", input("read er@example.com", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"a tab", input("reader@exa\tmple.com", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"a newline", input("reader@example.com\n", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"NUL", input("reader@example.com\x00", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"255 characters", input(strings.Repeat("a", 243)+"@example.com", line{a, 1}), "BAD_USER_INPUT", "input.customerEmail"},
		{"no lines", input("r@example.com"), "BAD_USER_INPUT", "input.items"},
		{"51 lines", input("r@example.com", many...), "BAD_USER_INPUT", "input.items"},
		{"quantity 0", input("r@example.com", line{a, 0}), "BAD_USER_INPUT", "input.items[0].quantity"},
		{"quantity 101", input("r@example.com", line{a, 1}, line{b, 101}), "BAD_USER_INPUT", "input.items[1].quantity"},
		{"negative quantity", input("r@example.com", line{a, -1}), "BAD_USER_INPUT", "input.items[0].quantity"},
		{"duplicate book", input("r@example.com", line{a, 1}, line{b, 1}, line{a, 2}), "BAD_USER_INPUT", "input.items[2].bookId"},
		{"duplicate book in another case", input("r@example.com", line{a, 1}, line{strings.ToUpper(a), 2}), "BAD_USER_INPUT", "input.items[1].bookId"},
		{"unknown book", input("r@example.com", line{a, 1}, line{"00000000-0000-4000-8000-000000000000", 1}), "NOT_FOUND", ""},
		{"malformed book id", input("r@example.com", line{"book-1", 1}), "NOT_FOUND", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.place(t, tc.in).WantError(t, tc.code)
			if tc.field != "" && err.Extensions["field"] != tc.field {
				t.Fatalf("field = %v, want %s", err.Extensions["field"], tc.field)
			}
		})
	}
	for name, key := range map[string]string{"empty key": "", "201-character key": strings.Repeat("k", 201), "control character": "k\x01"} {
		t.Run(name, func(t *testing.T) {
			in := input("r@example.com", line{a, 1})
			in["idempotencyKey"] = key
			e.place(t, in).WantError(t, "BAD_USER_INPUT")
		})
	}
	// An e-mail of exactly 254 characters and a 200-character key are fine.
	in := input(strings.Repeat("a", 242)+"@example.com", line{a, 1})
	in["idempotencyKey"] = strings.Repeat("k", 200)
	e.placeOK(t, in)
	if s := e.stock(t, a); s != 999 {
		t.Fatalf("stock of a = %d, want 999: only the one valid order reserved", s)
	}
}

func TestPlaceOrderIsAllOrNothing(t *testing.T) {
	e := start(t, nil)
	a, b, c := e.addBook(t, 1, 100, 5), e.addBook(t, 2, 100, 2), e.addBook(t, 3, 100, 9)
	err := e.place(t, input("r@example.com", line{a, 5}, line{b, 3}, line{c, 1})).WantError(t, "INSUFFICIENT_STOCK")
	if err.Extensions["bookId"] != b || err.Extensions["available"] != float64(2) {
		t.Fatalf("extensions %v, want bookId %s and available 2", err.Extensions, b)
	}
	err = e.place(t, input("r@example.com", line{a, 1}, line{"00000000-0000-4000-8000-00000000000f", 1})).WantError(t, "NOT_FOUND")
	if err.Extensions["bookId"] != "00000000-0000-4000-8000-00000000000f" {
		t.Fatalf("NOT_FOUND extensions %v", err.Extensions)
	}
	if sa, sb, sc := e.stock(t, a), e.stock(t, b), e.stock(t, c); sa != 5 || sb != 2 || sc != 9 {
		t.Fatalf("stock after failed orders = (%d, %d, %d), want (5, 2, 9)", sa, sb, sc)
	}
	var n int
	if err := e.db.Admin.QueryRow(context.Background(), `SELECT count(*) FROM orders.orders`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d orders recorded, want 0 (%v)", n, err)
	}
	// A total past GraphQL's 32-bit Int is refused rather than overflowing.
	lines := []line{}
	for i := range 30 {
		lines = append(lines, line{e.addBook(t, 10+i, 10_000_000, 100), 100})
	}
	e.place(t, input("r@example.com", lines...)).WantError(t, "BAD_USER_INPUT")
	if s := e.stock(t, lines[0].id); s != 100 {
		t.Fatalf("stock after the refused huge order = %d, want 100", s)
	}
}

// 200 concurrent orders for a book with 50 in stock: exactly 50 succeed.
func TestNoOversellUnderConcurrency(t *testing.T) {
	e := start(t, nil)
	book := e.addBook(t, 1, 100, 50)
	const n = 200
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := e.place(t, input(fmt.Sprintf("c%d@example.com", i), line{book, 1}))
			switch {
			case len(r.Errors) == 0:
				codes[i] = "OK"
			case len(r.Errors) == 1:
				codes[i] = r.Errors[0].Code()
			default:
				codes[i] = r.Raw
			}
		})
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count["OK"] != 50 || count["INSUFFICIENT_STOCK"] != 150 {
		t.Fatalf("outcomes %v, want 50 OK and 150 INSUFFICIENT_STOCK", count)
	}
	if s := e.stock(t, book); s != 0 {
		t.Fatalf("stock = %d, want 0", s)
	}
	if sold := e.unitsSold(t, book); sold[0] != 50 {
		t.Fatalf("unitsSold = %d, want 50", sold[0])
	}
	t.Logf("oversell race: %v; stock 0; unitsSold 50", count)
}

func TestIdempotencyKey(t *testing.T) {
	e := start(t, nil)
	a, b := e.addBook(t, 1, 300, 100), e.addBook(t, 2, 400, 100)
	in := input("Reader@example.com", line{a, 2}, line{b, 1})
	in["idempotencyKey"] = "checkout-7f3a"
	first := e.place(t, in)
	var o1 struct{ PlaceOrder order }
	first.Decode(t, &o1)
	if first.Extensions["idempotentReplayed"] != nil {
		t.Fatalf("first placement marked as replayed: %s", first.Raw)
	}
	// The same input, lines in another order and the e-mail in another case.
	replay := input("reader@EXAMPLE.com", line{b, 1}, line{a, 2})
	replay["idempotencyKey"] = "checkout-7f3a"
	r := e.place(t, replay)
	var o2 struct{ PlaceOrder order }
	r.Decode(t, &o2)
	if o2.PlaceOrder.ID != o1.PlaceOrder.ID || r.Extensions["idempotentReplayed"] != true {
		t.Fatalf("replay = %s, want order %s marked idempotentReplayed", r.Raw, o1.PlaceOrder.ID)
	}
	if sa, sb := e.stock(t, a), e.stock(t, b); sa != 98 || sb != 99 {
		t.Fatalf("stock after a replay = (%d, %d), want (98, 99)", sa, sb)
	}
	for name, other := range map[string]map[string]any{
		"another quantity": input("Reader@example.com", line{a, 3}, line{b, 1}),
		"another e-mail":   input("someone@example.com", line{a, 2}, line{b, 1}),
		"a line less":      input("Reader@example.com", line{a, 2}),
	} {
		t.Run(name, func(t *testing.T) {
			other["idempotencyKey"] = "checkout-7f3a"
			e.place(t, other).WantError(t, "IDEMPOTENCY_KEY_REUSED")
		})
	}
	if sa := e.stock(t, a); sa != 98 {
		t.Fatalf("stock after refused reuses = %d, want 98", sa)
	}
}

// Ten identical requests with one key, all at once: one order, one
// reservation, and every request answers with that order.
func TestIdempotencyKeyRace(t *testing.T) {
	e := start(t, nil)
	a := e.addBook(t, 1, 300, 100)
	in := input("r@example.com", line{a, 4})
	in["idempotencyKey"] = "race-key"
	const n = 10
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var out struct{ PlaceOrder order }
			e.place(t, in).Decode(t, &out)
			ids[i] = out.PlaceOrder.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("ids %v, want one order", ids)
		}
	}
	var orders int
	if err := e.db.Admin.QueryRow(context.Background(), `SELECT count(*) FROM orders.orders`).Scan(&orders); err != nil || orders != 1 {
		t.Fatalf("%d orders, want 1 (%v)", orders, err)
	}
	if s := e.stock(t, a); s != 96 {
		t.Fatalf("stock = %d, want 96", s)
	}
	t.Logf("idempotency race: %d requests, 1 order, stock 100 -> 96", n)
}

func TestCancelOrder(t *testing.T) {
	e := start(t, nil)
	a := e.addBook(t, 1, 300, 10)
	o := e.placeOK(t, input("r@example.com", line{a, 4}))
	cancel := `mutation($id: ID!) { cancelOrder(id: $id) { ` + orderFields + ` } }`

	e.anon.Do(t, cancel, map[string]any{"id": o.ID}).WantError(t, "UNAUTHENTICATED")
	if s := e.stock(t, a); s != 6 {
		t.Fatalf("stock = %d after an unauthenticated cancel, want 6", s)
	}
	var out struct{ CancelOrder order }
	e.admin.Do(t, cancel, map[string]any{"id": o.ID}).Decode(t, &out)
	c := out.CancelOrder
	if c.Status != "CANCELLED" || c.CancelledAt == nil || c.ID != o.ID || len(c.Items) != 1 {
		t.Fatalf("cancelled order %+v", c)
	}
	if _, err := time.Parse(time.RFC3339Nano, *c.CancelledAt); err != nil {
		t.Fatalf("cancelledAt %q: %v", *c.CancelledAt, err)
	}
	if s := e.stock(t, a); s != 10 {
		t.Fatalf("stock after cancel = %d, want 10", s)
	}
	if sold := e.unitsSold(t, a); sold[0] != 0 {
		t.Fatalf("unitsSold after cancel = %d, want 0", sold[0])
	}
	e.admin.Do(t, cancel, map[string]any{"id": o.ID}).WantError(t, "ORDER_NOT_CANCELLABLE")
	if s := e.stock(t, a); s != 10 {
		t.Fatalf("stock after a second cancel = %d, want 10", s)
	}
	e.admin.Do(t, cancel, map[string]any{"id": "00000000-0000-4000-8000-000000000000"}).WantError(t, "NOT_FOUND")
	e.admin.Do(t, cancel, map[string]any{"id": "order-1"}).WantError(t, "NOT_FOUND")
}

func TestOrderByIDIsPublic(t *testing.T) {
	e := start(t, nil)
	a := e.addBook(t, 1, 300, 10)
	o := e.placeOK(t, input("r@example.com", line{a, 1}))
	for _, tc := range []struct {
		id    string
		found bool
	}{{o.ID, true}, {strings.ToUpper(o.ID), true}, {"00000000-0000-4000-8000-000000000000", false}, {"1", false}, {"'; DROP TABLE orders.orders; --", false}} {
		var out struct{ Order *order }
		e.anon.Do(t, `query($id: ID!) { order(id: $id) { id } }`, map[string]any{"id": tc.id}).Decode(t, &out)
		if tc.found != (out.Order != nil) {
			t.Fatalf("order(%q) = %+v, want found=%v", tc.id, out.Order, tc.found)
		}
	}
}

const ordersQuery = `query($first: Int, $after: String, $filter: OrderFilter) {
  orders(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id customerEmail status createdAt } }
  }
}`

type orderPage struct {
	Orders struct {
		TotalCount int
		PageInfo   struct {
			HasNextPage bool
			EndCursor   *string
		}
		Edges []struct {
			Cursor string
			Node   order
		}
	}
}

func TestOrdersListIsAdminOnlyByDefault(t *testing.T) {
	e := start(t, nil)
	e.anon.Do(t, ordersQuery, nil).WantError(t, "UNAUTHENTICATED")
	e.anon.AsAdmin("wrong").Do(t, ordersQuery, nil).WantError(t, "UNAUTHENTICATED")
	var out orderPage
	e.admin.Do(t, ordersQuery, nil).Decode(t, &out)

	public := start(t, map[string]string{"ORDERS_LIST_PUBLIC": "true"})
	public.anon.Do(t, ordersQuery, nil).Decode(t, &out)
}

func TestOrdersListPagesNewestFirst(t *testing.T) {
	e := start(t, nil)
	a := e.addBook(t, 1, 100, 1000)
	var placed []order
	for i := range 7 {
		email := fmt.Sprintf("c%d@example.com", i%3)
		placed = append(placed, e.placeOK(t, input(email, line{a, 1})))
	}
	var cancelled struct{ CancelOrder order }
	e.admin.Do(t, `mutation($id: ID!) { cancelOrder(id: $id) { id } }`, map[string]any{"id": placed[2].ID}).Decode(t, &cancelled)

	walk := func(filter map[string]any) []order {
		var out []order
		vars := map[string]any{"first": 2, "filter": filter}
		for {
			var p orderPage
			e.admin.Do(t, ordersQuery, vars).Decode(t, &p)
			for _, edge := range p.Orders.Edges {
				out = append(out, edge.Node)
			}
			if !p.Orders.PageInfo.HasNextPage {
				return out
			}
			vars["after"] = *p.Orders.PageInfo.EndCursor
		}
	}
	all := walk(nil)
	if len(all) != 7 {
		t.Fatalf("walked %d orders, want 7", len(all))
	}
	for i := range all {
		if all[i].ID != placed[6-i].ID {
			t.Fatalf("position %d is %s, want %s (newest first)", i, all[i].ID, placed[6-i].ID)
		}
	}
	if got := walk(map[string]any{"customerEmail": "C1@EXAMPLE.COM"}); len(got) != 2 || got[0].ID != placed[4].ID || got[1].ID != placed[1].ID {
		t.Fatalf("filter by e-mail: %+v", got)
	}
	if got := walk(map[string]any{"status": "CANCELLED"}); len(got) != 1 || got[0].ID != placed[2].ID {
		t.Fatalf("filter by status: %+v", got)
	}
	if got := walk(map[string]any{"status": "PLACED", "customerEmail": "c2@example.com"}); len(got) != 1 || got[0].ID != placed[5].ID {
		t.Fatalf("filter by both: %+v", got)
	}
	var p orderPage
	e.admin.Do(t, ordersQuery, map[string]any{"first": 0, "filter": map[string]any{"status": "PLACED"}}).Decode(t, &p)
	if p.Orders.TotalCount != 6 || len(p.Orders.Edges) != 0 || !p.Orders.PageInfo.HasNextPage {
		t.Fatalf("first: 0 with PLACED: %+v", p)
	}
	for _, tc := range []struct {
		name string
		vars map[string]any
		code string
	}{
		{"first -1", map[string]any{"first": -1}, "BAD_USER_INPUT"},
		{"first 101", map[string]any{"first": 101}, "BAD_USER_INPUT"},
		{"bad cursor", map[string]any{"after": "bm90IGEgY3Vyc29y"}, "BAD_USER_INPUT"},
		{"empty cursor", map[string]any{"after": ""}, "BAD_USER_INPUT"},
		{"unknown status", map[string]any{"filter": map[string]any{"status": "SHIPPED"}}, "GRAPHQL_VALIDATION_FAILED"},
		{"NUL in e-mail", map[string]any{"filter": map[string]any{"customerEmail": "\x00"}}, "BAD_USER_INPUT"},
	} {
		t.Run(tc.name, func(t *testing.T) { e.admin.Do(t, ordersQuery, tc.vars).WantError(t, tc.code) })
	}
}

// No N+1: a page of 50 orders with their lines costs one statement, and the
// lines' books' unitsSold one more, whatever the page size.
func TestOrdersPageRunsAFixedNumberOfStatements(t *testing.T) {
	e := start(t, nil)
	books := make([]string, 5)
	for i := range books {
		books[i] = e.addBook(t, i+1, 100, 10_000)
	}
	for i := range 60 {
		e.placeOK(t, input(fmt.Sprintf("c%d@example.com", i), line{books[i%5], 1}, line{books[(i+1)%5], 2}))
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{`{ orders(first: 50) { edges { node { items { quantity } } } } }`, 1},
		{`{ orders(first: 5) { edges { node { items { quantity } } } } }`, 1},
		{`{ orders(first: 50) { totalCount edges { node { id items { quantity book { id } } } } } }`, 2},
		{`{ orders(first: 50) { edges { node { items { book { unitsSold } } } } } }`, 2},
		{`{ orders(first: 3) { edges { node { items { book { unitsSold } } } } } }`, 2},
	} {
		e.srv.Counter.Reset()
		r := e.admin.Do(t, tc.query, nil)
		if len(r.Errors) > 0 {
			t.Fatal(r.Raw)
		}
		if n := e.srv.Counter.Count(); n != tc.want {
			t.Errorf("%s ran %d SQL statements, want %d", tc.query, n, tc.want)
		}
	}
}

func TestEntitiesResolveBatchesInOneStatement(t *testing.T) {
	e := start(t, nil)
	books := make([]string, 30)
	for i := range books {
		books[i] = e.addBook(t, i+1, 100, 100)
	}
	var orders []string
	for i := range 20 {
		orders = append(orders, e.placeOK(t, input("r@example.com", line{books[i], i%3 + 1})).ID)
	}
	reps := []any{}
	for _, id := range books {
		reps = append(reps, map[string]any{"__typename": "Book", "id": id})
	}
	reps = append(reps, map[string]any{"__typename": "Book", "id": "malformed"})
	e.srv.Counter.Reset()
	var out struct {
		Entities []*struct{ UnitsSold *int } `json:"_entities"`
	}
	e.anon.Do(t, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { unitsSold } } }`, map[string]any{"r": reps}).Decode(t, &out)
	if n := e.srv.Counter.Count(); n != 1 {
		t.Errorf("unitsSold of %d books ran %d statements, want 1", len(reps), n)
	}
	for i := range books {
		want := 0
		if i < 20 {
			want = i%3 + 1
		}
		if out.Entities[i] == nil || *out.Entities[i].UnitsSold != want {
			t.Fatalf("book %d: %+v, want unitsSold %d", i, out.Entities[i], want)
		}
	}
	if out.Entities[len(books)] != nil {
		t.Fatalf("malformed id resolved to %+v, want null", out.Entities[len(books)])
	}

	reps = reps[:0]
	for _, id := range orders {
		reps = append(reps, map[string]any{"__typename": "Order", "id": id})
	}
	reps = append(reps, map[string]any{"__typename": "Order", "id": "00000000-0000-4000-8000-000000000000"})
	e.srv.Counter.Reset()
	var ords struct {
		Entities []*struct {
			ID    string
			Items []struct{ Quantity int }
		} `json:"_entities"`
	}
	e.anon.Do(t, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Order { id items { quantity } } } }`, map[string]any{"r": reps}).Decode(t, &ords)
	if n := e.srv.Counter.Count(); n != 1 {
		t.Errorf("%d Order entities ran %d statements, want 1", len(reps), n)
	}
	for i, id := range orders {
		if ords.Entities[i] == nil || ords.Entities[i].ID != id || ords.Entities[i].Items[0].Quantity != i%3+1 {
			t.Fatalf("order entity %d = %+v", i, ords.Entities[i])
		}
	}
	if ords.Entities[len(orders)] != nil {
		t.Fatal("unknown order resolved")
	}
}

// The indexes serve the orders' queries: newest first without a sort, the
// filters, and units sold per book (its counter's primary key).
func TestIndexesServeTheQueries(t *testing.T) {
	e := start(t, nil)
	a := e.addBook(t, 1, 100, 100)
	e.placeOK(t, input("r@example.com", line{a, 1}))
	for _, tc := range []struct {
		query  string
		index  string
		noSort bool
	}{
		{`{ orders(first: 5) { edges { node { id } } } }`, "orders_newest_order", true},
		{`{ orders(first: 5, filter: {customerEmail: "R@example.com"}) { edges { node { id } } } }`, "orders_email_newest", true},
		{`{ orders(first: 5, filter: {status: CANCELLED}) { edges { node { id } } } }`, "orders_status_newest", true},
		{`{ _entities(representations: [{__typename: "Book", id: "` + a + `"}]) { ... on Book { unitsSold } } }`, "book_sales_pkey", false},
	} {
		t.Run(tc.index, func(t *testing.T) {
			e.srv.Counter.Reset()
			if r := e.admin.Do(t, tc.query, nil); len(r.Errors) > 0 {
				t.Fatal(r.Raw)
			}
			sts := e.srv.Counter.Statements()
			if len(sts) != 1 {
				t.Fatalf("%d statements", len(sts))
			}
			plan := gqltest.Explain(t, e.db.Admin, sts[0])
			if !strings.Contains(plan, tc.index) || (tc.noSort && strings.Contains(plan, "Sort")) {
				t.Fatalf("the plan does not read %s in order:\n%s", tc.index, plan)
			}
		})
	}
}

// Mutation fields run one after another; each sees the units sold the
// ones before it left, not figures loaded earlier in the same request.
func TestSerialMutationsSeeFreshUnitsSold(t *testing.T) {
	e := start(t, nil)
	book := e.addBook(t, 501, 1000, 10)
	var out struct {
		A, B, C struct {
			Items []struct {
				Book struct{ UnitsSold int }
			}
		}
	}
	line := `(input: {customerEmail: "serial@example.com", items: [{bookId: "` + book + `", quantity: 1}]}) { items { book { unitsSold } } }`
	e.anon.Do(t, `mutation { a: placeOrder`+line+` b: placeOrder`+line+` c: placeOrder`+line+` }`, nil).Decode(t, &out)
	got := []int{out.A.Items[0].Book.UnitsSold, out.B.Items[0].Book.UnitsSold, out.C.Items[0].Book.UnitsSold}
	if got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("unitsSold after each placeOrder = %v, want [1 2 3]", got)
	}
}

// recount compares the counters the triggers keep with the rows they
// count, and fails the test on any difference.
func (e *env) recount(t *testing.T) {
	t.Helper()
	var diff string
	err := e.db.Admin.QueryRow(context.Background(), `
SELECT concat_ws('; ',
  (SELECT 'book_sales of ' || count(*) || ' books differ from the lines'
     FROM (SELECT i.book_id, sum(i.quantity) AS n FROM orders.order_items i
             JOIN orders.orders o ON o.id = i.order_id AND o.status = 'PLACED' GROUP BY i.book_id) r
     FULL JOIN orders.book_sales s ON s.book_id = r.book_id
    WHERE COALESCE(r.n, 0) <> COALESCE(s.units_sold, 0) HAVING count(*) > 0),
  (SELECT 'order_counts say ' || c.placed || ' placed and ' || c.cancelled || ' cancelled, the table has ' || o.placed || ' and ' || o.cancelled
     FROM (SELECT sum(placed) AS placed, sum(cancelled) AS cancelled FROM orders.order_counts) c,
          (SELECT count(*) FILTER (WHERE status = 'PLACED') AS placed, count(*) FILTER (WHERE status = 'CANCELLED') AS cancelled FROM orders.orders) o
    WHERE (c.placed, c.cancelled) <> (o.placed, o.cancelled)),
  (SELECT 'catalogue_counts say ' || c.books || ' books and ' || c.in_stock || ' in stock, the table has ' || b.books || ' and ' || b.in_stock
     FROM (SELECT sum(books) AS books, sum(in_stock) AS in_stock FROM books.catalogue_counts) c,
          (SELECT count(*) AS books, count(*) FILTER (WHERE stock > 0) AS in_stock FROM books.books) b
    WHERE (c.books, c.in_stock) <> (b.books, b.in_stock)))`).Scan(&diff)
	if err != nil {
		t.Fatal(err)
	}
	if diff != "" {
		t.Fatal(diff)
	}
}

// Concurrent orders over overlapping books, lines in every order, and
// concurrent cancellations: nothing deadlocks or fails, and every counter
// (units sold, orders by status, books in stock) equals a recount of its
// rows, as do the totalCount and unitsSold the API answers.
func TestCountersStayExactUnderConcurrency(t *testing.T) {
	e := start(t, nil)
	books := make([]string, 5)
	for i := range books {
		books[i] = e.addBook(t, i+1, 100, 60) // 60 units: some books sell out
	}
	const n = 60
	placed := make([]string, n)
	errs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Three books of five, in a rotating order: transactions lock
			// overlapping books, whatever order the lines name them in.
			lines := []line{{books[i%5], 1 + i%3}, {books[(i+2)%5], 1}, {books[(i+4)%5], 2}}
			r := e.place(t, input(fmt.Sprintf("c%d@example.com", i%4), lines...))
			var out struct{ PlaceOrder order }
			switch {
			case len(r.Errors) == 0:
				if err := json.Unmarshal(r.Data, &out); err != nil {
					errs[i] = err.Error()
				}
				placed[i] = out.PlaceOrder.ID
			case r.Errors[0].Code() != "INSUFFICIENT_STOCK":
				errs[i] = r.Raw
			}
		})
	}
	wg.Wait()
	cancel := `mutation($id: ID!) { cancelOrder(id: $id) { id } }`
	for i := range n {
		if i%3 == 0 && placed[i] != "" {
			wg.Go(func() {
				if r := e.admin.Do(t, cancel, map[string]any{"id": placed[i]}); len(r.Errors) > 0 {
					errs[i] = r.Raw
				}
			})
		}
		if i%3 == 1 {
			wg.Go(func() {
				r := e.place(t, input("late@example.com", line{books[i%5], 1}, line{books[(i+1)%5], 1}))
				if len(r.Errors) > 0 && r.Errors[0].Code() != "INSUFFICIENT_STOCK" {
					errs[i] = r.Raw
				}
			})
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != "" {
			t.Errorf("request %d: %s", i, err)
		}
	}
	e.recount(t)

	var counts struct {
		All, Placed, Cancelled struct{ TotalCount int }
	}
	e.admin.Do(t, `{ all: orders { totalCount } placed: orders(filter: {status: PLACED}) { totalCount }
  cancelled: orders(filter: {status: CANCELLED}) { totalCount } }`, nil).Decode(t, &counts)
	var all, cancelled int
	if err := e.db.Admin.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE status = 'CANCELLED') FROM orders.orders`).Scan(&all, &cancelled); err != nil {
		t.Fatal(err)
	}
	if counts.All.TotalCount != all || counts.Cancelled.TotalCount != cancelled || counts.Placed.TotalCount != all-cancelled {
		t.Fatalf("totalCount %+v, the table has %d orders, %d cancelled", counts, all, cancelled)
	}
	sold := e.unitsSold(t, books...)
	for i, id := range books {
		var want int
		if err := e.db.Admin.QueryRow(context.Background(), `SELECT COALESCE(sum(i.quantity), 0) FROM orders.order_items i
JOIN orders.orders o ON o.id = i.order_id AND o.status = 'PLACED' WHERE i.book_id = $1`, id).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if sold[i] != want {
			t.Errorf("unitsSold of book %d = %d, want %d", i, sold[i], want)
		}
	}
	t.Logf("%d orders (%d cancelled); unitsSold %v", all, cancelled, sold)
}

// An order in flight for a bestseller holds that book's row and its sales
// counter until it commits; orders for other books go on meanwhile, and
// the next order for the bestseller waits for it, then counts on top of it.
func TestABestsellerDoesNotHoldUpOtherBooks(t *testing.T) {
	e := start(t, nil)
	ctx := context.Background()
	best := e.addBook(t, 1, 100, 1000)
	others := []string{e.addBook(t, 2, 100, 1000), e.addBook(t, 3, 100, 1000)}
	e.placeOK(t, input("first@example.com", line{best, 1})) // the counter row exists

	// An order for the bestseller, as placeOrder runs it, stopped before
	// its commit: the book's row is locked (reserve_stock), and so is its
	// counter (the lines' trigger).
	conn, err := pgx.Connect(ctx, e.db.OrdersURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT count(*) FROM books.reserve_stock(ARRAY[$1]::uuid[], ARRAY[1])`, best); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE orders.book_sales SET units_sold = units_sold + 1 WHERE book_id = $1`, best); err != nil {
		t.Fatal(err)
	}

	// Orders for other books complete while it is open. (The timeout only
	// turns a hang into a failure.)
	done := make(chan string, len(others))
	for i, id := range others {
		go func() {
			r := e.place(t, input(fmt.Sprintf("other%d@example.com", i), line{id, 2}))
			done <- r.Raw
		}()
	}
	for range others {
		select {
		case raw := <-done:
			if strings.Contains(raw, `"errors"`) {
				t.Fatalf("an order for another book failed: %s", raw)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("an order for another book waited for the bestseller's open transaction")
		}
	}

	// The next order for the bestseller queues behind it.
	queued := make(chan order, 1)
	go func() { queued <- e.placeOK(t, input("second@example.com", line{best, 1})) }()
	select {
	case o := <-queued:
		t.Fatalf("an order for the bestseller went through while another held it: %+v", o)
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	<-queued
	if sold := e.unitsSold(t, best, others[0], others[1]); sold[0] != 3 || sold[1] != 2 || sold[2] != 2 {
		t.Fatalf("unitsSold = %v, want [3 2 2]", sold)
	}
}

// Orders placed in the same instant page by id, ascending, whatever the
// page size and filter: the cursor resumes inside a tie.
func TestOrdersListBreaksTiesByID(t *testing.T) {
	e := start(t, nil)
	a := e.addBook(t, 1, 100, 1000)
	for range 3 {
		e.placeOK(t, input("before@example.com", line{a, 1}))
	}
	want := testdb.Strings(t, e.db.Admin, `
WITH o AS (
  INSERT INTO orders.orders (customer_email, total_cents, currency, created_at)
  SELECT 'tie@example.com', 100, 'USD', timestamptz '2026-01-01 12:00:00.123456+00' FROM generate_series(1, 7)
  RETURNING id)
INSERT INTO orders.order_items (order_id, line_no, book_id, quantity, unit_price_cents)
SELECT o.id, 1, $1, 1, 100 FROM o RETURNING order_id::text`, a)
	slices.Sort(want)
	for _, filter := range []map[string]any{nil, {"customerEmail": "TIE@example.com"}, {"status": "PLACED"}} {
		for _, size := range []int{1, 2, 3, 100} {
			var got []string
			vars := map[string]any{"first": size, "filter": filter}
			for {
				var p orderPage
				e.admin.Do(t, ordersQuery, vars).Decode(t, &p)
				for _, edge := range p.Orders.Edges {
					if edge.Node.CustomerEmail == "tie@example.com" {
						got = append(got, edge.Node.ID)
					}
				}
				if !p.Orders.PageInfo.HasNextPage {
					break
				}
				vars["after"] = *p.Orders.PageInfo.EndCursor
			}
			if !slices.Equal(got, want) {
				t.Errorf("filter %v, pages of %d: the tied orders come %v, want %v", filter, size, got, want)
			}
		}
	}
}

// openPool opens a pool as the service does, configured by env; it closes
// when the test ends.
func openPool(t *testing.T, env map[string]string) *pgxpool.Pool {
	t.Helper()
	cfg, err := service.FromEnv(func(k string) string { return env[k] }, ":0")
	if err != nil {
		t.Fatal(err)
	}
	pool, err := service.OpenPool(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestHungSessionReleasesItsLocks: a replica that hangs inside placeOrder's
// transaction (SIGSTOP) holds its books' row locks; PostgreSQL ends its
// session after DB_IDLE_IN_TRANSACTION_TIMEOUT, and an order of the same
// book from another replica goes through instead of waiting for good.
func TestHungSessionReleasesItsLocks(t *testing.T) {
	e := start(t, map[string]string{"DB_IDLE_IN_TRANSACTION_TIMEOUT": "500ms"})
	book := e.addBook(t, 1, 1000, 10)
	ctx := context.Background()
	pool := openPool(t, map[string]string{"DATABASE_URL": e.db.OrdersURL, "DB_IDLE_IN_TRANSACTION_TIMEOUT": "500ms"})
	// The hung replica: it reserved the book's stock, then stopped.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT * FROM books.reserve_stock($1::uuid[], $2::integer[])`, []string{book}, []int32{1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := e.anon.Do(t, `mutation($b: ID!) { placeOrder(input: {customerEmail: "hung@example.com", items: [{bookId: $b, quantity: 2}]}) { id } }`,
		map[string]any{"b": book})
	if len(r.Errors) > 0 {
		t.Fatalf("placeOrder behind the hung session: %s", r.Raw)
	}
	if waited := time.Since(start); waited < 400*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("placeOrder waited %v, want about the 500ms timeout", waited)
	}
	if _, err := tx.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("the hung session survived its idle transaction")
	}
}

// TestTxStatus: the status of a transaction, as placeOrder asks it after a
// COMMIT that got no answer.
func TestTxStatus(t *testing.T) {
	db := testdb.New(t)
	ctx := context.Background()
	pool := openPool(t, map[string]string{"DATABASE_URL": db.OrdersURL})
	s := store.New(pool)
	for _, end := range []struct {
		name, want string
		end        func(pgx.Tx) error
	}{
		{"commit", "committed", func(tx pgx.Tx) error { return tx.Commit(ctx) }},
		{"rollback", "aborted", func(tx pgx.Tx) error { return tx.Rollback(ctx) }},
	} {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var xid string
		if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
			t.Fatal(err)
		}
		if got, err := s.TxStatus(ctx, xid); err != nil || got != "in progress" {
			t.Fatalf("%s: before it: %q, %v", end.name, got, err)
		}
		if err := end.end(tx); err != nil {
			t.Fatal(err)
		}
		if got, err := s.TxStatus(ctx, xid); err != nil || got != end.want {
			t.Fatalf("after a %s: %q, %v; want %q", end.name, got, err, end.want)
		}
	}
}
