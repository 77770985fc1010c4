package main

import (
	"slices"
	"testing"
)

func TestCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		out  string
	}{
		{"0", []int{0}, "0"},
		{"0-1", []int{0, 1}, "0,1"},
		{"1,0", []int{0, 1}, "0,1"},
		{"0-3,6,8-9", []int{0, 1, 2, 3, 6, 8, 9}, "0-3,6,8,9"},
		{" 2 ", []int{2}, "2"},
	} {
		got, err := parseCPUList(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("parseCPUList(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if s := cpuList(got); s != tc.out {
			t.Errorf("cpuList(%v) = %q, want %q", got, s, tc.out)
		}
	}
	for _, bad := range []string{"", "a", "3-1", "0-"} {
		if got, err := parseCPUList(bad); err == nil {
			t.Errorf("parseCPUList(%q) = %v, want an error", bad, got)
		}
	}
}

func TestTaskStat(t *testing.T) {
	// A /proc/PID/task/TID/stat line whose command holds a space and a ')'.
	line := "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 100 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	ticks, cpu := taskStat([]byte(line))
	if ticks != 10 || cpu != 1 {
		t.Errorf("taskStat = %d ticks, CPU %d; want 10, 1", ticks, cpu)
	}
}

func TestStatusField(t *testing.T) {
	st := "Name:\tx\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\n"
	if got := statusField(st, "Cpus_allowed_list"); got != "0-1" {
		t.Errorf("statusField = %q", got)
	}
	if got := statusField(st, "Nope"); got != "" {
		t.Errorf("statusField(Nope) = %q", got)
	}
}
