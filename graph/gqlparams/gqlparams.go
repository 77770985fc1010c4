// Package gqlparams reads the body of a GraphQL-over-HTTP POST, the
// parameters {"query", "operationName", "variables", "extensions"}, in one
// pass and without reflection: the router's /graphql and the subgraphs
// both read one per request.
//
// It reads the bodies clients and the router send, and leaves any other to
// encoding/json (Decode's ok is false): a key other than the four (which
// encoding/json would match case-insensitively, or skip), one of them
// twice, a string with a \u escape or invalid UTF-8, more than maxDepth
// levels of nesting, anything after the object. Whenever it answers,
// encoding/json, with UseNumber, answers the same.
package gqlparams

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// Params are a request's parameters. Numbers in Variables and Extensions
// are json.Numbers, as encoding/json's UseNumber gives them.
type Params struct {
	Query         string
	OperationName string
	Variables     map[string]any
	Extensions    map[string]any
	// HasQuery reports a query member that is not null.
	HasQuery bool
}

// Decode reads body. ok is false when body is not one it reads (see the
// package's doc): the caller then decodes it with encoding/json, which
// also gives the errors.
func Decode(body []byte) (p Params, ok bool) {
	d := paramDecoder{src: body}
	if !d.params(&p) {
		return Params{}, false
	}
	return p, true
}

// maxDepth bounds the nesting paramDecoder follows.
const maxDepth = 64

// paramDecoder reads the common case of a request body. Each method
// returns false as soon as the body is not one it reads.
type paramDecoder struct {
	src []byte
	at  int
}

func (d *paramDecoder) params(p *Params) bool {
	d.space()
	if !d.byte('{') {
		return false
	}
	d.space()
	if d.byte('}') {
		return d.end()
	}
	// A key given twice: encoding/json would merge two variables objects.
	var seen [4]bool
	for {
		d.space()
		key, ok := d.string()
		if !ok {
			return false
		}
		k := slices.Index(paramKeys, key)
		if k < 0 || seen[k] {
			return false
		}
		seen[k] = true
		d.space()
		if !d.byte(':') {
			return false
		}
		d.space()
		switch key {
		case "query", "operationName":
			if d.literal("null") {
				break
			}
			s, ok := d.string()
			if !ok {
				return false
			}
			if key == "query" {
				p.Query, p.HasQuery = s, true
			} else {
				p.OperationName = s
			}
		case "variables", "extensions":
			var m map[string]any
			if !d.literal("null") {
				if m, ok = d.object(1); !ok {
					return false
				}
			}
			if key == "variables" {
				p.Variables = m
			} else {
				p.Extensions = m
			}
		}
		d.space()
		if d.byte('}') {
			return d.end()
		}
		if !d.byte(',') {
			return false
		}
	}
}

// paramKeys are the members a body may have, as they must be spelt.
var paramKeys = []string{"query", "operationName", "variables", "extensions"}

// end reports whether nothing but white space follows.
func (d *paramDecoder) end() bool {
	d.space()
	return d.at == len(d.src)
}

func (d *paramDecoder) space() {
	for d.at < len(d.src) {
		switch d.src[d.at] {
		case ' ', '\t', '\n', '\r':
			d.at++
		default:
			return
		}
	}
}

// byte consumes c if it comes next.
func (d *paramDecoder) byte(c byte) bool {
	if d.at < len(d.src) && d.src[d.at] == c {
		d.at++
		return true
	}
	return false
}

// literal consumes s if it comes next.
func (d *paramDecoder) literal(s string) bool {
	if bytes.HasPrefix(d.src[d.at:], []byte(s)) {
		d.at += len(s)
		return true
	}
	return false
}

// string reads a string whose escapes are the one-letter ones (\n, \",
// \\ ...) and whose other bytes are valid UTF-8: encoding/json reads
// those to the same string. A \u escape, which may stand for half a
// surrogate pair, is left to encoding/json.
func (d *paramDecoder) string() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.at
	var out []byte // the decoded string, once an escape is met
	for i := start; i < len(d.src); i++ {
		for i+8 <= len(d.src) && plainASCII(binary.LittleEndian.Uint64(d.src[i:])) {
			i += 8
		}
		if i >= len(d.src) {
			break
		}
		switch c := d.src[i]; {
		case c == '"':
			d.at = i + 1
			if out == nil {
				raw := d.src[start:i]
				return string(raw), utf8.Valid(raw)
			}
			out = append(out, d.src[start:i]...)
			return string(out), utf8.Valid(out)
		case c == '\\':
			if i+1 == len(d.src) {
				return "", false
			}
			r, ok := unescape(d.src[i+1])
			if !ok {
				return "", false
			}
			out = append(append(out, d.src[start:i]...), r)
			i++
			start = i + 1
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// plainASCII reports whether the eight bytes in x are all ASCII and none
// is a quote, a backslash or a control character. A byte is zero in v
// exactly when v-0x01 borrows into its high bit while v's own high bit is
// clear; with every high bit of x clear, that holds for each test below.
func plainASCII(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	return (x|(quote-ones)&^quote|(backslash-ones)&^backslash|(x-ones*0x20)&^x)&highs == 0
}

// unescape returns the byte a one-letter escape stands for.
func unescape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

func (d *paramDecoder) value(depth int) (any, bool) {
	if depth > maxDepth || d.at == len(d.src) {
		return nil, false
	}
	switch c := d.src[d.at]; {
	case c == '{':
		m, ok := d.object(depth + 1)
		return m, ok
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.string()
	case c == '-' || '0' <= c && c <= '9':
		return d.number()
	case d.literal("true"):
		return true, true
	case d.literal("false"):
		return false, true
	case d.literal("null"):
		return nil, true
	}
	return nil, false
}

func (d *paramDecoder) object(depth int) (map[string]any, bool) {
	if depth > maxDepth || !d.byte('{') {
		return nil, false
	}
	m := map[string]any{}
	d.space()
	if d.byte('}') {
		return m, true
	}
	for {
		d.space()
		key, ok := d.string()
		if !ok {
			return nil, false
		}
		d.space()
		if !d.byte(':') {
			return nil, false
		}
		d.space()
		v, ok := d.value(depth)
		if !ok {
			return nil, false
		}
		m[key] = v
		d.space()
		if d.byte('}') {
			return m, true
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

func (d *paramDecoder) array(depth int) ([]any, bool) {
	if !d.byte('[') {
		return nil, false
	}
	a := []any{}
	d.space()
	if d.byte(']') {
		return a, true
	}
	for {
		d.space()
		v, ok := d.value(depth)
		if !ok {
			return nil, false
		}
		a = append(a, v)
		d.space()
		if d.byte(']') {
			return a, true
		}
		if !d.byte(',') {
			return nil, false
		}
	}
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *paramDecoder) number() (json.Number, bool) {
	start := d.at
	d.byte('-')
	switch {
	case d.byte('0'):
	case d.digits() == 0:
		return "", false
	}
	if d.byte('.') && d.digits() == 0 {
		return "", false
	}
	if d.byte('e') || d.byte('E') {
		if !d.byte('+') {
			d.byte('-')
		}
		if d.digits() == 0 {
			return "", false
		}
	}
	return json.Number(d.src[start:d.at]), true
}

// digits consumes decimal digits and returns how many.
func (d *paramDecoder) digits() int {
	n := 0
	for d.at < len(d.src) && '0' <= d.src[d.at] && d.src[d.at] <= '9' {
		d.at++
		n++
	}
	return n
}
