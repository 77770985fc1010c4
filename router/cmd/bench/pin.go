package main

// The pinned view. On a small shared machine the load generator, the
// gateway under test, the subgraphs and PostgreSQL all compete for the same
// CPUs, so a throughput ratio measures the whole stack's CPU per request.
// In a deployment the gateway runs in pods of its own, with CPU of its own.
// The pinned view approximates that on two CPUs: the subgraphs and
// PostgreSQL (the postmaster and every backend) may only run on one CPU,
// the load generator (this process) and the gateways on the other.
//
// Affinity is set with taskset(1) -a, which covers every thread of a
// process; threads and processes created later inherit their creator's
// mask (so do the backends the postmaster forks for new connections).
// The bench pins itself instead of moving the load into a child process:
// the rounds, their response checks and the CPU accounting stay the very
// same code in both views, and while the rounds run the bench does nothing
// but generate load. Every mask is checked thread by thread after it is
// set and again after the pinned rounds, and restored at the end.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// pinGroup is a process (with its descendants, for PostgreSQL) restricted
// to one CPU in the pinned view.
type pinGroup struct {
	name   string // as printed
	source string // the cpuSource name its CPU time is counted under
	pid    int
	tree   bool // with every descendant: the postmaster's backends
	cpu    int
	orig   string // Cpus_allowed_list of pid before pinning, restored after
	pinned bool

	// ticks of every thread (by pid/tid) when the pin was verified: a
	// thread whose CPU time grew since ran after the pin, so its last CPU
	// says where the pin let it run.
	ticks map[[2]int]int64
}

// pinning is the pinned view's placement.
type pinning struct {
	taskset          string
	loadCPU, backCPU int
	groups           []*pinGroup
}

// cpuOf returns the CPU a cpuSource name was pinned to, or -1.
func (p *pinning) cpuOf(source string) int {
	for _, g := range p.groups {
		if g.source == source {
			return g.cpu
		}
	}
	return -1
}

// planPinning checks that the pinned view can run and returns its
// placement, or the reason it cannot.
func (b *bench) planPinning() (*pinning, string) {
	if n := runtime.NumCPU(); n < 2 {
		return nil, fmt.Sprintf("the machine has %d CPU; the view needs 2", n)
	}
	allowed, err := allowedCPUs("/proc/self/status")
	if err != nil {
		return nil, "reading this process's CPU affinity: " + err.Error()
	}
	if len(allowed) < 2 {
		return nil, fmt.Sprintf("this process may only run on CPU %s; the view needs 2", cpuList(allowed))
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return nil, "taskset is not on PATH (Debian: apt-get install util-linux)"
	}
	// Normally CPU 0 and CPU 1; under a cpuset, its first two CPUs.
	p := &pinning{taskset: ts, loadCPU: allowed[0], backCPU: allowed[1]}
	add := func(name, source string, pid int, tree bool, cpu int) {
		p.groups = append(p.groups, &pinGroup{name: name, source: source, pid: pid, tree: tree, cpu: cpu})
	}
	// The back end first: the postmaster before its backends.
	add("postgres", "postgres", b.cluster.PID(), true, p.backCPU)
	add("books-subgraph", "books", b.books.PID(), false, p.backCPU)
	add("orders-subgraph", "orders", b.orders.PID(), false, p.backCPU)
	add("bench (load generator)", "bench", os.Getpid(), false, p.loadCPU)
	add("router", "router", b.router.PID(), false, p.loadCPU)
	if b.proxy != nil {
		add("bare reverse proxy", "proxy", b.proxy.PID(), false, p.loadCPU)
	}
	if b.apollo != nil {
		add("Apollo Gateway", "apollo", b.apollo.PID(), false, p.loadCPU)
	}
	if bs := b.base; bs != nil {
		add("books-subgraph (baseline)", "books", bs.books.PID(), false, p.backCPU)
		add("orders-subgraph (baseline)", "orders", bs.orders.PID(), false, p.backCPU)
		add("router (baseline)", "router", bs.router.PID(), false, p.loadCPU)
	}
	return p, ""
}

