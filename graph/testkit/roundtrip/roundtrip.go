// Package roundtrip sends HTTP requests for tests and reads their answers
// whole.
package roundtrip

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// Read sends req with client (http.DefaultClient when nil) and returns the
// answer with its body, read whole; the body is closed. It does not fail a
// test, so that it may run on any goroutine.
func Read(client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res, b, fmt.Errorf("reading the answer: %w", err)
	}
	return res, b, nil
}

// Do sends a request with client (http.DefaultClient when nil) and returns
// the answer with its body, read whole; any error fails the test. The
// values of header (nil for none) replace the request's; body may be nil.
func Do(t testing.TB, client *http.Client, method, url string, body io.Reader, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, b, err := Read(client, req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return res, b
}
