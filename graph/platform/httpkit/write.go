package httpkit

import (
	"encoding/json"
	"maps"
	"net/http"

	"bookstore/graph/apierror"
)

// internalBody is the REST error body of a response that could not be
// encoded.
const internalBody = `{"error":{"code":"INTERNAL_SERVER_ERROR","message":"internal server error"}}` + "\n"

// WriteJSON writes v, encoded by encoding/json with its default escaping
// (see the package comment) and a final newline, as an application/json
// body with status. A value that does not encode is a bug of the
// caller's: the answer is then 500 with the REST body of
// INTERNAL_SERVER_ERROR.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(internalBody)
	} else {
		b = append(b, '\n')
	}
	WriteJSONBytes(w, status, b)
}

// WriteJSONBytes writes body, JSON already, as it is: an
// application/json body with status.
func WriteJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", MediaTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Error is an error of the contract as an HTTP answer: the status, the
// contract's code (graph/apierror), the message for the client, and
// optional details, which are the REST body's "details" and the GraphQL
// error's other extensions.
type Error struct {
	Status  int
	Code    string
	Message string
	Details map[string]any
}

// NewError returns an Error without details.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Error implements error: "CODE: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// WriteError writes e as the contract's REST error body,
// {"error":{"code","message","details"}} (details only when there are
// some), with e.Status. A 401 also carries WWW-Authenticate: Bearer, and a
// 503 Retry-After: 1: a subgraph, or its database, is down, and the client
// may retry after a second (an order with the same Idempotency-Key).
func WriteError(w http.ResponseWriter, e *Error) {
	body := struct {
		Error struct {
			Code    string         `json:"code"`
			Message string         `json:"message"`
			Details map[string]any `json:"details,omitempty"`
		} `json:"error"`
	}{}
	body.Error.Code, body.Error.Message, body.Error.Details = e.Code, e.Message, e.Details
	switch e.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	WriteJSON(w, e.Status, body)
}

// WriteGraphQLError answers a GraphQL request refused before it ran with
// e.Status and the GraphQL body of one error and no data:
// {"errors":[{"message","extensions":{"code",...}}]}, the extensions
// being e.Details and the code. The body has no final newline, as the
// router's other GraphQL answers.
func WriteGraphQLError(w http.ResponseWriter, e *Error) {
	ext := make(map[string]any, len(e.Details)+1)
	maps.Copy(ext, e.Details)
	ext["code"] = e.Code
	type gqlError struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	b, err := json.Marshal(struct {
		Errors []gqlError `json:"errors"`
	}{[]gqlError{{e.Message, ext}}})
	if err != nil {
		// Details that do not encode: a bug of the caller's.
		WriteGraphQLError(w, NewError(http.StatusInternalServerError, apierror.Internal, "internal server error"))
		return
	}
	WriteJSONBytes(w, e.Status, b)
}
