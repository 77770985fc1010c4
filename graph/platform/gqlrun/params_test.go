package gqlrun

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// decodeParams gives gqlgen's transport's parameters, whether gqlparams
// reads the body (the first two) or encoding/json does.
func TestDecodeParamsIsEncodingJSONs(t *testing.T) {
	for _, body := range []string{
		`{"query":"query($r: [_Any!]!) {_0: _entities(representations: $r) {... on Book {title}}}","variables":{"r":[{"__typename":"Book","id":"1"}]},"extensions":null}`,
		`{"query":"{\n  books { id }\n}","operationName":null,"variables":{"n":-1.5e-3,"b":[true,null,{}]}}`,
		`{"query":"caf\u00e9","Variables":{"a":1}}`,
		`{"query":5}`,
		`[{"query":"q"}]`,
	} {
		sameAsEncodingJSON(t, []byte(body))
	}
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
