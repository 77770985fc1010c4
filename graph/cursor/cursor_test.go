package cursor

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		order string
		key   any
	}{
		{"TITLE_ASC", "the go programming language"},
		{"PRICE_DESC", int64(3999)},
		{"NEWEST", "2026-11-24T20:53:55.123456Z"},
		{"TITLE_ASC", `quotes " and \ and é`},
	} {
		c := Encode(tc.order, tc.key, "8df5658c-ffb4-3c83-d34f-c0e8a327b8b5")
		if strings.ContainsAny(c, "+/=") {
			t.Errorf("cursor %q is not URL-safe", c)
		}
		switch want := tc.key.(type) {
		case string:
			var got string
			id, err := Decode(c, tc.order, &got)
			if err != nil || got != want || id != "8df5658c-ffb4-3c83-d34f-c0e8a327b8b5" {
				t.Errorf("Decode = %q, %q, %v", got, id, err)
			}
		case int64:
			var got int64
			if _, err := Decode(c, tc.order, &got); err != nil || got != want {
				t.Errorf("Decode = %d, %v", got, err)
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := Encode("PRICE_ASC", 100, "id-1")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, c := range map[string]string{
		"empty":               "",
		"not base64":          "!!!",
		"not JSON":            enc("hello"),
		"another ordering":    Encode("PRICE_DESC", 100, "id-1"),
		"no id":               enc(`{"o":"PRICE_ASC","k":100}`),
		"no key":              enc(`{"o":"PRICE_ASC","id":"x"}`),
		"key of a wrong type": enc(`{"o":"PRICE_ASC","k":"cheap","id":"x"}`),
		"too long":            valid + strings.Repeat("A", MaxLen),
		"padded base64":       base64.URLEncoding.EncodeToString([]byte(`{"o":"PRICE_ASC","k":1,"id":"x"}`)),
	} {
		var key int64
		if _, err := Decode(c, "PRICE_ASC", &key); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Decode = %v, want ErrInvalid", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode("TITLE_ASC", "a", "b"))
	f.Add("")
	f.Add("eyJvIjoiVElUTEVfQVNDIn0")
	f.Fuzz(func(t *testing.T, s string) {
		var key string
		id, err := Decode(s, "TITLE_ASC", &key)
		if err == nil && id == "" {
			t.Fatal("accepted a cursor without an id")
		}
	})
}
