// Package jsonstr writes Go strings as JSON strings, escaped as
// encoding/json escapes them (but for \b and \f, written \u0008 and
// \u000c as it wrote them before Go 1.22), straight into a byte slice.
//
// The router's executor (package execute) writes its responses with it,
// and the benchmark's subgraphs (package benchgraph) theirs.
package jsonstr

import "unicode/utf8"

// Append appends s to dst as a JSON string, escaped as encoding/json does
// with HTML escaping off: quotes, backslashes and control characters are
// escaped, invalid UTF-8 becomes \ufffd, and U+2028 and U+2029 are
// escaped.
func Append(dst []byte, s string) []byte { return appendEscaped(dst, s, &plain) }

// AppendHTMLSafe is Append with '<', '>' and '&' escaped too, as
// encoding/json does by default, so that the JSON is safe to embed in
// HTML.
func AppendHTMLSafe(dst []byte, s string) []byte { return appendEscaped(dst, s, &htmlSafe) }

// plain and htmlSafe tell the ASCII characters written as they are.
var plain, htmlSafe = func() (p, h [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		p[c] = c != '"' && c != '\\'
		h[c] = p[c] && c != '<' && c != '>' && c != '&'
	}
	return p, h
}()

const hex = "0123456789abcdef"

func appendEscaped(dst []byte, s string, safe *[utf8.RuneSelf]bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
