package server

import (
	"net/http"
	"strconv"

	"bookstore/graph/apierror"
	"bookstore/graph/platform/httpkit"
	"bookstore/router/bookstore/openapi"
)

// serveDocument serves the REST shims' OpenAPI document to GET and HEAD;
// any other method is 405 with Allow.
func serveDocument(doc []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpkit.WriteError(w, httpkit.NewError(http.StatusMethodNotAllowed, apierror.BadRequest,
				"method "+r.Method+" is not allowed on "+r.URL.Path+"; use GET or HEAD"))
			return
		}
		w.Header().Set("Content-Type", openapi.MediaType)
		w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(doc)
		}
	})
}
