package compose

import (
	"slices"
	"strings"
)

// Differences compares two supergraphs as a client and the planner see
// them: their client schemas (Canonical) and their federation metadata
// (CanonicalMetadata). It describes each that differs, with the lines only
// in want (-) and only in got (+); it returns none when the two cannot be
// told apart.
func Differences(want, got *Supergraph) []string {
	var out []string
	if a, b := Canonical(want.Schema), Canonical(got.Schema); a != b {
		out = append(out, "client schemas differ (- want, + got):\n"+LineDiff(a, b))
	}
	if a, b := CanonicalMetadata(want), CanonicalMetadata(got); a != b {
		out = append(out, "federation metadata differs (- want, + got):\n"+LineDiff(a, b))
	}
	return out
}

// LineDiff lists the lines only in a (-), then those only in b (+).
func LineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out.WriteString("- " + l + "\n")
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out.WriteString("+ " + l + "\n")
		}
	}
	return out.String()
}
