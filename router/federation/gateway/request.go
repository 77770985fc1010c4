package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"

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
	// encoded, when set, keeps the JSON encoding once made, for the
	// callers who share the Response.
	encoded *encoding
}

// encoding is a Response's JSON, made once.
type encoding struct {
	once sync.Once
	b    []byte
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
	var buf bytes.Buffer
	buf.Grow(len(r.Data) + 64)
	buf.WriteByte('{')
	sep := false
	if r.Errors != nil {
		buf.WriteString(`"errors":`)
		b, _ := json.Marshal(r.Errors)
		buf.Write(b)
		sep = true
	}
	if r.Data != nil {
		if sep {
			buf.WriteByte(',')
		}
		buf.WriteString(`"data":`)
		buf.Write(r.Data)
		sep = true
	}
	if len(r.Extensions) > 0 {
		if sep {
			buf.WriteByte(',')
		}
		buf.WriteString(`"extensions":`)
		b, _ := json.Marshal(r.Extensions)
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// Error is one GraphQL error as the client sees it. Extensions always hold a
// contract code under "code".
type Error = execute.Error

// Location is a position in the client's document.
type Location = execute.Location
