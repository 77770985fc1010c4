package store

import (
	"reflect"
	"testing"
)

func TestParseItems(t *testing.T) {
	const a, b = "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", "0b7c1f3e-55aa-4c1e-9a61-3f0d8e2b7c10"
	for _, tc := range []struct {
		in   string
		want []Item
		err  bool
	}{
		{in: "", want: []Item{}},
		{in: a + " 1 2599", want: []Item{{a, 1, 2599}}},
		{in: a + " 3 0 " + b + " 100 10000000", want: []Item{{a, 3, 0}, {b, 100, 10000000}}},
		{in: a + " 1", err: true},
		{in: a + " x 1", err: true},
		{in: a + " 1 2 " + b, err: true},
		{in: " 1 2", err: true},
	} {
		got, err := parseItems(tc.in)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("parseItems(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}
