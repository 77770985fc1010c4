// Package wanterr checks the error of a table test's case, whose want is
// the text the error must contain, or "" for no error.
package wanterr

import (
	"strings"
	"testing"
)

// Check fails t unless err is what want asks for: an error whose message
// contains want, or no error when want is "". It reports whether want
// asked for an error (and got it), so that the case can stop there.
func Check(t testing.TB, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one saying %q", err, want)
	}
	return true
}
