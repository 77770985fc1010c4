package execute

import (
	"errors"
	"unicode/utf8"
	"unsafe"
)

// subgraphResponse is a subgraph's GraphQL response: its data parsed into
// an arena, its errors (rare) into Go values, its extensions as they came.
type subgraphResponse struct {
	data       *objNode
	hasData    bool // data was present, and not null
	errors     []subgraphError
	extensions []byte
}

// charClass classifies the bytes of a JSON string: 0 is an ordinary
// character that a string written between quotes keeps as it is.
var charClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = classControl
	}
	t['"'] = classQuote
	t['\\'] = classEscape
	for _, c := range "<>&" {
		t[c] = classSpecial
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = classSpecial
	}
	return t
}()

const (
	classQuote = 1 + iota
	classEscape
	classControl
	classSpecial
)

// valueParser parses JSON into an arena.
type valueParser struct {
	jsonParser
	a *arena
}

// parseResponse parses a subgraph's response body into a: data into
// values, errors into Go values, extensions kept as JSON.
func parseResponse(body []byte, a *arena) (subgraphResponse, error) {
	var sr subgraphResponse
	p := &valueParser{jsonParser: jsonParser{b: body}, a: a}
	if !p.atObject() {
		return sr, errors.New("the body is not a JSON object")
	}
	err := p.members(p.key, "unexpected end", func(key string) error {
		switch key {
		case "data":
			v, err := p.value(1)
			if err != nil {
				return err
			}
			switch v.k {
			case kNull:
			case kObject:
				sr.data, sr.hasData = v.obj(), true
			default:
				return errors.New("data is not an object")
			}
			return nil
		case "errors":
			raw, err := p.skipped()
			if err != nil {
				return err
			}
			sr.errors, err = parseErrors(raw)
			return err
		case "extensions":
			var err error
			sr.extensions, err = p.skipped()
			return err
		}
		return p.skip(1)
	})
	if err != nil {
		return sr, err
	}
	return sr, p.end()
}

// parseErrors reads a response's errors member.
func parseErrors(raw []byte) ([]subgraphError, error) {
	v, err := parseJSON(raw)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, errors.New("errors is not a list")
	}
	out := make([]subgraphError, 0, len(list))
	for _, item := range list {
		out = append(out, toSubgraphError(item))
	}
	return out, nil
}

func (p *valueParser) value(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, p.errorf("nested too deep")
	}
	p.space()
	if p.i >= len(p.b) {
		return value{}, p.errorf("unexpected end")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.list(depth)
	case c == '"':
		return p.stringValue()
	case c == 't':
		return value{k: kTrue}, p.literal("true")
	case c == 'f':
		return value{k: kFalse}, p.literal("false")
	case c == 'n':
		return value{}, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		if err := p.scanNumber(); err != nil {
			return value{}, err
		}
		return bytesValue(p.b[start:p.i], kNumber), nil
	default:
		return value{}, p.errorf("unexpected %q", c)
	}
}

func (p *valueParser) object(depth int) (value, error) {
	a := p.a
	mark := len(a.fstack)
	if p.open('}') {
		return objectValue(a.newObject(mark)), nil
	}
	for {
		if err := p.keyStart(); err != nil {
			return value{}, err
		}
		key, err := p.key()
		if err != nil {
			return value{}, err
		}
		if err := p.colon(); err != nil {
			return value{}, err
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return value{}, err
		}
		a.fstack = append(a.fstack, field{key: key, val: v})
		if done, err := p.next('}', "unexpected end in an object"); done || err != nil {
			if err != nil {
				return value{}, err
			}
			return objectValue(a.newObject(mark)), nil
		}
	}
}

func (p *valueParser) list(depth int) (value, error) {
	a := p.a
	mark := len(a.vstack)
	if p.open(']') {
		return value{k: kArray}, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return value{}, err
		}
		a.vstack = append(a.vstack, v)
		if done, err := p.next(']', "unexpected end in an array"); done || err != nil {
			if err != nil {
				return value{}, err
			}
			return a.newList(mark), nil
		}
	}
}

// scanString passes over a string (p.i at its opening quote) and returns
// its content's bounds, and whether it holds an escape or a byte that
// needs a look before it is written as it is.
func (p *valueParser) scanString() (start, end int, escaped, special bool, err error) {
	p.i++ // "
	start = p.i
	b := p.b
	for i := p.i; i < len(b); i++ {
		switch charClass[b[i]] {
		case 0:
			continue
		case classQuote:
			p.i = i + 1
			return start, i, escaped, special, nil
		case classEscape:
			escaped = true
			i++ // the escaped character; \u's digits are ordinary
		case classControl:
			p.i = i
			return 0, 0, false, false, p.errorf("control character in a string")
		case classSpecial:
			special = true
		}
	}
	p.i = len(b)
	return 0, 0, false, false, p.errorf("unterminated string")
}

// stringValue reads a string: its bytes in the body when they can be
// written as they are, else decoded.
func (p *valueParser) stringValue() (value, error) {
	at := p.i
	start, end, escaped, special, err := p.scanString()
	if err != nil {
		return value{}, err
	}
	if escaped {
		p.i = at
		s, err := p.string()
		if err != nil {
			return value{}, err
		}
		return stringValue(s, kText), nil
	}
	raw := p.b[start:end]
	if special && !utf8.Valid(raw) {
		// Invalid bytes become U+FFFD, as the decoder makes them.
		return stringValue(string([]rune(string(raw))), kText), nil
	}
	k := kString
	if special {
		k = kText
	}
	return bytesValue(raw, k), nil
}

// key reads an object's key: its bytes in the body unless it has
// escapes.
func (p *valueParser) key() (string, error) {
	at := p.i
	start, end, escaped, special, err := p.scanString()
	if err != nil {
		return "", err
	}
	if escaped || special && !utf8.Valid(p.b[start:end]) {
		p.i = at
		return p.string()
	}
	if end == start {
		return "", nil
	}
	return unsafeString(p.b[start:end]), nil
}

// scanNumber passes over a number. It works on locals (no closure over
// p): a big response is mostly numbers.
func (p *jsonParser) scanNumber() error {
	b, i := p.b, p.i
	if b[i] == '-' {
		i++
	}
	bad := func(at int) error {
		p.i = at
		return p.errorf("bad number")
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if j := skipDigits(b, i); j == i {
		return bad(j)
	} else {
		i = j
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return bad(j)
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return bad(j)
		}
		i = j
	}
	p.i = i
	return nil
}

// skipDigits returns the index of the first byte from i on that is not a
// decimal digit.
func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i]-'0' <= 9 {
		i++
	}
	return i
}

// unsafeString returns b's bytes as a string, without copying: b must
// not change while the string is in use (a response body never does).
func unsafeString(b []byte) string {
	return unsafe.String(&b[0], len(b))
}
