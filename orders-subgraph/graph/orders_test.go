package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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

// settleCommit answers a commit that got no answer from what the database
// says once it answers: the order when it was committed, the commit's
// error (retry) when not, or when the database stays away.
func TestSettleCommit(t *testing.T) {
	down := fmt.Errorf("get order: %w", syscall.ECONNREFUSED)
	placed := &store.Order{ID: "o1"}
	for _, tc := range []struct {
		name    string
		answers []error // get's errors in turn; then it answers found
		found   bool
		timeout time.Duration
		want    bool // the order comes back
	}{
		{name: "committed", found: true, want: true},
		{name: "committed, found once the database is back", answers: []error{down, down}, found: true, want: true},
		{name: "not committed", answers: []error{down}, found: false},
		{name: "the database stays away", answers: slices.Repeat([]error{down}, 1000), timeout: 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			calls := 0
			get := func(_ context.Context, id string) (*store.Order, error) {
				if id != "o1" {
					t.Errorf("looked up %q", id)
				}
				calls++
				if calls <= len(tc.answers) {
					return nil, tc.answers[calls-1]
				}
				if tc.found {
					return placed, nil
				}
				return nil, nil
			}
			unknown := &store.CommitUnknownError{OrderID: "o1", Err: down}
			o, err := settleCommit(ctx, slog.New(slog.DiscardHandler), get, unknown, time.Millisecond)
			if tc.want {
				if err != nil || o != placed {
					t.Fatalf("settleCommit = %v, %v; want the order", o, err)
				}
				return
			}
			if o != nil || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("settleCommit = %v, %v; want the commit's error", o, err)
			}
		})
	}
}
