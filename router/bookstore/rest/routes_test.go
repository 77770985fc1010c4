package rest_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"bookstore/router/bookstore/openapi"
	"bookstore/router/bookstore/openapi/openapitest"
	"bookstore/router/bookstore/rest"
	"bookstore/router/federation/gateway"
	"bookstore/router/routertest"
)

// TestRoutesAreDocumented: the handler serves exactly the OpenAPI
// document's routes. Its route table matches the document's, and asked for
// a method no route serves, each of the document's paths answers 405 with
// an Allow that lists the document's methods for it.
func TestRoutesAreDocumented(t *testing.T) {
	v, err := openapitest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	documented := v.Routes()
	if served := rest.Routes(); !slices.Equal(sorted(served), sorted(documented)) {
		t.Fatalf("the handler serves\n\t%s\nthe document has\n\t%s", strings.Join(served, "\n\t"), strings.Join(documented, "\n\t"))
	}
	methods := map[string][]string{} // path → methods, in the document's order
	var paths []string
	for _, r := range documented {
		method, path, _ := strings.Cut(r, " ")
		if methods[path] == nil {
			paths = append(paths, path)
		}
		methods[path] = append(methods[path], method)
	}
	h := rest.New(rest.Options{Gateway: &fakeGateway{resp: &gateway.Response{Status: 200}}})
	for _, path := range paths {
		target := strings.NewReplacer("{id}", "x").Replace(path)
		r := serve(h, "PROPFIND", target, "", nil)
		r.wantError(t, 405, "BAD_REQUEST")
		if got, want := r.header.Get("Allow"), strings.Join(methods[path], ", "); got != want {
			t.Errorf("%s: Allow %q, the document has %q", path, got, want)
		}
	}
}

// TestDocumentIsServed: the router serves the document at /openapi.yaml.
func TestDocumentIsServed(t *testing.T) {
	s := routertest.StartBookstore(t, routertest.Options{Empty: true})
	r := call(t, s.Router.URL, "GET", "/openapi.yaml", "", "", nil)
	if r.status != 200 || r.header.Get("Content-Type") != openapi.MediaType || !bytes.Equal(r.body, openapi.Document()) {
		t.Fatalf("%d %q, %d bytes", r.status, r.header.Get("Content-Type"), len(r.body))
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
