package rest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"unicode/utf8"

	"bookstore/graph/platform/httpkit"
)

// query returns a request's query parameters, each at most once and
// valid UTF-8, refusing any the route does not take.
func query(r *http.Request, allowed ...string) (map[string]string, *httpkit.Error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest(http.StatusBadRequest, "the query string is malformed")
	}
	out := make(map[string]string, len(vals))
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		v := vals[name]
		switch {
		case !slices.Contains(allowed, name):
			if !utf8.ValidString(name) {
				return nil, badRequest(http.StatusBadRequest, "a query parameter's name is not UTF-8")
			}
			return nil, badInput(name, "is not a query parameter of %s %s", r.Method, r.URL.Path)
		case len(v) > 1:
			return nil, badInput(name, "is given %d times; give it once", len(v))
		case !utf8.ValidString(v[0]):
			return nil, badInput(name, "is not UTF-8")
		}
		out[name] = v[0]
	}
	return out, nil
}

// listVars reads a list route's query parameters into its connection's
// variables: first (0..100) and after as the connection takes them, and
// each of params through set, which puts it in vars or in filter. They are
// read in name order, so the first bad one reported does not depend on the
// URL's order.
func listVars(r *http.Request, params []string, set func(name, v string, vars, filter map[string]any) *httpkit.Error) (map[string]any, *httpkit.Error) {
	q, e := query(r, append([]string{"first", "after"}, params...)...)
	if e != nil {
		return nil, e
	}
	vars := map[string]any{}
	filter := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		v := q[name]
		switch name {
		case "first":
			n, e := intParam(name, v, 0, 100)
			if e != nil {
				return nil, e
			}
			vars["first"] = n
		case "after":
			vars["after"] = v
		default:
			if e := set(name, v, vars, filter); e != nil {
				return nil, e
			}
		}
	}
	if len(filter) > 0 {
		vars["filter"] = filter
	}
	return vars, nil
}

// intParam parses an integer query parameter within [lo, hi].
func intParam(name, v string, lo, hi int) (int, *httpkit.Error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badInput(name, "must be an integer between %d and %d, got %q", lo, hi, v)
	}
	return n, nil
}

// boolParam parses a Boolean query parameter, spelt as in GraphQL.
func boolParam(name, v string) (bool, *httpkit.Error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, badInput(name, "must be true or false, got %q", v)
}

// enumParam checks an enum query parameter, spelt as in GraphQL.
func enumParam(name, v string, values ...string) (string, *httpkit.Error) {
	if !slices.Contains(values, v) {
		return "", badInput(name, "must be one of %v, got %q", values, v)
	}
	return v, nil
}

// readInput reads the input of a POST route that takes no query
// parameter: its JSON object body, as readObject does.
func (h *handler) readInput(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *httpkit.Error) {
	if _, e := query(r); e != nil {
		return nil, e
	}
	return h.readObject(w, r)
}

// readObject reads a JSON object body: application/json, at most
// MaxBodyBytes, one object and nothing after it. It returns the object's
// members undecoded.
func (h *handler) readObject(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *httpkit.Error) {
	if !httpkit.HasMediaType(r.Header.Get("Content-Type"), httpkit.MediaTypeJSON) {
		return nil, badRequest(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	raw, e := httpkit.ReadBody(w, r, h.o.MaxBodyBytes)
	if e != nil {
		return nil, e
	}
	return decodeObject(raw)
}

// decodeObject decodes one JSON object, with nothing but white space after
// it, into its members.
func decodeObject(raw []byte) (map[string]json.RawMessage, *httpkit.Error) {
	trimmed := bytes.TrimSpace(raw)
	switch {
	case len(trimmed) == 0:
		return nil, badRequest(http.StatusBadRequest, "the body is empty; send a JSON object")
	case trimmed[0] != '{':
		return nil, badRequest(http.StatusBadRequest, "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return nil, badRequest(http.StatusBadRequest, "the body is not valid JSON: %s", httpkit.JSONProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest(http.StatusBadRequest, "the body has data after its JSON object")
	}
	return obj, nil
}

// member is one field of a JSON object body, decoded into a Go value.
type member struct {
	name     string
	into     any // a pointer
	required bool
}

// decodeMembers decodes obj's members into their targets. path prefixes the
// names in errors ("items[0]."). A member not listed, with its exact
// spelling, is 400 BAD_REQUEST; a value of the wrong JSON type, or null or
// missing where required, is 400 BAD_USER_INPUT naming the field. A null
// member leaves its target as it is.
func decodeMembers(obj map[string]json.RawMessage, path string, members ...member) *httpkit.Error {
	for name := range obj {
		if !slices.ContainsFunc(members, func(m member) bool { return m.name == name }) {
			e := badRequest(http.StatusBadRequest, "the body has an unknown field %s", strconv.Quote(path+name))
			e.Details = map[string]any{"field": path + name}
			return e
		}
	}
	for _, m := range members {
		v, ok := obj[m.name]
		if !ok || bytes.Equal(v, []byte("null")) {
			if m.required {
				return badInput(path+m.name, "is required")
			}
			continue
		}
		if err := json.Unmarshal(v, m.into); err != nil {
			return badInput(path+m.name, "must be %s", kind(m.into))
		}
	}
	return nil
}

// kind describes the JSON value a target takes.
func kind(into any) string {
	switch into.(type) {
	case *string:
		return "a string"
	case *int32:
		return "an integer of 32 bits"
	case *[]json.RawMessage:
		return "an array"
	}
	return "a value of another type"
}
