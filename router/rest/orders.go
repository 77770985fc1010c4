package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// orderFields selects an order's scalar fields and its lines.
const orderFields = `id customerEmail status
    items { book { id title author isbn } quantity unitPriceCents lineTotalCents }
    totalCents currency createdAt cancelledAt`

// idempotencyHeader carries placeOrder's idempotencyKey.
const idempotencyHeader = "Idempotency-Key"

var (
	listOrdersOp = operation{
		query: `query RestListOrders($first: Int, $after: String, $filter: OrderFilter) {
  orders(first: $first, after: $after, filter: $filter) {
    edges { node { ` + orderFields + ` } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`,
		root:  "orders",
		field: trimField(nil, "filter."),
	}
	getOrderOp = operation{
		query: `query RestGetOrder($id: ID!) { order(id: $id) { ` + orderFields + ` } }`,
		root:  "order",
	}
	placeOrderOp = operation{
		query: `mutation RestPlaceOrder($input: PlaceOrderInput!) { placeOrder(input: $input) { ` + orderFields + ` } }`,
		root:  "placeOrder",
		field: trimField(map[string]string{"input.idempotencyKey": idempotencyHeader}, "input."),
	}
	cancelOrderOp = operation{
		query: `mutation RestCancelOrder($id: ID!) { cancelOrder(id: $id) { ` + orderFields + ` } }`,
		root:  "cancelOrder",
	}
)

// listOrders serves GET /orders?first&after&customerEmail&status.
func (h *handler) listOrders(w http.ResponseWriter, r *http.Request) {
	vars, e := listVars(r, []string{"customerEmail", "status"}, func(name, v string, _, filter map[string]any) *apiError {
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
	if e != nil {
		writeError(w, e)
		return
	}
	h.list(w, r, listOrdersOp, vars)
}

// getOrder serves GET /orders/{id}.
func (h *handler) getOrder(w http.ResponseWriter, r *http.Request, id string) {
	h.get(w, r, getOrderOp, id, "order")
}

// placeOrder serves POST /orders, with an optional Idempotency-Key.
func (h *handler) placeOrder(w http.ResponseWriter, r *http.Request) {
	if _, e := query(r); e != nil {
		writeError(w, e)
		return
	}
	obj, e := h.readObject(w, r)
	if e != nil {
		writeError(w, e)
		return
	}
	input, e := orderInput(obj)
	if e != nil {
		writeError(w, e)
		return
	}
	if keys, ok := r.Header[idempotencyHeader]; ok {
		key, e := idempotencyKey(keys)
		if e != nil {
			writeError(w, e)
			return
		}
		input["idempotencyKey"] = key
	}
	h.create(w, r, placeOrderOp, map[string]any{"input": input}, "/orders/")
}

// orderInput decodes the body of POST /orders into placeOrder's input:
// exactly {"customerEmail", "items": [{"bookId", "quantity"}]}.
func orderInput(obj map[string]json.RawMessage) (map[string]any, *apiError) {
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
func idempotencyKey(values []string) (string, *apiError) {
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
	if _, e := query(r); e != nil {
		writeError(w, e)
		return
	}
	if !validID(id) {
		writeError(w, notFound("there is no order with this id"))
		return
	}
	res, e := h.run(r, cancelOrderOp, map[string]any{"id": id})
	if e == nil && res.value == nil {
		h.o.Logger.Error("rest: cancelOrder returned null with no error", "path", r.URL.Path)
		e = internal()
	}
	if e != nil {
		writeError(w, e)
		return
	}
	writeRaw(w, http.StatusOK, res.value)
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
