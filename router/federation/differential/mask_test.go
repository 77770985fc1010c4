package differential

import (
	"encoding/json"
	"testing"
)

// TestGeneratedMask checks the masking helper of the mutation comparison:
// key order and formatting-independent content are kept, only generated
// ids and non-null timestamps change.
func TestGeneratedMask(t *testing.T) {
	mask := generatedMask(map[string]bool{"b-1": true})
	for _, tc := range []struct{ in, want string }{
		{`null`, `null`},
		{`{"z":1,"a":[true,null,"x",1.5e3]}`, `{"z":1,"a":[true,null,"x",1.5e3]}`},
		{
			`{"placeOrder":{"id":"0b5e2f6e-1d71-4e59-8cd2-8f7f36d767b9","createdAt":"2026-01-01T00:00:00Z","cancelledAt":null,` +
				`"items":[{"book":{"id":"b-1","title":"id"}},{"book":{"id":"b-2","updatedAt":"x"}}]}}`,
			`{"placeOrder":{"id":"<generated id>","createdAt":"<timestamp>","cancelledAt":null,` +
				`"items":[{"book":{"id":"b-1","title":"id"}},{"book":{"id":"<generated id>","updatedAt":"<timestamp>"}}]}}`,
		},
		{`{ "id" : { "id": 7 }, "x": [ {}, [] ] }`, `{"id":{"id":7},"x":[{},[]]}`},
	} {
		got := mask(json.RawMessage(tc.in))
		if string(got) != tc.want {
			t.Errorf("mask(%s)\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
	if got := mask(nil); got != nil {
		t.Errorf("mask(nil) = %s, want nil", got)
	}
}
