package execute

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The executor merges subgraph responses into one tree of these values:
// nil, bool, string, number, []any and *object. Objects keep their fields
// in order and are looked up by a linear scan, which for the small objects
// of a GraphQL response is faster and allocates far less than a map.

// object is a JSON object.
type object struct {
	keys []string
	vals []any
}

// number is a JSON number as the subgraph wrote it.
type number string

func (o *object) get(key string) (any, bool) {
	for i, k := range o.keys {
		if k == key {
			return o.vals[i], true
		}
	}
	return nil, false
}

func (o *object) set(key string, v any) {
	for i, k := range o.keys {
		if k == key {
			o.vals[i] = v
			return
		}
	}
	o.keys = append(o.keys, key)
	o.vals = append(o.vals, v)
}

// toInterface converts a tree value to encoding/json's types, for errors'
// extensions.
func toInterface(v any) any {
	switch v := v.(type) {
	case *object:
		m := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			m[k] = toInterface(v.vals[i])
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = toInterface(x)
		}
		return out
	case number:
		return json.Number(v)
	}
	return v
}

// parseJSON parses one JSON value (and nothing after it but space).
func parseJSON(b []byte) (any, error) {
	p := &jsonParser{b: b}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, p.errorf("data after the JSON value")
	}
	return v, nil
}

// maxDepth bounds nesting, so a hostile body cannot exhaust the stack.
const maxDepth = 512

type jsonParser struct {
	b []byte
	i int
}

var errJSON = errors.New("invalid JSON")

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", errJSON, p.i, fmt.Sprintf(format, args...))
}

// The framing of objects and arrays, shared by every scanner here: each
// passes over the brackets, keys' quotes, colons and commas the same way
// and reports the same errors, and reads the members' keys and values its
// own way.

// open passes over the bracket at p.i and reports whether the container is
// empty, passing over its closer too.
func (p *jsonParser) open(closer byte) bool {
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == closer {
		p.i++
		return true
	}
	return false
}

// keyStart checks that a member's key starts next.
func (p *jsonParser) keyStart() error {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return p.errorf("want a key")
	}
	return nil
}

// colon passes over the ':' after a member's key.
func (p *jsonParser) colon() error {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != ':' {
		return p.errorf("want ':'")
	}
	p.i++
	return nil
}

// members reads the members of the object at p.i (its '{'), up to its
// '}': key reads each member's key, member its value, with p.i at the
// value (white space passed over). atEnd is the error's text when the
// input ends. For the cold paths (the response's top level, the boxed
// parser): the arena parser and skip, which are hot, frame members
// themselves.
func (p *jsonParser) members(key func() (string, error), atEnd string, member func(key string) error) error {
	if p.open('}') {
		return nil
	}
	for {
		if err := p.keyStart(); err != nil {
			return err
		}
		k, err := key()
		if err != nil {
			return err
		}
		if err := p.colon(); err != nil {
			return err
		}
		p.space()
		if err := member(k); err != nil {
			return err
		}
		if done, err := p.next('}', atEnd); done || err != nil {
			return err
		}
	}
}

