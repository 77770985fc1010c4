package gqlrun

import (
	"bytes"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
)

// decodeParams decodes a GraphQL request body into p, giving what gqlgen's
// transport gives (an encoding/json Decoder with UseNumber): the values of
// variables and extensions as map[string]any, []any, string, json.Number,
// bool and nil.
//
// It reads the bodies the router sends in one pass, without reflection, and
// hands any other body to encoding/json: a key other than query,
// operationName, variables and extensions (which encoding/json would match
// case-insensitively, or skip), or one of them twice, a string with an
// escape or a byte that is not printable ASCII, more than maxDepth levels
// of nesting, anything after the object. Whenever it answers, encoding/json
// answers the same.
func decodeParams(body []byte, p *graphql.RawParams) error {
	if d := (paramDecoder{src: body}); d.params(p) {
		return nil
	}
	*p = graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(p)
}

// maxDepth bounds the nesting paramDecoder follows.
const maxDepth = 64

// paramDecoder reads the common case of a request body. Each method
// returns false as soon as the body is not one it reads.
type paramDecoder struct {
	src []byte
	at  int
}

func (d *paramDecoder) params(p *graphql.RawParams) bool {
	d.space()
	if !d.byte('{') {
		return false
	}
	d.space()
	if d.byte('}') {
		return d.end()
	}
	// A key given twice: encoding/json would merge two variables objects.
	seen := map[string]bool{}
	for {
		d.space()
		key, ok := d.string()
		if !ok || seen[key] {
			return false
		}
		seen[key] = true
		d.space()
		if !d.byte(':') {
			return false
		}
		d.space()
		switch key {
		case "query", "operationName":
			var s string
			if !d.literal("null") {
				if s, ok = d.string(); !ok {
					return false
				}
				if key == "query" {
					p.Query = s
				} else {
					p.OperationName = s
				}
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
		default:
			return false
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

// string reads a string of printable ASCII without escapes.
func (d *paramDecoder) string() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	n := bytes.IndexByte(d.src[d.at:], '"')
	if n < 0 {
		return "", false
	}
	raw := d.src[d.at : d.at+n]
	for _, c := range raw {
		if c == '\\' || c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	d.at += n + 1
	return string(raw), true
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
