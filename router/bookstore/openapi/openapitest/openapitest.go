// Package openapitest checks the REST shims' answers against their OpenAPI
// document (package openapi), so that the document and the code cannot
// drift apart: routertest runs every answer to /books and /orders that a
// test sees through a Validator.
//
// Only answers are checked. Tests send bad requests on purpose; the request
// serves to find its operation. Beside each operation's documented
// responses, the document's prose gives two rules that OpenAPI cannot
// express per operation, and the Validator enforces them: a path under
// /books or /orders that matches no route is 404 (components/responses/
// NotFound), and a method a route does not serve is 405
// (components/responses/MethodNotAllowed) with an Allow header listing
// exactly the route's methods.
package openapitest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/responses"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"bookstore/router/bookstore/openapi"
)

// Validator checks HTTP answers against the OpenAPI document. It is safe
// for concurrent use.
type Validator struct {
	doc    libopenapi.Document
	model  *v3.Document
	opts   []config.Option
	routes []route

	// mu serializes the checks: libopenapi renders and compiles a schema
	// the first time it is used, writing to the shared model unguarded
	// (go test -race finds it).
	mu        sync.Mutex
	responses responses.ResponseBodyValidator
}

// route is one path of the document.
type route struct {
	template string   // "/orders/{id}/cancel"
	segs     []string // its segments; a parameter is "{...}"
	item     *v3.PathItem
	methods  []string // the methods it serves, as Allow lists them
}

// NewValidator parses the OpenAPI document and prepares its checks.
// Formats (date-time, uuid) are asserted, not just annotations.
func NewValidator() (*Validator, error) {
	doc, err := libopenapi.NewDocument(openapi.Document())
	if err != nil {
		return nil, fmt.Errorf("parsing the OpenAPI document: %w", err)
	}
	built, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("building the OpenAPI model: %w", err)
	}
	v := &Validator{doc: doc, model: &built.Model, opts: []config.Option{config.WithFormatAssertions()}}
	v.responses = responses.NewResponseBodyValidator(v.model, v.opts...)
	if v.model.Paths == nil {
		return nil, errors.New("the OpenAPI document has no paths")
	}
	// The order in which Allow lists methods.
	methodOrder := []string{
		http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace,
	}
	for template, item := range v.model.Paths.PathItems.FromOldest() {
		r := route{template: template, segs: strings.Split(strings.TrimPrefix(template, "/"), "/"), item: item}
		ops := item.GetOperations()
		for _, m := range methodOrder {
			if _, ok := ops.Get(strings.ToLower(m)); ok {
				r.methods = append(r.methods, m)
			}
		}
		v.routes = append(v.routes, r)
	}
	return v, nil
}

