// Package httpkit is the HTTP plumbing the router and both subgraphs
// share: content-type checks, request bodies read within a limit, JSON
// responses, the contract's error bodies, request ids, the status a
// handler answered, and serving with a graceful shutdown.
//
// JSON responses have one escaping policy, encoding/json's default: '<',
// '>' and '&' inside strings are written \u003c, \u003e and \u0026. The
// router's GraphQL answers are written that way (router/federation/execute's shaper,
// and encoding/json for their errors), and the REST shims pass the
// pipeline's JSON through, so every JSON body a client gets is escaped
// alike, and is safe to embed in HTML.
package httpkit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"bookstore/graph/apierror"
)

// MediaTypeJSON is the media type of JSON bodies.
const MediaTypeJSON = "application/json"

// HasMediaType reports whether the Content-Type ct names one of types
// (given in lower case), whatever its parameters. A Content-Type that
// does not parse (mime.ParseMediaType), an empty one included, names
// none.
func HasMediaType(ct string, types ...string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && slices.Contains(types, mt)
}

// IsJSON reports whether the Content-Type ct says the body is JSON:
// application/json or a structured syntax type application/*+json (such
// as application/graphql-response+json or application/problem+json), in
// any case, whatever its parameters. It does not allocate: the router's
// subgraph client checks every response with it.
func IsJSON(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	const app, suffix = "application/", "+json"
	if len(ct) < len(app) || !strings.EqualFold(ct[:len(app)], app) {
		return false
	}
	sub := ct[len(app):]
	return strings.EqualFold(sub, "json") ||
		len(sub) > len(suffix) && strings.EqualFold(sub[len(sub)-len(suffix):], suffix)
}

// ReadBody reads r's body, at most limit bytes. Past the limit it fails
// with BodyTooLarge (413; http.MaxBytesReader also has the server close
// the connection after the response); a body whose reader fails with an
// *Error (a decoder's: the body is not valid gzip) fails with that Error;
// any other failure to read is 400 BAD_REQUEST.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *Error) {
	if n := r.ContentLength; n > 0 && n <= limit {
		// The length is known (and net/http holds the body to it): one
		// buffer of that size, not a growing one.
		raw := make([]byte, n)
		if _, err := io.ReadFull(r.Body, raw); err != nil {
			return nil, readError(err, limit)
		}
		return raw, nil
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, readError(err, limit)
	}
	return raw, nil
}

// readError is the client's error for a body that could not be read.
func readError(err error, limit int64) *Error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return BodyTooLarge(limit)
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return NewError(http.StatusBadRequest, apierror.BadRequest, "the body could not be read")
}

// BodyTooLarge is the error of a request body over limit bytes: 413
// BAD_REQUEST.
func BodyTooLarge(limit int64) *Error {
	return NewError(http.StatusRequestEntityTooLarge, apierror.BadRequest, fmt.Sprintf("the body is larger than %d bytes", limit))
}

// JSONProblem describes, for the client, why encoding/json could not
// decode its JSON: where the syntax breaks, which value has the wrong
// type, or that the JSON is empty or cut short. It never quotes the
// client's bytes.
func JSONProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("%s must not be a JSON %s", typ.Field, typ.Value)
		}
		return fmt.Sprintf("unexpected JSON %s", typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON is empty or cut short"
	}
	return "invalid JSON"
}
