package ide_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"bookstore/graph/testkit/roundtrip"
	"bookstore/router/bookstore/ide"
)

// fakeVendor stands in for the files `make ide` fetches.
func fakeVendor() fstest.MapFS {
	return fstest.MapFS{
		"graphiql.min.css":            {Data: []byte(".graphiql-container{color:red}")},
		"react.production.min.js":     {Data: []byte("window.React={};")},
		"react-dom.production.min.js": {Data: []byte("window.ReactDOM={};")},
		"graphiql.min.js":             {Data: []byte("window.GraphiQL=function(){};")},
	}
}

// serve runs h on a real HTTP server on 127.0.0.1, as the router would
// mount it.
func serve(t *testing.T, d *ide.IDE) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/graphql", d)
	mux.Handle(ide.AssetPrefix, d.Assets())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// get GETs url with header and returns the answer and its body.
func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	res, b := roundtrip.Do(t, nil, http.MethodGet, url, nil, header)
	return res, string(b)
}

func checkCSP(t *testing.T, res *http.Response) {
	t.Helper()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("Content-Security-Policy %q allows %q", csp, bad)
		}
	}
}

var srcRE = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestPageAndAssets(t *testing.T) {
	vendor := fakeVendor()
	srv := serve(t, ide.NewFS("/graphql", vendor))

	res, page := get(t, srv.URL+"/graphql", http.Header{"Accept": {"text/html"}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("page: status %d: %s", res.StatusCode, page)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("page Content-Type = %q", ct)
	}
	checkCSP(t, res)
	if strings.Contains(page, "<script>") || strings.Contains(page, "<style") {
		t.Errorf("page has an inline script or style:\n%s", page)
	}
	for _, want := range []string{`data-endpoint="/graphql"`, "books(first: 5)", "unitsSold"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// Every file the page links is served, from this origin, with its type
	// and a long cache lifetime.
	wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	linked := map[string]bool{}
	for _, m := range srcRE.FindAllStringSubmatch(page, -1) {
		u := m[1]
		if strings.HasPrefix(u, "data:") {
			continue
		}
		if !strings.HasPrefix(u, ide.AssetPrefix) {
			t.Errorf("page links %q, outside %s", u, ide.AssetPrefix)
			continue
		}
		name := strings.TrimPrefix(u[:strings.Index(u, "?")], ide.AssetPrefix)
		linked[name] = true
		t.Run(name, func(t *testing.T) {
			res, body := get(t, srv.URL+u, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			ext := name[strings.LastIndex(name, "."):]
			if ct := res.Header.Get("Content-Type"); ct != wantType[ext] {
				t.Errorf("Content-Type = %q, want %q", ct, wantType[ext])
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
				t.Errorf("Cache-Control = %q, want a year, immutable", cc)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			if want, ok := vendor[name]; ok && body != string(want.Data) {
				t.Errorf("body = %q, want %q", body, want.Data)
			}
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			res, _ = get(t, srv.URL+u, http.Header{"If-None-Match": {etag}})
			if res.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match: status %d, want 304", res.StatusCode)
			}
			// Without the version, caches must revalidate.
			res, _ = get(t, srv.URL+ide.AssetPrefix+name, nil)
			if cc := res.Header.Get("Cache-Control"); res.StatusCode != http.StatusOK || cc != "no-cache" {
				t.Errorf("unversioned: status %d, Cache-Control %q; want 200, no-cache", res.StatusCode, cc)
			}
		})
	}
	for _, name := range append(ide.VendorFiles(), "ide.js", "ide.css") {
		if !linked[name] {
			t.Errorf("page does not link %s", name)
		}
	}
}

func TestAssetNotFound(t *testing.T) {
	srv := serve(t, ide.NewFS("/graphql", fakeVendor()))
	for _, p := range []string{"nope.js", "../ide.go", "static/ide.js", "", ".gitignore"} {
		res, _ := get(t, srv.URL+ide.AssetPrefix+p, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s%s: status %d, want 404", ide.AssetPrefix, p, res.StatusCode)
		}
	}
}

func TestMissingAssets(t *testing.T) {
	vendor := fakeVendor()
	delete(vendor, "graphiql.min.js")
	delete(vendor, "graphiql.min.css")
	d := ide.NewFS("/graphql", vendor)
	if got := d.Missing(); len(got) != 2 {
		t.Errorf("Missing() = %v, want the two GraphiQL files", got)
	}
	srv := serve(t, d)

	res, page := get(t, srv.URL+"/graphql", http.Header{"Accept": {"text/html"}})
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", res.StatusCode)
	}
	checkCSP(t, res)
	for _, want := range []string{"make ide", "graphiql.min.js", "graphiql.min.css", "POST /graphql"} {
		if !strings.Contains(page, want) {
			t.Errorf("fallback page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script") {
		t.Errorf("fallback page loads scripts:\n%s", page)
	}
	res, body := get(t, srv.URL+ide.AssetPrefix+"graphiql.min.js", nil)
	if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "make ide") {
		t.Errorf("missing asset: status %d body %q, want 404 naming make ide", res.StatusCode, body)
	}
	// The page's own stylesheet is still served.
	if res, _ := get(t, srv.URL+ide.AssetPrefix+"ide.css", nil); res.StatusCode != http.StatusOK {
		t.Errorf("ide.css: status %d", res.StatusCode)
	}
}

func TestEmptyFS(t *testing.T) {
	d := ide.NewFS("/graphql", fstest.MapFS{})
	if got, want := len(d.Missing()), len(ide.VendorFiles()); got != want {
		t.Errorf("Missing() has %d files, want %d", got, want)
	}
}

// TestEmbedded checks the files this build embeds: the page works either
// way, and fetched GraphiQL CSS loads nothing from outside.
func TestEmbedded(t *testing.T) {
	d := ide.New("/graphql")
	srv := serve(t, d)
	res, _ := get(t, srv.URL+"/graphql", http.Header{"Accept": {"text/html"}})
	if len(d.Missing()) > 0 {
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status %d with files missing, want 503", res.StatusCode)
		}
		t.Skipf("IDE assets not fetched (%v); run make ide to test them", d.Missing())
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	_, css := get(t, srv.URL+ide.AssetPrefix+"graphiql.min.css", nil)
	for _, m := range regexp.MustCompile(`url\(\s*["']?([^"')]*)`).FindAllStringSubmatch(css, -1) {
		if !strings.HasPrefix(m[1], "data:") && !strings.HasPrefix(m[1], "#") {
			t.Errorf("graphiql.min.css loads %q", m[1])
		}
	}
	if strings.Contains(css, "@import") {
		t.Error("graphiql.min.css has an @import")
	}
	_, js := get(t, srv.URL+ide.AssetPrefix+"graphiql.min.js", nil)
	for _, cdn := range []string{"fonts.googleapis.com", "fonts.gstatic.com", "cdn.jsdelivr.net", "unpkg.com/"} {
		if strings.Contains(js, cdn) {
			t.Errorf("graphiql.min.js mentions %s", cdn)
		}
	}
}

func TestPageMethods(t *testing.T) {
	srv := serve(t, ide.NewFS("/graphql", fakeVendor()))
	tests := []struct {
		method string
		status int
	}{
		{http.MethodGet, http.StatusOK},
		{http.MethodHead, http.StatusOK},
		{http.MethodPost, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		for _, p := range []string{"/graphql", ide.AssetPrefix + "ide.js"} {
			req, _ := http.NewRequest(tt.method, srv.URL+p, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status {
				t.Errorf("%s %s: status %d, want %d", tt.method, p, res.StatusCode, tt.status)
			}
		}
	}
}

func TestWantsIDE(t *testing.T) {
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	tests := []struct {
		name   string
		method string
		target string
		accept []string
		want   bool
	}{
		{"browser", http.MethodGet, "/graphql", []string{browser}, true},
		{"plain text/html", http.MethodGet, "/graphql", []string{"text/html"}, true},
		{"second Accept header", http.MethodGet, "/graphql", []string{"application/json", "text/html"}, true},
		{"parameters", http.MethodGet, "/graphql", []string{"TEXT/HTML; charset=utf-8"}, true},
		{"other parameter", http.MethodGet, "/graphql?foo=1", []string{browser}, true},
		{"GET query", http.MethodGet, "/graphql?query=%7B__typename%7D", []string{browser}, false},
		{"empty query parameter", http.MethodGet, "/graphql?query=", []string{browser}, false},
		{"POST", http.MethodPost, "/graphql", []string{browser}, false},
		{"HEAD", http.MethodHead, "/graphql", []string{browser}, false},
		{"curl", http.MethodGet, "/graphql", []string{"*/*"}, false},
		{"json client", http.MethodGet, "/graphql", []string{"application/json"}, false},
		{"graphql-response", http.MethodGet, "/graphql", []string{"application/graphql-response+json, application/json"}, false},
		{"no Accept", http.MethodGet, "/graphql", nil, false},
		{"html refused", http.MethodGet, "/graphql", []string{"text/html;q=0, application/json"}, false},
		{"xhtml only", http.MethodGet, "/graphql", []string{"application/xhtml+xml"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			for _, a := range tt.accept {
				r.Header.Add("Accept", a)
			}
			if got := ide.WantsIDE(r); got != tt.want {
				t.Errorf("WantsIDE(%s %s, Accept %q) = %v, want %v", tt.method, tt.target, tt.accept, got, tt.want)
			}
		})
	}
}
