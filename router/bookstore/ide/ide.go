// Package ide serves the router's GraphQL IDE: GraphiQL, with React, from
// files embedded in the binary, so the IDE works with no internet access.
//
// The third-party files (GraphiQL 4.1.2 and React 18.3.1 UMD builds) are not
// committed: `make ide` fetches them with npm, pinned by _npm/package-lock.json
// and checked against _npm/SHA256SUMS, into assets/. A binary built without
// them still compiles and serves a page that says what is missing and how to
// get it.
//
// The page runs no inline script and loads nothing from outside its own
// origin; its Content-Security-Policy enforces both.
package ide

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// AssetPrefix is the URL path under which Assets serves the IDE's files. The
// router mounts Assets there: mux.Handle(ide.AssetPrefix, page.Assets()).
const AssetPrefix = "/ide/"

// DefaultQuery is the query the IDE shows on a first visit: one request that
// the router answers from both subgraphs (unitsSold comes from orders).
const DefaultQuery = `# Welcome to the bookstore's GraphQL IDE.
#
# This query is federated: title, author and priceCents come from the
# books subgraph, unitsSold from the orders subgraph. Admin-only
# operations need a header (Headers tab below):
#   {"Authorization": "Bearer <token>"}

{
  books(first: 5) {
    edges {
      node {
        title
        author
        priceCents
        unitsSold
      }
    }
  }
}
`

// Vendor files, fetched by `make ide`, in the order the page loads them.
const (
	fileGraphiQLCSS = "graphiql.min.css"
	fileReact       = "react.production.min.js"
	fileReactDOM    = "react-dom.production.min.js"
	fileGraphiQL    = "graphiql.min.js"
)

// VendorFiles lists the third-party files the IDE needs in its assets
// directory.
func VendorFiles() []string {
	return []string{fileGraphiQLCSS, fileReact, fileReactDOM, fileGraphiQL}
}

// Files of our own, always embedded.
const (
	fileIDEJS  = "ide.js"
	fileIDECSS = "ide.css"
)

//go:embed all:assets
var vendorFS embed.FS

//go:embed static/ide.js static/ide.css
var staticFS embed.FS

// IDE serves the GraphQL IDE page and its files. It is immutable once made
// and safe for concurrent use.
type IDE struct {
	endpoint string
	files    map[string]asset // by name, under AssetPrefix
	missing  []string         // vendor files not found
}

type asset struct {
	body        []byte
	contentType string
	hash        string // hex SHA-256 prefix, the cache-busting version
}

// New returns the IDE for the GraphQL endpoint at the URL path endpoint
// (e.g. "/graphql"), with the files embedded in the binary.
func New(endpoint string) *IDE {
	sub, err := fs.Sub(vendorFS, "assets")
	if err != nil {
		panic(fmt.Sprintf("ide: embedded assets: %v", err)) // cannot happen: the directory is embedded
	}
	return NewFS(endpoint, sub)
}

// NewFS is New with the vendor files (see VendorFiles) read from the root
// of vendor instead of the embedded ones. A file that cannot be read counts
// as missing.
func NewFS(endpoint string, vendor fs.FS) *IDE {
	d := &IDE{endpoint: endpoint, files: map[string]asset{}}
	for _, name := range VendorFiles() {
		b, err := fs.ReadFile(vendor, name)
		if err != nil {
			d.missing = append(d.missing, name)
			continue
		}
		d.files[name] = newAsset(name, b)
	}
	for _, name := range []string{fileIDEJS, fileIDECSS} {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic(fmt.Sprintf("ide: embedded %s: %v", name, err)) // cannot happen: embedded by name
		}
		d.files[name] = newAsset(name, b)
	}
	return d
}

func newAsset(name string, b []byte) asset {
	sum := sha256.Sum256(b)
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	}
	return asset{body: b, contentType: ct, hash: hex.EncodeToString(sum[:8])}
}

// Missing lists the vendor files the IDE lacks; empty means it is complete.
// The router may log it at start.
func (d *IDE) Missing() []string { return append([]string(nil), d.missing...) }

