// Package rest serves the bookstore's REST shims, /books and /orders, in
// front of the router's GraphQL pipeline.
//
// Each route runs one constant GraphQL operation, with the request's values
// as variables, through the same pipeline as /graphql, so both faces answer
// the same. The routes, statuses and bodies are the contract's
// (../shared/contract/README.md):
//
//	GET  /books                 books(first, after, filter, orderBy)   200 page
//	GET  /books/{id}            book(id)                               200 Book, 404
//	POST /books                 createBook (admin)                     201 Book, Location
//	GET  /orders                orders(first, after, filter) (admin)   200 page
//	GET  /orders/{id}           order(id)                              200 Order, 404
//	POST /orders                placeOrder                             201 Order, Location
//	POST /orders/{id}/cancel    cancelOrder (admin)                    200 Order
//
// A page is {"items": [...], "pageInfo": {"hasNextPage", "endCursor"},
// "totalCount": n}. An error is {"error": {"code", "message", "details"}},
// where details, when present, holds the GraphQL error's other extensions,
// with a "field" renamed to what the REST client sent: a body field
// ("items[1].quantity"), a query parameter ("first") or a header
// ("Idempotency-Key").
//
// The shims are strict about what they are sent. A query parameter the
// route does not take, or one given twice, is 400 BAD_USER_INPUT: a typo
// such as instock=true would otherwise silently list every book. A body
// field the operation does not take, even one differing only in case, is
// 400 BAD_REQUEST; a missing, null or mistyped required one is 400
// BAD_USER_INPUT; a null optional one is as if left out. HEAD is served
// wherever GET is. An id that cannot name
// anything (not UTF-8, say) is 404 NOT_FOUND, never bad input.
package rest

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"bookstore/graph/apierror"
	"bookstore/graph/platform/httpkit"
	"bookstore/router/federation/gateway"
)

// Doer runs one GraphQL operation through the router's pipeline.
// *gateway.Gateway is one.
type Doer interface {
	Do(ctx context.Context, req *gateway.Request) *gateway.Response
}

// DefaultMaxBodyBytes is the request body limit when none is given: 1 MiB.
// Package server's /graphql uses it too, and the router's configuration
// (package config) takes it as its default.
const DefaultMaxBodyBytes = 1 << 20

// Options configure the REST handler.
type Options struct {
	// Gateway runs the shims' operations.
	Gateway Doer
	// Logger, optional, receives what the client is not told.
	Logger *slog.Logger
	// MaxBodyBytes limits a request body (default DefaultMaxBodyBytes);
	// past it the answer is 413.
	MaxBodyBytes int64
}

// New returns the handler of the REST shims. The router mounts it at
// /books, /books/, /orders and /orders/; any other path is 404 NOT_FOUND.
func New(o Options) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &handler{o: o, routes: routes()}
}

type handler struct {
	o      Options
	routes []route
}

// route is one path of the shims and its handlers.
type route struct {
	// pattern is the path; a segment {name} matches any one segment.
	pattern string
	// methods returns the handlers, given the values of the pattern's
	// parameters in order.
	methods func(h *handler, params []string) methods
	// segments is the pattern split at its slashes, once.
	segments []string
}

// routes are the shims' routes.
func routes() []route {
	return []route{
		newRoute("/books", func(h *handler, _ []string) methods {
			return methods{get: h.listBooks, post: h.createBook}
		}),
		newRoute("/books/{id}", func(h *handler, p []string) methods {
			return methods{get: func(w http.ResponseWriter, r *http.Request) { h.getBook(w, r, p[0]) }}
		}),
		newRoute("/orders", func(h *handler, _ []string) methods {
			return methods{get: h.listOrders, post: h.placeOrder}
		}),
		newRoute("/orders/{id}", func(h *handler, p []string) methods {
			return methods{get: func(w http.ResponseWriter, r *http.Request) { h.getOrder(w, r, p[0]) }}
		}),
		newRoute("/orders/{id}/cancel", func(h *handler, p []string) methods {
			return methods{post: func(w http.ResponseWriter, r *http.Request) { h.cancelOrder(w, r, p[0]) }}
		}),
	}
}

// newRoute makes a route, splitting its pattern once.
func newRoute(pattern string, methods func(h *handler, params []string) methods) route {
	return route{pattern: pattern, methods: methods, segments: strings.Split(strings.TrimPrefix(pattern, "/"), "/")}
}

// match reports whether the path's segments match the route's pattern,
// and returns the parameters' values.
func (rt route) match(segs []string) ([]string, bool) {
	if len(rt.segments) != len(segs) {
		return nil, false
	}
	var params []string
	for i, p := range rt.segments {
		switch {
		case strings.HasPrefix(p, "{"):
			params = append(params, segs[i])
		case p != segs[i]:
			return nil, false
		}
	}
	return params, true
}

// Routes lists the routes the handler serves, each as "METHOD /pattern"
// ("GET /books/{id}"), HEAD wherever GET is, in a fixed order.
func Routes() []string {
	var out []string
	for _, rt := range routes() {
		params := make([]string, strings.Count(rt.pattern, "{"))
		for _, m := range rt.methods(&handler{}, params).allowed() {
			out = append(out, m+" "+rt.pattern)
		}
	}
	return out
}

// methods are the handlers of one resource; nil ones are not allowed.
type methods struct {
	get, post http.HandlerFunc
}

// allowed lists the methods served, as Allow names them.
func (m methods) allowed() []string {
	var allow []string
	if m.get != nil {
		allow = append(allow, http.MethodGet, http.MethodHead)
	}
	if m.post != nil {
		allow = append(allow, http.MethodPost)
	}
	return allow
}

// serve dispatches on the method, answering 405 with Allow when the
// resource has no handler for it.
func (m methods) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && m.get != nil:
		m.get(w, r)
	case r.Method == http.MethodPost && m.post != nil:
		m.post(w, r)
	default:
		allow := m.allowed()
		w.Header().Set("Allow", strings.Join(allow, ", "))
		httpkit.WriteError(w, httpkit.NewError(http.StatusMethodNotAllowed, apierror.BadRequest,
			"method "+r.Method+" is not allowed on "+r.URL.Path+"; use "+strings.Join(allow, " or ")))
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if segs, ok := splitPath(r.URL); ok {
		for _, rt := range h.routes {
			if params, ok := rt.match(segs); ok {
				rt.methods(h, params).serve(w, r)
				return
			}
		}
	}
	httpkit.WriteError(w, notFound("no route "+r.URL.Path))
}

// splitPath returns the unescaped segments of the request's path, so that
// an id may hold an escaped slash. It fails on an empty segment (a trailing
// slash, say), and on a bad escape.
func splitPath(u *url.URL) ([]string, bool) {
	segs := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	for i, s := range segs {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" {
			return nil, false
		}
		segs[i] = v
	}
	return segs, true
}

// validID reports whether id could name something. An id that cannot is
// answered 404 without asking the subgraphs: it is never bad input.
func validID(id string) bool {
	return utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}
