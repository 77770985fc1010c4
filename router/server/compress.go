package server

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"
	kgzip "github.com/klauspost/compress/gzip"

	"bookstore/graph/apierror"
	"bookstore/graph/platform/httpkit"
)

// CompressMinBytes is the smallest response body that is compressed. A
// smaller one, every error and most single-object answers, goes out as it
// is: it fits in a few TCP segments either way, and compressing it costs
// CPU (and a gzip header and trailer) to save almost no time on the wire.
// Lists of a page of books are several KiB and shrink five- to tenfold.
const CompressMinBytes = 4 << 10

// compressed wraps the handlers of /graphql and the REST shims: their
// responses from CompressMinBytes up are compressed for a client that
// accepts it (Accept-Encoding: zstd or gzip, zstd preferred at equal
// quality), and every response says Vary: Accept-Encoding. It is
// klauspost/compress's gzhttp: pooled encoders, gzip at its fastest level
// (a few times quicker than compress/gzip's default for about the same
// ratio on JSON), zstd at its fastest with a 128 KiB window (RFC 9659
// allows decoders to refuse past 8 MiB). Nothing is added against BREACH
// (no jitter): the router's answers hold no secret next to text the
// client chose. The response bytes are only read, never changed: a shared
// response (see gateway.Gateway.Do) is compressed by each client's own
// writer.
var compressed = func() func(http.Handler) http.HandlerFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(CompressMinBytes), gzhttp.CompressionLevel(kgzip.BestSpeed))
	if err != nil {
		panic(err) // constant options
	}
	return wrap
}()

// decompressed accepts a request body sent with Content-Encoding: gzip,
// handing next the body decompressed. The body limit then bounds the
// decompressed body, which the handler reads through httpkit.ReadBody
// (413 past it: a zip bomb is refused, never inflated into memory), and
// the compressed body too, so that a stream of empty deflate blocks cannot
// keep the router reading. A body that is not gzip is 400 BAD_REQUEST, any
// other coding 415 BAD_REQUEST naming gzip in Accept-Encoding (RFC 7694).
// Errors have the route's body: GraphQL's on /graphql, the REST one on the
// shims.
func decompressed(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		coding := strings.ToLower(strings.TrimSpace(strings.Join(r.Header.Values("Content-Encoding"), ",")))
		switch coding {
		case "", "identity":
			next.ServeHTTP(w, r)
			return
		case "gzip", "x-gzip":
		default:
			w.Header().Set("Accept-Encoding", "gzip")
			writeError(w, r, httpkit.NewError(http.StatusUnsupportedMediaType, apierror.BadRequest,
				fmt.Sprintf("Content-Encoding %q is not supported: send the body as it is, or gzip", coding)))
			return
		}
		r.Header.Del("Content-Encoding")
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		raw := http.MaxBytesReader(w, r.Body, limit)
		zr, err := gzip.NewReader(raw)
		if err != nil {
			writeError(w, r, gunzipError(err, limit))
			return
		}
		r.Header.Del("Content-Length")
		r.ContentLength = -1
		r.Body = &gunzipBody{zr: zr, raw: raw}
		next.ServeHTTP(w, r)
	})
}

// gunzipBody is a request body decompressed.
type gunzipBody struct {
	zr  *gzip.Reader
	raw io.ReadCloser
}

// Read returns the decompressed bytes; a body that is not gzip fails
// with its *httpkit.Error, which httpkit.ReadBody answers.
func (b *gunzipBody) Read(p []byte) (int, error) {
	n, err := b.zr.Read(p)
	if err != nil && err != io.EOF {
		if e := badGzip(err); e != nil {
			return n, e
		}
	}
	return n, err
}

func (b *gunzipBody) Close() error { return b.raw.Close() }

// gunzipError is the answer to a gzip header that could not be read.
func gunzipError(err error, limit int64) *httpkit.Error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return httpkit.BodyTooLarge(limit)
	}
	if e := badGzip(err); e != nil {
		return e
	}
	return httpkit.NewError(http.StatusBadRequest, apierror.BadRequest, "the body could not be read")
}

// badGzip returns the error for a body that is not valid gzip, or nil when
// err says something else (the limit, the connection).
func badGzip(err error) *httpkit.Error {
	var corrupt flate.CorruptInputError
	if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) || errors.As(err, &corrupt) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return httpkit.NewError(http.StatusBadRequest, apierror.BadRequest, "the body is not valid gzip (Content-Encoding: gzip)")
	}
	return nil
}

// writeError answers a request with e, in the route's error body.
func writeError(w http.ResponseWriter, r *http.Request, e *httpkit.Error) {
	if isREST(r.URL.Path) {
		httpkit.WriteError(w, e)
		return
	}
	httpkit.WriteGraphQLError(w, e)
}
