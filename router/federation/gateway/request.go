package gateway

import (
	"encoding/json"
	"net/http"

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

	result *execute.Result
}

// Release returns the buffer Data is in for reuse, once the response is
// written: Data must not be used after. Calling it is optional.
func (r *Response) Release() {
	if r.result != nil {
		r.result.Release()
		r.result, r.Data = nil, nil
	}
}

// Error is one GraphQL error as the client sees it. Extensions always hold a
// contract code under "code".
type Error = execute.Error

// Location is a position in the client's document.
type Location = execute.Location
