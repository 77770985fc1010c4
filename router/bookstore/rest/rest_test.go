package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bookstore/graph/testkit/testdb"
	"bookstore/router/bookstore/rest"
	"bookstore/router/federation/gateway"
	"bookstore/router/routertest"
	"bookstore/router/server"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// Seeded books: ids are md5('bookstore-seed:'||isbn)::uuid.
const (
	goBook     = "96d4816c-1d71-3e59-2cd2-8f7f36d767b9" // The Go Programming Language, stock 25, 3999
	braveBook  = "8df5658c-ffb4-3c83-d34f-c0e8a327b8b5" // Brave New World, stock 19
	legacyBook = "ff486a3c-a59f-463e-8f0a-4fe1c32d1157" // Working Effectively with Legacy Code, stock 0
	noOrder    = "00000000-0000-4000-8000-000000000000"
	seeded     = 32
)

var (
	bookKeys      = []string{"author", "createdAt", "currency", "description", "id", "inStock", "isbn", "priceCents", "publishedYear", "stock", "title", "unitsSold", "updatedAt"}
	orderKeys     = []string{"cancelledAt", "createdAt", "currency", "customerEmail", "id", "items", "status", "totalCents"}
	itemKeys      = []string{"book", "lineTotalCents", "quantity", "unitPriceCents"}
	itemBookKeys  = []string{"author", "id", "isbn", "title"}
	pageKeys      = []string{"items", "pageInfo", "totalCount"}
	pageInfoKeys  = []string{"endCursor", "hasNextPage"}
	errorBodyKeys = []string{"error"}
)

// reply is an answer of the router.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request to the router at base. Values of header replace the
// request's; a contentType of "" sends none.
func call(t testing.TB, base, method, path, contentType, body string, header http.Header) reply {
	t.Helper()
	status, h, raw := routertest.Send(t, base, method, path, contentType, body, header)
	return reply{status: status, header: h, body: raw}
}

func (r reply) object(t testing.TB) map[string]any {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json; body %s", ct, r.body)
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("the body is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}

// want checks the status and returns the body as an object.
func (r reply) want(t testing.TB, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r.object(t)
}

// wantError checks the contract's error body: exactly {"error": {code,
// message, details?}}, with this status and code. It returns details.
func (r reply) wantError(t testing.TB, status int, code string) map[string]any {
	t.Helper()
	body := r.want(t, status)
	wantKeys(t, "error body", body, errorBodyKeys)
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("error is not an object: %s", r.body)
	}
	if e["code"] != code {
		t.Fatalf("code %v, want %s; body %s", e["code"], code, r.body)
	}
	if m, _ := e["message"].(string); m == "" {
		t.Fatalf("no message: %s", r.body)
	}
	for k := range e {
		if k != "code" && k != "message" && k != "details" {
			t.Fatalf("the error has a field %q: %s", k, r.body)
		}
	}
	details, _ := e["details"].(map[string]any)
	if _, ok := e["details"]; ok && len(details) == 0 {
		t.Fatalf("details is empty or not an object: %s", r.body)
	}
	return details
}

func wantKeys(t testing.TB, what string, obj map[string]any, keys []string) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, keys) {
		t.Fatalf("%s has fields %v, want %v", what, got, keys)
	}
}

// wantObject checks that v, what, is a JSON object with exactly keys.
func wantObject(t testing.TB, what string, v any, keys []string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T", what, v)
	}
	wantKeys(t, what, m, keys)
	return m
}

func checkBook(t testing.TB, b any) map[string]any {
	t.Helper()
	m := wantObject(t, "a book", b, bookKeys)
	for _, k := range []string{"createdAt", "updatedAt"} {
		s, _ := m[k].(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
			t.Fatalf("%s = %q, want RFC 3339 in UTC", k, s)
		}
	}
	return m
}

func checkOrder(t testing.TB, o any) map[string]any {
	t.Helper()
	m := wantObject(t, "an order", o, orderKeys)
	items, ok := m["items"].([]any)
	if !ok || len(items) == 0 {
		t.Fatalf("items = %v", m["items"])
	}
	for _, it := range items {
		im, _ := it.(map[string]any)
		wantKeys(t, "an order item", im, itemKeys)
		bm, _ := im["book"].(map[string]any)
		wantKeys(t, "an order item's book", bm, itemBookKeys)
	}
	return m
}

func checkPage(t testing.TB, body map[string]any) (items []any, hasNext bool, cursor string, total string) {
	t.Helper()
	wantKeys(t, "a page", body, pageKeys)
	items, ok := body["items"].([]any)
	if !ok {
		t.Fatalf("items is %T, want an array", body["items"])
	}
	info, _ := body["pageInfo"].(map[string]any)
	wantKeys(t, "pageInfo", info, pageInfoKeys)
	hasNext, _ = info["hasNextPage"].(bool)
	cursor, _ = info["endCursor"].(string)
	return items, hasNext, cursor, string(body["totalCount"].(json.Number))
}

func orderBody(email string, lines ...any) string {
	var items []map[string]any
	for i := 0; i < len(lines); i += 2 {
		items = append(items, map[string]any{"bookId": lines[i], "quantity": lines[i+1]})
	}
	b, _ := json.Marshal(map[string]any{"customerEmail": email, "items": items})
	return string(b)
}

func keyHeader(key string) http.Header { return http.Header{"Idempotency-Key": {key}} }

