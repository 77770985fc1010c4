package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// settleCommit answers a commit that got no answer from the final status
// of its transaction: the order when committed, the commit's error (retry)
// when aborted, or when the database stays away. "in progress", which a
// server on its way down may say of a commit it wrote, is not final, and
// neither is an order not found yet.
func TestSettleCommit(t *testing.T) {
	down := fmt.Errorf("status: %w", syscall.ECONNREFUSED)
	type answer struct {
		status string
		err    error
	}
	inProgress, committed, aborted := answer{status: "in progress"}, answer{status: "committed"}, answer{status: "aborted"}
	placed := &store.Order{ID: "o1"}
	for _, tc := range []struct {
		name    string
		answers []answer // the status in turn; the last one repeats
		found   int      // get finds the order from its found-th call on (0: it errs; -1: no such order)
		timeout time.Duration
		want    bool // the order comes back
	}{
		{name: "committed", answers: []answer{committed}, found: 1, want: true},
		{name: "committed, once the database is back", answers: []answer{{err: down}, {err: down}, committed}, found: 1, want: true},
		{name: "in progress on a server going down, then committed", answers: []answer{inProgress, {err: down}, committed}, found: 1, want: true},
		{name: "committed, the order read once it answers", answers: []answer{committed}, found: 3, want: true},
		{name: "aborted", answers: []answer{{err: down}, aborted}},
		{name: "committed, but another transaction: its id was reused after a crash", answers: []answer{committed}, found: -1},
		{name: "in progress for good", answers: []answer{inProgress}, timeout: 50 * time.Millisecond},
		{name: "the database stays away", answers: []answer{{err: down}}, timeout: 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			asked, gets := 0, 0
			status := func(_ context.Context, xid string) (string, error) {
				if xid != "741" {
					t.Errorf("asked the status of %q", xid)
				}
				a := tc.answers[min(asked, len(tc.answers)-1)]
				asked++
				return a.status, a.err
			}
			get := func(_ context.Context, id string) (*store.Order, error) {
				if id != "o1" {
					t.Errorf("looked up %q", id)
				}
				gets++
				switch {
				case tc.found < 0:
					return nil, nil
				case tc.found == 0 || gets < tc.found:
					return nil, down
				}
				return placed, nil
			}
			unknown := &store.CommitUnknownError{OrderID: "o1", Xid: "741", Err: down}
			o, err := settleCommit(ctx, slog.New(slog.DiscardHandler), status, get, unknown, time.Millisecond)
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
