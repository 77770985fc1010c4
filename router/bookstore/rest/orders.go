package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"bookstore/graph/apierror"
	"bookstore/graph/platform/httpkit"
)

// orderFields selects an order's scalar fields and its lines.
const orderFields = `id customerEmail status
    items { book { id title author isbn } quantity unitPriceCents lineTotalCents }
    totalCents currency createdAt cancelledAt`

// idempotencyHeader carries placeOrder's idempotencyKey.
const idempotencyHeader = "Idempotency-Key"

var (
	listOrdersOp = listOp("RestListOrders", "orders", orderFields, "filter: OrderFilter")
	getOrderOp   = operation{
		query: `query RestGetOrder($id: ID!) { order(id: $id) { ` + orderFields + ` } }`,
		root:  "order",
	}
	// placeOrderOp asks orders-subgraph alone: what it answers is what was
	// committed. The books' details come from orderBooksOp after.
	placeOrderOp = operation{
		query: `mutation RestPlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { id customerEmail status
    items { book { id } quantity unitPriceCents lineTotalCents }
    totalCents currency createdAt cancelledAt } }`,
		root:  "placeOrder",
		field: trimField(map[string]string{"input.idempotencyKey": idempotencyHeader}, "input."),
	}
	orderBooksOp = operation{
		query: `query RestOrderBooks($id: ID!) { order(id: $id) { items { book { id title author isbn } } } }`,
		root:  "order",
	}
	cancelOrderOp = operation{
		query: `mutation RestCancelOrder($id: ID!) { cancelOrder(id: $id) { ` + orderFields + ` } }`,
		root:  "cancelOrder",
	}
)

// listOrders serves GET /orders?first&after&customerEmail&status.
func (h *handler) listOrders(w http.ResponseWriter, r *http.Request) {
	h.list(w, r, listOrdersOp, []string{"customerEmail", "status"}, func(name, v string, _, filter map[string]any) *httpkit.Error {
		switch name {
		case "customerEmail":
			filter[name] = v
		case "status":
			s, e := enumParam(name, v, "PLACED", "CANCELLED")
			if e != nil {
				return e
			}
			filter[name] = s
		}
		return nil
	})
}

// getOrder serves GET /orders/{id}.
func (h *handler) getOrder(w http.ResponseWriter, r *http.Request, id string) {
	h.byID(w, r, getOrderOp, id, "order", false)
}

// placeOrder serves POST /orders, with an optional Idempotency-Key.
func (h *handler) placeOrder(w http.ResponseWriter, r *http.Request) {
	obj, e := h.readInput(w, r)
	if e != nil {
		httpkit.WriteError(w, e)
		return
	}
	input, e := orderInput(obj)
	if e != nil {
		httpkit.WriteError(w, e)
		return
	}
	if keys, ok := r.Header[idempotencyHeader]; ok {
		key, e := idempotencyKey(keys)
		if e != nil {
			httpkit.WriteError(w, e)
			return
		}
		input["idempotencyKey"] = key
	}
	res, order, ok := runDecoded(h, w, r, placeOrderOp, map[string]any{"input": input}, "placeOrder returned null with no error", decodePlaced)
	if !ok {
		return
	}
	// The order is committed: from here on the answer is 201, whatever
	// else fails.
	h.fillBooks(r, order)
	body, err := json.Marshal(order) // escaped as httpkit.WriteJSON would
	if err != nil {
		h.fail(w, r, fmt.Errorf("encoding an order: %w", err))
		return
	}
	writeCreated(w, "/orders/"+url.PathEscape(order.ID), res.replayed, body)
}

// placedOrder is placeOrder's answer, its members in the contract's order.
// A book's title, author and isbn are null until fillBooks finds them.
type placedOrder struct {
	ID            string          `json:"id"`
	CustomerEmail json.RawMessage `json:"customerEmail"`
	Status        json.RawMessage `json:"status"`
	Items         []placedItem    `json:"items"`
	TotalCents    json.RawMessage `json:"totalCents"`
	Currency      json.RawMessage `json:"currency"`
	CreatedAt     json.RawMessage `json:"createdAt"`
	CancelledAt   json.RawMessage `json:"cancelledAt"`
}

type placedItem struct {
	Book           itemBook        `json:"book"`
	Quantity       json.RawMessage `json:"quantity"`
	UnitPriceCents json.RawMessage `json:"unitPriceCents"`
	LineTotalCents json.RawMessage `json:"lineTotalCents"`
}

type itemBook struct {
	ID     json.RawMessage `json:"id"`
	Title  json.RawMessage `json:"title"`
	Author json.RawMessage `json:"author"`
	ISBN   json.RawMessage `json:"isbn"`
}

