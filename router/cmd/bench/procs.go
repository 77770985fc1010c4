package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// cpuTicks returns the user+system CPU time of pid and, with children, of
// every live process whose parent is pid (PostgreSQL's backends), in clock
// ticks. A process that is gone counts 0.
func cpuTicks(pid int, children bool) int64 {
	total := ticksOf(pid)
	if !children {
		return total
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return total
	}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil || n == pid {
			continue
		}
		if ppid, ticks, ok := statOf(n); ok && ppid == pid {
			total += ticks
		}
	}
	return total
}

func ticksOf(pid int) int64 {
	_, ticks, _ := statOf(pid)
	return ticks
}

// statOf reads /proc/PID/stat: the parent's pid and utime+stime.
func statOf(pid int) (ppid int, ticks int64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name, in parentheses, may hold spaces: fields start
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return ppid, u + s, true
}

// clockTick is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTick = 100
