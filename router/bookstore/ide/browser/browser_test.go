// Package browser_test drives the router's GraphQL IDE in a real browser:
// Debian's chromium, through playwright-core (testdata/ide.mjs), against a
// real stack on a freshly seeded database. It checks that GraphiQL loads
// and works with no request leaving the router, and keeps screenshots for
// people to look at.
package browser_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"bookstore/graph/testkit/nodetest"
	"bookstore/graph/testkit/testdb"
	"bookstore/router/bookstore/ide"
	"bookstore/router/routertest"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

const (
	// chromium is Debian's browser binary (apt-get install chromium); the
	// /usr/bin/chromium wrapper script is not needed.
	chromium = "/usr/lib/chromium/chromium"
	// driverTimeout bounds the whole browser session; a safety net against
	// a hung browser, not an assertion.
	driverTimeout = 3 * time.Minute
	// probeURL is the one request off the router the test makes on purpose,
	// after everything else, to show that the guard aborts and reports
	// such a request (.invalid never resolves, so nothing could leave even
	// if it did not).
	probeURL = "http://bookstore-probe.invalid/"
)

// federatedQuery is typed into the IDE: title and author come from the books
// subgraph, unitsSold from the orders subgraph.
const federatedQuery = `{
  books(first: 5, orderBy: TITLE_ASC) {
    totalCount
    edges {
      node {
        title
        author
        unitsSold
      }
    }
  }
}
`

// report is what ide.mjs prints.
type report struct {
	Requests []struct {
		Method       string `json:"method"`
		URL          string `json:"url"`
		ResourceType string `json:"resourceType"`
	} `json:"requests"`
	Blocked       []string `json:"blocked"`
	ConsoleErrors []string `json:"consoleErrors"`
	PageErrors    []string `json:"pageErrors"`
	Screenshots   []string `json:"screenshots"`
	Steps         struct {
		Load *struct {
			Status       int    `json:"status"`
			ContentType  string `json:"contentType"`
			Title        string `json:"title"`
			DefaultQuery string `json:"defaultQuery"`
		} `json:"load"`
		Query *struct {
			Editor   string `json:"editor"`
			Response string `json:"response"`
		} `json:"query"`
		Mutation *struct {
			Headers  string `json:"headers"`
			Editor   string `json:"editor"`
			Response string `json:"response"`
		} `json:"mutation"`
		REST *struct {
			Status      int    `json:"status"`
			ContentType string `json:"contentType"`
			Text        string `json:"text"`
		} `json:"rest"`
		Probe *struct {
			URL   string  `json:"url"`
			Error *string `json:"error"`
		} `json:"probe"`
	} `json:"steps"`
	Error *string `json:"error"`
}

