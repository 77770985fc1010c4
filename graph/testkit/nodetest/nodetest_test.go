package nodetest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bookstore/graph/testkit/proctest"
)

func TestRunOutput(t *testing.T) {
	res, err := Run(t.Context(), time.Minute, t.TempDir(), []string{"NODETEST_X=42"}, "/bin/sh", "-c", `echo "out $NODETEST_X"; echo err >&2`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stdout != "out 42\n" || res.Stderr != "err\n" {
		t.Errorf("stdout %q, stderr %q", res.Stdout, res.Stderr)
	}
}

func TestRunExitStatus(t *testing.T) {
	res, err := Run(t.Context(), time.Minute, t.TempDir(), nil, "/bin/sh", "-c", "echo failing >&2; exit 3")
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if res.Stderr != "failing\n" {
		t.Errorf("stderr %q", res.Stderr)
	}
}

// TestRunStopsTheGroup runs a shell that starts a child and hangs: when
// the time is up, both must be gone, the child included.
func TestRunStopsTheGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	_, err := Run(t.Context(), 500*time.Millisecond, dir, nil, "/bin/sh", "-c",
		`sleep 300 & echo $! > child.pid; wait`)
	if err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatalf("the shell wrote no child pid: %v", rerr)
	}
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if perr != nil {
		t.Fatal(perr)
	}
	// The child was killed; once its reaper has waited for it, it is gone.
	// A zombie (state Z) is dead already: whether it is reaped depends on
	// the machine's init, not on Run.
	proctest.WantGone(t, pid, 10*time.Second, "the child Run killed")
}

func TestOutDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv("BOOKSTORE_TEST_OUT", base)
	got := OutDir(t, "things")
	if got != filepath.Join(base, "things") {
		t.Errorf("OutDir = %s, want %s/things", got, base)
	}
	if fi, err := os.Stat(got); err != nil || !fi.IsDir() {
		t.Errorf("OutDir did not create %s: %v", got, err)
	}
}

func TestOutDirDefault(t *testing.T) {
	t.Setenv("BOOKSTORE_TEST_OUT", "")
	got := OutDir(t, "nodetest-selftest")
	t.Cleanup(func() { os.Remove(got) })
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(root, "out", "nodetest-selftest") {
		t.Errorf("OutDir = %s, want under %s/out", got, root)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("the root %s has no go.mod: %v", root, err)
	}
}
