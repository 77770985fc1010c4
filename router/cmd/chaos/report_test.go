package chaos

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// summary counts the results sent within a window of the load.
type summary struct {
	sent, failed         int
	queries, queriesBad  int // reads, and failed reads
	orders, ordersBad    int // placeOrder attempts, and failed attempts
	failures             map[string]int
	p50, p99, max        time.Duration
	perSecond            float64
	window               time.Duration
	firstFail, lastFail  time.Duration // -1 when none failed
	lastOK               time.Duration
	firstOKAfterFailures time.Duration
}

// wantNoneFailed fails the test when any of the summary's requests, named
// by what, failed.
func (s summary) wantNoneFailed(t *testing.T, what string) {
	t.Helper()
	if s.failed != 0 {
		t.Errorf("%d %s failed, want 0: %v", s.failed, what, s.failures)
	}
}

// summarize counts the results sent in [from, to) of the load (to <= 0:
// to the end) that keep selects (nil: all).
func summarize(rs []result, from, to time.Duration, keep func(result) bool) summary {
	s := summary{failures: map[string]int{}, firstFail: -1, lastFail: -1}
	var took []time.Duration
	var last time.Duration
	for _, r := range rs {
		if r.at < from || (to > 0 && r.at >= to) || (keep != nil && !keep(r)) {
			continue
		}
		s.sent++
		took = append(took, r.took)
		last = max(last, r.at)
		if r.kind == placeOrder {
			s.orders++
		} else {
			s.queries++
		}
		if r.ok {
			s.lastOK = max(s.lastOK, r.at)
			continue
		}
		s.failed++
		s.failures[r.failure()]++
		if r.kind == placeOrder {
			s.ordersBad++
		} else {
			s.queriesBad++
		}
		if s.firstFail < 0 || r.at < s.firstFail {
			s.firstFail = r.at
		}
		s.lastFail = max(s.lastFail, r.at)
	}
	if len(took) > 0 {
		slices.Sort(took)
		s.p50 = took[len(took)/2]
		s.p99 = took[min(len(took)-1, len(took)*99/100)]
		s.max = took[len(took)-1]
	}
	s.window = to - from
	if to <= 0 {
		s.window = last - from
	}
	if s.window > 0 {
		s.perSecond = float64(s.sent) / s.window.Seconds()
	}
	return s
}

func (s summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests (%.0f/s): %d failed (reads %d of %d, order attempts %d of %d); latency p50 %s, p99 %s, max %s",
		s.sent, s.perSecond, s.failed, s.queriesBad, s.queries, s.ordersBad, s.orders, ms(s.p50), ms(s.p99), ms(s.max))
	if len(s.failures) > 0 {
		keys := slices.Sorted(maps.Keys(s.failures))
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s ×%d", k, s.failures[k])
		}
		fmt.Fprintf(&b, "; failures: %s; first at %s, last at %s", strings.Join(parts, ", "), sec(s.firstFail), sec(s.lastFail))
	}
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond)) }

func sec(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

// orderCheck compares what clients were told about their orders with the
// database.
type orderCheck struct {
	keys, acked, rejected, unresolved int
	// found counts acknowledged orders in the database, exactly once, with
	// the acknowledged id; missing lists the others.
	found   int
	missing []string
	// unacked counts orders of the load in the database that no client was
	// told about (their keys were still unanswered, or never answered).
	unacked int
	// strays counts orders of the load's customer without one of its keys:
	// a duplicate of some kind.
	strays int
	// hidden counts keys whose order was created by an attempt that got a
	// 5xx or no answer: a committed order reported as failed.
	hidden     int
	hiddenKeys []string
	retried    int // keys that needed more than one attempt
}

func (c orderCheck) String() string {
	return fmt.Sprintf("%d order keys: %d acknowledged (%d found exactly once, %d missing), %d rejected, %d unresolved; "+
		"%d retried with their key; %d orders in the database no client was told of, %d without a key of the load; %d committed orders answered with a failure",
		c.keys, c.acked, c.found, len(c.missing), c.rejected, c.unresolved, c.retried, c.unacked, c.strays, c.hidden)
}

// checkOrders reads the load's orders from the database.
func checkOrders(ctx context.Context, admin string, g *loadgen) (orderCheck, error) {
	_, recs := g.snapshot()
	var c orderCheck
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return c, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT id::text, coalesce(idempotency_key, '') FROM orders.orders WHERE customer_email = $1`, g.email())
	if err != nil {
		return c, err
	}
	byKey := map[string][]string{}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			return c, err
		}
		byKey[key] = append(byKey[key], id)
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	known := map[string]bool{}
	for _, rec := range recs {
		known[rec.key] = true
		c.keys++
		if len(rec.attempts) > 1 {
			c.retried++
		}
		ids := byKey[rec.key]
		switch {
		case rec.acked:
			c.acked++
			if len(ids) == 1 && ids[0] == rec.id {
				c.found++
			} else {
				c.missing = append(c.missing, fmt.Sprintf("%s: acknowledged %s, database has %v", rec.key, rec.id, ids))
			}
		case rec.rejected:
			c.rejected++
		default:
			c.unresolved++
		}
		if !rec.acked && len(ids) > 0 {
			c.unacked++
		}
		// The order exists and an attempt failed before the one that
		// created it, or none succeeded.
		failedFirst := len(rec.attempts) > 0 && !rec.attempts[0].ok
		if len(ids) > 0 && failedFirst && (rec.replayed || !rec.acked) {
			c.hidden++
			c.hiddenKeys = append(c.hiddenKeys, rec.key)
		}
	}
	for key, ids := range byKey {
		if !known[key] {
			c.strays += len(ids)
		}
	}
	return c, nil
}

// stockSnapshot returns, per book, its stock plus the units in PLACED
// orders: what no order may change.
func stockSnapshot(ctx context.Context, admin string) (map[string]int64, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `
SELECT b.id::text, b.stock + coalesce((
  SELECT sum(i.quantity) FROM orders.order_items i JOIN orders.orders o ON o.id = i.order_id
   WHERE i.book_id = b.id AND o.status = 'PLACED'), 0)
FROM books.books b`)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// conserved compares two stock snapshots; it returns the books whose stock
// plus units sold changed.
func conserved(before, after map[string]int64) []string {
	var bad []string
	for id, n := range before {
		if after[id] != n {
			bad = append(bad, fmt.Sprintf("%s: %d → %d", id, n, after[id]))
		}
	}
	return bad
}

// scrape reads a Prometheus text endpoint: each series' value by its name
// with labels, as written.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return out, sc.Err()
}

// metric sums the series of a metric whose labels contain every given
// label (name="value").
func metric(m map[string]float64, name string, labels ...string) float64 {
	var sum float64
	for series, v := range m {
		n, rest, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				ok = false
			}
		}
		if ok {
			sum += v
		}
	}
	return sum
}

// rss returns a process's resident set size in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// sockets counts a process's open sockets (its listener included).
func sockets(pid int) (int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n, nil
}
