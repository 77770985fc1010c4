package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bookstore/books-subgraph/graph"
	"bookstore/graph/testkit/gqltest"
	"bookstore/graph/testkit/testdb"
)

const adminToken = "test-admin-token-0123456789"

type env struct {
	db     *testdb.DB
	srv    *gqltest.Server
	anon   *gqltest.Client
	admin  *gqltest.Client
	client *http.Client
}

// start runs the books subgraph over a fresh database, seeded when seed is
// true, as the least-privilege books role.
func start(t *testing.T, seed bool) *env {
	t.Helper()
	db := testdb.New(t)
	if seed {
		db.Seed(t)
	}
	srv := gqltest.StartSubgraph(t, "books-subgraph", db.BooksURL, map[string]string{"ADMIN_TOKEN": adminToken}, graph.Build)
	anon := &gqltest.Client{URL: srv.URL + "/query"}
	return &env{db: db, srv: srv, anon: anon, admin: anon.AsAdmin(adminToken), client: http.DefaultClient}
}

type book struct {
	ID            string `json:"id"`
	ISBN          string `json:"isbn"`
	Title         string `json:"title"`
	Author        string `json:"author"`
	Description   string `json:"description"`
	PublishedYear *int   `json:"publishedYear"`
	PriceCents    int    `json:"priceCents"`
	Currency      string `json:"currency"`
	Stock         int    `json:"stock"`
	InStock       bool   `json:"inStock"`
	CreatedAt     string `json:"createdAt"`
	UpdatedAt     string `json:"updatedAt"`
}

const bookFields = `id isbn title author description publishedYear priceCents currency stock inStock createdAt updatedAt`

type connection struct {
	Edges []struct {
		Cursor string `json:"cursor"`
		Node   book   `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		HasNextPage bool    `json:"hasNextPage"`
		EndCursor   *string `json:"endCursor"`
	} `json:"pageInfo"`
	TotalCount int `json:"totalCount"`
}

const listQuery = `query($first: Int, $after: String, $filter: BookFilter, $orderBy: BookOrder) {
  books(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { cursor node { ` + bookFields + ` } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`

func (e *env) list(t *testing.T, vars map[string]any) connection {
	t.Helper()
	var out struct{ Books connection }
	e.anon.Do(t, listQuery, vars).Decode(t, &out)
	return out.Books
}

// all walks every page of an ordering and returns the books in order.
func (e *env) all(t *testing.T, order string, filter map[string]any, pageSize int) []book {
	t.Helper()
	var out []book
	vars := map[string]any{"first": pageSize, "orderBy": order, "filter": filter}
	for page := 0; ; page++ {
		c := e.list(t, vars)
		if page > 100 {
			t.Fatal("pagination does not end")
		}
		for _, edge := range c.Edges {
			out = append(out, edge.Node)
		}
		if len(c.Edges) > 0 && *c.PageInfo.EndCursor != c.Edges[len(c.Edges)-1].Cursor {
			t.Fatal("endCursor is not the last edge's cursor")
		}
		if !c.PageInfo.HasNextPage {
			return out
		}
		vars["after"] = *c.PageInfo.EndCursor
	}
}

func (e *env) createBook(t *testing.T, input map[string]any) book {
	t.Helper()
	var out struct{ CreateBook book }
	e.admin.Do(t, `mutation($in: CreateBookInput!) { createBook(input: $in) { `+bookFields+` } }`,
		map[string]any{"in": input}).Decode(t, &out)
	return out.CreateBook
}

func TestServiceSDLIsFederationV2(t *testing.T) {
	e := start(t, false)
	var out struct {
		Service struct{ SDL string } `json:"_service"`
	}
	e.anon.Do(t, `{ _service { sdl } }`, nil).Decode(t, &out)
	for _, want := range []string{`@link(url: "https://specs.apollo.dev/federation/v2.`, `type Book @key(fields: "id")`, `type PageInfo @shareable`} {
		if !strings.Contains(out.Service.SDL, want) {
			t.Errorf("SDL lacks %q", want)
		}
	}
}

func TestEntitiesResolveABatchInOneStatement(t *testing.T) {
	e := start(t, true)
	all := e.all(t, "TITLE_ASC", nil, 100)
	reps := []any{}
	want := []string{}
	for i := range 10 {
		reps = append(reps, map[string]any{"__typename": "Book", "id": all[i].ID})
		want = append(want, all[i].Title)
	}
	// An unknown id, a malformed one and one in upper case.
	reps = append(reps,
		map[string]any{"__typename": "Book", "id": "00000000-0000-4000-8000-000000000000"},
		map[string]any{"__typename": "Book", "id": "not-a-uuid'; DROP TABLE books.books; --"},
		map[string]any{"__typename": "Book", "id": strings.ToUpper(all[3].ID)})
	want = append(want, "", "", all[3].Title)

	e.srv.Counter.Reset()
	var out struct {
		Entities []*struct{ Title string } `json:"_entities"`
	}
	e.anon.Do(t, `query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { title } } }`,
		map[string]any{"r": reps}).Decode(t, &out)
	if n := e.srv.Counter.Count(); n != 1 {
		t.Errorf("_entities with %d representations ran %d SQL statements, want 1", len(reps), n)
	}
	if len(out.Entities) != len(want) {
		t.Fatalf("got %d entities, want %d", len(out.Entities), len(want))
	}
	for i, w := range want {
		switch {
		case w == "" && out.Entities[i] != nil:
			t.Errorf("entity %d = %+v, want null", i, out.Entities[i])
		case w != "" && (out.Entities[i] == nil || out.Entities[i].Title != w):
			t.Errorf("entity %d = %+v, want %q", i, out.Entities[i], w)
		}
	}
}

func TestPaginationWalksEveryOrderingStably(t *testing.T) {
	e := start(t, true)
	// Ties: same title in other cases, same price, to check the id tie-break.
	for i, title := range []string{"Tie Title", "tie title", "TIE TITLE"} {
		e.createBook(t, map[string]any{"isbn": testdb.ISBN(500 + i), "title": title, "author": "Tie", "priceCents": 1234})
	}
	everything := e.all(t, "TITLE_ASC", nil, 100)
	if len(everything) != 35 {
		t.Fatalf("catalogue has %d books, want 35", len(everything))
	}
	less := map[string]func(a, b book) int{
		"TITLE_ASC":  func(a, b book) int { return strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)) },
		"TITLE_DESC": func(a, b book) int { return -strings.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)) },
		"PRICE_ASC":  func(a, b book) int { return a.PriceCents - b.PriceCents },
		"PRICE_DESC": func(a, b book) int { return b.PriceCents - a.PriceCents },
		"NEWEST":     func(a, b book) int { return -strings.Compare(a.CreatedAt, b.CreatedAt) },
	}
	for order, cmp := range less {
		for _, size := range []int{1, 4, 7} {
			t.Run(fmt.Sprintf("%s by %d", order, size), func(t *testing.T) {
				got := e.all(t, order, nil, size)
				want := slices.Clone(everything)
				slices.SortFunc(want, func(a, b book) int {
					if c := cmp(a, b); c != 0 {
						return c
					}
					return strings.Compare(a.ID, b.ID) // ties by id, ascending
				})
				if len(got) != len(want) {
					t.Fatalf("walked %d books, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i].ID != want[i].ID {
						t.Fatalf("position %d: %q (%s), want %q (%s)", i, got[i].Title, got[i].ID, want[i].Title, want[i].ID)
					}
				}
			})
		}
	}
}

