package execute

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"bookstore/router/federation/internal/jsonstr"
)

// The tree parser must read exactly what encoding/json reads.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"data":{"books":{"edges":[{"node":{"title":"Go","n":1.5e3,"ok":true,"x":null}}]}}}`,
		`{"a":"\u00e9\ud83d\ude00 \n\t\"\\/","b":[],"c":{},"d":-0.0,"e":[1,[2,[3]]]}`,
		`"\ud800"`, `"\udc00\ud800"`, `"\ud83dx"`, "\"\xff\xfe\"", `[1,2,]`, `{"a" 1}`, `{"a":1}x`, `01`, `1.`, `-`, `1e`, `tru`,
		`  {"errors":[{"message":"m","path":["a",0,"b"],"extensions":{"code":"X"}}]}  `,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want any
		wantErr := json.Unmarshal([]byte(s), &want)
		// A number too large for a float64 is valid JSON that
		// encoding/json will not hold: skip and the value parser check
		// syntax and keep a number's text, so they pass it on as it is.
		var rangeErr *json.UnmarshalTypeError
		outOfRange := errors.As(wantErr, &rangeErr) && strings.HasPrefix(rangeErr.Value, "number")
		if wantErr != nil && !outOfRange {
			p := &jsonParser{b: []byte(s)}
			if err := p.skip(0); err == nil && p.end() == nil {
				t.Fatalf("%q: skip accepts what encoding/json refuses (%v)", s, wantErr)
			}
			a := getArena()
			defer a.release()
			vp := &valueParser{jsonParser: jsonParser{b: []byte(s)}, a: a}
			if _, err := vp.value(0); err == nil && vp.end() == nil {
				t.Fatalf("%q: the value parser accepts what encoding/json refuses (%v)", s, wantErr)
			}
		}
		got, err := parseJSON([]byte(s))
		if outOfRange {
			return // parsed or refused, without a panic
		}
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: parseJSON err %v, encoding/json err %v", s, err, wantErr)
		}
		if err != nil {
			return
		}
		if g := normalize(toInterface(got)); !reflect.DeepEqual(g, want) {
			t.Fatalf("%q: got %#v, want %#v", s, g, want)
		}
		// The arena's parser reads the same values, and writes strings as
		// encoding/json writes them.
		a := getArena()
		defer a.release()
		vp := &valueParser{jsonParser: jsonParser{b: []byte(s)}, a: a}
		v, err := vp.value(0)
		if err == nil {
			err = vp.end()
		}
		if err != nil {
			t.Fatalf("%q: the value parser fails: %v", s, err)
		}
		if g := normalize(toGo(v)); !reflect.DeepEqual(g, want) {
			t.Fatalf("%q: value parser got %#v, want %#v", s, g, want)
		}
		if str, ok := want.(string); ok {
			out, _ := appendValue(nil, v)
			if enc := jsonstr.AppendHTMLSafe(nil, str); string(out) != string(enc) {
				t.Fatalf("%q: written %s, want %s", s, out, enc)
			}
		}
		// Skipping accepts exactly what parsing accepts.
		p := &jsonParser{b: []byte(s)}
		if err := p.skip(0); err != nil || p.end() != nil {
			t.Fatalf("%q parses but does not skip: %v", s, err)
		}
		if _, ok := want.(map[string]any); ok {
			parts, err := splitTop([]byte(s), "data")
			if err != nil {
				t.Fatalf("%q: splitTop: %v", s, err)
			}
			if d := want.(map[string]any)["data"]; d != nil {
				var v any
				if err := json.Unmarshal(parts[0], &v); err != nil || !reflect.DeepEqual(v, d) {
					t.Fatalf("%q: splitTop data %q", s, parts[0])
				}
			}
		}
	})
}

// normalize turns json.Numbers into float64, as encoding/json decodes them.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = normalize(x)
		}
	case []any:
		for i, x := range v {
			v[i] = normalize(x)
		}
	case json.Number:
		f, _ := v.Float64()
		return f
	}
	return v
}

func TestMergeKeepsOrder(t *testing.T) {
	a := getArena()
	defer a.release()
	o := mustObject(t, a, `{"b":1,"a":{"y":2,"x":3},"c":[{"k":1}]}`)
	a.merge(o, mustObject(t, a, `{"a":{"z":4},"d":5,"c":[{"m":2}],"b":"one"}`))
	out, err := appendValue(nil, objectValue(o))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":{"x":3,"y":2,"z":4},"b":"one","c":[{"k":1,"m":2}],"d":5}` // encoding/json sorts map keys
	if string(out) != want {
		t.Errorf("merged %s, want %s", out, want)
	}
	var keys []string
	for n := o; n != nil; n = n.next {
		for _, f := range n.fields {
			keys = append(keys, f.key)
		}
	}
	if !reflect.DeepEqual(keys, []string{"b", "a", "c", "d"}) {
		t.Errorf("merged keys %v", keys)
	}
}

func mustObject(t *testing.T, a *arena, s string) *objNode {
	t.Helper()
	vp := &valueParser{jsonParser: jsonParser{b: []byte(s)}, a: a}
	v, err := vp.value(0)
	if err != nil {
		t.Fatal(err)
	}
	return v.obj()
}

// hasStringSpecial agrees with a byte-by-byte check on every byte value
// in every position, and on random words.
func TestHasStringSpecial(t *testing.T) {
	special := func(c byte) bool { return c == '"' || c == '\\' || c < 0x20 }
	check := func(b [8]byte) {
		want := false
		for _, c := range b {
			want = want || special(c)
		}
		if got := hasStringSpecial(binary.LittleEndian.Uint64(b[:])); got != want {
			t.Fatalf("hasStringSpecial(% x) = %v, want %v", b, got, want)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			b := [8]byte{'a', 'b', 0xc3, 0xa9, 'z', '~', 0x7f, 0xff}
			b[pos] = byte(c)
			check(b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], r.Uint64())
		check(b)
	}
}
