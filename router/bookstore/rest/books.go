package rest

import (
	"net/http"
	"net/url"

	"bookstore/graph/platform/httpkit"
)

// bookFields selects every scalar field of Book, in the schema's order.
const bookFields = `id isbn title author description publishedYear priceCents currency stock inStock createdAt updatedAt unitsSold`

var (
	listBooksOp = listOp("RestListBooks", "books", bookFields, "filter: BookFilter", "orderBy: BookOrder")
	getBookOp   = operation{
		query: `query RestGetBook($id: ID!) { book(id: $id) { ` + bookFields + ` } }`,
		root:  "book",
	}
	createBookOp = operation{
		query: `mutation RestCreateBook($input: CreateBookInput!) { createBook(input: $input) { ` + bookFields + ` } }`,
		root:  "createBook",
		field: trimField(nil, "input."),
	}
)

// listBooks serves GET /books?first&after&search&author&inStock&orderBy.
func (h *handler) listBooks(w http.ResponseWriter, r *http.Request) {
	h.list(w, r, listBooksOp, []string{"search", "author", "inStock", "orderBy"}, func(name, v string, vars, filter map[string]any) *httpkit.Error {
		switch name {
		case "search", "author":
			filter[name] = v
		case "inStock":
			b, e := boolParam(name, v)
			if e != nil {
				return e
			}
			filter[name] = b
		case "orderBy":
			o, e := enumParam(name, v, "TITLE_ASC", "TITLE_DESC", "PRICE_ASC", "PRICE_DESC", "NEWEST")
			if e != nil {
				return e
			}
			vars[name] = o
		}
		return nil
	})
}

// list runs a connection query, with the query parameters that listVars
// reads through params and set, and answers its page.
func (h *handler) list(w http.ResponseWriter, r *http.Request, op operation, params []string, set func(name, v string, vars, filter map[string]any) *httpkit.Error) {
	vars, e := listVars(r, params, set)
	if e != nil {
		httpkit.WriteError(w, e)
		return
	}
	if _, p, ok := runDecoded(h, w, r, op, vars, "a connection is null with no error", toPage); ok {
		httpkit.WriteJSON(w, http.StatusOK, p)
	}
}

// getBook serves GET /books/{id}.
func (h *handler) getBook(w http.ResponseWriter, r *http.Request, id string) {
	h.byID(w, r, getBookOp, id, "book", false)
}

// byID runs an operation on one object by id, what, and answers its value
// with 200. An id that cannot name one is 404, and so is a null answer to
// a query; a null answer to a mutation, with no error, is internal.
func (h *handler) byID(w http.ResponseWriter, r *http.Request, op operation, id, what string, mutation bool) {
	if _, e := query(r); e != nil {
		httpkit.WriteError(w, e)
		return
	}
	if !validID(id) {
		httpkit.WriteError(w, notFound("there is no "+what+" with this id"))
		return
	}
	vars := map[string]any{"id": id}
	if mutation {
		if res, ok := h.runValue(w, r, op, vars, op.root+" returned null with no error"); ok {
			writeRaw(w, http.StatusOK, res.value)
		}
		return
	}
	res, e := h.run(r, op, vars)
	if e == nil && res.value == nil {
		e = notFound("there is no " + what + " with this id")
	}
	if e != nil {
		httpkit.WriteError(w, e)
		return
	}
	writeRaw(w, http.StatusOK, res.value)
}

// createBook serves POST /books: createBook, admin only.
func (h *handler) createBook(w http.ResponseWriter, r *http.Request) {
	obj, e := h.readInput(w, r)
	if e != nil {
		httpkit.WriteError(w, e)
		return
	}
	var (
		isbn, title, author, description string
		publishedYear, priceCents, stock int32
	)
	if e := decodeMembers(obj, "",
		member{name: "isbn", into: &isbn, required: true},
		member{name: "title", into: &title, required: true},
		member{name: "author", into: &author, required: true},
		member{name: "description", into: &description},
		member{name: "publishedYear", into: &publishedYear},
		member{name: "priceCents", into: &priceCents, required: true},
		member{name: "stock", into: &stock},
	); e != nil {
		httpkit.WriteError(w, e)
		return
	}
	input := map[string]any{"isbn": isbn, "title": title, "author": author, "priceCents": priceCents}
	if present(obj, "description") {
		input["description"] = description
	}
	if present(obj, "publishedYear") {
		input["publishedYear"] = publishedYear
	}
	if present(obj, "stock") {
		input["stock"] = stock
	}
	h.create(w, r, createBookOp, map[string]any{"input": input}, "/books/")
}

// create runs a mutation that creates an object and answers it with 201
// and its Location, under prefix.
func (h *handler) create(w http.ResponseWriter, r *http.Request, op operation, vars map[string]any, prefix string) {
	if res, id, ok := runDecoded(h, w, r, op, vars, "a mutation returned null with no error", idOf); ok {
		writeCreated(w, prefix+url.PathEscape(id), res.replayed, res.value)
	}
}