func TestFirstZeroAndTheLastPage(t *testing.T) {
	e := start(t, true)
	c := e.list(t, map[string]any{"first": 0})
	if len(c.Edges) != 0 || !c.PageInfo.HasNextPage || c.PageInfo.EndCursor != nil || c.TotalCount != 32 {
		t.Fatalf("first: 0 = %d edges, hasNextPage %v, endCursor %v, totalCount %d; want 0, true, null, 32",
			len(c.Edges), c.PageInfo.HasNextPage, c.PageInfo.EndCursor, c.TotalCount)
	}
	c = e.list(t, map[string]any{"first": 100})
	if len(c.Edges) != 32 || c.PageInfo.HasNextPage {
		t.Fatalf("first: 100 = %d edges, hasNextPage %v; want 32, false", len(c.Edges), c.PageInfo.HasNextPage)
	}
	c = e.list(t, nil) // the default page size
	if len(c.Edges) != 20 || !c.PageInfo.HasNextPage {
		t.Fatalf("default page = %d edges, hasNextPage %v; want 20, true", len(c.Edges), c.PageInfo.HasNextPage)
	}
}

func TestFilters(t *testing.T) {
	e := start(t, true)
	e.createBook(t, map[string]any{"isbn": testdb.ISBN(1), "title": "100% Pure_Go", "author": "Percent Person", "priceCents": 1})
	titles := func(bs []book) []string {
		out := make([]string, len(bs))
		for i, b := range bs {
			out[i] = b.Title
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name   string
		filter map[string]any
		want   []string // nil: check with the predicate only
		pred   func(book) bool
	}{
		{"search matches titles case-insensitively", map[string]any{"search": "PROGRAMMING"}, []string{
			"Programming Pearls", "The Art of Computer Programming, Volume 1",
			"The C Programming Language", "The Go Programming Language"}, nil},
		{"search matches authors", map[string]any{"search": "kernighan"}, []string{"The C Programming Language"}, nil},
		{"search treats % literally", map[string]any{"search": "100%"}, []string{"100% Pure_Go"}, nil},
		{"search treats _ literally", map[string]any{"search": "e_g"}, []string{"100% Pure_Go"}, nil},
		{"search with no match", map[string]any{"search": "zzzz-no-such-book"}, []string{}, nil},
		{"search matches non-ASCII", map[string]any{"search": "Gödel"}, []string{"Gödel, Escher, Bach"}, nil},
		{"author is exact and case-insensitive", map[string]any{"author": "MARTIN FOWLER"}, []string{"Refactoring"}, nil},
		{"author is not a substring match", map[string]any{"author": "Fowler"}, []string{}, nil},
		{"inStock false lists exactly stock 0", map[string]any{"inStock": false}, []string{"Working Effectively with Legacy Code", "100% Pure_Go"}, nil},
		{"inStock true lists stock > 0", map[string]any{"inStock": true}, nil, func(b book) bool { return b.Stock > 0 && b.InStock }},
		{"filters combine", map[string]any{"search": "the", "inStock": true}, nil, func(b book) bool {
			return b.Stock > 0 && (strings.Contains(strings.ToLower(b.Title), "the") || strings.Contains(strings.ToLower(b.Author), "the"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.all(t, "PRICE_ASC", tc.filter, 7)
			c := e.list(t, map[string]any{"filter": tc.filter, "first": 0})
			if c.TotalCount != len(got) {
				t.Errorf("totalCount = %d, but the pages hold %d books", c.TotalCount, len(got))
			}
			if tc.want != nil {
				want := slices.Clone(tc.want)
				slices.Sort(want)
				if !slices.Equal(titles(got), want) {
					t.Fatalf("got %q, want %q", titles(got), want)
				}
				return
			}
			if len(got) == 0 {
				t.Fatal("no books")
			}
			for _, b := range got {
				if !tc.pred(b) {
					t.Errorf("book %q (stock %d) should not match", b.Title, b.Stock)
				}
			}
		})
	}
}

func TestTotalCountIsComputedOnlyWhenSelected(t *testing.T) {
	e := start(t, true)
	e.srv.Counter.Reset()
	e.anon.Do(t, `{ books(first: 5) { edges { node { id } } } }`, nil).Decode(t, &struct{}{})
	without := e.srv.Counter.Count()
	e.srv.Counter.Reset()
	e.anon.Do(t, `{ books(first: 5) { totalCount edges { node { id } } } }`, nil).Decode(t, &struct{}{})
	with := e.srv.Counter.Count()
	if without != 1 || with != 2 {
		t.Fatalf("statements without totalCount %d, with %d; want 1 and 2", without, with)
	}
}

func TestBadListArguments(t *testing.T) {
	e := start(t, true)
	c := e.list(t, map[string]any{"first": 2, "orderBy": "PRICE_ASC"})
	priceCursor := *c.PageInfo.EndCursor
	tampered := []byte(priceCursor)
	tampered[len(tampered)/2] ^= 0x01
	for _, tc := range []struct {
		name string
		vars map[string]any
		code string
	}{
		{"first below 0", map[string]any{"first": -1}, "BAD_USER_INPUT"},
		{"first above 100", map[string]any{"first": 101}, "BAD_USER_INPUT"},
		{"first huge", map[string]any{"first": 2147483647}, "BAD_USER_INPUT"},
		{"first not an int", map[string]any{"first": "ten"}, "GRAPHQL_VALIDATION_FAILED"},
		{"garbage cursor", map[string]any{"after": "not a cursor"}, "BAD_USER_INPUT"},
		{"empty cursor", map[string]any{"after": ""}, "BAD_USER_INPUT"},
		{"cursor of another ordering", map[string]any{"after": priceCursor, "orderBy": "TITLE_ASC"}, "BAD_USER_INPUT"},
		{"tampered cursor", map[string]any{"after": string(tampered), "orderBy": "PRICE_ASC"}, "BAD_USER_INPUT"},
		{"huge cursor", map[string]any{"after": strings.Repeat("A", 5000)}, "BAD_USER_INPUT"},
		{"unknown ordering", map[string]any{"orderBy": "RANDOM"}, "GRAPHQL_VALIDATION_FAILED"},
		{"NUL in search", map[string]any{"filter": map[string]any{"search": "a\x00b"}}, "BAD_USER_INPUT"},
		{"NUL in author", map[string]any{"filter": map[string]any{"author": "\x00"}}, "BAD_USER_INPUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.anon.Do(t, listQuery, tc.vars)
			r.WantError(t, tc.code)
			if r.Status >= 500 {
				t.Fatalf("status %d", r.Status)
			}
		})
	}
}

func TestBookByID(t *testing.T) {
	e := start(t, true)
	first := e.list(t, map[string]any{"first": 1}).Edges[0].Node
	for _, tc := range []struct {
		id    string
		found bool
	}{
		{first.ID, true},
		{"00000000-0000-4000-8000-000000000000", false},
		{"42", false},
		{"' OR '1'='1", false},
		{"", false},
		{strings.Repeat("x", 10000), false},
	} {
		var out struct{ Book *book }
		e.anon.Do(t, `query($id: ID!) { book(id: $id) { `+bookFields+` } }`, map[string]any{"id": tc.id}).Decode(t, &out)
		if tc.found != (out.Book != nil) {
			t.Fatalf("book(%.20q) = %+v, want found=%v", tc.id, out.Book, tc.found)
		}
		if tc.found && !reflect.DeepEqual(*out.Book, first) {
			t.Fatalf("book(id) = %+v, want %+v", *out.Book, first)
		}
	}
}

func TestCreateBook(t *testing.T) {
	e := start(t, false)
	before := time.Now().UTC().Add(-time.Minute)
	b := e.createBook(t, map[string]any{
		"isbn": "9780134190440", "title": "  The Go Programming Language ", "author": "Alan A. A. Donovan",
		"priceCents": 3999, "publishedYear": 2015,
	})
	if b.Title != "The Go Programming Language" || b.Description != "" || b.Stock != 0 || b.InStock ||
		b.Currency != "USD" || b.PublishedYear == nil || *b.PublishedYear != 2015 || b.ISBN != "9780134190440" {
		t.Fatalf("created %+v", b)
	}
	for _, ts := range []string{b.CreatedAt, b.UpdatedAt} {
		parsed, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || !strings.HasSuffix(ts, "Z") || parsed.Before(before) {
			t.Fatalf("timestamp %q is not RFC 3339 UTC with Z, or is old: %v", ts, err)
		}
	}
	var got struct{ Book book }
	e.anon.Do(t, `query($id: ID!) { book(id: $id) { `+bookFields+` } }`, map[string]any{"id": b.ID}).Decode(t, &got)
	if !reflect.DeepEqual(got.Book, b) {
		t.Fatalf("read back %+v, want %+v", got.Book, b)
	}
	// A duplicate ISBN names the field.
	r := e.admin.Do(t, `mutation { createBook(input: {isbn: "9780134190440", title: "Again", author: "X", priceCents: 1}) { id } }`, nil)
	if err := r.WantError(t, "BAD_USER_INPUT"); err.Extensions["field"] != "input.isbn" || !strings.Contains(err.Message, "isbn") {
		t.Fatalf("duplicate ISBN error = %+v", err)
	}
}

func TestCreateBookRejectsBadInput(t *testing.T) {
	e := start(t, false)
	nextYear := time.Now().Year() + 1
	valid := func() map[string]any {
		return map[string]any{"isbn": testdb.ISBN(7), "title": "T", "author": "A", "priceCents": 100}
	}
	for i, tc := range []struct {
		name, field string
		value       any
		ok          bool
	}{
		{"ISBN with a wrong check digit", "isbn", "9780134190441", false},
		{"ISBN with hyphens", "isbn", "978-0-13-419044-0", false},
		{"ISBN-10", "isbn", "0134190440", false},
		{"ISBN with letters", "isbn", "978013419044X", false},
		{"ISBN with a 977 prefix", "isbn", "9770134190443", false},
		{"ISBN with the 979 prefix", "isbn", "9791032305690", true},
		{"empty title", "title", "", false},
		{"blank title", "title", "   \t ", false},
		{"title of 300", "title", strings.Repeat("é", 300), true},
		{"title of 301", "title", strings.Repeat("é", 301), false},
		{"title with NUL", "title", "a\x00b", false},
		{"title with a newline", "title", "a\nb", false},
		{"empty author", "author", "", false},
		{"author of 201", "author", strings.Repeat("a", 201), false},
		{"description of 5000", "description", strings.Repeat("d", 5000), true},
		{"description of 5001", "description", strings.Repeat("d", 5001), false},
		{"description with lines", "description", "line one\nline two", true},
		{"negative price", "priceCents", -1, false},
		{"free", "priceCents", 0, true},
		{"price of 10,000,000", "priceCents", 10_000_000, true},
		{"price over 10,000,000", "priceCents", 10_000_001, false},
		{"year 1449", "publishedYear", 1449, false},
		{"year 1450", "publishedYear", 1450, true},
		{"next year", "publishedYear", nextYear, true},
		{"the year after next", "publishedYear", nextYear + 1, false},
		{"negative stock", "stock", -1, false},
		{"stock of 1,000,000", "stock", 1_000_000, true},
		{"stock over 1,000,000", "stock", 1_000_001, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			in[tc.field] = tc.value
			if tc.field != "isbn" {
				in["isbn"] = testdb.ISBN(1000 + i)
			}
			r := e.admin.Do(t, `mutation($in: CreateBookInput!) { createBook(input: $in) { id } }`, map[string]any{"in": in})
			if tc.ok {
				if len(r.Errors) > 0 {
					t.Fatalf("refused: %s", r.Raw)
				}
				return
			}
			err := r.WantError(t, "BAD_USER_INPUT")
			if err.Extensions["field"] != "input."+tc.field {
				t.Fatalf("field = %v, want input.%s", err.Extensions["field"], tc.field)
			}
		})
	}
	var n int
	if err := e.db.Admin.QueryRow(context.Background(), `SELECT count(*) FROM books.books`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 9 {
		t.Fatalf("%d books stored, want the 9 valid ones", n)
	}
}

func TestAdminOperationsNeedTheToken(t *testing.T) {
	e := start(t, true)
	id := e.list(t, map[string]any{"first": 1}).Edges[0].Node.ID
	mutations := []string{
		`mutation { createBook(input: {isbn: "9780134190440", title: "x", author: "y", priceCents: 1}) { id } }`,
		`mutation { updateBook(id: "` + id + `", input: {title: "Hacked"}) { id } }`,
		`mutation { restockBook(id: "` + id + `", quantity: 5) { id } }`,
		// Bad input too: without the token, the answer is UNAUTHENTICATED.
		`mutation { restockBook(id: "` + id + `", quantity: -5) { id } }`,
	}
	for _, tok := range []struct{ name, header string }{
		{"no header", ""},
		{"wrong token", "Bearer nope"},
		{"token as basic", "Basic " + adminToken},
		{"token without scheme", adminToken},
		{"token prefix", "Bearer " + adminToken[:10]},
		{"token plus suffix", "Bearer " + adminToken + "x"},
	} {
		for _, m := range mutations {
			req, _ := http.NewRequest(http.MethodPost, e.anon.URL, strings.NewReader(`{"query":`+strconv.Quote(m)+`}`))
			req.Header.Set("Content-Type", "application/json")
			if tok.header != "" {
				req.Header.Set("Authorization", tok.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var r gqltest.Response
			_ = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if len(r.Errors) != 1 || r.Errors[0].Code() != "UNAUTHENTICATED" {
				t.Fatalf("%s: %s: errors %+v, want UNAUTHENTICATED", tok.name, m, r.Errors)
			}
		}
	}
	var title string
	if err := e.db.Admin.QueryRow(context.Background(), `SELECT title FROM books.books WHERE id = $1`, id).Scan(&title); err != nil || title == "Hacked" {
		t.Fatalf("title = %q, %v", title, err)
	}
	// "bearer" in lower case is the same scheme.
	e.anon.Token = ""
	r := e.admin.Do(t, `mutation { restockBook(id: "`+id+`", quantity: 1) { id } }`, nil)
	if len(r.Errors) > 0 {
		t.Fatalf("with the token: %s", r.Raw)
	}
	if logs := e.srv.Logs.String(); strings.Contains(logs, adminToken) {
		t.Fatal("the admin token appears in the logs")
	}
}

func TestUpdateBook(t *testing.T) {
	e := start(t, false)
	b := e.createBook(t, map[string]any{"isbn": testdb.ISBN(1), "title": "Old", "author": "Someone", "priceCents": 500, "publishedYear": 2001, "stock": 4})
	time.Sleep(10 * time.Millisecond)
	var out struct{ UpdateBook book }
	e.admin.Do(t, `mutation($id: ID!) { updateBook(id: $id, input: {title: "New", priceCents: 650}) { `+bookFields+` } }`,
		map[string]any{"id": b.ID}).Decode(t, &out)
	u := out.UpdateBook
	if u.Title != "New" || u.PriceCents != 650 || u.Author != "Someone" || u.Stock != 4 || *u.PublishedYear != 2001 || u.CreatedAt != b.CreatedAt || u.UpdatedAt <= b.UpdatedAt {
		t.Fatalf("updated %+v from %+v", u, b)
	}
	// null clears the year; leaving it out keeps it.
	e.admin.Do(t, `mutation($id: ID!) { updateBook(id: $id, input: {publishedYear: null}) { `+bookFields+` } }`,
		map[string]any{"id": b.ID}).Decode(t, &out)
	if out.UpdateBook.PublishedYear != nil || out.UpdateBook.Title != "New" {
		t.Fatalf("after clearing the year: %+v", out.UpdateBook)
	}
	// An empty input changes nothing.
	e.admin.Do(t, `mutation($id: ID!) { updateBook(id: $id, input: {}) { `+bookFields+` } }`,
		map[string]any{"id": b.ID}).Decode(t, &out)
	if out.UpdateBook.Title != "New" {
		t.Fatalf("after an empty update: %+v", out.UpdateBook)
	}
	for _, tc := range []struct {
		name, id, input, code string
	}{
		{"unknown id", "00000000-0000-4000-8000-000000000000", `{title: "x"}`, "NOT_FOUND"},
		{"malformed id", "nope", `{title: "x"}`, "NOT_FOUND"},
		{"null title", b.ID, `{title: null}`, "BAD_USER_INPUT"},
		{"null price", b.ID, `{priceCents: null}`, "BAD_USER_INPUT"},
		{"empty author", b.ID, `{author: ""}`, "BAD_USER_INPUT"},
		{"negative price", b.ID, `{priceCents: -5}`, "BAD_USER_INPUT"},
		{"year 1200", b.ID, `{publishedYear: 1200}`, "BAD_USER_INPUT"},
		{"stock is not updatable", b.ID, `{stock: 100}`, "GRAPHQL_VALIDATION_FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.admin.Do(t, `mutation($id: ID!) { updateBook(id: $id, input: `+tc.input+`) { id } }`, map[string]any{"id": tc.id}).WantError(t, tc.code)
		})
	}
}

func TestRestockBook(t *testing.T) {
	e := start(t, false)
	b := e.createBook(t, map[string]any{"isbn": testdb.ISBN(1), "title": "T", "author": "A", "priceCents": 1, "stock": 999_990})
	restock := func(id string, q int) gqltest.Response {
		return e.admin.Do(t, `mutation($id: ID!, $q: Int!) { restockBook(id: $id, quantity: $q) { stock inStock } }`, map[string]any{"id": id, "q": q})
	}
	var out struct{ RestockBook book }
	restock(b.ID, 10).Decode(t, &out)
	if out.RestockBook.Stock != 1_000_000 {
		t.Fatalf("stock = %d, want 1,000,000", out.RestockBook.Stock)
	}
	for _, tc := range []struct {
		name string
		id   string
		q    int
		code string
	}{
		{"past 1,000,000", b.ID, 1, "BAD_USER_INPUT"},
		{"zero", b.ID, 0, "BAD_USER_INPUT"},
		{"negative", b.ID, -3, "BAD_USER_INPUT"},
		{"over 100,000", b.ID, 100_001, "BAD_USER_INPUT"},
		{"unknown book", "00000000-0000-4000-8000-000000000000", 1, "NOT_FOUND"},
		{"malformed id", "x", 1, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) { restock(tc.id, tc.q).WantError(t, tc.code) })
	}
	var stock int
	if err := e.db.Admin.QueryRow(context.Background(), `SELECT stock FROM books.books WHERE id = $1`, b.ID).Scan(&stock); err != nil || stock != 1_000_000 {
		t.Fatalf("stock after refused restocks = %d, %v", stock, err)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	e := start(t, false)
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(e.srv.URL + "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if code, body := get(e.srv.URL + "/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	e.anon.Do(t, `query CountBooks { books { totalCount } }`, nil).Decode(t, &struct{}{})
	e.anon.Do(t, `{ books { totalCount } }`, nil).Decode(t, &struct{}{})
	code, body := get(e.srv.URL + "/metrics")
	for _, want := range []string{
		`http_requests_total{code="200",handler="/query",method="POST",operation="CountBooks",service="books-subgraph"} 1`,
		`http_requests_total{code="200",handler="/query",method="POST",operation="",service="books-subgraph"} 1`,
		`http_request_duration_seconds_count{handler="/query",operation="CountBooks",service="books-subgraph"} 1`,
		"db_pool_total_connections", "db_pool_acquires_total", "go_goroutines",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("/metrics (%d) lacks %s", code, want)
		}
	}
	if code, _ := get(e.srv.URL + "/nope"); code != 404 {
		t.Fatalf("/nope = %d, want 404", code)
	}

	// Not ready on a database that is not migrated.
	empty := testdb.NewEmpty(t)
	srv := gqltest.StartSubgraph(t, "books-subgraph", empty.BooksURL, nil, graph.Build)
	if code, body := get(srv.URL + "/readyz"); code != 503 || !strings.Contains(body, "no migration") {
		t.Fatalf("/readyz on an empty database = %d %s, want 503", code, body)
	}
	if code, _ := get(srv.URL + "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d, want 200 while alive", code)
	}
}

func TestInternalErrorsLeakNothing(t *testing.T) {
	e := start(t, true)
	if _, err := e.db.Admin.Exec(context.Background(), `ALTER TABLE books.books RENAME COLUMN title TO title_gone`); err != nil {
		t.Fatal(err)
	}
	r := e.anon.Do(t, `{ books(first: 3) { edges { node { title } } } }`, nil)
	err := r.WantError(t, "INTERNAL_SERVER_ERROR")
	for _, leak := range []string{"title_gone", "column", "SQL", "books.books", "SELECT", "goroutine", ".go:"} {
		if strings.Contains(r.Raw, leak) {
			t.Fatalf("response leaks %q: %s", leak, r.Raw)
		}
	}
	if len(err.Path) == 0 || err.Path[0] != "books" {
		t.Fatalf("path = %v, want [books]", err.Path)
	}
	if !strings.Contains(e.srv.Logs.String(), `column b.title does not exist`) {
		t.Fatalf("the log lacks the detail: %s", e.srv.Logs.String())
	}
}

func TestBodyOverTheLimitIsRefused(t *testing.T) {
	e := start(t, false)
	big := `{"query":"{ books { totalCount } }","variables":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`
	r := e.anon.Post(t, "application/json", []byte(big))
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", r.Status)
	}
}

func TestMalformedRequestsAre4xx(t *testing.T) {
	e := start(t, false)
	for _, tc := range []struct {
		name, method, contentType, body string
		status                          int
		code                            string
	}{
		{"not JSON", "POST", "application/json", `{not json`, 400, "BAD_REQUEST"},
		{"a JSON array (batching)", "POST", "application/json", `[{"query":"{__typename}"}]`, 400, "BAD_REQUEST"},
		{"query not a string", "POST", "application/json", `{"query": 5}`, 400, "BAD_REQUEST"},
		{"empty body", "POST", "application/json", ``, 400, "BAD_REQUEST"},
		{"wrong content type", "POST", "text/plain", `{"query":"{__typename}"}`, 415, "BAD_REQUEST"},
		{"wrong method", "PUT", "application/json", `{"query":"{__typename}"}`, 405, "BAD_REQUEST"},
		{"does not parse", "POST", "application/json", `{"query":"{ books "}`, 422, "GRAPHQL_PARSE_FAILED"},
		{"does not validate", "POST", "application/json", `{"query":"{ books { nope } }"}`, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"variable of a wrong type", "POST", "application/json", `{"query":"query($f: Int) { books(first: $f) { totalCount } }","variables":{"f":"x"}}`, 422, "GRAPHQL_VALIDATION_FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, e.anon.URL, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r gqltest.Response
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
				t.Fatalf("status %d, body is not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != tc.status || len(r.Errors) != 1 || r.Errors[0].Code() != tc.code {
				t.Fatalf("status %d, errors %+v; want %d %s", resp.StatusCode, r.Errors, tc.status, tc.code)
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
	if strings.Contains(e.srv.Logs.String(), `"level":"ERROR"`) {
		t.Fatalf("a bad request was logged as an internal error:\n%s", e.srv.Logs.String())
	}
}

// The indexes serve the catalogue's queries: each ordering reads its index
// in order (no sort), and the filters use theirs.
func TestIndexesServeTheQueries(t *testing.T) {
	e := start(t, true)
	for _, tc := range []struct {
		vars  map[string]any
		index string
	}{
		{map[string]any{"orderBy": "TITLE_ASC"}, "books_title_order"},
		{map[string]any{"orderBy": "TITLE_DESC"}, "books_title_desc_order"},
		{map[string]any{"orderBy": "PRICE_ASC"}, "books_price_order"},
		{map[string]any{"orderBy": "PRICE_DESC"}, "books_price_desc_order"},
		{map[string]any{"orderBy": "NEWEST"}, "books_newest_order"},
		{map[string]any{"filter": map[string]any{"search": "programming"}}, "books_title_trgm"},
		{map[string]any{"filter": map[string]any{"search": "kernighan"}}, "books_author_trgm"},
		{map[string]any{"filter": map[string]any{"search": "go"}}, "books_search_grams"},
		{map[string]any{"filter": map[string]any{"author": "martin fowler"}}, "books_author_lower"},
	} {
		t.Run(tc.index, func(t *testing.T) {
			e.srv.Counter.Reset()
			e.list(t, tc.vars)
			var page, count *gqltest.Statement
			for _, st := range e.srv.Counter.Statements() {
				switch {
				case strings.Contains(st.SQL, "FROM books.books") && strings.Contains(st.SQL, "count(*)"):
					count = &st
				case strings.Contains(st.SQL, "FROM books.books"):
					page = &st
				}
			}
			if page == nil || (tc.vars["filter"] != nil && count == nil) {
				t.Fatalf("no page or no count among %+v", e.srv.Counter.Statements())
			}
			st := *page
			if tc.vars["filter"] != nil {
				// The count has the filter without an ordering, so the
				// planner cannot prefer an ordered index scan plus a filter.
				st = *count
			}
			plan := gqltest.Explain(t, e.db.Admin, st)
			if !strings.Contains(plan, tc.index) {
				t.Fatalf("the plan does not use %s:\n%s", tc.index, plan)
			}
			if tc.vars["orderBy"] != nil && strings.Contains(plan, "Sort") {
				t.Fatalf("the ordering needs a sort:\n%s", plan)
			}
		})
	}
}

// Search answers exactly what a plain case-insensitive ILIKE on the title
// or the author matches, for every term length and every character the
// pattern language would otherwise read (%, _, \), through every index
// path (trigrams, the 1- and 2-character grams, a walk of an ordering)
// and the cached counts.
func TestSearchEveryTermLength(t *testing.T) {
	e := start(t, true)
	for i, b := range []struct{ title, author string }{
		{"100% Pure_Go", "Percent Person"},
		{`Back\slash Stories`, "Zq Writer"},
		{"Ωmega Ünïcode 📚", "Åsa Ölund"},
		{"A", "B"},
		{"it's a quote", "O'Brien"},
	} {
		e.createBook(t, map[string]any{"isbn": testdb.ISBN(900 + i), "title": b.title, "author": b.author, "priceCents": 100 + i})
	}
	want := func(term string) []string {
		t.Helper()
		// The reference: ILIKE over the table, no index, no cache.
		return testdb.Strings(t, e.db.Admin, `SELECT id::text FROM books.books
WHERE title ILIKE '%' || $1 || '%' ESCAPE '!' OR author ILIKE '%' || $1 || '%' ESCAPE '!' ORDER BY id`,
			strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(term))
	}
	terms := []string{"", "e", "E", "go", "GO", "zq", "ZQ", "%", "_", `\`, "100%", "e_g", `k\s`, "ö", "Ö", "Ω", "📚", " ",
		"'", "o'b", "the", "programming", "Pure_Go", "no such book at all", strings.Repeat("x", 901), strings.Repeat("é", 5000)}
	for _, term := range terms {
		name := term
		if len(name) > 20 {
			name = name[:20] + "…"
		}
		t.Run(name, func(t *testing.T) {
			wantIDs := want(term)
			for _, order := range []string{"TITLE_ASC", "PRICE_DESC"} {
				var got []string
				for _, b := range e.all(t, order, map[string]any{"search": term}, 7) {
					got = append(got, b.ID)
				}
				slices.Sort(got)
				if !slices.Equal(got, wantIDs) {
					t.Fatalf("%s: %d books %v, want %d %v", order, len(got), got, len(wantIDs), wantIDs)
				}
			}
			for range 2 { // counted, then from the cache
				if c := e.list(t, map[string]any{"first": 0, "filter": map[string]any{"search": term}}); c.TotalCount != len(wantIDs) {
					t.Fatalf("totalCount %d, want %d", c.TotalCount, len(wantIDs))
				}
			}
		})
	}
}

// Every count follows every write: books added, retitled, sold out and
// restocked change the counters and invalidate the cached search counts at
// once; a write that changes no match (a price) leaves the cache alone.
func TestCountsFollowEveryWrite(t *testing.T) {
	e := start(t, true)
	ctx := context.Background()
	check := func(when string) {
		t.Helper()
		for _, filter := range []map[string]any{
			nil, {"inStock": true}, {"inStock": false}, {"search": "zz"}, {"search": "zz", "inStock": true},
			{"search": "zz", "inStock": false}, {"author": "Zed Zane"}, {"search": "the"},
		} {
			var want int
			q := `SELECT count(*) FROM books.books WHERE ($1::text IS NULL OR title ILIKE '%' || $1 || '%' OR author ILIKE '%' || $1 || '%')
AND ($2::bool IS NULL OR (stock > 0) = $2) AND ($3::text IS NULL OR lower(author) = lower($3))`
			if err := e.db.Admin.QueryRow(ctx, q, filter["search"], filter["inStock"], filter["author"]).Scan(&want); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if got := e.list(t, map[string]any{"first": 0, "filter": filter}).TotalCount; got != want {
					t.Fatalf("%s: totalCount with %v = %d, want %d", when, filter, got, want)
				}
			}
		}
	}
	changes := func() int {
		var n int
		if err := e.db.Admin.QueryRow(ctx, `SELECT sum(changes) FROM books.catalogue_counts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	check("seeded")
	b := e.createBook(t, map[string]any{"isbn": testdb.ISBN(77), "title": "Zz Top", "author": "Zed Zane", "priceCents": 500, "stock": 1})
	check("after createBook")
	e.admin.Do(t, `mutation($id: ID!) { updateBook(id: $id, input: {title: "Nothing here"}) { id } }`, map[string]any{"id": b.ID}).Decode(t, &struct{}{})
	check("after a new title")
	e.admin.Do(t, `mutation($id: ID!) { updateBook(id: $id, input: {title: "Zz again", author: "Someone Else"}) { id } }`, map[string]any{"id": b.ID}).Decode(t, &struct{}{})
	check("after a new title and author")
	before := changes()
	e.admin.Do(t, `mutation($id: ID!) { updateBook(id: $id, input: {priceCents: 999}) { id } }`, map[string]any{"id": b.ID}).Decode(t, &struct{}{})
	if changes() != before {
		t.Fatal("a new price counted as a change of what filters match")
	}
	// Sold out (as placeOrder reserves), then restocked.
	if _, err := e.db.Admin.Exec(ctx, `SELECT count(*) FROM books.reserve_stock(ARRAY[$1]::uuid[], ARRAY[1])`, b.ID); err != nil {
		t.Fatal(err)
	}
	check("after selling out")
	e.admin.Do(t, `mutation($id: ID!) { restockBook(id: $id, quantity: 3) { id } }`, map[string]any{"id": b.ID}).Decode(t, &struct{}{})
	check("after a restock")
	before = changes()
	e.admin.Do(t, `mutation($id: ID!) { restockBook(id: $id, quantity: 3) { id } }`, map[string]any{"id": b.ID}).Decode(t, &struct{}{})
	if changes() != before {
		t.Fatal("a restock of a book in stock counted as a change of what filters match")
	}
	check("after a second restock")
}

// A bad cursor is BAD_USER_INPUT whatever the filter, a term that can match
// nothing included.
func TestBadCursorWithAnImpossibleSearch(t *testing.T) {
	e := start(t, false)
	r := e.anon.Do(t, listQuery, map[string]any{"after": "bm90IGEgY3Vyc29y", "filter": map[string]any{"search": strings.Repeat("x", 1000)}})
	if err := r.WantError(t, "BAD_USER_INPUT"); err.Extensions["field"] != "after" {
		t.Fatalf("field %v, want after", err.Extensions["field"])
	}
}

// A read loads the columns its request selects, however it selects them
// (fragments, aliases, @include), and the answer is the same as with every
// column.
func TestReadsLoadTheSelectedColumns(t *testing.T) {
	e := start(t, true)
	all := e.all(t, "TITLE_ASC", nil, 100)
	byID := map[string]book{}
	for _, b := range all {
		byID[b.ID] = b
	}
	rep := map[string]any{"r": []any{map[string]any{"__typename": "Book", "id": all[0].ID}}, "id": all[1].ID}
	for _, tc := range []struct {
		name      string
		query     string
		want, not []string // columns the statement reads and does not
	}{
		// Columns come in three groups: title and price; author,
		// currency and stock; the rest (isbn, description, year, dates).
		{"a page's titles", `{ books(first: 3) { edges { node { id title } } } }`,
			[]string{"b.title", "b.price_cents"}, []string{"b.author", "b.description", "b.isbn", "b.created_at"}},
		{"a page's authors", `{ books(first: 3) { edges { node { id author } } } }`,
			[]string{"b.author", "b.currency", "b.stock"}, []string{"b.title", "b.description", "b.isbn"}},
		{"only ids", `{ books(first: 3) { edges { cursor node { __typename id } } pageInfo { endCursor } } }`,
			nil, []string{"b.title", "b.author", "b.description", "b.price_cents", "b.isbn"}},
		{"fragments and aliases", `{ books(first: 3) { a: edges { ...E } b: edges { node { isbn } } } }
fragment E on BookEdge { node { ... on Book { id author } } }`,
			[]string{"b.author", "b.isbn"}, nil},
		{"only details", `{ books(first: 3) { edges { node { id isbn createdAt } } } }`,
			[]string{"b.isbn", "b.description", "b.created_at"}, []string{"b.title", "b.author", "b.stock"}},
		{"@include", `query($id: ID!) { book(id: $id) { id updatedAt description @include(if: false) stock @include(if: true) } }`,
			[]string{"b.updated_at", "b.stock"}, nil},
		{"@include, the other way", `query($id: ID!) { book(id: $id) { id title description @include(if: false) } }`,
			[]string{"b.title"}, []string{"b.description", "b.isbn"}},
		{"inStock reads the stock", `query($id: ID!) { book(id: $id) { id inStock } }`,
			[]string{"b.stock"}, []string{"b.title", "b.isbn"}},
		{"entities", `query($r: [_Any!]!) { _entities(representations: $r) { ... on Book { id title priceCents } } }`,
			[]string{"b.title", "b.price_cents"}, []string{"b.author", "b.currency", "b.description", "b.isbn", "b.created_at"}},
		{"every field", `query($id: ID!) { book(id: $id) { ` + bookFields + ` } }`,
			[]string{"b.isbn", "b.title", "b.author", "b.description", "b.published_year", "b.price_cents", "b.currency", "b.stock", "b.created_at", "b.updated_at"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.Counter.Reset()
			r := e.anon.Do(t, tc.query, rep)
			if len(r.Errors) > 0 {
				t.Fatal(r.Raw)
			}
			sts := e.srv.Counter.Statements()
			if len(sts) != 1 {
				t.Fatalf("%d statements", len(sts))
			}
			list, _, _ := strings.Cut(strings.TrimPrefix(sts[0].SQL, "SELECT "), " FROM ")
			read := map[string]bool{}
			for _, c := range strings.Split(list, ",") {
				read[strings.TrimSpace(c)] = true
			}
			for _, c := range tc.want {
				if !read[c] {
					t.Errorf("the statement does not read %s: %s", c, sts[0].SQL)
				}
			}
			for _, c := range tc.not {
				if read[c] {
					t.Errorf("the statement reads %s: %s", c, sts[0].SQL)
				}
			}
			// Every book in the answer is the catalogue's, field by field.
			var data any
			if err := json.Unmarshal(r.Data, &data); err != nil {
				t.Fatal(err)
			}
			checked := 0
			var walk func(v any)
			walk = func(v any) {
				switch v := v.(type) {
				case []any:
					for _, x := range v {
						walk(x)
					}
				case map[string]any:
					if id, ok := v["id"].(string); ok {
						want, _ := json.Marshal(byID[id])
						var fields map[string]any
						_ = json.Unmarshal(want, &fields)
						for k, got := range v {
							if k != "__typename" && !reflect.DeepEqual(got, fields[k]) {
								t.Errorf("book %s: %s = %v, want %v", id, k, got, fields[k])
							}
						}
						checked++
					}
					for _, x := range v {
						walk(x)
					}
				}
			}
			walk(data)
			if checked == 0 {
				t.Errorf("no book with an id in the answer: %s", r.Raw)
			}
		})
	}
}

// TestDatabaseDown: with PostgreSQL unreachable, a request fails fast with
// SUBGRAPH_UNAVAILABLE, which tells the client to retry, never
// INTERNAL_SERVER_ERROR; /readyz answers 503.
func TestDatabaseDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	srv := gqltest.StartSubgraph(t, "books-subgraph", "postgres://books_app:x@"+addr+"/bookstore?sslmode=disable",
		map[string]string{"ADMIN_TOKEN": adminToken}, graph.Build)
	admin := (&gqltest.Client{URL: srv.URL + "/query"}).AsAdmin(adminToken)
	for _, q := range []string{
		`{ books(first: 2) { edges { node { title } } } }`,
		`{ book(id: "96d4816c-1d71-3e59-2cd2-8f7f36d767b9") { title } }`,
		`mutation { restockBook(id: "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", quantity: 1) { stock } }`,
	} {
		start := time.Now()
		r := admin.Do(t, q, nil)
		r.WantError(t, "SUBGRAPH_UNAVAILABLE")
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s failed after %v", q, took)
		}
	}
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz = %d with the database down", res.StatusCode)
	}
}
