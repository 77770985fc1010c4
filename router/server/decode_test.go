package server

import (
	"reflect"
	"testing"

	"bookstore/graph/gqlparams"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		body, query, op string
		ok              bool
		numVars         int
	}{
		{body: `{"query":"{ a }"}`, ok: true, query: "{ a }"},
		{body: `{"query":"{ a }","operationName":null,"variables":null}`, ok: true, query: "{ a }"},
		{body: `{"query":"{ a }","operationName":"X","variables":{"a":1,"b":[1.5]}}`, ok: true, query: "{ a }", op: "X", numVars: 2},
		{body: `{"query":"{ a }","extensions":{"persistedQuery":{}}}`, ok: true, query: "{ a }"},
		{body: `{"query":1}`},
		{body: `{"variables":{}}`},
		{body: `{"query":"{ a }","variables":"{}"}`},
		{body: `{"query":"{ a }","operationName":7}`},
		{body: ` [ ]`},
		{body: `{"query":"{ a }"}x`},
		{body: ``},
	} {
		req, err := decode([]byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.body, err)
			continue
		}
		if !tc.ok {
			continue
		}
		if req.Query != tc.query || req.OperationName != tc.op || len(req.Variables) != tc.numVars {
			t.Errorf("%s: decoded %+v", tc.body, req)
		}
	}
	// Numbers become the Go values variable coercion expects.
	req, err := decode([]byte(`{"query":"q","variables":{"i":3,"f":2.5}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := req.Variables["i"].(int64); !ok {
		t.Errorf("i = %T", req.Variables["i"])
	}
	if _, ok := req.Variables["f"].(float64); !ok {
		t.Errorf("f = %T", req.Variables["f"])
	}
}

// The one-pass reading of common bodies gives the request encoding/json
// gives.
func TestDecodeFastIsEncodingJSONs(t *testing.T) {
	for _, body := range []string{
		`{"query":"query Q($n: Int) {\n  books(first: $n) { id }\n}","operationName":"Q","variables":{"n":20,"f":-1.5e3,"l":[1,"a",null,true,{"x":[]}]}}`,
		`{"query":"{ a }","operationName":null,"variables":null,"extensions":{"persistedQuery":{"version":1}}}`,
		`{"query":"{ a }","variables":{}}`,
		"{\"query\":\"{ search(text: \\\"café\\\") { id } }\"}",
	} {
		if _, ok := gqlparams.Decode([]byte(body)); !ok {
			t.Errorf("%s: not read in one pass", body)
		}
		want, wantErr := decodeJSON([]byte(body))
		got, err := decode([]byte(body))
		if err != nil || wantErr != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v, %v\nwant %#v, %v", body, got, err, want, wantErr)
		}
	}
}
