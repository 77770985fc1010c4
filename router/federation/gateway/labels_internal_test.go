package gateway

import "testing"

// Fractions of a percent carry from one request to the next: percent(12.5)
// is on for exactly 1 of every 8 requests, percent(0) and percent(100)
// never and always, and a label that is no percentage never.
func TestLabelShares(t *testing.T) {
	for _, tc := range []struct {
		label  string
		n, out int
	}{
		{"percent(12.5)", 800, 100},
		{"percent(0.5)", 1000, 5},
		{"percent(0)", 100, 0},
		{"percent(100)", 100, 100},
		{"percent( 30 )", 10, 3},
		{"percent(101)", 100, 0},
		{"percent(x)", 100, 0},
		{"canary", 100, 0},
	} {
		l := newLabels([]string{tc.label}, nil)
		on := 0
		for i := 0; i < tc.n; i++ {
			if got, _ := l.roll(); got[tc.label] {
				on++
			}
		}
		if on != tc.out {
			t.Errorf("%s: on for %d of %d requests, want %d", tc.label, on, tc.n, tc.out)
		}
	}
}
