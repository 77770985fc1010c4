package gqlparams

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
)

// bodies are request bodies; fast says whether Decode reads them itself.
var bodies = []struct {
	body string
	fast bool
}{
	{`{"query":"{ books(first: 20) { edges { node { id } } } }"}`, true},
	{`{"query":"query($representations0: [_Any!]!) {_0: _entities(representations: $representations0) {... on Book {title priceCents}}}","variables":{"representations0":[{"__typename":"Book","id":"96d4816c-1d71-3e59-2cd2-8f7f36d767b9"},{"__typename":"Book","id":"0b7c1f3e-55aa-4c1e-9a61-3f0d8e2b7c10"}]}}`, true},
	{` { "query" : "q" , "operationName" : "Op" , "variables" : { "n" : -1.5e-3 , "b" : [ true , false , null , 0 , 10 , {} , [] ] } , "extensions" : null } `, true},
	{`{"variables":null,"query":null}`, true},
	{`{}`, true},
	{`{"query":"q","variables":{"a":1,"a":2}}`, true},
	{`{"query":"query Shelf {\n  books(first: 2) {\n\t\"x\" \\ \/ \b \f \r }\n}\n"}`, true},
	{"{\"query\":\"café ☕\",\"variables\":{\"t\":\"Müller\\n\"}}", true},
	{"{\"query\":\"q\",\"variables\":{\"k\\\"ey\":\"\x7f\"}}", true},
	// Left to encoding/json.
	{`{"query":"caf\u00e9"}`, false},
	{`{"query":"\ud83d\ude00"}`, false},
	{"{\"query\":\"\xff\"}", false},
	{"{\"query\":\"a\nb\"}", false},
	{`{"query":"a\x"}`, false},
	{`{"query":"a\`, false},
	{`{"Query":"q"}`, false},
	{`{"headers":{"a":"b"},"query":"q"}`, false},
	{`{"variables":{"a":1},"variables":{"b":2}}`, false},
	{`{"query":"q"} trailing`, false},
	{`{"query":"q"}{"query":"r"}`, false},
	{`{"variables":{"n":01}}`, false},
	{`{"variables":{"n":1.}}`, false},
	{`{"variables":{"n":-}}`, false},
	{`{"variables":{"n":tru}}`, false},
	{`{"query":5}`, false},
	{`{"variables":[1]}`, false},
	{`[{"query":"q"}]`, false},
	{`null`, false},
	{``, false},
	{`{"query":"q",}`, false},
	{`{"variables":{"a":[1,]}}`, false},
}

func TestDecodeIsEncodingJSONs(t *testing.T) {
	for _, b := range bodies {
		if _, fast := Decode([]byte(b.body)); fast != b.fast {
			t.Errorf("%s: read by Decode %v, want %v", b.body, fast, b.fast)
		}
		sameAsEncodingJSON(t, []byte(b.body))
	}
}

func FuzzDecode(f *testing.F) {
	for _, b := range bodies {
		f.Add([]byte(b.body))
	}
	f.Fuzz(sameAsEncodingJSON)
}

// sameAsEncodingJSON fails unless Decode, when it reads body, gives what
// encoding/json does.
func sameAsEncodingJSON(t *testing.T, body []byte) {
	got, ok := Decode(body)
	if !ok {
		return
	}
	var want struct {
		Query         *string
		OperationName *string
		Variables     map[string]any
		Extensions    map[string]any
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("%q: Decode reads it, encoding/json refuses it: %v", body, err)
	}
	if dec.More() {
		t.Fatalf("%q: Decode reads it, encoding/json finds more after it", body)
	}
	if got.HasQuery != (want.Query != nil) || want.Query != nil && got.Query != *want.Query {
		t.Fatalf("%q: query %q (%v), encoding/json's %v", body, got.Query, got.HasQuery, want.Query)
	}
	if want.OperationName != nil && got.OperationName != *want.OperationName || want.OperationName == nil && got.OperationName != "" {
		t.Fatalf("%q: operationName %q", body, got.OperationName)
	}
	if !reflect.DeepEqual(got.Variables, want.Variables) || !reflect.DeepEqual(got.Extensions, want.Extensions) {
		t.Fatalf("%q:\n got %#v %#v\nwant %#v %#v", body, got.Variables, got.Extensions, want.Variables, want.Extensions)
	}
}

// plainASCII agrees with a byte-by-byte check on every byte value in every
// position.
func TestPlainASCII(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			want := true
			for _, c := range b {
				want = want && c >= 0x20 && c < 0x80 && c != '"' && c != '\\'
			}
			if got := plainASCII(binary.LittleEndian.Uint64(b)); got != want {
				t.Fatalf("plainASCII(% x) = %v, want %v", b, got, want)
			}
		}
	}
}
