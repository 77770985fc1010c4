package gateway

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"

	"bookstore/router/federation/execute"
)

// Request is one GraphQL operation as the router's pipeline takes it, from
// /graphql or from a REST shim.
type Request struct {
	Query         string
	OperationName string
	Variables     map[string]any
	// QueryOnly refuses mutations (GET /graphql): 405 BAD_REQUEST.
	QueryOnly bool
	// Header holds the headers to forward to the subgraphs (see
	// transport.Forward): Authorization, traceparent, X-Request-Id.
	Header http.Header
	// WantPlan asks for the query plan in extensions.queryPlan (the
	// X-Query-Plan header); it is given only when the gateway's
	// ExposePlans allows it.
	WantPlan bool
}

// Response is the pipeline's answer: the GraphQL response body and the
// HTTP status the contract gives it.
//
// A Response is read-only once Do returns it: identical queries in flight
// together share one execution (see Gateway.Do), and their callers get the
// same Response, Data, Errors and Extensions included.
type Response struct {
	// Status is 200 for an operation that executed (whatever its field
	// errors), 400 for one refused before execution, 405 for a mutation
	// over GET, 503 before the supergraph is composed.
	Status int `json:"-"`
	// Data is the result's data object, in the client's field order; nil
	// when the operation never executed, JSON null when a non-null root
	// field failed.
	Data       json.RawMessage `json:"data,omitempty"`
	Errors     []Error         `json:"errors,omitempty"`
	Extensions map[string]any  `json:"extensions,omitempty"`
	// encoded, when set, marks a Response that callers share (see Do):
	// its JSON encoding is made once, and its buffer is never released.
	encoded *encoding
	// result holds the executor's buffer Data is in (see Release).
	result *execute.Result
	// holders counts the callers of a shared Response that have yet to
	// release it (see Gateway.Do).
	holders atomic.Int32
}

// encoding is a Response's JSON, made once.
type encoding struct {
	once sync.Once
	b    []byte
}

// Release returns the buffer Data is in for reuse, once the response is
// written: Data must not be used after. Calling it is optional (a
// Response not released is collected). A shared Response gives its buffer
// back when the last of the callers that got it releases it.
func (r *Response) Release() {
	if r.result == nil {
		return
	}
	if r.encoded != nil && r.holders.Add(-1) != 0 {
		return // shared, and others still hold it
	}
	r.result.Release()
	r.result, r.Data = nil, nil
}

// Frame returns what a response body of GraphQL over HTTP holds around
// Data: head is {"errors":[...],"data": (each member only when present)
// and tail is ,"extensions":{...}} (or just }).
func (r *Response) Frame() (head, tail []byte) {
	head = append(make([]byte, 0, 64), '{')
	sep := false
	if r.Errors != nil {
		head = append(head, `"errors":`...)
		b, _ := json.Marshal(r.Errors)
		head = append(head, b...)
		sep = true
	}
	if r.Data != nil {
		if sep {
			head = append(head, ',')
		}
		head = append(head, `"data":`...)
		sep = true
	}
	if len(r.Extensions) > 0 {
		if sep {
			tail = append(tail, ',')
		}
		tail = append(tail, `"extensions":`...)
		b, _ := json.Marshal(r.Extensions)
		tail = append(tail, b...)
	}
	return head, append(tail, '}')
}

// Body returns the whole response body when it is in one piece already:
// data alone (no errors, no extensions), as the executor wrote it. Else
// it returns nil, and the body is Frame around Data. It is valid until
// Release.
func (r *Response) Body() []byte {
	if len(r.Errors) > 0 || len(r.Extensions) > 0 || r.result == nil || len(r.Data) == 0 {
		return nil
	}
	b := r.result.Body()
	if b == nil || len(r.Data) != len(r.result.Data) || &r.Data[0] != &r.result.Data[0] {
		return nil // no buffer, or Data is no longer the executor's
	}
	return b
}

// JSON returns the response body of GraphQL over HTTP:
// {"errors":[...],"data":{...},"extensions":{...}}, each member only when
// present. The callers of a shared Response share one encoding, made by
// the first to ask: the bytes are read-only.
func (r *Response) JSON() []byte {
	if r.encoded == nil {
		return r.encode()
	}
	r.encoded.once.Do(func() { r.encoded.b = r.encode() })
	return r.encoded.b
}

func (r *Response) encode() []byte {
	head, tail := r.Frame()
	b := make([]byte, 0, len(head)+len(r.Data)+len(tail))
	return append(append(append(b, head...), r.Data...), tail...)
}

// Error is one GraphQL error as the client sees it. Extensions always hold a
// contract code under "code".
type Error = execute.Error

// Location is a position in the client's document.
type Location = execute.Location