func TestGetBooks(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	base := s.Router.URL

	t.Run("one book, every field", func(t *testing.T) {
		r := call(t, base, "GET", "/books/"+goBook, "", "", nil)
		b := checkBook(t, r.want(t, 200))
		want := map[string]any{
			"id": goBook, "isbn": "9780134190440", "title": "The Go Programming Language",
			"author": "Alan A. A. Donovan", "publishedYear": json.Number("2015"), "priceCents": json.Number("3999"),
			"currency": "USD", "stock": json.Number("25"), "inStock": true, "unitsSold": json.Number("0"),
		}
		for k, v := range want {
			if b[k] != v {
				t.Errorf("%s = %#v, want %#v", k, b[k], v)
			}
		}
		if d, _ := b["description"].(string); !strings.HasPrefix(d, "The authoritative introduction to Go") {
			t.Errorf("description = %q", d)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		r := call(t, base, "HEAD", "/books/"+goBook, "", "", nil)
		if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("HEAD: %d %v %q", r.status, r.header, r.body)
		}
	})

	t.Run("default page", func(t *testing.T) {
		items, hasNext, cursor, total := checkPage(t, call(t, base, "GET", "/books", "", "", nil).want(t, 200))
		if len(items) != 20 || !hasNext || cursor == "" || total != "32" {
			t.Fatalf("%d items, hasNextPage %v, endCursor %q, totalCount %s", len(items), hasNext, cursor, total)
		}
		for _, it := range items {
			checkBook(t, it)
		}
		if first := items[0].(map[string]any)["title"]; first != "Brave New World" {
			t.Fatalf("first title %v: want TITLE_ASC by default", first)
		}
	})

	t.Run("pagination", func(t *testing.T) {
		seen := map[string]bool{}
		after := ""
		for pages := 0; ; pages++ {
			if pages > seeded {
				t.Fatal("pagination does not end")
			}
			path := "/books?first=7"
			if after != "" {
				path += "&after=" + url.QueryEscape(after)
			}
			items, hasNext, cursor, total := checkPage(t, call(t, base, "GET", path, "", "", nil).want(t, 200))
			if total != "32" {
				t.Fatalf("totalCount %s", total)
			}
			for _, it := range items {
				id := checkBook(t, it)["id"].(string)
				if seen[id] {
					t.Fatalf("book %s on two pages", id)
				}
				seen[id] = true
			}
			if !hasNext {
				break
			}
			after = cursor
		}
		if len(seen) != seeded {
			t.Fatalf("saw %d books, want %d", len(seen), seeded)
		}
	})

	titles := func(t *testing.T, path string) (out []string) {
		t.Helper()
		items, _, _, _ := checkPage(t, call(t, base, "GET", path, "", "", nil).want(t, 200))
		for _, it := range items {
			out = append(out, checkBook(t, it)["title"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/books?search=programming+language", []string{"The C Programming Language", "The Go Programming Language"}},
		{"/books?search=PROGRAMMING%20language&orderBy=TITLE_DESC", []string{"The Go Programming Language", "The C Programming Language"}},
		{"/books?search=programming+language&orderBy=PRICE_ASC", []string{"The Go Programming Language", "The C Programming Language"}},
		{"/books?search=programming+language&orderBy=PRICE_DESC", []string{"The C Programming Language", "The Go Programming Language"}},
		{"/books?author=brian+w.+kernighan", []string{"The C Programming Language"}},
		{"/books?author=Kernighan", nil},
		{"/books?inStock=false", []string{"Working Effectively with Legacy Code"}},
		{"/books?inStock=true&search=legacy", nil},
		{"/books?first=0", nil},
		{"/books?first=2", []string{"Brave New World", "Clean Code"}},
		{"/books?search=nothing+matches+this", nil},
	} {
		t.Run("filter "+tc.path, func(t *testing.T) {
			if got := titles(t, tc.path); !slices.Equal(got, tc.want) {
				t.Fatalf("titles %q, want %q", got, tc.want)
			}
		})
	}

	t.Run("empty page is an empty array", func(t *testing.T) {
		r := call(t, base, "GET", "/books?first=0", "", "", nil)
		if !bytes.Contains(r.body, []byte(`"items":[]`)) || !bytes.Contains(r.body, []byte(`"totalCount":32`)) {
			t.Fatalf("body %s", r.body)
		}
	})

	t.Run("inStock=true leaves out the book with no stock", func(t *testing.T) {
		_, _, _, total := checkPage(t, call(t, base, "GET", "/books?inStock=true", "", "", nil).want(t, 200))
		if total != "31" {
			t.Fatalf("totalCount %s, want 31", total)
		}
	})
}

func TestCreateBook(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	base := s.Router.URL
	const body = `{"isbn": "9780306406157", "title": "A <New> Book & More", "author": "Ann Author", "priceCents": 1234}`

	t.Run("without a token", func(t *testing.T) {
		r := call(t, base, "POST", "/books", "application/json", body, nil)
		r.wantError(t, 401, "UNAUTHENTICATED")
		if r.header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
		call(t, base, "POST", "/books", "application/json", body, http.Header{"Authorization": {"Bearer wrong"}}).wantError(t, 401, "UNAUTHENTICATED")
	})

	var id string
	t.Run("created", func(t *testing.T) {
		r := call(t, base, "POST", "/books", "application/json; charset=utf-8", body, routertest.Admin())
		b := checkBook(t, r.want(t, 201))
		id, _ = b["id"].(string)
		if loc := r.header.Get("Location"); id == "" || loc != "/books/"+url.PathEscape(id) {
			t.Fatalf("Location %q, id %q", loc, id)
		}
		want := map[string]any{
			"isbn": "9780306406157", "title": "A <New> Book & More", "author": "Ann Author", "description": "",
			"publishedYear": nil, "priceCents": json.Number("1234"), "currency": "USD", "stock": json.Number("0"),
			"inStock": false, "unitsSold": json.Number("0"),
		}
		for k, v := range want {
			if b[k] != v {
				t.Errorf("%s = %#v, want %#v", k, b[k], v)
			}
		}
		if !bytes.Contains(r.body, []byte(`"publishedYear":null`)) {
			t.Errorf("a null field must be sent as null: %s", r.body)
		}
		got := checkBook(t, call(t, base, "GET", r.header.Get("Location"), "", "", nil).want(t, 200))
		if got["title"] != "A <New> Book & More" {
			t.Fatalf("GET Location: %v", got)
		}
	})

	t.Run("every optional field", func(t *testing.T) {
		r := call(t, base, "POST", "/books", "application/json",
			`{"isbn":"9781234567897","title":"T","author":"A","description":"D","publishedYear":2009,"priceCents":0,"stock":7}`, routertest.Admin())
		b := checkBook(t, r.want(t, 201))
		if b["publishedYear"] != json.Number("2009") || b["stock"] != json.Number("7") || b["description"] != "D" || b["inStock"] != true {
			t.Fatalf("book %v", b)
		}
	})

	for _, tc := range []struct {
		name, body, field string
	}{
		{"duplicate ISBN", body, "isbn"},
		{"bad ISBN", `{"isbn":"123","title":"T","author":"A","priceCents":1}`, "isbn"},
		{"empty title", `{"isbn":"9780306406157","title":"","author":"A","priceCents":1}`, "title"},
		{"price out of bounds", `{"isbn":"9781861972712","title":"T","author":"A","priceCents":-1}`, "priceCents"},
		{"year out of bounds", `{"isbn":"9781861972712","title":"T","author":"A","priceCents":1,"publishedYear":1000}`, "publishedYear"},
		{"stock out of bounds", `{"isbn":"9781861972712","title":"T","author":"A","priceCents":1,"stock":1000001}`, "stock"},
		{"title missing", `{"isbn":"9781861972712","author":"A","priceCents":1}`, "title"},
		{"title null", `{"isbn":"9781861972712","title":null,"author":"A","priceCents":1}`, "title"},
		{"price is a string", `{"isbn":"9781861972712","title":"T","author":"A","priceCents":"1"}`, "priceCents"},
		{"price is a fraction", `{"isbn":"9781861972712","title":"T","author":"A","priceCents":1.5}`, "priceCents"},
		{"price over 32 bits", `{"isbn":"9781861972712","title":"T","author":"A","priceCents":4294967296}`, "priceCents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, base, "POST", "/books", "application/json", tc.body, routertest.Admin())
			d := r.wantError(t, 400, "BAD_USER_INPUT")
			if d["field"] != tc.field {
				t.Fatalf("details %v, want field %s", d, tc.field)
			}
			if msg := r.object(t)["error"].(map[string]any)["message"].(string); !strings.HasPrefix(msg, tc.field+": ") {
				t.Fatalf("message %q does not start with the field", msg)
			}
		})
	}
}

func TestOrders(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	base := s.Router.URL

	var placed map[string]any
	var location string
	t.Run("place", func(t *testing.T) {
		r := call(t, base, "POST", "/orders", "application/json", orderBody("Ada@Example.com", goBook, 2, braveBook, 1), nil)
		placed = checkOrder(t, r.want(t, 201))
		id, _ := placed["id"].(string)
		location = r.header.Get("Location")
		if location != "/orders/"+id {
			t.Fatalf("Location %q for id %q", location, id)
		}
		if r.header.Get("Idempotent-Replayed") != "" {
			t.Fatal("a first order is not a replay")
		}
		if placed["status"] != "PLACED" || placed["cancelledAt"] != nil || placed["totalCents"] != json.Number("9597") || placed["currency"] != "USD" {
			t.Fatalf("order %v", placed)
		}
		if !bytes.Contains(r.body, []byte(`"cancelledAt":null`)) {
			t.Fatalf("a null field must be sent as null: %s", r.body)
		}
		var gotGo bool
		for _, it := range placed["items"].([]any) {
			im := it.(map[string]any)
			book := im["book"].(map[string]any)
			if book["id"] == goBook {
				gotGo = true
				if im["quantity"] != json.Number("2") || im["unitPriceCents"] != json.Number("3999") || im["lineTotalCents"] != json.Number("7998") ||
					book["title"] != "The Go Programming Language" || book["isbn"] != "9780134190440" || book["author"] != "Alan A. A. Donovan" {
					t.Fatalf("line %v", im)
				}
			}
		}
		if !gotGo {
			t.Fatalf("no line of the Go book: %v", placed)
		}
		b := checkBook(t, call(t, base, "GET", "/books/"+goBook, "", "", nil).want(t, 200))
		if b["stock"] != json.Number("23") || b["unitsSold"] != json.Number("2") {
			t.Fatalf("after the order: stock %v, unitsSold %v", b["stock"], b["unitsSold"])
		}
	})

	t.Run("get", func(t *testing.T) {
		got := checkOrder(t, call(t, base, "GET", location, "", "", nil).want(t, 200))
		if got["id"] != placed["id"] || got["customerEmail"] != placed["customerEmail"] {
			t.Fatalf("got %v, want %v", got, placed)
		}
		call(t, base, "GET", "/orders/"+noOrder, "", "", nil).wantError(t, 404, "NOT_FOUND")
	})

	t.Run("idempotency", func(t *testing.T) {
		body := orderBody("bob@example.com", braveBook, 1)
		first := call(t, base, "POST", "/orders", "application/json", body, keyHeader("key-1"))
		o1 := checkOrder(t, first.want(t, 201))
		if first.header.Get("Idempotent-Replayed") != "" {
			t.Fatal("the first request is not a replay")
		}
		again := call(t, base, "POST", "/orders", "application/json", body, keyHeader("key-1"))
		o2 := checkOrder(t, again.want(t, 201))
		if again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("Idempotent-Replayed %q on a replay", again.header.Get("Idempotent-Replayed"))
		}
		if o1["id"] != o2["id"] || first.header.Get("Location") != again.header.Get("Location") {
			t.Fatalf("a replay gave %v at %s, want %v at %s", o2["id"], again.header.Get("Location"), o1["id"], first.header.Get("Location"))
		}
		b := checkBook(t, call(t, base, "GET", "/books/"+braveBook, "", "", nil).want(t, 200))
		if b["stock"] != json.Number("17") {
			t.Fatalf("stock %v: a replay took stock again", b["stock"])
		}
		d := call(t, base, "POST", "/orders", "application/json", orderBody("bob@example.com", braveBook, 2), keyHeader("key-1")).
			wantError(t, 422, "IDEMPOTENCY_KEY_REUSED")
		if d["field"] != "Idempotency-Key" {
			t.Fatalf("details %v", d)
		}
		// The GraphQL face shares the key space.
		gr := s.Router.GraphQL(t, `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"customerEmail": "bob@example.com", "items": []any{map[string]any{"bookId": braveBook, "quantity": 1}}, "idempotencyKey": "key-1",
		}}, nil)
		if !bytes.Contains(gr.Data, []byte(o1["id"].(string))) {
			t.Fatalf("GraphQL replay: %s", gr.Body)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		path := location + "/cancel"
		call(t, base, "POST", path, "", "", nil).wantError(t, 401, "UNAUTHENTICATED")
		// No body needed, and any body is ignored.
		r := call(t, base, "POST", path, "text/plain", "whatever {", routertest.Admin())
		o := checkOrder(t, r.want(t, 200))
		if o["status"] != "CANCELLED" || o["cancelledAt"] == nil || o["id"] != placed["id"] {
			t.Fatalf("cancelled order %v", o)
		}
		call(t, base, "POST", path, "", "", routertest.Admin()).wantError(t, 409, "ORDER_NOT_CANCELLABLE")
		call(t, base, "POST", "/orders/"+noOrder+"/cancel", "", "", routertest.Admin()).wantError(t, 404, "NOT_FOUND")
		call(t, base, "POST", "/orders/not-a-uuid/cancel", "", "", routertest.Admin()).wantError(t, 404, "NOT_FOUND")
		b := checkBook(t, call(t, base, "GET", "/books/"+goBook, "", "", nil).want(t, 200))
		if b["stock"] != json.Number("25") {
			t.Fatalf("stock %v after cancelling", b["stock"])
		}
	})

	t.Run("insufficient stock", func(t *testing.T) {
		d := call(t, base, "POST", "/orders", "application/json", orderBody("c@example.com", goBook, 26), nil).
			wantError(t, 409, "INSUFFICIENT_STOCK")
		if d["bookId"] != goBook || d["available"] != json.Number("25") {
			t.Fatalf("details %v", d)
		}
		d = call(t, base, "POST", "/orders", "application/json", orderBody("c@example.com", braveBook, 1, legacyBook, 1), nil).
			wantError(t, 409, "INSUFFICIENT_STOCK")
		if d["bookId"] != legacyBook || d["available"] != json.Number("0") {
			t.Fatalf("details %v", d)
		}
	})

	t.Run("unknown book", func(t *testing.T) {
		call(t, base, "POST", "/orders", "application/json", orderBody("c@example.com", "no-such-book", 1), nil).wantError(t, 404, "NOT_FOUND")
	})

	for _, tc := range []struct {
		name, body string
		header     http.Header
		field      string
	}{
		{"bad e-mail", orderBody("not an e-mail", goBook, 1), nil, "customerEmail"},
		{"no lines", `{"customerEmail":"c@example.com","items":[]}`, nil, "items"},
		{"quantity 0", orderBody("c@example.com", goBook, 0), nil, "items[0].quantity"},
		{"quantity 101", orderBody("c@example.com", braveBook, 1, goBook, 101), nil, "items[1].quantity"},
		{"a book twice", orderBody("c@example.com", goBook, 1, goBook, 1), nil, "items[1].bookId"},
		{"customerEmail missing", `{"items":[{"bookId":"x","quantity":1}]}`, nil, "customerEmail"},
		{"items null", `{"customerEmail":"c@example.com","items":null}`, nil, "items"},
		{"customerEmail a number", `{"customerEmail":5,"items":[]}`, nil, "customerEmail"},
		{"items an object", `{"customerEmail":"c@example.com","items":{}}`, nil, "items"},
		{"a line not an object", `{"customerEmail":"c@example.com","items":[1]}`, nil, "items[0]"},
		{"a null line", `{"customerEmail":"c@example.com","items":[null]}`, nil, "items[0]"},
		{"bookId a number", `{"customerEmail":"c@example.com","items":[{"bookId":1,"quantity":1}]}`, nil, "items[0].bookId"},
		{"quantity missing", `{"customerEmail":"c@example.com","items":[{"bookId":"x"}]}`, nil, "items[0].quantity"},
		{"quantity a string", `{"customerEmail":"c@example.com","items":[{"bookId":"x","quantity":"1"}]}`, nil, "items[0].quantity"},
		{"quantity a fraction", `{"customerEmail":"c@example.com","items":[{"bookId":"x","quantity":1.5}]}`, nil, "items[0].quantity"},
		{"quantity over 32 bits", `{"customerEmail":"c@example.com","items":[{"bookId":"x","quantity":1e12}]}`, nil, "items[0].quantity"},
		{"empty Idempotency-Key", orderBody("c@example.com", goBook, 1), keyHeader(""), "Idempotency-Key"},
		{"long Idempotency-Key", orderBody("c@example.com", goBook, 1), keyHeader(strings.Repeat("k", 201)), "Idempotency-Key"},
		{"two Idempotency-Keys", orderBody("c@example.com", goBook, 1), http.Header{"Idempotency-Key": {"a", "b"}}, "Idempotency-Key"},
		{"control character in the key", orderBody("c@example.com", goBook, 1), keyHeader("a\tb"), "Idempotency-Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := call(t, base, "POST", "/orders", "application/json", tc.body, tc.header).wantError(t, 400, "BAD_USER_INPUT")
			if d["field"] != tc.field {
				t.Fatalf("details %v, want field %s", d, tc.field)
			}
		})
	}

	t.Run("key of 200 characters", func(t *testing.T) {
		key := strings.Repeat("é", 200)
		r := call(t, base, "POST", "/orders", "application/json", orderBody("d@example.com", braveBook, 1), keyHeader(key))
		checkOrder(t, r.want(t, 201))
		r = call(t, base, "POST", "/orders", "application/json", orderBody("d@example.com", braveBook, 1), keyHeader(key))
		if r.want(t, 201); r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatal("no replay")
		}
	})

	t.Run("list", func(t *testing.T) {
		call(t, base, "GET", "/orders", "", "", nil).wantError(t, 401, "UNAUTHENTICATED")
		items, hasNext, _, total := checkPage(t, call(t, base, "GET", "/orders", "", "", routertest.Admin()).want(t, 200))
		if len(items) != 3 || hasNext || total != "3" {
			t.Fatalf("%d orders, hasNextPage %v, totalCount %s", len(items), hasNext, total)
		}
		for _, o := range items {
			checkOrder(t, o)
		}
		seen := map[any]bool{}
		after := ""
		for range 4 {
			path := "/orders?first=1"
			if after != "" {
				path += "&after=" + url.QueryEscape(after)
			}
			items, hasNext, cursor, _ := checkPage(t, call(t, base, "GET", path, "", "", routertest.Admin()).want(t, 200))
			for _, o := range items {
				seen[checkOrder(t, o)["id"]] = true
			}
			if !hasNext {
				break
			}
			after = cursor
		}
		if len(seen) != 3 {
			t.Fatalf("pages gave %d orders, want 3", len(seen))
		}
		for _, tc := range []struct {
			query string
			n     int
		}{
			{"customerEmail=ADA@example.COM", 1},
			{"customerEmail=bob@example.com&status=PLACED", 1},
			{"status=CANCELLED", 1},
			{"status=PLACED", 2},
			{"customerEmail=nobody@example.com", 0},
			{"first=0", 0},
		} {
			items, _, _, _ := checkPage(t, call(t, base, "GET", "/orders?"+tc.query, "", "", routertest.Admin()).want(t, 200))
			if len(items) != tc.n {
				t.Errorf("%s: %d orders, want %d", tc.query, len(items), tc.n)
			}
		}
	})
}

func TestOrdersListPublic(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{OrdersListPublic: true})
	items, _, _, total := checkPage(t, call(t, s.Router.URL, "GET", "/orders", "", "", nil).want(t, 200))
	if len(items) != 0 || total != "0" {
		t.Fatalf("%d orders, totalCount %s", len(items), total)
	}
}

// TestBadInput: bad requests get a 4xx with the contract's error body,
// never a 5xx, and change nothing.
func TestBadInput(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	base := s.Router.URL
	okOrder := orderBody("e@example.com", goBook, 1)
	okBook := `{"isbn":"9781861972712","title":"T","author":"A","priceCents":1}`
	huge := `{"customerEmail":"` + strings.Repeat("x", 1<<20) + `","items":[]}`
	long := strings.Repeat("a", 4000)
	admin := routertest.Admin()
	// badRequest is a request that must fail; field is the details' field
	// and allow the Allow header expected.
	type badRequest struct {
		name, method, path, ctype, body string
		header                          http.Header
		field, allow                    string
	}
	for _, g := range []struct {
		status int
		code   string
		cases  []badRequest
	}{
		// Bodies and query strings that cannot be read.
		{400, "BAD_REQUEST", []badRequest{
			{name: "not JSON", method: "POST", path: "/orders", ctype: "application/json", body: "customerEmail=x"},
			{name: "cut short", method: "POST", path: "/orders", ctype: "application/json", body: `{"customerEmail": "e@example.com", `},
			{name: "bad JSON inside", method: "POST", path: "/orders", ctype: "application/json", body: `{"customerEmail": "e@example.com", "items": [}`},
			{name: "empty body", method: "POST", path: "/orders", ctype: "application/json"},
			{name: "white space", method: "POST", path: "/orders", ctype: "application/json", body: " \n "},
			{name: "a JSON array", method: "POST", path: "/orders", ctype: "application/json", body: "[" + okOrder + "]"},
			{name: "JSON null", method: "POST", path: "/orders", ctype: "application/json", body: "null"},
			{name: "a JSON string", method: "POST", path: "/orders", ctype: "application/json", body: `"x"`},
			{name: "a JSON number", method: "POST", path: "/books", ctype: "application/json", body: `42`, header: admin},
			{name: "trailing object", method: "POST", path: "/orders", ctype: "application/json", body: okOrder + "{}"},
			{name: "trailing garbage", method: "POST", path: "/orders", ctype: "application/json", body: okOrder + " x"},
			{name: "unknown field", method: "POST", path: "/orders", ctype: "application/json", body: `{"customerEmail":"e@example.com","items":[],"note":"x"}`, field: "note"},
			{name: "idempotencyKey in the body", method: "POST", path: "/orders", ctype: "application/json", body: `{"customerEmail":"e@example.com","items":[],"idempotencyKey":"k"}`, field: "idempotencyKey"},
			{name: "field in another case", method: "POST", path: "/orders", ctype: "application/json", body: `{"CustomerEmail":"e@example.com","items":[]}`, field: "CustomerEmail"},
			{name: "unknown field in a line", method: "POST", path: "/orders", ctype: "application/json", body: `{"customerEmail":"e@example.com","items":[{"bookId":"x","quantity":1,"price":1}]}`, field: "items[0].price"},
			{name: "unknown book field", method: "POST", path: "/books", ctype: "application/json", body: `{"isbn":"9781861972712","title":"T","author":"A","priceCents":1,"id":"x"}`, header: admin, field: "id"},
			{name: "stock sold as unitsSold", method: "POST", path: "/books", ctype: "application/json", body: `{"isbn":"9781861972712","title":"T","author":"A","priceCents":1,"unitsSold":3}`, header: admin, field: "unitsSold"},
			{name: "malformed query string", method: "GET", path: "/books?search=%zz"},
		}},
		// Bodies too large.
		{413, "BAD_REQUEST", []badRequest{
			{name: "huge order", method: "POST", path: "/orders", ctype: "application/json", body: huge},
			{name: "huge book", method: "POST", path: "/books", ctype: "application/json", body: huge, header: admin},
		}},
		// Bodies of another media type.
		{415, "BAD_REQUEST", []badRequest{
			{name: "text/plain", method: "POST", path: "/orders", ctype: "text/plain", body: okOrder},
			{name: "no content type", method: "POST", path: "/orders", body: okOrder},
			{name: "form", method: "POST", path: "/orders", ctype: "application/x-www-form-urlencoded", body: "customerEmail=x"},
			{name: "bad content type", method: "POST", path: "/books", ctype: "application/json;;", body: okBook, header: admin},
			{name: "graphql content type", method: "POST", path: "/books", ctype: "application/graphql", body: okBook, header: admin},
		}},
		// Query parameters that break a rule.
		{400, "BAD_USER_INPUT", []badRequest{
			{name: "first not an int", method: "GET", path: "/books?first=ten", field: "first"},
			{name: "first empty", method: "GET", path: "/books?first=", field: "first"},
			{name: "first a fraction", method: "GET", path: "/books?first=1.5", field: "first"},
			{name: "first negative", method: "GET", path: "/books?first=-1", field: "first"},
			{name: "first 101", method: "GET", path: "/books?first=101", field: "first"},
			{name: "first huge", method: "GET", path: "/books?first=99999999999999999999999", field: "first"},
			{name: "first twice", method: "GET", path: "/books?first=1&first=2", field: "first"},
			{name: "inStock yes", method: "GET", path: "/books?inStock=yes", field: "inStock"},
			{name: "inStock 1", method: "GET", path: "/books?inStock=1", field: "inStock"},
			{name: "inStock TRUE", method: "GET", path: "/books?inStock=TRUE", field: "inStock"},
			{name: "orderBy lower case", method: "GET", path: "/books?orderBy=price_asc", field: "orderBy"},
			{name: "orderBy unknown", method: "GET", path: "/books?orderBy=RANDOM", field: "orderBy"},
			{name: "orderBy empty", method: "GET", path: "/books?orderBy=", field: "orderBy"},
			{name: "unknown parameter", method: "GET", path: "/books?sort=title", field: "sort"},
			{name: "parameter in another case", method: "GET", path: "/books?instock=true", field: "instock"},
			{name: "bad cursor", method: "GET", path: "/books?after=bm90LWEtY3Vyc29y", field: "after"},
			{name: "empty cursor", method: "GET", path: "/books?after=", field: "after"},
			{name: "NUL in search", method: "GET", path: "/books?search=a%00b", field: "search"},
			{name: "search not UTF-8", method: "GET", path: "/books?search=%FF", field: "search"},
			{name: "parameter of a book", method: "GET", path: "/books/" + goBook + "?fields=title", field: "fields"},
			{name: "parameter of createBook", method: "POST", path: "/books?dryRun=true", ctype: "application/json", body: okBook, header: admin, field: "dryRun"},
			{name: "orders status unknown", method: "GET", path: "/orders?status=SHIPPED", header: admin, field: "status"},
			{name: "orders first 1000", method: "GET", path: "/orders?first=1000", header: admin, field: "first"},
			{name: "orders unknown parameter", method: "GET", path: "/orders?email=a@example.com", header: admin, field: "email"},
			{name: "orders bad cursor", method: "GET", path: "/orders?after=x", header: admin, field: "after"},
			{name: "NUL in customerEmail", method: "GET", path: "/orders?customerEmail=%00", header: admin, field: "customerEmail"},
		}},
		// Ids that name nothing, and paths that are no route.
		{404, "NOT_FOUND", []badRequest{
			{name: "book not a uuid", method: "GET", path: "/books/not-a-uuid"},
			{name: "unknown book uuid", method: "GET", path: "/books/" + noOrder},
			{name: "long book id", method: "GET", path: "/books/" + long},
			{name: "unicode book id", method: "GET", path: "/books/%E2%98%83"},
			{name: "raw unicode book id", method: "GET", path: "/books/ünïcödé"},
			{name: "book id not UTF-8", method: "GET", path: "/books/%FF%FE"},
			{name: "book id with NUL", method: "GET", path: "/books/a%00b"},
			{name: "book id with a slash", method: "GET", path: "/books/" + url.PathEscape(goBook+"/x")},
			{name: "book id with quotes", method: "GET", path: "/books/%22%7D%20OR%201%3D1"},
			{name: "order not a uuid", method: "GET", path: "/orders/not-a-uuid"},
			{name: "order is a book id", method: "GET", path: "/orders/" + goBook},
			{name: "long order id", method: "GET", path: "/orders/" + long},
			{name: "unicode order id", method: "GET", path: "/orders/%E2%98%83"},
			{name: "order id not UTF-8", method: "POST", path: "/orders/%FF/cancel", header: admin},
			{name: "cancel long id", method: "POST", path: "/orders/" + long + "/cancel", header: admin},
			{name: "order a book that is not a uuid", method: "POST", path: "/orders", ctype: "application/json", body: orderBody("e@example.com", "not-a-uuid", 1)},
			{name: "order a book with a long id", method: "POST", path: "/orders", ctype: "application/json", body: orderBody("e@example.com", long, 1)},
			{name: "book sub-resource", method: "GET", path: "/books/x/y"},
			{name: "books trailing slash", method: "GET", path: "/books/"},
			{name: "orders trailing slash", method: "GET", path: "/orders/"},
			{name: "refund", method: "POST", path: "/orders/" + noOrder + "/refund", header: admin},
			{name: "cancel a book", method: "POST", path: "/books/" + goBook + "/cancel", header: admin},
			{name: "cancel too deep", method: "POST", path: "/orders/" + noOrder + "/cancel/now", header: admin},
			{name: "cancel with a slash", method: "POST", path: "/orders/" + noOrder + "/cancel/", header: admin},
			{name: "not a route", method: "GET", path: "/bookshelf"},
		}},
		// Methods a route does not take.
		{405, "BAD_REQUEST", []badRequest{
			{name: "DELETE /books", method: "DELETE", path: "/books", header: admin, allow: "GET, HEAD, POST"},
			{name: "PUT /books/{id}", method: "PUT", path: "/books/" + goBook, ctype: "application/json", body: okBook, header: admin, allow: "GET, HEAD"},
			{name: "PATCH /books/{id}", method: "PATCH", path: "/books/" + goBook, ctype: "application/json", body: okBook, header: admin, allow: "GET, HEAD"},
			{name: "POST /books/{id}", method: "POST", path: "/books/" + goBook, ctype: "application/json", body: okBook, header: admin, allow: "GET, HEAD"},
			{name: "DELETE /orders", method: "DELETE", path: "/orders", header: admin, allow: "GET, HEAD, POST"},
			{name: "PUT /orders/{id}", method: "PUT", path: "/orders/" + noOrder, ctype: "application/json", body: okOrder, allow: "GET, HEAD"},
			{name: "DELETE /orders/{id}", method: "DELETE", path: "/orders/" + noOrder, header: admin, allow: "GET, HEAD"},
			{name: "GET cancel", method: "GET", path: "/orders/" + noOrder + "/cancel", header: admin, allow: "POST"},
			{name: "OPTIONS /books", method: "OPTIONS", path: "/books", allow: "GET, HEAD, POST"},
		}},
	} {
		for _, tc := range g.cases {
			t.Run(tc.name, func(t *testing.T) {
				r := call(t, base, tc.method, tc.path, tc.ctype, tc.body, tc.header)
				d := r.wantError(t, g.status, g.code)
				if tc.field != "" && d["field"] != tc.field {
					t.Errorf("details %v, want field %s", d, tc.field)
				}
				if got := r.header.Get("Allow"); got != tc.allow {
					t.Errorf("Allow %q, want %q", got, tc.allow)
				}
			})
		}
	}

	t.Run("nothing changed", func(t *testing.T) {
		items, _, _, total := checkPage(t, call(t, base, "GET", "/orders", "", "", admin).want(t, 200))
		if len(items) != 0 || total != "0" {
			t.Fatalf("bad requests placed %s orders", total)
		}
		_, _, _, total = checkPage(t, call(t, base, "GET", "/books?first=0", "", "", nil).want(t, 200))
		if total != "32" {
			t.Fatalf("bad requests made %s books", total)
		}
	})
}

// TestOrdersDown: with orders-subgraph unreachable the catalogue still
// answers, unitsSold null; the order routes answer 503.
// Odd filter values are answered, never a 5xx: terms longer than any
// title, characters the pattern language would read (%, _, \), unicode
// that is unusual but valid, and huge e-mails and authors. Each answers
// 200 with the books (or orders) that match, through REST and GraphQL.
func TestOddFiltersAreAnswered(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	base := s.Router.URL
	for _, tc := range []struct {
		name, term string
		total      int // -1: whatever matches, the same through REST and GraphQL
	}{
		{"8 KiB term", strings.Repeat("a", 8<<10), 0},
		{"901 snowmen", strings.Repeat("☃", 901), 0},
		{"900 characters", strings.Repeat("e", 900), 0},
		{"percent", "%", 0},
		{"underscore", "_", 0},
		{"backslash", `\`, 0},
		{"pattern of wildcards", `%_%\%`, 0},
		{"one letter", "z", -1},
		{"two letters, another case", "GO", -1},
		{"spaces", "   ", 0},
		{"a space", " ", seeded},
		{"right-to-left mark", "\u200f", 0},
		{"zero-width joiner", "a\u200db", 0},
		{"combining accent", "e\u0301", 0},
		{"emoji", "📚", 0},
		{"replacement character", "\ufffd", 0},
		{"a precomposed non-ASCII letter", "ö", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, _, _, total := checkPage(t, call(t, base, "GET", "/books?first=100&search="+url.QueryEscape(tc.term), "", "", nil).want(t, 200))
			if total != strconv.Itoa(len(items)) || (tc.total >= 0 && len(items) != tc.total) {
				t.Fatalf("REST: totalCount %s and %d items, want %d", total, len(items), tc.total)
			}
			r := s.Router.GraphQL(t, `query($s: String) { books(first: 100, filter: {search: $s}) { totalCount edges { node { id } } } }`,
				map[string]any{"s": tc.term}, nil)
			if r.Status != 200 || len(r.Errors) > 0 || !strings.Contains(string(r.Data), `"totalCount":`+total) {
				t.Fatalf("GraphQL (REST said %s): %d %s", total, r.Status, r.Body)
			}
		})
	}
	// A lone surrogate in a JSON string decodes as U+FFFD: still a term.
	r := call(t, base, "POST", "/graphql", "application/json", `{"query":"{ books(filter: {search: \"\ud800\"}) { totalCount } }"}`, nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"totalCount":0`)) {
		t.Fatalf("a lone surrogate: %d %s", r.status, r.body)
	}
	for _, path := range []string{
		"/books?author=" + strings.Repeat("x", 10<<10),
		"/books?author=%25&search=_&inStock=false",
		"/orders?customerEmail=" + strings.Repeat("x", 10<<10) + "%40example.com",
		"/orders?customerEmail=%25%40example.com&status=CANCELLED",
	} {
		_, _, _, total := checkPage(t, call(t, base, "GET", path, "", "", routertest.Admin()).want(t, 200))
		if total != "0" {
			t.Fatalf("GET %.60s…: totalCount %s, want 0", path, total)
		}
	}
}

func TestOrdersDown(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	target, err := url.Parse(s.Orders[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	closed := false
	defer func() {
		if !closed {
			proxy.Close()
		}
	}()
	r := routertest.StartRouter(t, server.Config{
		Subgraphs:    map[string][]string{"books": {s.Books[0].URL + "/query"}, "orders": {proxy.URL + "/query"}},
		PollInterval: time.Hour,
	})
	base := r.URL
	placed := call(t, base, "POST", "/orders", "application/json", orderBody("f@example.com", goBook, 1), nil)
	id := checkOrder(t, placed.want(t, 201))["id"].(string)

	proxy.Close()
	closed = true

	t.Run("GET /books", func(t *testing.T) {
		items, _, _, total := checkPage(t, call(t, base, "GET", "/books?first=5", "", "", nil).want(t, 200))
		if len(items) != 5 || total != "32" {
			t.Fatalf("%d items, totalCount %s", len(items), total)
		}
		for _, it := range items {
			if b := checkBook(t, it); b["unitsSold"] != nil {
				t.Fatalf("unitsSold %v with orders down", b["unitsSold"])
			}
		}
	})
	t.Run("GET /books/{id}", func(t *testing.T) {
		rr := call(t, base, "GET", "/books/"+goBook, "", "", nil)
		b := checkBook(t, rr.want(t, 200))
		if b["unitsSold"] != nil || b["stock"] != json.Number("24") {
			t.Fatalf("book %v", b)
		}
		if !bytes.Contains(rr.body, []byte(`"unitsSold":null`)) {
			t.Fatalf("unitsSold must be sent as null: %s", rr.body)
		}
	})
	for _, tc := range []struct{ method, path, ctype, body string }{
		{"GET", "/orders/" + id, "", ""},
		{"GET", "/orders", "", ""},
		{"POST", "/orders", "application/json", orderBody("f@example.com", goBook, 1)},
		{"POST", "/orders/" + id + "/cancel", "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := call(t, base, tc.method, tc.path, tc.ctype, tc.body, routertest.Admin())
			r.wantError(t, 503, "SUBGRAPH_UNAVAILABLE")
			if got := r.header.Get("Retry-After"); got != "1" {
				t.Fatalf("Retry-After %q, want 1", got)
			}
		})
	}
}

// TestBooksDownPlaceOrder: POST /orders never hides a committed order. With
// books-subgraph unreachable the order is placed all the same, and
// answered 201 with its lines, their books' details null; they are back
// once books-subgraph is.
func TestBooksDownPlaceOrder(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{})
	target, err := url.Parse(s.Books[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	up.Store(true)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	r := routertest.StartRouter(t, server.Config{
		Subgraphs:    map[string][]string{"books": {proxy.URL + "/query"}, "orders": {s.Orders[0].URL + "/query"}},
		PollInterval: time.Hour,
	})
	base := r.URL

	up.Store(false)
	placed := call(t, base, "POST", "/orders", "application/json", orderBody("down@example.com", goBook, 2, braveBook, 1), keyHeader("books-down-1"))
	o := checkOrder(t, placed.want(t, 201))
	id, _ := o["id"].(string)
	if placed.header.Get("Location") != "/orders/"+id {
		t.Fatalf("Location %q for order %s", placed.header.Get("Location"), id)
	}
	for i, want := range []string{goBook, braveBook} {
		b := o["items"].([]any)[i].(map[string]any)["book"].(map[string]any)
		if b["id"] != want || b["title"] != nil || b["author"] != nil || b["isbn"] != nil {
			t.Fatalf("line %d's book %v, want id %s and null details", i, b, want)
		}
	}
	var stock int
	if err := s.DB.Admin.QueryRow(context.Background(), `SELECT stock FROM books.books WHERE id = $1`, goBook).Scan(&stock); err != nil || stock != 23 {
		t.Fatalf("stock %d, %v; want 23: the order reserved it", stock, err)
	}

	// Books back: a replay of the key, and GET, have the details.
	up.Store(true)
	replay := call(t, base, "POST", "/orders", "application/json", orderBody("down@example.com", goBook, 2, braveBook, 1), keyHeader("books-down-1"))
	ro := checkOrder(t, replay.want(t, 201))
	if ro["id"] != id || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %v, Idempotent-Replayed %q", ro["id"], replay.header.Get("Idempotent-Replayed"))
	}
	b := ro["items"].([]any)[0].(map[string]any)["book"].(map[string]any)
	if b["title"] != "The Go Programming Language" || b["isbn"] != "9780134190440" {
		t.Fatalf("book %v", b)
	}
	got := checkOrder(t, call(t, base, "GET", "/orders/"+id, "", "", nil).want(t, 200))
	if !reflect.DeepEqual(got, ro) {
		t.Fatalf("GET /orders/%s = %v\nwant the replay's %v", id, got, ro)
	}
}

// FuzzQueryParams: no query string gets a 5xx from the list and item
// routes, and every refusal has the contract's error body.
func FuzzQueryParams(f *testing.F) {
	s := routertest.StartBookstore(f, routertest.Options{OrdersListPublic: true})
	routes := []string{"/books", "/orders", "/books/" + goBook, "/orders/" + noOrder}
	for _, seed := range []string{
		"", "first=5", "first=-1", "first=101", "first=abc", "first=1&first=2", "after=", "after=%00",
		"after=eyJvIjoiVElUTEVfQVNDIiwiayI6ImNsZWFuIGNvZGUiLCJpZCI6IjRjMjdjMzRiLTQwYzUtZjYxNi1mZDM5LTA5ZjM4NDRmY2MxNCJ9",
		"search=go&author=x&inStock=true&orderBy=PRICE_DESC", "search=%00", "search=%FF", "inStock=maybe",
		"orderBy=NEWEST", "orderBy=newest", "status=PLACED", "status=X", "customerEmail=a@b.c", "customerEmail=%00",
		"x=1", "%zz", "&&&", "=", "first=9223372036854775808", "search=" + strings.Repeat("%E2%98%83", 300),
		"search='; DROP TABLE books; --", "after=" + strings.Repeat("A", 5000),
	} {
		for i := range routes {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, rawQuery string) {
		u, err := url.Parse(s.Router.URL + routes[int(route)%len(routes)])
		if err != nil {
			t.Fatal(err)
		}
		u.RawQuery = rawQuery
		req, err := http.NewRequest("GET", u.String(), nil)
		if err != nil {
			t.Skip("not a URL")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Skip("the client refuses it")
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, raw)
		}
		if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") == "application/json" {
			rep := reply{status: resp.StatusCode, header: resp.Header, body: raw}
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if json.Unmarshal(rep.body, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("GET %s: %d with body %s", u, resp.StatusCode, raw)
			}
		}
	})
}

// FuzzOrderBody: no POST /orders body gets a 5xx.
func FuzzOrderBody(f *testing.F) {
	s := routertest.StartBookstore(f, routertest.Options{})
	for _, seed := range []string{
		orderBody("g@example.com", goBook, 1), orderBody("g@example.com", goBook, 1, braveBook, 2),
		orderBody("g@example.com", legacyBook, 1), orderBody("g@example.com", "x", 1), orderBody("", goBook, 1),
		`{}`, `[]`, `null`, `{"customerEmail":null,"items":null}`, `{"items":[{}]}`, `{"items":[[]]}`,
		`{"customerEmail":"g@example.com","items":[{"bookId":"` + goBook + `","quantity":-2147483649}]}`,
		`{"customerEmail":"g@example.com","items":[{"bookId":"\u0000","quantity":1}]}`,
		`{"customerEmail":"g\u0000@example.com","items":[{"bookId":"` + goBook + `","quantity":1}]}`,
		`{"customerEmail":"g@example.com","items":[{"bookId":"` + goBook + `","quantity":1}]}{`, `{"a":`, "\xff", `{"customerEmail":"\ud800"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := call(t, s.Router.URL, "POST", "/orders", "application/json", body, nil)
		if r.status >= 500 {
			t.Fatalf("%q: %d %s", body, r.status, r.body)
		}
		if r.status >= 400 {
			r.wantError(t, r.status, r.object(t)["error"].(map[string]any)["code"].(string))
		}
	})
}

// fakeGateway answers every operation with resp and records the requests.
type fakeGateway struct {
	resp *gateway.Response
	reqs []*gateway.Request
}

func (g *fakeGateway) Do(_ context.Context, req *gateway.Request) *gateway.Response {
	g.reqs = append(g.reqs, req)
	return g.resp
}

func serve(h http.Handler, method, target, body string, header http.Header) reply {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// TestOperations: the shims send constant documents with the client's
// values as variables, and forward the client's credentials.
func TestOperations(t *testing.T) {
	g := &fakeGateway{resp: &gateway.Response{Status: 200, Data: json.RawMessage(`{"books":{"edges":[],"pageInfo":{"hasNextPage":false,"endCursor":null},"totalCount":0}}`)}}
	h := rest.New(rest.Options{Gateway: g})
	header := http.Header{"Authorization": {"Bearer t"}, "Cookie": {"c=1"}, "X-Request-Id": {"rid"}}
	r := serve(h, "GET", `/books?first=5&search=%22)%20%7B%20x%20%7D&inStock=true&orderBy=NEWEST&after=c`, "", header)
	body := r.want(t, 200)
	if !bytes.Contains(r.body, []byte(`"endCursor":null`)) {
		t.Fatalf("body %s", r.body)
	}
	if items, _ := body["items"].([]any); items == nil {
		t.Fatalf("items %v: want []", body["items"])
	}
	serve(h, "GET", "/books", "", nil).want(t, 200)
	if len(g.reqs) != 2 {
		t.Fatalf("%d operations", len(g.reqs))
	}
	first, second := g.reqs[0], g.reqs[1]
	if first.Query != second.Query || strings.Contains(first.Query, "x }") {
		t.Fatalf("the document depends on the input:\n%s\n%s", first.Query, second.Query)
	}
	wantVars := `{"after":"c","filter":{"inStock":true,"search":"\") { x }"},"first":5,"orderBy":"NEWEST"}`
	if got, _ := json.Marshal(first.Variables); string(got) != wantVars {
		t.Fatalf("variables %s, want %s", got, wantVars)
	}
	if len(second.Variables) != 0 {
		t.Fatalf("variables %v with no parameters", second.Variables)
	}
	if first.Header.Get("Authorization") != "Bearer t" || first.Header.Get("X-Request-Id") != "rid" || first.Header.Get("Cookie") != "" {
		t.Fatalf("forwarded headers %v", first.Header)
	}
	if first.QueryOnly || first.OperationName != "" {
		t.Fatalf("request %+v", first)
	}
}

// TestGatewayAnswers maps the pipeline's answers to statuses.
func TestGatewayAnswers(t *testing.T) {
	errs := func(code string, ext ...any) []gateway.Error {
		e := gateway.Error{Message: "m", Path: []any{"book"}, Extensions: map[string]any{"serviceName": "books"}}
		if code != "" {
			e.Extensions["code"] = code
		}
		for i := 0; i < len(ext); i += 2 {
			e.Extensions[ext[i].(string)] = ext[i+1]
		}
		return []gateway.Error{e}
	}
	for _, tc := range []struct {
		name   string
		resp   *gateway.Response
		status int
		code   string
	}{
		{"not composed yet", &gateway.Response{Status: 503, Errors: errs("SUBGRAPH_UNAVAILABLE")}, 503, "SUBGRAPH_UNAVAILABLE"},
		{"refused", &gateway.Response{Status: 400, Errors: errs("QUERY_TOO_COMPLEX")}, 400, "QUERY_TOO_COMPLEX"},
		{"validation", &gateway.Response{Status: 400, Errors: errs("GRAPHQL_VALIDATION_FAILED")}, 400, "GRAPHQL_VALIDATION_FAILED"},
		{"internal", &gateway.Response{Status: 200, Data: json.RawMessage(`{"book":null}`), Errors: errs("INTERNAL_SERVER_ERROR")}, 500, "INTERNAL_SERVER_ERROR"},
		{"no code", &gateway.Response{Status: 200, Data: json.RawMessage(`null`), Errors: errs("")}, 500, "INTERNAL_SERVER_ERROR"},
		{"unknown code", &gateway.Response{Status: 200, Data: json.RawMessage(`null`), Errors: errs("TEAPOT")}, 500, "INTERNAL_SERVER_ERROR"},
		{"null, no error", &gateway.Response{Status: 200, Data: json.RawMessage(`{"book":null}`)}, 404, "NOT_FOUND"},
		{"refused, no error", &gateway.Response{Status: 400}, 500, "INTERNAL_SERVER_ERROR"},
		{"data not an object", &gateway.Response{Status: 200, Data: json.RawMessage(`[1]`)}, 500, "INTERNAL_SERVER_ERROR"},
		{"no response", nil, 500, "INTERNAL_SERVER_ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := rest.New(rest.Options{Gateway: &fakeGateway{resp: tc.resp}})
			d := serve(h, "GET", "/books/x", "", nil).wantError(t, tc.status, tc.code)
			if d["serviceName"] != nil {
				t.Fatalf("details %v leak the subgraph's name", d)
			}
		})
	}
	t.Run("partial errors", func(t *testing.T) {
		resp := &gateway.Response{Status: 200, Data: json.RawMessage(`{"book":{"id":"x","unitsSold":null}}`), Errors: errs("SUBGRAPH_UNAVAILABLE")}
		r := serve(rest.New(rest.Options{Gateway: &fakeGateway{resp: resp}}), "GET", "/books/x", "", nil)
		if r.want(t, 200); string(r.body) != `{"id":"x","unitsSold":null}`+"\n" {
			t.Fatalf("body %s", r.body)
		}
	})
	t.Run("details", func(t *testing.T) {
		resp := &gateway.Response{Status: 200, Data: json.RawMessage(`null`), Errors: errs("INSUFFICIENT_STOCK", "bookId", "b", "available", 3)}
		resp.Errors[0].Path = []any{"placeOrder"}
		r := serve(rest.New(rest.Options{Gateway: &fakeGateway{resp: resp}}), "POST", "/orders", orderBody("a@b.c", "b", 4), http.Header{"Content-Type": {"application/json"}})
		d := r.wantError(t, 409, "INSUFFICIENT_STOCK")
		if d["bookId"] != "b" || d["available"] != json.Number("3") || len(d) != 2 {
			t.Fatalf("details %v", d)
		}
	})
}
