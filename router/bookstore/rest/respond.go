package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"bookstore/graph/apierror"
	"bookstore/router/federation/gateway"
	"bookstore/router/federation/transport"
)

// apiError is an answer of the contract's error body.
type apiError struct {
	status  int
	code    string
	message string
	details map[string]any
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func notFound(msg string) *apiError {
	return &apiError{status: http.StatusNotFound, code: apierror.NotFound, message: msg}
}

func badRequest(status int, format string, args ...any) *apiError {
	return &apiError{status: status, code: apierror.BadRequest, message: fmt.Sprintf(format, args...)}
}

// badInput reports a value the client sent that breaks a rule; field names
// it as the client sent it (a query parameter, body field or header).
func badInput(field, format string, args ...any) *apiError {
	return &apiError{
		status:  http.StatusBadRequest,
		code:    apierror.BadUserInput,
		message: field + ": " + fmt.Sprintf(format, args...),
		details: map[string]any{"field": field},
	}
}

// statusOf returns the contract's HTTP status of an error code, and
// whether the code is one of the contract's. A BAD_REQUEST takes the
// pipeline's status when it gave a 4xx (405, 413, 415).
func statusOf(code string, pipeline int) (int, bool) {
	switch code {
	case apierror.BadRequest:
		if pipeline >= 400 && pipeline < 500 {
			return pipeline, true
		}
		return http.StatusBadRequest, true
	case apierror.ParseFailed, apierror.ValidationFailed, apierror.BadUserInput, apierror.QueryTooComplex:
		return http.StatusBadRequest, true
	case apierror.Unauthenticated:
		return http.StatusUnauthorized, true
	case apierror.NotFound:
		return http.StatusNotFound, true
	case apierror.InsufficientStock, apierror.OrderNotCancellable:
		return http.StatusConflict, true
	case apierror.IdempotencyKeyReuse:
		return http.StatusUnprocessableEntity, true
	case apierror.SubgraphUnavailable:
		return http.StatusServiceUnavailable, true
	}
	return http.StatusInternalServerError, code == apierror.Internal
}

// writeJSON writes v as the response body, HTML characters unescaped as
// in the GraphQL answers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only the shims' own values are encoded; this is a bug.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"INTERNAL_SERVER_ERROR","message":"internal server error"}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeError writes the contract's error body.
func writeError(w http.ResponseWriter, e *apiError) {
	body := struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details,omitempty"`
	}{e.code, e.message, e.details}
	switch e.status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	case http.StatusServiceUnavailable:
		// A subgraph, or its database, is down: the client may retry,
		// after a second (with the same Idempotency-Key for an order).
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

// operation is one of the shims' GraphQL operations.
type operation struct {
	// query is the constant document; the request's values go in variables.
	query string
	// root is the operation's only root field.
	root string
	// field renames an error's extensions.field from the GraphQL argument
	// to what the REST client sent; nil keeps it.
	field func(string) string
}

// result is an operation's outcome.
type result struct {
	// value is the root field's JSON value, nil when it is null.
	value json.RawMessage
	// replayed reports a placeOrder that returned an earlier order.
	replayed bool
}

// run executes op with vars, forwarding the client's headers. It returns
// the root field's value, or the error to answer when the value is null
// because of an error. A null value with no error (book(id) of an unknown
// id) is a nil value and a nil error. Errors beside a non-null value (a
// nullable field of another subgraph, say) do not fail the request.
func (h *handler) run(r *http.Request, op operation, vars map[string]any) (result, *apiError) {
	resp := h.o.Gateway.Do(r.Context(), &gateway.Request{
		Query:     op.query,
		Variables: vars,
		Header:    transport.Forward(r.Header),
	})
	var res result
	if resp == nil {
		h.o.Logger.Error("rest: the gateway gave no response", "path", r.URL.Path)
		return res, internal()
	}
	if replayed, _ := resp.Extensions["idempotentReplayed"].(bool); replayed {
		res.replayed = true
	}
	if resp.Status == http.StatusOK && len(resp.Data) > 0 {
		var data map[string]json.RawMessage
		if err := json.Unmarshal(resp.Data, &data); err != nil {
			h.o.Logger.Error("rest: the gateway's data is not a JSON object", "path", r.URL.Path, "err", err.Error())
			return res, internal()
		}
		if v := data[op.root]; len(v) > 0 && !bytes.Equal(v, []byte("null")) {
			res.value = v
			return res, nil
		}
	}
	if len(resp.Errors) == 0 {
		if resp.Status != http.StatusOK {
			h.o.Logger.Error("rest: the gateway refused with no error", "path", r.URL.Path, "status", resp.Status)
			return res, internal()
		}
		return res, nil
	}
	return res, op.fromGraphQL(rootError(resp.Errors, op.root), resp.Status)
}

// rootError picks the error that explains a null root field: the first
// one on its path, else the first.
func rootError(errs []gateway.Error, root string) gateway.Error {
	for _, e := range errs {
		if len(e.Path) > 0 && e.Path[0] == root {
			return e
		}
	}
	return errs[0]
}

// fromGraphQL converts a GraphQL error into the REST error body: its code
// and message, and its other extensions as details, except the router's
// serviceName. A field is renamed for the REST client, in the message too.
// An error with no code, or one that is not the contract's, is
// INTERNAL_SERVER_ERROR: the body's code is always one of the contract's.
func (op operation) fromGraphQL(e gateway.Error, pipeline int) *apiError {
	code := e.Code()
	status, known := statusOf(code, pipeline)
	if !known {
		code = apierror.Internal
	}
	out := &apiError{status: status, code: code, message: e.Message}
	details := maps.Clone(e.Extensions)
	delete(details, "code")
	delete(details, "serviceName")
	if f, ok := details["field"].(string); ok && op.field != nil {
		renamed := op.field(f)
		details["field"] = renamed
		if rest, ok := strings.CutPrefix(out.message, f+": "); ok {
			out.message = renamed + ": " + rest
		}
	}
	if len(details) > 0 {
		out.details = details
	}
	return out
}

func internal() *apiError {
	return &apiError{status: http.StatusInternalServerError, code: apierror.Internal, message: "internal server error"}
}

// trimField returns a renamer that strips the given prefixes ("input.",
// "filter.") from a GraphQL argument path and maps the rest through names.
func trimField(names map[string]string, prefixes ...string) func(string) string {
	return func(f string) string {
		if n, ok := names[f]; ok {
			return n
		}
		for _, p := range prefixes {
			if rest, ok := strings.CutPrefix(f, p); ok {
				return rest
			}
		}
		return f
	}
}

// page is the REST envelope of a connection.
type page struct {
	Items      []json.RawMessage `json:"items"`
	PageInfo   json.RawMessage   `json:"pageInfo"`
	TotalCount json.RawMessage   `json:"totalCount"`
}

// toPage turns a connection's JSON ({edges {node}, pageInfo, totalCount})
// into a page.
func toPage(conn json.RawMessage) (*page, error) {
	var c struct {
		Edges []struct {
			Node json.RawMessage `json:"node"`
		} `json:"edges"`
		PageInfo   json.RawMessage `json:"pageInfo"`
		TotalCount json.RawMessage `json:"totalCount"`
	}
	if err := json.Unmarshal(conn, &c); err != nil {
		return nil, fmt.Errorf("decoding a connection: %w", err)
	}
	p := &page{Items: make([]json.RawMessage, len(c.Edges)), PageInfo: c.PageInfo, TotalCount: c.TotalCount}
	for i, e := range c.Edges {
		p.Items[i] = e.Node
	}
	return p, nil
}

// writeRaw writes a JSON value the pipeline produced.
func writeRaw(w http.ResponseWriter, status int, v json.RawMessage) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(v)
	_, _ = w.Write([]byte("\n"))
}