// pin restricts every group to its CPU and checks every thread; on an
// error it restores what it had pinned.
func (p *pinning) pin() error {
	for _, g := range p.groups {
		orig, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.pid))
		if err != nil {
			p.restore()
			return fmt.Errorf("%s (pid %d): %w", g.name, g.pid, err)
		}
		g.orig = statusField(string(orig), "Cpus_allowed_list")
		if g.orig == "" {
			p.restore()
			return fmt.Errorf("%s (pid %d): no Cpus_allowed_list in /proc/%d/status", g.name, g.pid, g.pid)
		}
		g.pinned = true // from here on, restore() puts it back
		if err := g.apply(p.taskset, strconv.Itoa(g.cpu)); err != nil {
			if errs := p.restore(); len(errs) > 0 {
				return fmt.Errorf("%w (and restoring the affinities: %s)", err, strings.Join(errs, "; "))
			}
			return err
		}
	}
	for _, g := range p.groups {
		g.ticks = map[[2]int]int64{}
		for _, t := range g.threads() {
			g.ticks[[2]int{t.pid, t.tid}] = t.ticks
		}
	}
	return nil
}

// restore gives every pinned group its original CPUs back, and returns
// what went wrong.
func (p *pinning) restore() []string {
	var errs []string
	for i := len(p.groups) - 1; i >= 0; i-- {
		g := p.groups[i]
		if !g.pinned {
			continue
		}
		if err := g.apply(p.taskset, g.orig); err != nil {
			errs = append(errs, err.Error())
		}
		g.pinned = false
	}
	return errs
}

// apply runs taskset -a -p -c cpus on the group's process (then on each
// descendant), and checks that every thread got the mask, trying again
// for threads created meanwhile.
func (g *pinGroup) apply(taskset, cpus string) error {
	want, err := parseCPUList(cpus)
	if err != nil {
		return err
	}
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		lastErr = nil
		for _, pid := range g.pids() {
			out, err := exec.Command(taskset, "-a", "-p", "-c", cpus, strconv.Itoa(pid)).CombinedOutput()
			if err != nil && (pid == g.pid || exists(pid)) {
				lastErr = fmt.Errorf("taskset -a -p -c %s %d (%s): %v: %s", cpus, pid, g.name, err, strings.TrimSpace(string(out)))
			}
		}
		if lastErr == nil {
			lastErr = g.check(want)
		}
		if lastErr == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return lastErr
}

// check returns an error naming a thread whose affinity is not want.
func (g *pinGroup) check(want []int) error {
	ths := g.threads()
	if len(ths) == 0 {
		return fmt.Errorf("%s (pid %d): no threads found in /proc", g.name, g.pid)
	}
	for _, t := range ths {
		if t.allowed != nil && !slices.Equal(t.allowed, want) {
			return fmt.Errorf("%s: thread %d of pid %d may run on CPU %s, want %s", g.name, t.tid, t.pid, cpuList(t.allowed), cpuList(want))
		}
	}
	return nil
}

// pids returns the group's process and, for a tree, its descendants, the
// process first.
func (g *pinGroup) pids() []int {
	if !g.tree {
		return []int{g.pid}
	}
	return descendants(g.pid)
}

type threadInfo struct {
	pid, tid int
	allowed  []int // nil when the thread is gone
	ticks    int64
	lastCPU  int
}

// threads lists every thread of the group's processes.
func (g *pinGroup) threads() []threadInfo {
	var out []threadInfo
	for _, pid := range g.pids() {
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if err != nil {
			continue
		}
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			dir := fmt.Sprintf("/proc/%d/task/%d/", pid, tid)
			t := threadInfo{pid: pid, tid: tid, lastCPU: -1}
			if st, err := os.ReadFile(dir + "status"); err == nil {
				t.allowed, _ = parseCPUList(statusField(string(st), "Cpus_allowed_list"))
			}
			if st, err := os.ReadFile(dir + "stat"); err == nil {
				t.ticks, t.lastCPU = taskStat(st)
			}
			out = append(out, t)
		}
	}
	return out
}

// placement describes where the group's threads may run and where those
// that ran since the pin last ran, for the report.
type placement struct {
	procs, threads int
	allowed        map[string]int // affinity list → threads
	ranOn          map[int]int    // last CPU → threads that ran since the pin
	idle           int            // threads that did not run since the pin
}

