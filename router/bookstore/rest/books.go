package rest

import (
	"net/http"
	"net/url"

	"bookstore/graph/platform/httpkit"
)

// bookFields selects every scalar field of Book, in the schema's order.
const bookFields = `id isbn title author description publishedYear priceCents currency stock inStock createdAt updatedAt unitsSold`

var (
	listBooksOp = operation{
		query: `query RestListBooks($first: Int, $after: String, $filter: BookFilter, $orderBy: BookOrder) {
  books(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { node { ` + bookFields + ` } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`,
		root:  "books",
		field: trimField(nil, "filter."),
	}
	getBookOp = operation{
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
	vars, e := listVars(r, []string{"search", "author", "inStock", "orderBy"}, func(name, v string, vars, filter map[string]any) *httpkit.Error {
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
	if e != nil {
		httpkit.WriteError(w, e)
		return
	}
	h.list(w, r, listBooksOp, vars)
}

// list runs a connection query and answers its page.
func (h *handler) list(w http.ResponseWriter, r *http.Request, op operation, vars map[string]any) {
	res, e := h.run(r, op, vars)
	if e == nil && res.value == nil {
		h.o.Logger.Error("rest: a connection is null with no error", "path", r.URL.Path)
		e = internal()
	}
	if e != nil {
		httpkit.WriteError(w, e)
		return
	}
	p, err := toPage(res.value)
	if err != nil {
		h.o.Logger.Error("rest: "+err.Error(), "path", r.URL.Path)
		httpkit.WriteError(w, internal())
		return
	}
	httpkit.WriteJSON(w, http.StatusOK, p)
}

// getBook serves GET /books/{id}.
func (h *handler) getBook(w http.ResponseWriter, r *http.Request, id string) {
	h.get(w, r, getBookOp, id, "book")
}

// get runs a query of one object by id and answers it, or 404.
func (h *handler) get(w http.ResponseWriter, r *http.Request, op operation, id, what string) {
	if _, e := query(r); e != nil {
		httpkit.WriteError(w, e)
		return
	}
	if !validID(id) {
		httpkit.WriteError(w, notFound("there is no "+what+" with this id"))
		return
	}
	res, e := h.run(r, op, map[string]any{"id": id})
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
	if _, e := query(r); e != nil {
		httpkit.WriteError(w, e)
		return
	}
	obj, e := h.readObject(w, r)
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
	res, e := h.run(r, op, vars)
	if e == nil && res.value == nil {
		h.o.Logger.Error("rest: a mutation returned null with no error", "path", r.URL.Path)
		e = internal()
	}
	if e != nil {
		httpkit.WriteError(w, e)
		return
	}
	id, err := idOf(res.value)
	if err != nil {
		h.o.Logger.Error("rest: "+err.Error(), "path", r.URL.Path)
		httpkit.WriteError(w, internal())
		return
	}
	w.Header().Set("Location", prefix+url.PathEscape(id))
	if res.replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeRaw(w, http.StatusCreated, res.value)
}