// next passes over what follows a member or an element: a ',' (more to
// come) or closer (done). atEnd is the error's text when the input ends.
func (p *jsonParser) next(closer byte, atEnd string) (done bool, err error) {
	p.space()
	if p.i >= len(p.b) {
		return false, p.errorf("%s", atEnd)
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return false, nil
	case closer:
		p.i++
		return true, nil
	}
	return false, p.errorf("want ',' or %q", closer)
}

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested too deep")
	}
	p.space()
	if p.i >= len(p.b) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.string()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *jsonParser) literal(word string) error {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return p.errorf("bad literal")
	}
	p.i += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (any, error) {
	o := &object{}
	err := p.members(p.string, "unexpected end in an object", func(key string) error {
		v, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		o.keys = append(o.keys, key)
		o.vals = append(o.vals, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (p *jsonParser) array(depth int) (any, error) {
	list := []any{}
	if p.open(']') {
		return list, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		if done, err := p.next(']', "unexpected end in an array"); done || err != nil {
			if err != nil {
				return nil, err
			}
			return list, nil
		}
	}
}

func (p *jsonParser) number() (any, error) {
	start := p.i
	if err := p.scanNumber(); err != nil {
		return nil, err
	}
	return number(p.b[start:p.i]), nil
}

// string reads a JSON string; the common case (no escapes, valid UTF-8) is
// one allocation.
func (p *jsonParser) string() (string, error) {
	p.i++ // "
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !utf8.Valid(s) {
				return string([]rune(string(s))), nil // invalid bytes become U+FFFD
			}
			return string(s), nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", p.errorf("control character in a string")
		}
		p.i++
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) escaped(start int) (string, error) {
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if !utf8.Valid(buf) {
				return string([]rune(string(buf))), nil
			}
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in a string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		if p.i >= len(p.b) {
			break
		}
		e := p.b[p.i]
		p.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if lo, ok := p.hex4(); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
						} else {
							p.i = save
						}
					} else {
						p.i = save
					}
				}
				r = r2
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("bad escape")
		}
	}
	return "", p.errorf("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}

// skip passes over one JSON value, validating it, without building it.
func (p *jsonParser) skip(depth int) error {
	if depth > maxDepth {
		return p.errorf("nested too deep")
	}
	p.space()
	if p.i >= len(p.b) {
		return p.errorf("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		if p.open(closer) {
			return nil
		}
		for {
			if c == '{' {
				if err := p.keyStart(); err != nil {
					return err
				}
				if err := p.skipString(); err != nil {
					return err
				}
				if err := p.colon(); err != nil {
					return err
				}
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			if done, err := p.next(closer, "unexpected end"); done || err != nil {
				return err
			}
		}
	case c == '"':
		return p.skipString()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return p.scanNumber()
	}
}

func (p *jsonParser) skipString() error {
	p.i++ // "
	for p.i < len(p.b) {
		// Eight plain bytes at a time: most of a string is neither a
		// quote, a backslash nor a control character.
		for p.i+8 <= len(p.b) && !hasStringSpecial(binary.LittleEndian.Uint64(p.b[p.i:])) {
			p.i += 8
		}
		if p.i >= len(p.b) {
			break
		}
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return nil
		case c == '\\':
			p.i++
			if p.i >= len(p.b) {
				return p.errorf("unterminated string")
			}
			switch p.b[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				p.i++
				if _, ok := p.hex4(); !ok {
					return p.errorf("bad \\u escape")
				}
			default:
				return p.errorf("bad escape")
			}
			continue
		case c < 0x20:
			return p.errorf("control character in a string")
		}
		p.i++
	}
	return p.errorf("unterminated string")
}

// hasStringSpecial reports whether any of the eight bytes in x is a quote,
// a backslash or a control character (under 0x20), by the classic word
// tricks: a byte is zero in v exactly when v-0x01 borrows into its high
// bit while v's own high bit is clear.
func hasStringSpecial(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	return ((quote-ones)&^quote|(backslash-ones)&^backslash|(x-ones*0x20)&^x)&highs != 0
}

// splitTop returns the raw values of the top-level members of a JSON object
// that keys names (nil for a member that is absent), scanning the body once
// and building nothing.
func splitTop(b []byte, keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	p := &jsonParser{b: b}
	if !p.atObject() {
		return nil, p.errorf("want an object")
	}
	err := p.members(p.string, "unexpected end", func(key string) error {
		raw, err := p.skipped()
		for i, k := range keys {
			if k == key {
				out[i] = raw
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, p.end()
}

// skipped passes over one JSON value (p.i at its start) and returns it.
func (p *jsonParser) skipped() ([]byte, error) {
	start := p.i
	err := p.skip(1)
	return p.b[start:p.i], err
}

// atObject reports whether, past white space, an object starts at p.i.
func (p *jsonParser) atObject() bool {
	p.space()
	return p.i < len(p.b) && p.b[p.i] == '{'
}

func (p *jsonParser) end() error {
	p.space()
	if p.i != len(p.b) {
		return p.errorf("data after the JSON value")
	}
	return nil
}