// WantsIDE reports whether r is a browser asking for the IDE rather than a
// GraphQL request: a GET whose Accept header admits text/html and whose URL
// has no query parameter.
func WantsIDE(r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.Query().Has("query") {
		return false
	}
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil || mt != "text/html" {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f <= 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

// ServeHTTP serves the IDE page (GET or HEAD), or, when vendor files are
// missing, a page that says so and names the make target that fetches them
// (status 503).
func (d *IDE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the IDE page answers GET only", http.StatusMethodNotAllowed)
		return
	}
	nonce, err := newNonce()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy(nonce))
	h.Set("Cache-Control", "no-store") // the nonce is per response
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")

	data := pageData{
		Endpoint:     d.endpoint,
		DefaultQuery: DefaultQuery,
		Nonce:        nonce,
		Missing:      d.missing,
		URL:          map[string]string{},
	}
	for name, a := range d.files {
		data.URL[name] = AssetPrefix + name + "?v=" + a.hash
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if len(d.missing) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(buf.Bytes())
}

// contentSecurityPolicy allows scripts, styles and connections to this
// origin only. Fonts and images may also be data: URLs (GraphiQL's CSS
// inlines its fonts and icons). The one <style> element GraphiQL creates
// (a scroll lock in dialogs) carries the nonce, which ide.js hands to it.
func contentSecurityPolicy(nonce string) string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'nonce-" + nonce + "'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src 'self'",
		"manifest-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

func newNonce() (string, error) {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("ide: making a nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Assets returns the handler of the IDE's files. It expects request paths
// under AssetPrefix (mount it there, without stripping). A file requested
// with its current version (?v=, as the page links it) may be cached for a
// year; otherwise caches revalidate it by ETag.
func (d *IDE) Assets() http.Handler {
	return http.HandlerFunc(d.serveAsset)
}

var errNotAsset = errors.New("not an IDE file")

func (d *IDE) lookup(urlPath string) (string, asset, error) {
	name, ok := strings.CutPrefix(urlPath, AssetPrefix)
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", asset{}, errNotAsset
	}
	a, ok := d.files[name]
	if !ok {
		return name, asset{}, errNotAsset
	}
	return name, a, nil
}

func (d *IDE) serveAsset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "IDE files answer GET only", http.StatusMethodNotAllowed)
		return
	}
	name, a, err := d.lookup(r.URL.Path)
	if err != nil {
		msg := "not found"
		for _, m := range d.missing {
			if m == name {
				msg = "not found: " + name + " is not in this build; run `make ide` and rebuild"
			}
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.Error(w, msg, http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", `"`+a.hash+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}

type pageData struct {
	Endpoint     string
	DefaultQuery string
	Nonce        string
	Missing      []string
	URL          map[string]string // asset name → versioned URL
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Bookstore · GraphQL IDE</title>
<link rel="icon" href="data:,">
{{- if not .Missing}}
<link rel="stylesheet" href="{{index .URL "graphiql.min.css"}}">
{{- end}}
<link rel="stylesheet" href="{{index .URL "ide.css"}}">
</head>
<body>
{{- if .Missing}}
<main class="ide-missing">
<h1>The GraphQL IDE is not available in this build</h1>
<p>The IDE's files are missing from this binary:</p>
<ul>{{range .Missing}}<li><code>{{.}}</code></li>{{end}}</ul>
<p>Run <code>make ide</code> (it fetches them with npm into <code>router/bookstore/ide/assets/</code>),
then rebuild and restart the router (<code>make run</code> does both).</p>
<p>The GraphQL endpoint works without the IDE: <code>POST {{.Endpoint}}</code> with a JSON body
<code>{"query": "{ books(first: 5) { edges { node { title } } } }"}</code>.</p>
</main>
{{- else}}
<div id="graphiql" data-endpoint="{{.Endpoint}}" data-default-query="{{.DefaultQuery}}">Loading the GraphQL IDE…</div>
<noscript><p class="ide-noscript">The GraphQL IDE needs JavaScript. The endpoint is <code>{{.Endpoint}}</code>.</p></noscript>
<script src="{{index .URL "react.production.min.js"}}"></script>
<script src="{{index .URL "react-dom.production.min.js"}}"></script>
<script src="{{index .URL "graphiql.min.js"}}"></script>
<script src="{{index .URL "ide.js"}}" nonce="{{.Nonce}}"></script>
{{- end}}
</body>
</html>
`))