func decodePlaced(v json.RawMessage) (*placedOrder, error) {
	var o placedOrder
	if err := json.Unmarshal(v, &o); err != nil {
		return nil, fmt.Errorf("decoding a placed order: %w", err)
	}
	if o.ID == "" {
		return nil, fmt.Errorf("the placed order has no id")
	}
	return &o, nil
}

// fillBooks asks for the details of the order's books (title, author,
// isbn) in a query of its own, which the router retries on another
// replica like any query, and which fillBooks asks again, twice, over a
// second, while a subgraph is unavailable. It is best-effort: the order is
// committed, so a failure here leaves those details null (and is logged)
// rather than turning the answer into an error that would hide the order.
func (h *handler) fillBooks(r *http.Request, o *placedOrder) {
	var res result
	var e *httpkit.Error
	for _, wait := range []time.Duration{0, 250 * time.Millisecond, 750 * time.Millisecond} {
		if wait > 0 {
			select {
			case <-r.Context().Done():
			case <-time.After(wait):
			}
		}
		if r.Context().Err() != nil {
			break
		}
		res, e = h.run(r, orderBooksOp, map[string]any{"id": o.ID})
		if e == nil || e.Code != apierror.SubgraphUnavailable {
			break
		}
	}
	if e != nil || res.value == nil {
		msg := "no such order"
		if e != nil {
			msg = e.Error()
		}
		h.o.Logger.Warn("rest: placeOrder committed; its books' details are unavailable, answered null", "order", o.ID, "err", msg)
		return
	}
	var details struct {
		Items []struct {
			Book *itemBook `json:"book"`
		} `json:"items"`
	}
	if err := json.Unmarshal(res.value, &details); err != nil || len(details.Items) != len(o.Items) {
		h.o.Logger.Warn("rest: placeOrder committed; its books' details do not match it, answered null", "order", o.ID)
		return
	}
	for i, it := range details.Items {
		if b := it.Book; b != nil && bytes.Equal(b.ID, o.Items[i].Book.ID) {
			o.Items[i].Book = *b
		}
	}
}

// orderInput decodes the body of POST /orders into placeOrder's input:
// exactly {"customerEmail", "items": [{"bookId", "quantity"}]}.
func orderInput(obj map[string]json.RawMessage) (map[string]any, *httpkit.Error) {
	var (
		email string
		items []json.RawMessage
	)
	if e := decodeMembers(obj, "",
		member{name: "customerEmail", into: &email, required: true},
		member{name: "items", into: &items, required: true},
	); e != nil {
		return nil, e
	}
	lines := make([]any, len(items))
	for i, raw := range items {
		path := "items[" + strconv.Itoa(i) + "]"
		var item map[string]json.RawMessage
		if !bytes.HasPrefix(raw, []byte("{")) || json.Unmarshal(raw, &item) != nil {
			return nil, badInput(path, "must be an object {\"bookId\", \"quantity\"}")
		}
		var (
			bookID   string
			quantity int32
		)
		if e := decodeMembers(item, path+".",
			member{name: "bookId", into: &bookID, required: true},
			member{name: "quantity", into: &quantity, required: true},
		); e != nil {
			return nil, e
		}
		lines[i] = map[string]any{"bookId": bookID, "quantity": quantity}
	}
	return map[string]any{"customerEmail": email, "items": lines}, nil
}

// idempotencyKey checks the Idempotency-Key header: once, 1..200
// characters of UTF-8.
func idempotencyKey(values []string) (string, *httpkit.Error) {
	if len(values) != 1 {
		return "", badInput(idempotencyHeader, "is given %d times; give it once", len(values))
	}
	key := values[0]
	if !utf8.ValidString(key) {
		return "", badInput(idempotencyHeader, "is not UTF-8")
	}
	if n := utf8.RuneCountInString(key); n < 1 || n > 200 {
		return "", badInput(idempotencyHeader, "must be 1 to 200 characters, got %d", n)
	}
	return key, nil
}

// cancelOrder serves POST /orders/{id}/cancel: cancelOrder, admin only.
// A body, of any type, is ignored.
func (h *handler) cancelOrder(w http.ResponseWriter, r *http.Request, id string) {
	h.byID(w, r, cancelOrderOp, id, "order", true)
}

// present reports whether obj has a member name that is not null.
func present(obj map[string]json.RawMessage, name string) bool {
	v, ok := obj[name]
	return ok && !bytes.Equal(v, []byte("null"))
}

// idOf returns the "id" of an object's JSON.
func idOf(obj json.RawMessage) (string, error) {
	var v struct {
		ID *string `json:"id"`
	}
	if err := json.Unmarshal(obj, &v); err != nil {
		return "", fmt.Errorf("decoding a created object's id: %w", err)
	}
	if v.ID == nil {
		return "", fmt.Errorf("the created object has no id")
	}
	return *v.ID, nil
}
