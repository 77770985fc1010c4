package gateway

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
)

// labels decides, per request, which progressive override labels
// (@override(label:)) are on. A label set in the router's configuration is
// always on or always off. A label "percent(N)" is otherwise on for N% of
// requests, spread evenly and deterministically: of any 100 consecutive
// requests, exactly N are routed to the overriding subgraph (fractions of a
// percent are carried from one request to the next). Any other label is off.
type labels struct {
	names []string
	// share is, per label, its share of requests in millionths of a
	// request, or -1 for a label that is never rolled.
	share  []int64
	forced []int8 // 1 on, -1 off, 0 rolled by share
	count  []atomic.Uint64
}

func newLabels(names []string, forced map[string]bool) *labels {
	l := &labels{names: names, share: make([]int64, len(names)), forced: make([]int8, len(names)), count: make([]atomic.Uint64, len(names))}
	for i, name := range names {
		if on, ok := forced[name]; ok {
			l.forced[i] = -1
			if on {
				l.forced[i] = 1
			}
			continue
		}
		l.share[i] = percentShare(name)
	}
	return l
}

// percentShare parses "percent(N)" into N% of a request in millionths
// (0 ≤ N ≤ 100); any other label never rolls on.
func percentShare(label string) int64 {
	inner, ok := strings.CutPrefix(label, "percent(")
	if !ok {
		return -1
	}
	inner, ok = strings.CutSuffix(inner, ")")
	if !ok {
		return -1
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(inner), 64)
	if err != nil || math.IsNaN(n) || n < 0 || n > 100 {
		return -1
	}
	return int64(math.Round(n * 10_000))
}

// roll decides the labels of one request. It returns which are on, and a
// key that tells plans for different decisions apart.
func (l *labels) roll() (on map[string]bool, key string) {
	if len(l.names) == 0 {
		return nil, ""
	}
	var b strings.Builder
	for i, name := range l.names {
		active := false
		switch {
		case l.forced[i] != 0:
			active = l.forced[i] > 0
		case l.share[i] > 0:
			// Request k is on when the running total of shares crosses a
			// whole request.
			k := int64(l.count[i].Add(1) - 1)
			active = (k+1)*l.share[i]/1_000_000 > k*l.share[i]/1_000_000
		}
		if active {
			if on == nil {
				on = map[string]bool{}
			}
			on[name] = true
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return on, b.String()
}

// ParseOverrideLabels reads the router's forced labels: "name=on" or
// "name=off" items ("true" and "false" also do) separated by ';', as
// OVERRIDE_LABELS has them. ',' separates nothing: an item holding one
// (say "a=on,b=off") is refused, not read as one label "a=on,b".
func ParseOverrideLabels(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for item := range strings.SplitSeq(s, ";") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.ContainsRune(item, ',') {
			return nil, fmt.Errorf("override label %q: separate labels with ';', not ','", item)
		}
		i := strings.LastIndexByte(item, '=')
		if i <= 0 {
			return nil, fmt.Errorf("override label %q: want label=on or label=off", item)
		}
		name, val := strings.TrimSpace(item[:i]), strings.TrimSpace(item[i+1:])
		switch strings.ToLower(val) {
		case "on", "true":
			out[name] = true
		case "off", "false":
			out[name] = false
		default:
			return nil, fmt.Errorf("override label %q: want label=on or label=off", item)
		}
	}
	return out, nil
}
