package jsonstr_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"bookstore/router/federation/internal/jsonstr"
)

// inputs covers every byte, the characters encoding/json treats apart,
// and invalid UTF-8.
func inputs() []string {
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	return []string{
		"", "plain", `"quoted" \ back\slash`, "tab\tnew\nline\rcr\b\f", "<a href=\"x\">&amp;</a>",
		"\u2028 and \u2029", "caf\u00e9 \U0001F600", "bad \xff\xfe bytes", "cut \xe2\x82", all.String(),
	}
}

func TestAppend(t *testing.T) {
	for _, html := range []bool{false, true} {
		for _, s := range inputs() {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			got := jsonstr.Append([]byte("x"), s)
			if html {
				got = jsonstr.AppendHTMLSafe([]byte("x"), s)
			}
			// \b and \f are written as encoding/json wrote them before
			// Go 1.22. (No input here has a backslash before a b or an f.)
			w := strings.NewReplacer(`\b`, `\u0008`, `\f`, `\u000c`).Replace(strings.TrimSuffix(want.String(), "\n"))
			if string(got) != "x"+w {
				t.Errorf("html %v, %q:\n got %s\nwant x%s", html, s, got, w)
			}
		}
	}
}
