package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// target is one side of a comparison: an endpoint and the request sent to
// it, over a keep-alive client of its own.
type target struct {
	name   string
	method string // "" is POST
	url    string
	body   []byte
	// bodies, when not empty, are sent in turn instead of body: each
	// request writes something new (placeOrder), so their answers are
	// not compared with the first.
	bodies [][]byte
	next   atomic.Uint64
	// status is the answer's status every request must get; 0 is 200.
	status int
	header http.Header
	client *http.Client
	// want is the body of the first response (the pre-flight check); every
	// later response must be byte-identical, since nothing changes the
	// data while the bench runs.
	want []byte
	// cpu lists the processes whose CPU time is charged to this side.
	cpu []cpuSource
	// fetches, when set, reads a counter of the subgraph requests made so
	// far (-1 when it cannot), sampled around each measured round.
	fetches func() int64
}

// cpuSource is a process whose CPU time the bench samples around rounds.
type cpuSource struct {
	name     string
	pid      int
	children bool // add the CPU of its direct children (PostgreSQL's backends)
}

func newTarget(name, url, query string, conc int, cpu ...cpuSource) *target {
	body, _ := json.Marshal(map[string]string{"query": query})
	return newHTTPTarget(name, http.MethodPost, url, body, conc, cpu...)
}

// newHTTPTarget is a target sending any request: body nil sends none.
func newHTTPTarget(name, method, url string, body []byte, conc int, cpu ...cpuSource) *target {
	return &target{
		name: name, method: method, url: url, body: body, cpu: cpu, header: http.Header{},
		client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns:        4 * conc,
				MaxIdleConnsPerHost: 2 * conc,
				IdleConnTimeout:     2 * time.Minute,
				DisableCompression:  true, // no side gets gzip; compare like with like
				ForceAttemptHTTP2:   false,
			},
		},
	}
}

// do sends the request once and returns the body, or an error that names
// the kind of failure (used as a counter key, so kept short and stable).
// With scratch, the body is read into it and is valid until its next use:
// a load worker reuses one, so that the load generator's own garbage
// (and CPU, which the gateways measured share) stays small.
func (t *target) do(ctx context.Context, scratch *bytes.Buffer) ([]byte, error) {
	send := t.body
	if len(t.bodies) > 0 {
		send = t.bodies[(t.next.Add(1)-1)%uint64(len(t.bodies))]
	}
	var rd io.Reader
	if send != nil {
		rd = bytes.NewReader(send)
	}
	method := t.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, t.url, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range t.header {
		req.Header[k] = v
	}
	if send != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	res, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("transport: %v", shortErr(err))
	}
	var body []byte
	if scratch != nil {
		scratch.Reset()
		_, err = scratch.ReadFrom(res.Body)
		body = scratch.Bytes()
	} else {
		body, err = io.ReadAll(res.Body)
	}
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the body: %v", shortErr(err))
	}
	want := t.status
	if want == 0 {
		want = http.StatusOK
	}
	if res.StatusCode != want {
		return body, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	if bytes.Contains(body, []byte(`"errors"`)) {
		return body, fmt.Errorf(`"errors" in the response`)
	}
	if t.want != nil && len(t.bodies) == 0 && !bytes.Equal(body, t.want) {
		return body, fmt.Errorf("body differs from the first response")
	}
	return body, nil
}

// shortErr keeps an error's last part: URLs and addresses vary per request
// and would split the failure counters.
func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// stats accumulate one side's rounds.
type stats struct {
	requests int64
	failures int64
	elapsed  time.Duration
	lat      []time.Duration // of every request, failed or not
	kinds    map[string]int64
	samples  []string         // the first failures' bodies
	cpu      map[string]int64 // clock ticks per process name
	machine  map[int]int64    // busy clock ticks of the whole machine (key -1) and of each CPU
	fetches  int64            // subgraph requests during the rounds (target.fetches); -1: unknown
}

func newStats() *stats {
	return &stats{kinds: map[string]int64{}, cpu: map[string]int64{}, machine: map[int]int64{}}
}

