package gqlrun

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// bodies are request bodies; fast says whether paramDecoder reads them
// itself.
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
	// Left to encoding/json.
	{`{"query":"q\n"}`, false},
	{`{"query":"caf\u00e9"}`, false},
	{"{\"query\":\"café\"}", false},
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

func TestDecodeParamsIsEncodingJSONs(t *testing.T) {
	for _, b := range bodies {
		var p graphql.RawParams
		d := paramDecoder{src: []byte(b.body)}
		if fast := d.params(&p); fast != b.fast {
			t.Errorf("%s: read by paramDecoder %v, want %v", b.body, fast, b.fast)
		}
		sameAsEncodingJSON(t, []byte(b.body))
	}
}

func FuzzDecodeParams(f *testing.F) {
	for _, b := range bodies {
		f.Add([]byte(b.body))
	}
	f.Fuzz(sameAsEncodingJSON)
}

// sameAsEncodingJSON fails unless decodeParams and encoding/json agree on
// body: the same error or none, and the same parameters.
func sameAsEncodingJSON(t *testing.T, body []byte) {
	var got, want graphql.RawParams
	gotErr := decodeParams(body, &got)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	wantErr := dec.Decode(&want)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%q: error %v, encoding/json's %v", body, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", body, got, want)
	}
}
