package httpkit

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
)

// RequestIDHeader carries a request's id: the client's, or one the first
// service it reached made. The router forwards it to the subgraphs, and
// every service logs it.
const RequestIDHeader = "X-Request-Id"

// MaxRequestIDLen is the longest request id taken from a client, in bytes.
const MaxRequestIDLen = 200

// ValidRequestID reports whether a client's request id is kept: 1 to
// MaxRequestIDLen bytes of printable ASCII (space to '~'), so that it can
// go into logs, spans and response headers as it is, with no CR or LF.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// NewRequestID returns a new request id: 32 hexadecimal digits, 128 random
// bits. Ids must be unique, not secret: they come from the runtime's
// per-thread ChaCha8 generator (math/rand/v2), seeded from the system's
// entropy, which costs no system call, unlike crypto/rand.
func NewRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// RequestID gives every request an id and echoes it in the response's
// RequestIDHeader. The client's id is kept when ValidRequestID; otherwise
// a NewRequestID replaces it in the request's header, where the handlers
// after it (logs, spans, the headers the router forwards) read it.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !ValidRequestID(id) {
			id = NewRequestID()
			r.Header.Set(RequestIDHeader, id)
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}