// CheckDocument validates the document against the OpenAPI 3.1 schema.
// (It does not check the schema objects against JSON Schema 2020-12; see
// the package's tests for that.)
func (v *Validator) CheckDocument() error {
	if !strings.HasPrefix(v.model.Version, "3.1.") {
		return fmt.Errorf("the document is OpenAPI %q, want 3.1.x", v.model.Version)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	dv, errs := validator.NewValidator(v.doc)
	if len(errs) > 0 {
		return fmt.Errorf("building the document validator: %w", errors.Join(errs...))
	}
	if ok, verrs := dv.ValidateDocument(); !ok {
		return fmt.Errorf("the document is not valid OpenAPI 3.1:%s", describe(verrs))
	}
	return nil
}

// Routes returns the document's operations, each as "METHOD /path", in
// the document's order.
func (v *Validator) Routes() []string {
	var out []string
	for _, r := range v.routes {
		for _, m := range r.methods {
			out = append(out, m+" "+r.template)
		}
	}
	return out
}

// Covers reports whether the answers to requests for path are the REST
// shims': /books and /orders, and any path under them.
func Covers(path string) bool {
	for _, p := range []string{"/books", "/orders"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Validate checks one answer to req (for a path that Covers accepts)
// against the document: that its status is documented for the
// operation, and that its headers and body are the documented ones. A
// body with a Content-Encoding (gzip, zstd) is checked decoded. The
// request's body is not read. The error, if any, lists every discrepancy.
func (v *Validator) Validate(req *http.Request, status int, header http.Header, body []byte) error {
	body, err := decode(header.Get("Content-Encoding"), body)
	if err != nil {
		return fmt.Errorf("%s %s answered %d with a body that does not decode: %v", req.Method, req.URL.RequestURI(), status, err)
	}
	resp := &http.Response{
		StatusCode: status, Header: header, Request: req,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
	r, ok := v.match(req.URL.EscapedPath())
	v.mu.Lock()
	defer v.mu.Unlock()
	var problems []*liberrors.ValidationError
	switch {
	case !ok:
		problems = v.validateComponent(req, resp, "/", http.StatusNotFound, "NotFound")
	case !slices.Contains(r.methods, req.Method):
		problems = v.validateComponent(req, resp, r.template, http.StatusMethodNotAllowed, "MethodNotAllowed")
		if allow, want := header.Get("Allow"), strings.Join(r.methods, ", "); status == http.StatusMethodNotAllowed && allow != want {
			problems = append(problems, &liberrors.ValidationError{
				Message: "Allow is " + strconv.Quote(allow),
				Reason:  "the document's methods for " + r.template + " are " + strconv.Quote(want),
			})
		}
	default:
		_, problems = v.responses.ValidateResponseBodyWithPathItem(req, resp, r.item, r.template)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s %s answered %d, which the OpenAPI document does not allow:%s",
			req.Method, req.URL.RequestURI(), status, describe(problems))
	}
	return nil
}

// match finds the route of an escaped path. A parameter matches one
// segment, not empty; a literal segment must be equal.
func (v *Validator) match(path string) (route, bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, r := range v.routes {
		if len(r.segs) != len(segs) {
			continue
		}
		ok := true
		for i, s := range r.segs {
			param := strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")
			if (param && segs[i] == "") || (!param && segs[i] != s) {
				ok = false
				break
			}
		}
		if ok {
			return r, true
		}
	}
	return route{}, false
}

// validateComponent checks an answer that no operation describes against
// the response components/responses/name, which is documented for status.
func (v *Validator) validateComponent(req *http.Request, resp *http.Response, template string, status int, name string) []*liberrors.ValidationError {
	if resp.StatusCode != status {
		return []*liberrors.ValidationError{{
			Message: "status " + strconv.Itoa(resp.StatusCode),
			Reason:  "the route or method is not in the document, so the answer must be " + strconv.Itoa(status),
		}}
	}
	var spec *v3.Response
	if v.model.Components != nil {
		spec = v.model.Components.Responses.GetOrZero(name)
	}
	if spec == nil {
		return []*liberrors.ValidationError{{Message: "components/responses/" + name + " is missing", Reason: "the document must define it"}}
	}
	var out []*liberrors.ValidationError
	if spec.Headers != nil {
		_, errs := responses.ValidateResponseHeaders(req, resp, spec.Headers, template, strconv.Itoa(status), v.opts...)
		out = append(out, errs...)
	}
	if req.Method == http.MethodHead {
		return out // no body
	}
	ct := resp.Header.Get("Content-Type")
	mt, ok := helpers.FindMediaType(spec.Content, ct)
	if !ok || mt.Schema == nil {
		return append(out, &liberrors.ValidationError{
			Message: "Content-Type " + strconv.Quote(ct),
			Reason:  "components/responses/" + name + " has no schema for it",
		})
	}
	_, errs := responses.ValidateResponseSchema(&responses.ValidateResponseSchemaInput{
		Request: req, Response: resp, Schema: mt.Schema.Schema(),
		Version: helpers.VersionToFloat(v.model.Version), Options: v.opts,
	})
	return append(out, errs...)
}

// maxFailures is how many schema failures describe shows for one error.
const maxFailures = 10

// describe lists validation errors, one a line, with (some of) the schema
// failures under each.
func describe(errs []*liberrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n\t%s: %s", e.Message, e.Reason)
		for i, f := range e.SchemaValidationErrors {
			if i == maxFailures {
				fmt.Fprintf(&b, "\n\t\t… and %d more", len(e.SchemaValidationErrors)-i)
				break
			}
			where := f.FieldPath
			if where == "" {
				where = strings.Join(f.InstancePath, "/")
			}
			fmt.Fprintf(&b, "\n\t\t%s: %s", where, f.Reason)
		}
	}
	return b.String()
}

// decode returns a body decoded from its Content-Encoding; an empty body
// (HEAD's) stays empty.
func decode(coding string, body []byte) ([]byte, error) {
	if len(body) == 0 {
		return body, nil
	}
	switch strings.ToLower(strings.TrimSpace(coding)) {
	case "", "identity":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "zstd":
		d, err := zstd.NewReader(nil)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		return d.DecodeAll(body, nil)
	}
	return nil, fmt.Errorf("unknown Content-Encoding %q", coding)
}