func (g *pinGroup) observe() placement {
	pl := placement{allowed: map[string]int{}, ranOn: map[int]int{}}
	seen := map[int]bool{}
	for _, t := range g.threads() {
		if t.allowed == nil {
			continue
		}
		if !seen[t.pid] {
			seen[t.pid] = true
			pl.procs++
		}
		pl.threads++
		pl.allowed[cpuList(t.allowed)]++
		before, known := g.ticks[[2]int{t.pid, t.tid}]
		if (!known || t.ticks > before) && t.lastCPU >= 0 {
			pl.ranOn[t.lastCPU]++
		} else {
			pl.idle++
		}
	}
	return pl
}

func (pl placement) String(wantCPU int) string {
	keys := func(m map[string]int) string {
		var parts []string
		for k, v := range m {
			parts = append(parts, fmt.Sprintf("CPU %s (%d)", k, v))
		}
		sort.Strings(parts)
		return strings.Join(parts, ", ")
	}
	var ran []string
	cpus := make([]int, 0, len(pl.ranOn))
	for c := range pl.ranOn {
		cpus = append(cpus, c)
	}
	slices.Sort(cpus)
	for _, c := range cpus {
		ran = append(ran, fmt.Sprintf("CPU %d (%d)", c, pl.ranOn[c]))
	}
	ok := "ok"
	if len(pl.allowed) != 1 || pl.allowed[strconv.Itoa(wantCPU)] != pl.threads {
		ok = "NOT PINNED AS INTENDED"
	}
	for _, c := range cpus {
		if c != wantCPU {
			ok = "NOT PINNED AS INTENDED"
		}
	}
	if len(ran) == 0 {
		ran = []string{"-"}
	}
	return fmt.Sprintf("%d threads; allowed on %s; ran on %s; %s", pl.threads, keys(pl.allowed), strings.Join(ran, ", "), ok)
}

// settle waits until the Go runtime has noticed the new affinity mask:
// since Go 1.25 it re-reads it about once a second and sets GOMAXPROCS to
// the number of CPUs allowed (unless GOMAXPROCS is set). The bench's own
// value is the witness; the other Go processes re-read theirs as they run,
// within the warm-up.
func settle(ctx context.Context, want int) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.GOMAXPROCS(0) != want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
}

// descendants returns pid and every process below it.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []int{pid}
	}
	kids := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := statOf(n); ok {
			kids[ppid] = append(kids[ppid], n)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, kids[out[i]]...)
	}
	return out
}

func exists(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}

// taskStat reads utime+stime and the CPU last run on (field 39) from a
// /proc/PID/task/TID/stat.
func taskStat(b []byte) (ticks int64, cpu int) {
	cpu = -1
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 37 {
		return 0, -1
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	cpu, err := strconv.Atoi(f[36])
	if err != nil {
		cpu = -1
	}
	return u + s, cpu
}

// statusField returns a field of a /proc/.../status file.
func statusField(status, name string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// allowedCPUs reads the Cpus_allowed_list of a /proc status file.
func allowedCPUs(statusPath string) ([]int, error) {
	b, err := os.ReadFile(statusPath)
	if err != nil {
		return nil, err
	}
	return parseCPUList(statusField(string(b), "Cpus_allowed_list"))
}

// parseCPUList parses a CPU list such as "0-2,5", sorted.
func parseCPUList(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(strings.TrimSpace(s), ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("CPU list %q: %w", s, err)
		}
		z := a
		if isRange {
			if z, err = strconv.Atoi(hi); err != nil || z < a {
				return nil, fmt.Errorf("CPU list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= z; c++ {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// cpuList formats CPUs as a list: "0", "0,1", "0-3".
func cpuList(cpus []int) string {
	var parts []string
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, strconv.Itoa(cpus[i]))
		case j == i+1:
			parts = append(parts, strconv.Itoa(cpus[i]), strconv.Itoa(cpus[j]))
		default:
			parts = append(parts, fmt.Sprintf("%d-%d", cpus[i], cpus[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}
