package httpkit

import "net/http"

// Recorder wraps a ResponseWriter and remembers the first status written:
// WriteHeader's code, or 200 when the handler writes a body without one.
// The request logs, metrics and spans of every service read it.
type Recorder struct {
	http.ResponseWriter
	status int
}

// NewRecorder wraps w.
func NewRecorder(w http.ResponseWriter) *Recorder { return &Recorder{ResponseWriter: w} }

// Status returns the status the handler answered; 200 when it wrote
// nothing at all, as net/http then sends.
func (r *Recorder) Status() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// WriteHeader records code and passes it on.
func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and passes b on.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
