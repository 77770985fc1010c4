package graph

import (
	"strings"
	"unicode/utf8"

	"bookstore/graph/apierror"
)

// Bounds of the contract.
const (
	maxTitle       = 300
	maxAuthor      = 200
	maxDescription = 5000
	maxPriceCents  = 10_000_000
	minYear        = 1450
	maxRestock     = 100_000
)

// validISBN13 reports whether s is an ISBN-13: 13 digits with the 978 or
// 979 prefix and a correct check digit.
func validISBN13(s string) bool {
	if len(s) != 13 || !(strings.HasPrefix(s, "978") || strings.HasPrefix(s, "979")) {
		return false
	}
	sum := 0
	for i := range 13 {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return sum%10 == 0
}

// text checks a text field: trimmed, at least minLen and at most maxLen
// characters, and free of control characters other than newline, tab and
// carriage return, which only multiline fields allow. It returns the trimmed
// value.
func text(field, v string, minLen, maxLen int, multiline bool) (string, error) {
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	switch {
	case n < minLen:
		return "", apierror.Input(field, "must not be empty")
	case n > maxLen:
		return "", apierror.Input(field, "must be at most %d characters, got %d", maxLen, n)
	}
	for _, r := range v {
		if r == 0 || (r < 0x20 && !(multiline && (r == '\n' || r == '\t' || r == '\r'))) || r == 0x7f {
			return "", apierror.Input(field, "must not contain control characters")
		}
	}
	return v, nil
}

// noNUL rejects a filter string PostgreSQL could not store or compare.
func noNUL(field, v string) error {
	if strings.ContainsRune(v, 0) {
		return apierror.Input(field, "must not contain NUL characters")
	}
	return nil
}
