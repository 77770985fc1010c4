package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"bookstore/graph/apierror"
	"bookstore/graph/platform/httpkit"
	"bookstore/router/federation/gateway"
	"bookstore/router/federation/transport"
)

// notFound is 404 NOT_FOUND. It, badRequest and badInput make the shims'
// errors, which httpkit.WriteError answers with the contract's error body.
func notFound(msg string) *httpkit.Error {
	return httpkit.NewError(http.StatusNotFound, apierror.NotFound, msg)
}

func badRequest(status int, format string, args ...any) *httpkit.Error {
	return httpkit.NewError(status, apierror.BadRequest, fmt.Sprintf(format, args...))
}

// badInput reports a value the client sent that breaks a rule; field names
// it as the client sent it (a query parameter, body field or header).
func badInput(field, format string, args ...any) *httpkit.Error {
	return &httpkit.Error{
		Status:  http.StatusBadRequest,
		Code:    apierror.BadUserInput,
		Message: field + ": " + fmt.Sprintf(format, args...),
		Details: map[string]any{"field": field},
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

// listOp is the connection query name of root, taking first, after and
// vars (each "name: Type"), and selecting fields of each node. Its errors'
// fields drop "filter.".
func listOp(name, root, fields string, vars ...string) operation {
	decls := []string{"$first: Int", "$after: String"}
	args := []string{"first: $first", "after: $after"}
	for _, v := range vars {
		arg, _, _ := strings.Cut(v, ":")
		decls = append(decls, "$"+v)
		args = append(args, arg+": $"+arg)
	}
	return operation{
		query: "query " + name + "(" + strings.Join(decls, ", ") + ") {\n" +
			"  " + root + "(" + strings.Join(args, ", ") + ") {\n" +
			"    edges { node { " + fields + " } }\n" +
			"    pageInfo { hasNextPage endCursor }\n" +
			"    totalCount\n" +
			"  }\n" +
			"}",
		root:  root,
		field: trimField(nil, "filter."),
	}
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
func (h *handler) run(r *http.Request, op operation, vars map[string]any) (result, *httpkit.Error) {
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
	// The root field's value is copied out of Data (json.RawMessage
	// copies), so Data's buffer goes back to the pool on return.
	defer resp.Release()
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

// runValue runs op as run does. A null value with no error is an internal
// error, logged as "rest: "+null. On an error it answers it and returns
// false.
func (h *handler) runValue(w http.ResponseWriter, r *http.Request, op operation, vars map[string]any, null string) (result, bool) {
	res, e := h.run(r, op, vars)
	if e == nil && res.value == nil {
		h.o.Logger.Error("rest: "+null, "path", r.URL.Path)
		e = internal()
	}
	if e != nil {
		httpkit.WriteError(w, e)
		return res, false
	}
	return res, true
}

// runDecoded runs op as runValue does and decodes its value; a value that
// does not decode is logged and internal. On an error it answers it and
// returns false.
func runDecoded[T any](h *handler, w http.ResponseWriter, r *http.Request, op operation, vars map[string]any, null string, decode func(json.RawMessage) (T, error)) (result, T, bool) {
	var v T
	res, ok := h.runValue(w, r, op, vars, null)
	if !ok {
		return res, v, false
	}
	v, err := decode(res.value)
	if err != nil {
		h.fail(w, r, err)
		return res, v, false
	}
	return res, v, true
}

// fail logs err, which the client is not told, and answers 500.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.o.Logger.Error("rest: "+err.Error(), "path", r.URL.Path)
	httpkit.WriteError(w, internal())
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
func (op operation) fromGraphQL(e gateway.Error, pipeline int) *httpkit.Error {
	code := e.Code()
	status, known := statusOf(code, pipeline)
	if !known {
		code = apierror.Internal
	}
	out := httpkit.NewError(status, code, e.Message)
	details := maps.Clone(e.Extensions)
	delete(details, "code")
	delete(details, "serviceName")
	if f, ok := details["field"].(string); ok && op.field != nil {
		renamed := op.field(f)
		details["field"] = renamed
		if rest, ok := strings.CutPrefix(out.Message, f+": "); ok {
			out.Message = renamed + ": " + rest
		}
	}
	if len(details) > 0 {
		out.Details = details
	}
	return out
}

func internal() *httpkit.Error {
	return httpkit.NewError(http.StatusInternalServerError, apierror.Internal, "internal server error")
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

// writeRaw writes a JSON value the pipeline produced, and a newline as
// httpkit.WriteJSON does.
func writeRaw(w http.ResponseWriter, status int, v json.RawMessage) {
	w.Header().Set("Content-Type", httpkit.MediaTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(v)
	_, _ = w.Write([]byte("\n"))
}

// writeCreated answers 201 with a created object, its Location, and
// Idempotent-Replayed when a replay returned an earlier one.
func writeCreated(w http.ResponseWriter, location string, replayed bool, v json.RawMessage) {
	w.Header().Set("Location", location)
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeRaw(w, http.StatusCreated, v)
}
