package graph

import (
	"bytes"
	"strings"
	"testing"

	"bookstore/orders-subgraph/store"
)

func TestValidEmail(t *testing.T) {
	for email, want := range map[string]bool{
		"reader@example.com":                      true,
		"Reader.Name+tag@mail.example.co.uk":      true,
		strings.Repeat("a", 242) + "@example.com": true,
		strings.Repeat("a", 243) + "@example.com": false,
		"":                         false,
		"reader":                   false,
		"@example.com":             false,
		"reader@":                  false,
		"reader@example":           false,
		"reader@.com":              false,
		"reader@example.":          false,
		"reader@exa..mple.com":     false,
		"a@b@example.com":          false,
		"read er@example.com":      false,
		"reader@example.com\u00a0": false,
		"reader\x7f@example.com":   false,
	} {
		if got := validEmail(email); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", email, got, want)
		}
	}
}

func TestRequestHashIgnoresLineOrderAndEmailCase(t *testing.T) {
	a := store.NewOrder{CustomerEmail: "A@x.io", Lines: []store.Line{{BookID: "B1", Quantity: 1}, {BookID: "b2", Quantity: 2}}}
	b := store.NewOrder{CustomerEmail: "a@X.IO", Lines: []store.Line{{BookID: "b2", Quantity: 2}, {BookID: "b1", Quantity: 1}}}
	c := store.NewOrder{CustomerEmail: "a@x.io", Lines: []store.Line{{BookID: "b1", Quantity: 2}, {BookID: "b2", Quantity: 1}}}
	if !bytes.Equal(requestHash(a), requestHash(b)) {
		t.Error("the same order in another spelling hashes differently")
	}
	if bytes.Equal(requestHash(a), requestHash(c)) {
		t.Error("different quantities hash the same")
	}
}
