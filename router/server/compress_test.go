package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"bookstore/graph/testkit/roundtrip"
	"bookstore/router/bookstore/openapi/openapitest"
	"bookstore/router/server"
)

// bigQuery asks the fake subgraph for a string of n bytes: the answer is
// n bytes and some 20 more.
func bigQuery(n int) string {
	return fmt.Sprintf(`{"query":"query Big($n: Int) { big(n: $n) }","variables":{"n":%d}}`, n)
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func unzstd(t *testing.T, b []byte) []byte {
	t.Helper()
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := d.DecodeAll(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Responses of CompressMinBytes and more are compressed for the clients
// that accept it, zstd first; smaller ones, and those for clients that
// accept neither, are not. Every one says Vary: Accept-Encoding.
func TestCompressedResponses(t *testing.T) {
	f := startFake(t, false)
	base := startRouter(t, f, server.Config{})
	big, small := server.CompressMinBytes+1000, server.CompressMinBytes-200
	for _, tc := range []struct {
		name   string
		accept string
		size   int
		want   string // Content-Encoding
	}{
		{"no Accept-Encoding", "", big, ""},
		{"gzip", "gzip", big, "gzip"},
		{"gzip, any case", "GZip", big, "gzip"},
		{"zstd", "zstd", big, "zstd"},
		{"both: zstd", "gzip, deflate, br, zstd", big, "zstd"},
		{"gzip preferred", "gzip;q=1.0, zstd;q=0.5", big, "gzip"},
		{"gzip refused", "gzip;q=0, zstd", big, "zstd"},
		{"identity", "identity", big, ""},
		{"unsupported", "br, deflate", big, ""},
		{"under the threshold", "gzip, zstd", small, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := bigQuery(tc.size)
			plain := post(context.Background(), base+"/graphql", body, nil)
			var h http.Header
			if tc.accept != "" {
				h = http.Header{"Accept-Encoding": {tc.accept}}
			}
			a := post(context.Background(), base+"/graphql", body, h)
			if a.err != nil || a.status != 200 || plain.status != 200 {
				t.Fatalf("%d %v; plain %d", a.status, a.err, plain.status)
			}
			if got := a.header.Get("Content-Encoding"); got != tc.want {
				t.Errorf("Content-Encoding %q, want %q", got, tc.want)
			}
			if !strings.Contains(strings.Join(a.header.Values("Vary"), ","), "Accept-Encoding") {
				t.Errorf("Vary %q", a.header.Values("Vary"))
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			got := a.body
			switch tc.want {
			case "gzip":
				got = gunzip(t, a.body)
			case "zstd":
				got = unzstd(t, a.body)
			}
			if !bytes.Equal(got, plain.body) {
				t.Errorf("decoded %d bytes, want the %d of the plain answer", len(got), len(plain.body))
			}
			if tc.want != "" && len(a.body) >= len(plain.body)/2 {
				t.Errorf("%d bytes compressed to %d", len(plain.body), len(a.body))
			}
			if tc.size == small && len(plain.body) >= server.CompressMinBytes {
				t.Errorf("the small answer is %d bytes", len(plain.body))
			}
		})
	}
	// Small answers too say that they vary.
	res := post(context.Background(), base+"/graphql", `{"query":"{ hello }"}`, http.Header{"Accept-Encoding": {"gzip"}})
	if res.header.Get("Content-Encoding") != "" || !strings.Contains(res.header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("a small answer: Content-Encoding %q, Vary %q", res.header.Get("Content-Encoding"), res.header.Get("Vary"))
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// emptyBlocks is a gzip stream of n empty deflate blocks and no data: 5n
// bytes that decompress to nothing.
func emptyBlocks(n int) []byte {
	var buf bytes.Buffer
	buf.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	for range n {
		buf.Write([]byte{0, 0, 0, 0xff, 0xff}) // a stored block, not the last, of length 0
	}
	return buf.Bytes()
}

// Request bodies may come gzipped, within the body limit once
// decompressed and as sent: a zip bomb is 413, a body that is not gzip
// 400, another coding 415, each with the route's error body (GraphQL's on
// /graphql, the contract's on the REST shims).
func TestCompressedRequests(t *testing.T) {
	const limit = 64 << 10
	f := startFake(t, false)
	base := startRouter(t, f, server.Config{MaxBodyBytes: limit})
	v, err := openapitest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	hello := []byte(`{"query":"{ hello }"}`)
	valid := gzipped(hello)
	bomb := gzipped(bytes.Repeat([]byte(" "), 16<<20)) // 16 MiB of JSON space, 16 KiB compressed
	if len(bomb) >= limit {
		t.Fatalf("the bomb is %d bytes compressed", len(bomb))
	}
	for _, tc := range []struct {
		name     string
		path     string
		coding   string
		body     []byte
		status   int
		code     string
		contains string
	}{
		{name: "gzip", path: "/graphql", coding: "gzip", body: valid, status: 200, contains: `"hello":"request`},
		{name: "x-gzip, any case", path: "/graphql", coding: "X-GZIP", body: valid, status: 200, contains: `"hello":"request`},
		{name: "identity", path: "/graphql", coding: "identity", body: hello, status: 200, contains: `"hello":"request`},
		{name: "zip bomb", path: "/graphql", coding: "gzip", body: bomb, status: 413, code: "BAD_REQUEST"},
		{name: "empty blocks past the limit", path: "/graphql", coding: "gzip", body: emptyBlocks(limit/5 + 100), status: 413, code: "BAD_REQUEST"},
		{name: "not gzip", path: "/graphql", coding: "gzip", body: hello, status: 400, code: "BAD_REQUEST", contains: "not valid gzip"},
		{name: "cut short", path: "/graphql", coding: "gzip", body: valid[:len(valid)-6], status: 400, code: "BAD_REQUEST", contains: "not valid gzip"},
		{name: "corrupt", path: "/graphql", coding: "gzip", body: append(append([]byte{}, valid[:12]...), bytes.Repeat([]byte{0xff}, 20)...), status: 400, code: "BAD_REQUEST"},
		{name: "bad checksum", path: "/graphql", coding: "gzip", body: append(append([]byte{}, valid[:len(valid)-8]...), 0, 0, 0, 0, 21, 0, 0, 0), status: 400, code: "BAD_REQUEST", contains: "not valid gzip"},
		{name: "empty", path: "/graphql", coding: "gzip", body: []byte{}, status: 400, code: "BAD_REQUEST"},
		{name: "brotli", path: "/graphql", coding: "br", body: hello, status: 415, code: "BAD_REQUEST", contains: "gzip"},
		{name: "two codings", path: "/graphql", coding: "gzip, gzip", body: gzipped(valid), status: 415, code: "BAD_REQUEST"},
		{name: "REST: zip bomb", path: "/books", coding: "gzip", body: bomb, status: 413, code: "BAD_REQUEST"},
		{name: "REST: not gzip", path: "/orders", coding: "gzip", body: []byte(`{"items":[]}`), status: 400, code: "BAD_REQUEST", contains: "not valid gzip"},
		{name: "REST: brotli", path: "/books", coding: "br", body: []byte(`{}`), status: 415, code: "BAD_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := roundtrip.Do(t, client, http.MethodPost, base+tc.path, bytes.NewReader(tc.body),
				http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {tc.coding}})
			if res.StatusCode != tc.status || !strings.Contains(string(body), tc.contains) {
				t.Fatalf("%d %s, want %d with %q", res.StatusCode, body, tc.status, tc.contains)
			}
			if tc.status == 415 && res.Header.Get("Accept-Encoding") != "gzip" {
				t.Errorf("415 with Accept-Encoding %q", res.Header.Get("Accept-Encoding"))
			}
			if tc.code == "" {
				return
			}
			var e struct {
				Errors []struct{ Extensions struct{ Code string } }
				Error  struct{ Code string }
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatal(err)
			}
			if tc.path == "/graphql" {
				if len(e.Errors) != 1 || e.Errors[0].Extensions.Code != tc.code {
					t.Errorf("body %s, want the GraphQL error %s", body, tc.code)
				}
				return
			}
			if e.Error.Code != tc.code {
				t.Errorf("body %s, want the REST error %s", body, tc.code)
			}
			if err := v.Validate(res.Request, res.StatusCode, res.Header, body); err != nil {
				t.Errorf("not the contract's: %v", err)
			}
		})
	}
}