// TestIDE opens /graphql in chromium, runs a federated query and an admin
// mutation in GraphiQL, and opens GET /books.
func TestIDE(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		nodetest.Missing(t, "chromium is not installed (%v): apt-get install -y chromium", err)
	}
	if missing := ide.New("/graphql").Missing(); len(missing) > 0 {
		nodetest.Missing(t, "the router is built without the IDE's files %v: run make ide first", missing)
	}
	node, _ := nodetest.Node(t)
	ctx := t.Context()
	modules := nodetest.Install(ctx, t, "testdata")

	stack := routertest.StartBookstore(t, routertest.Options{})
	// The router listens on 127.0.0.1; the browser goes through localhost,
	// as a developer would type it.
	base, err := url.Parse(stack.Router.URL)
	if err != nil {
		t.Fatal(err)
	}
	base.Host = "localhost:" + base.Port()

	out := nodetest.OutDir(t, "browser")
	old, _ := filepath.Glob(filepath.Join(out, "*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	isbn := testdb.ISBN(20261201)
	const title = "Zen and the Art of Headless Browsing" // last by title: the seed's first pages stay as they are
	mutation := fmt.Sprintf(`mutation {
  createBook(input: {
    isbn: %q
    title: %q
    author: "Chromium Headless"
    priceCents: 1250
    stock: 2
  }) {
    id
    title
    isbn
    stock
  }
}
`, isbn, title)
	headers := fmt.Sprintf(`{"Authorization": "Bearer %s"}`, routertest.AdminToken)
	tmp := t.TempDir()
	cfg, err := json.Marshal(map[string]string{
		"modules":     modules,
		"chromium":    chromium,
		"userDataDir": filepath.Join(tmp, "profile"),
		"baseURL":     base.String(),
		"outDir":      out,
		"headers":     headers,
		"query":       federatedQuery,
		"mutation":    mutation,
		"restPath":    "/books?first=3",
		"probeURL":    probeURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(tmp, "config.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(tmp, "profile"), 0o700); err != nil {
		t.Fatal(err)
	}

	// What the router answers before the browser changes anything: the
	// result pane must show the same.
	before := stack.Router.GraphQL(t, federatedQuery, nil, nil)

	res, runErr := nodetest.Run(ctx, driverTimeout, "testdata", nil, node, "ide.mjs", cfgFile)
	t.Logf("the browser session took %v", res.Elapsed.Round(time.Millisecond))
	var r report
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("ide.mjs printed no report (%v; run: %v)\nstdout:\n%s\nstderr:\n%s", err, runErr, res.Stdout, res.Stderr)
	}
	for _, s := range r.Screenshots {
		t.Logf("screenshot: %s", s)
	}
	if r.Error != nil || runErr != nil {
		t.Fatalf("ide.mjs: %v\n%s\nstderr:\n%s", runErr, deref(r.Error), res.Stderr)
	}

	checkRequests(t, &r, base)
	checkLoad(t, &r)
	checkQuery(t, &r, before)
	checkMutation(t, &r, stack, mutation, headers, isbn, title)
	checkREST(t, &r, title)
	checkScreenshots(t, &r, out)
}

// checkRequests fails on any request that left the router's origin, and
// makes sure the recording saw the IDE's own requests and the guard
// aborted the test's probe.
func checkRequests(t *testing.T, r *report, base *url.URL) {
	t.Helper()
	if p := r.Steps.Probe; p == nil || p.Error == nil || !strings.Contains(*p.Error, "ERR_BLOCKED_BY_CLIENT") {
		t.Errorf("the probe of %s was not aborted by the guard: %+v", probeURL, p)
	}
	if !reflect.DeepEqual(r.Blocked, []string{probeURL}) {
		t.Errorf("the guard aborted %q, want only the probe %s", r.Blocked, probeURL)
	}
	var sawGraphiQL, sawPost bool
	for _, req := range r.Requests {
		u, err := url.Parse(req.URL)
		if err != nil {
			t.Errorf("request to an unparsable URL %q: %v", req.URL, err)
			continue
		}
		switch {
		case u.Scheme == "data", u.Scheme == "blob", u.Scheme == "about":
			continue
		case req.URL == probeURL:
			continue // aborted, checked above
		}
		if host := u.Hostname(); (host != "localhost" && host != "127.0.0.1") || u.Port() != base.Port() {
			t.Errorf("%s %s left the router (%s)", req.Method, req.URL, base.Host)
		}
		if strings.HasPrefix(u.Path, ide.AssetPrefix+"graphiql.min.js") {
			sawGraphiQL = true
		}
		if req.Method == "POST" && u.Path == "/graphql" {
			sawPost = true
		}
	}
	t.Logf("the browser made %d requests, all to %s but the aborted probe", len(r.Requests), base.Host)
	if !sawGraphiQL || !sawPost {
		t.Errorf("the recorded requests lack GraphiQL's script (%v) or a POST /graphql (%v): %+v", sawGraphiQL, sawPost, r.Requests)
	}
	for _, e := range r.PageErrors {
		t.Errorf("uncaught error in the page: %s", e)
	}
	for _, e := range r.ConsoleErrors {
		t.Errorf("console error in the page: %s", e)
	}
}

// step returns the report's step named name, failing the test when the
// report has none.
func step[T any](t *testing.T, s *T, name string) *T {
	t.Helper()
	if s == nil {
		t.Fatalf("no %s step in the report", name)
	}
	return s
}

// wantOK checks that what the browser loaded (what) was 200 of the media
// type want.
func wantOK(t *testing.T, what string, status int, contentType, want string) {
	t.Helper()
	if status != 200 || !strings.HasPrefix(contentType, want) {
		t.Errorf("%s: %d %q, want 200 %s", what, status, contentType, want)
	}
}

// checkLoad checks the IDE page: HTML, and GraphiQL rendered with the
// bookstore's default query in its editor.
func checkLoad(t *testing.T, r *report) {
	t.Helper()
	l := step(t, r.Steps.Load, "load")
	wantOK(t, "GET /graphql from the browser", l.Status, l.ContentType, "text/html")
	if !strings.Contains(l.Title, "GraphQL IDE") {
		t.Errorf("page title %q", l.Title)
	}
	if l.DefaultQuery != ide.DefaultQuery {
		t.Errorf("GraphiQL's editor holds\n%s\nwant the IDE's default query\n%s", l.DefaultQuery, ide.DefaultQuery)
	}
}

// checkQuery checks that the query went into the editor as typed and that
// the result pane shows what the router answered to it directly, seeded
// titles and unitsSold from the other subgraph included.
func checkQuery(t *testing.T, r *report, direct *routertest.Response) {
	t.Helper()
	q := step(t, r.Steps.Query, "query")
	if q.Editor != federatedQuery {
		t.Errorf("the query editor holds\n%s\nwant what was typed\n%s", q.Editor, federatedQuery)
	}
	var shown struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if err := json.Unmarshal([]byte(q.Response), &shown); err != nil {
		t.Fatalf("the result pane is not JSON: %v\n%s", err, q.Response)
	}
	if len(shown.Errors) > 0 {
		t.Errorf("the result pane shows errors:\n%s", q.Response)
	}
	if !sameJSON(shown.Data, direct.Data) {
		t.Errorf("the result pane shows\n%s\nthe router answers\n%s", shown.Data, direct.Data)
	}
	var data struct {
		Books struct {
			TotalCount int `json:"totalCount"`
			Edges      []struct {
				Node struct {
					Title     string `json:"title"`
					UnitsSold *int   `json:"unitsSold"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"books"`
	}
	if err := json.Unmarshal(shown.Data, &data); err != nil {
		t.Fatalf("decoding the result pane's data: %v", err)
	}
	var titles []string
	for _, e := range data.Books.Edges {
		titles = append(titles, e.Node.Title)
		if e.Node.UnitsSold == nil {
			t.Errorf("%s: unitsSold is null", e.Node.Title)
		}
	}
	// The seed's first five titles, case-insensitively ordered.
	want := []string{"Brave New World", "Clean Code", "Code Complete", "Compilers: Principles, Techniques, and Tools", "Design Patterns"}
	if !reflect.DeepEqual(titles, want) || data.Books.TotalCount != 32 {
		t.Errorf("the result pane lists %q of %d books, want %q of 32", titles, data.Books.TotalCount, want)
	}
}

// checkMutation checks the headers editor and the createBook result, and
// that the book is really in the catalogue.
func checkMutation(t *testing.T, r *report, stack *routertest.Stack, mutation, headers, isbn, title string) {
	t.Helper()
	m := step(t, r.Steps.Mutation, "mutation")
	if m.Headers != headers {
		t.Errorf("the headers editor holds %q, want %q", m.Headers, headers)
	}
	if m.Editor != mutation {
		t.Errorf("the query editor holds\n%s\nwant\n%s", m.Editor, mutation)
	}
	var shown struct {
		Data *struct {
			CreateBook struct {
				ID    string `json:"id"`
				Title string `json:"title"`
				ISBN  string `json:"isbn"`
				Stock int    `json:"stock"`
			} `json:"createBook"`
		} `json:"data"`
		Errors []any `json:"errors"`
	}
	if err := json.Unmarshal([]byte(m.Response), &shown); err != nil {
		t.Fatalf("the result pane is not JSON: %v\n%s", err, m.Response)
	}
	if len(shown.Errors) > 0 || shown.Data == nil {
		t.Fatalf("createBook in the IDE failed:\n%s", m.Response)
	}
	b := shown.Data.CreateBook
	if b.ID == "" || b.Title != title || b.ISBN != isbn || b.Stock != 2 {
		t.Errorf("the result pane shows %+v, want a new id, %q, %s, stock 2", b, title, isbn)
	}
	t.Logf("the IDE created book %s %q", b.ID, b.Title)
	got := stack.Router.Do(t, "GET", "/books/"+url.PathEscape(b.ID), "", "", nil)
	if got.Status != 200 || !bytes.Contains(got.Body, []byte(title)) {
		t.Errorf("GET /books/%s after the IDE's createBook: %d %s", b.ID, got.Status, got.Body)
	}
}

// checkREST checks that GET /books in the browser shows the JSON page.
func checkREST(t *testing.T, r *report, title string) {
	t.Helper()
	s := step(t, r.Steps.REST, "REST")
	wantOK(t, "GET /books in the browser", s.Status, s.ContentType, "application/json")
	var page struct {
		Items []struct {
			Title string `json:"title"`
		} `json:"items"`
		TotalCount int `json:"totalCount"`
	}
	if err := json.Unmarshal([]byte(s.Text), &page); err != nil {
		t.Fatalf("the page's text is not JSON: %v\n%s", err, s.Text)
	}
	if len(page.Items) != 3 || page.Items[0].Title != "Brave New World" || page.TotalCount != 33 {
		t.Errorf("GET /books?first=3 shows %d items of %d (first %+v), want 3 of 33 (32 seeded + %q), Brave New World first",
			len(page.Items), page.TotalCount, page.Items, title)
	}
}

// checkScreenshots checks that every screenshot is a PNG in out.
func checkScreenshots(t *testing.T, r *report, out string) {
	t.Helper()
	if len(r.Screenshots) != 4 {
		t.Errorf("%d screenshots, want 4", len(r.Screenshots))
	}
	for _, s := range r.Screenshots {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Errorf("screenshot: %v", err)
			continue
		}
		if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || filepath.Dir(s) != out {
			t.Errorf("%s: not a PNG in %s", s, out)
		}
	}
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
