// Package proctest checks on the processes a test started, or expects to
// be gone: whether one is alive, and waiting for one to go.
package proctest

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Alive reports whether pid is a live process. A zombie is not: it is dead
// already, and whether it is reaped depends on its parent (the machine's
// init, for an orphan), not on the test.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces and parentheses, so the
	// state follows the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// WaitGone waits until pid is no longer alive, or ctx ends. It reports
// whether the process is gone.
func WaitGone(ctx context.Context, pid int) bool {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for Alive(pid) {
		select {
		case <-ctx.Done():
			return !Alive(pid)
		case <-tick.C:
		}
	}
	return true
}

// WantGone fails the test when pid is still alive within the given time,
// killing it (SIGKILL) first; what names it in the failure ("the server").
func WantGone(t testing.TB, pid int, within time.Duration, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if !WaitGone(ctx, pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("%s (pid %d) is still running after %s", what, pid, within)
	}
}