// round runs conc workers against t for d, each sending requests back to
// back until the deadline; requests in flight at the deadline finish and
// count. st (nil for a warm-up) receives the counts and latencies.
func round(ctx context.Context, t *target, conc int, d time.Duration, st *stats) {
	type result struct {
		n, failed int64
		lat       []time.Duration
		kinds     map[string]int64
		samples   []string
	}
	results := make([]result, conc)
	var before []int64
	var busy0 map[int]int64
	var fetches0 int64
	if st != nil {
		if t.fetches != nil {
			fetches0 = t.fetches()
		}
		before = sampleCPU(t.cpu)
		busy0 = machineBusy()
	}
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			r := &results[w]
			r.lat = make([]time.Duration, 0, 4096)
			var scratch bytes.Buffer
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				body, err := t.do(ctx, &scratch)
				if ctx.Err() != nil {
					return // interrupted: not a result
				}
				r.lat = append(r.lat, time.Since(t0))
				r.n++
				if err != nil {
					r.failed++
					if r.kinds == nil {
						r.kinds = map[string]int64{}
					}
					r.kinds[err.Error()]++
					if len(r.samples) < 2 {
						if len(body) > 400 {
							body = append(body[:400:400], "…"...)
						}
						r.samples = append(r.samples, err.Error()+": "+string(body))
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if st == nil {
		return
	}
	for c, v := range machineBusy() {
		st.machine[c] += v - busy0[c]
	}
	after := sampleCPU(t.cpu)
	for i, c := range t.cpu {
		st.cpu[c.name] += after[i] - before[i]
	}
	if t.fetches != nil && st.fetches >= 0 {
		if n := t.fetches(); n >= 0 && fetches0 >= 0 {
			st.fetches += n - fetches0
		} else {
			st.fetches = -1
		}
	}
	st.elapsed += elapsed
	for _, r := range results {
		st.requests += r.n
		st.failures += r.failed
		st.lat = append(st.lat, r.lat...)
		for k, v := range r.kinds {
			st.kinds[k] += v
		}
		for _, s := range r.samples {
			if len(st.samples) < 3 {
				st.samples = append(st.samples, s)
			}
		}
	}
}

func sampleCPU(srcs []cpuSource) []int64 {
	out := make([]int64, len(srcs))
	for i, c := range srcs {
		out[i] = cpuTicks(c.pid, c.children)
	}
	return out
}

// cpuPerRequest returns the CPU time of process name per request, in µs,
// and the sum over every sampled process.
func (st *stats) cpuPerRequest(name string) (one, total float64) {
	if st.requests == 0 {
		return 0, 0
	}
	per := func(ticks int64) float64 { return float64(ticks) * 1e6 / clockTick / float64(st.requests) }
	for _, t := range st.cpu {
		total += per(t)
	}
	return per(st.cpu[name]), total
}

// rps is requests per second over the measured rounds.
func (st *stats) rps() float64 {
	if st.elapsed <= 0 {
		return 0
	}
	return float64(st.requests) / st.elapsed.Seconds()
}

// percentile returns the q-quantile (nearest rank) of the latencies; lat
// must be sorted.
func percentile(lat []time.Duration, q float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	i := int(float64(len(lat))*q+0.999999) - 1
	i = max(0, min(i, len(lat)-1))
	return lat[i]
}

// comparison is a set of sides measured together, interleaved.
type comparison struct {
	title string
	query string
	sides []*target
	stats []*stats
}

// run warms every side up, then measures rounds rounds of d per side,
// rotating which side goes first in each round so that a slow spell of the
// shared machine is spread over all of them.
func (c *comparison) run(ctx context.Context, cfg config, progress io.Writer) error {
	c.stats = make([]*stats, len(c.sides))
	for i := range c.sides {
		c.stats[i] = newStats()
	}
	for _, t := range c.sides {
		fmt.Fprintf(progress, "  warm-up %s (%s)\n", t.name, cfg.warmup)
		round(ctx, t, cfg.concurrency, cfg.warmup, nil)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	for r := range cfg.rounds {
		var line []string
		for k := range c.sides {
			i := (r + k) % len(c.sides)
			st := c.stats[i]
			n := st.requests
			t0 := st.elapsed
			round(ctx, c.sides[i], cfg.concurrency, cfg.duration, st)
			if err := ctx.Err(); err != nil {
				return err
			}
			line = append(line, fmt.Sprintf("%s %.0f/s", c.sides[i].name, float64(st.requests-n)/(st.elapsed-t0).Seconds()))
		}
		fmt.Fprintf(progress, "  round %2d/%d: %s\n", r+1, cfg.rounds, strings.Join(line, ", "))
	}
	for _, st := range c.stats {
		slices.Sort(st.lat)
	}
	return nil
}

// print writes the comparison's table.
func (c *comparison) print(w io.Writer) {
	fmt.Fprintf(w, "\n%s\n  query: %s\n\n", c.title, c.query)
	nw := c.nameWidth()
	fmt.Fprintf(w, "  %-*s %9s %8s %10s %9s %9s %9s\n", nw, "side", "requests", "failed", "RPS", "p50", "p99", "max")
	for i, t := range c.sides {
		st := c.stats[i]
		var mx time.Duration
		if n := len(st.lat); n > 0 {
			mx = st.lat[n-1]
		}
		fmt.Fprintf(w, "  %-*s %9d %8d %10.0f %9s %9s %9s\n", nw, t.name, st.requests, st.failures, st.rps(),
			fmtDur(percentile(st.lat, 0.50)), fmtDur(percentile(st.lat, 0.99)), fmtDur(mx))
	}
	// CPU cost per request, by process: less sensitive to a noisy
	// neighbour than throughput, and it shows where each side spends.
	fmt.Fprintf(w, "\n  CPU per request (µs of user+system time, from /proc, by process):\n")
	for i, t := range c.sides {
		st := c.stats[i]
		if st.requests == 0 {
			continue
		}
		names := make([]string, 0, len(st.cpu))
		for n := range st.cpu {
			names = append(names, n)
		}
		sort.Strings(names)
		var parts []string
		var total float64
		for _, n := range names {
			us := float64(st.cpu[n]) * 1e6 / clockTick / float64(st.requests)
			total += us
			parts = append(parts, fmt.Sprintf("%s %.0f", n, us))
		}
		fmt.Fprintf(w, "  %-*s total %4.0f = %s\n", nw, t.name, total, strings.Join(parts, " + "))
	}
	fmt.Fprintf(w, "  machine busy (all CPUs and each CPU, /proc/stat) while each side ran; the processes above account for:\n")
	for i, t := range c.sides {
		st := c.stats[i]
		if st.elapsed <= 0 || st.machine[-1] <= 0 {
			continue
		}
		var ours int64
		for _, v := range st.cpu {
			ours += v
		}
		one := st.elapsed.Seconds() * clockTick // one CPU's capacity
		var each []string
		for cpu := range runtime.NumCPU() {
			if v, ok := st.machine[cpu]; ok {
				each = append(each, fmt.Sprintf("cpu%d %3.0f%%", cpu, 100*float64(v)/one))
			}
		}
		fmt.Fprintf(w, "  %-*s busy %3.0f%% (%s), of which these processes %3.0f%%\n", nw, t.name,
			100*float64(st.machine[-1])/(one*float64(runtime.NumCPU())), strings.Join(each, ", "),
			100*float64(ours)/float64(st.machine[-1]))
	}
	for i, t := range c.sides {
		st := c.stats[i]
		if st.failures == 0 {
			continue
		}
		fmt.Fprintf(w, "\n  FAILURES of %s: %d of %d requests\n", t.name, st.failures, st.requests)
		kinds := make([]string, 0, len(st.kinds))
		for k := range st.kinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(w, "    %6d × %s\n", st.kinds[k], k)
		}
		for _, s := range st.samples {
			fmt.Fprintf(w, "    e.g. %s\n", s)
		}
	}
}

// nameWidth is the width of the sides' names in the tables.
func (c *comparison) nameWidth() int {
	n := 22
	for _, t := range c.sides {
		n = max(n, len(t.name))
	}
	return n
}

// ratio returns side a's throughput over side b's, and whether both sides
// are clean (no failures, some requests).
func (c *comparison) ratio(a, b int) (float64, bool) {
	sa, sb := c.stats[a], c.stats[b]
	clean := sa.failures == 0 && sb.failures == 0 && sa.requests > 0 && sb.requests > 0
	if sb.rps() == 0 {
		return 0, false
	}
	return sa.rps() / sb.rps(), clean
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	}
}

// machineBusy returns the busy clock ticks of the whole machine (key -1)
// and of each CPU (key N for line cpuN), from /proc/stat: everything but
// idle and iowait.
func machineBusy() map[int]int64 {
	out := map[int]int64{}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return out
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		cpu := -1
		if f[0] != "cpu" {
			n, err := strconv.Atoi(f[0][3:])
			if err != nil {
				continue
			}
			cpu = n
		}
		var busy int64
		for i, v := range f[1:] {
			if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			busy += n
		}
		out[cpu] = busy
	}
	return out
}

// loadavg returns /proc/loadavg's first three fields.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
