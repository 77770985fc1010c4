// Package nodetest runs Node.js tools from tests: it finds node and npm,
// installs a pinned npm project with `npm ci` in a cache directory outside
// the repository, runs a Node script as a child process that is stopped by
// its PID (with its process group) when it overruns, and says where a test
// may keep files for people to look at.
//
// A tool that is missing skips the test, except in CI (CI=true), where it
// fails it: CI must never pass by skipping.
package nodetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long a process gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool {
	return os.Getenv("CI") == "true"
}

// Missing skips the test because a tool it needs is missing, or fails it in
// CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: a missing tool fails the test)", msg)
	}
	t.Skip(msg + " (skipped outside CI)")
}

// LookPath returns the path of the command name, or calls Missing with
// hint, which says how to install it.
func LookPath(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not on PATH: %s", name, hint)
	}
	return p
}

// Node returns the paths of node and npm.
func Node(t testing.TB) (node, npm string) {
	t.Helper()
	const hint = "this test needs Node.js >= 20 and npm (Debian: apt-get install nodejs npm)"
	return LookPath(t, "node", hint), LookPath(t, "npm", hint)
}

// Install makes sure the npm project in dir (its package.json and
// package-lock.json) is installed with `npm ci`, and returns the directory
// that holds its node_modules. That directory is under the user's cache
// ($XDG_CACHE_HOME/bookstore/node-projects, by default
// ~/.cache/bookstore/node-projects), named by the package's name and a hash
// of the two files, so no node_modules ever sits in the
// repository and a changed lock file gets a fresh install. A file lock keeps
// test binaries running at once from installing the same project twice.
//
// Install scripts are not run and PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 is set:
// no package may download a browser or anything else past the registry.
func Install(ctx context.Context, t testing.TB, dir string) string {
	t.Helper()
	_, npm := Node(t)
	target, err := install(ctx, npm, dir)
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	return target
}

// InstallProject is Install for a program rather than a test (make bench):
// it returns an error where Install would skip or fail the test.
func InstallProject(ctx context.Context, dir string) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errors.New("npm is not on PATH (Debian: apt-get install nodejs npm)")
	}
	return install(ctx, npm, dir)
}

func install(ctx context.Context, npm, dir string) (string, error) {
	var files [][]byte
	h := sha256.New()
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", fmt.Errorf("reading the npm project: %w", err)
		}
		files = append(files, b)
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	base, err := os.UserCacheDir() // honours XDG_CACHE_HOME
	if err != nil {
		return "", fmt.Errorf("finding a cache directory (set XDG_CACHE_HOME): %w", err)
	}
	var pkg struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(files[0], &pkg); err != nil || pkg.Name == "" || strings.ContainsAny(pkg.Name, `/\`) {
		return "", fmt.Errorf("%s: want a package.json with a plain name (%v)", dir, err)
	}
	target := filepath.Join(base, "bookstore", "node-projects", pkg.Name+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	if err := os.MkdirAll(target, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", target, err)
	}
	lock, err := os.OpenFile(target+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("opening the install lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	// npm ci ends by writing node_modules/.package-lock.json; the marker is
	// written after it succeeded, so a half-done install is redone.
	marker := filepath.Join(target, ".bookstore-installed")
	if _, err := os.Stat(marker); err == nil {
		return target, nil
	}
	for i, name := range []string{"package.json", "package-lock.json"} {
		if err := os.WriteFile(filepath.Join(target, name), files[i], 0o644); err != nil {
			return "", fmt.Errorf("copying %s: %w", name, err)
		}
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline")
	cmd.Dir = target
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("npm ci in %s: %w\n%s", target, err, out)
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return "", fmt.Errorf("marking the install done: %w", err)
	}
	return target, nil
}

// Result is what a finished process printed.
type Result struct {
	Stdout, Stderr string
	Elapsed        time.Duration
}

// Run runs name with args in dir and waits for it to exit, for at most
// timeout (a safety net against a hung tool, not an assertion). The process
// leads its own process group: when the time is up it and every process it
// started get SIGTERM by the group's id (its PID), then SIGKILL; the group
// is swept with SIGKILL once it exited too, so no child outlives the call.
// Pdeathsig stops it if the test binary dies. env is added to the test's
// environment. A non-zero exit is returned as an error, with the output.
func Run(ctx context.Context, timeout time.Duration, dir string, env []string, name string, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Start()
	if err != nil {
		return Result{}, fmt.Errorf("starting %s: %w", filepath.Base(name), err)
	}
	err = cmd.Wait()
	// Whatever the leader left behind in its group (a browser, say) goes
	// with it. ESRCH means the group is already empty.
	if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
		err = errors.Join(err, fmt.Errorf("stopping the process group %d: %w", cmd.Process.Pid, kerr))
	}
	res := Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	if ctx.Err() != nil {
		return res, fmt.Errorf("%s %s did not finish within %v: %w", filepath.Base(name), strings.Join(args, " "), timeout, ctx.Err())
	}
	if err != nil {
		return res, fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return res, nil
}

// OutDir returns the directory where a test keeps files for people to look
// at (screenshots, reports), created if needed: $BOOKSTORE_TEST_OUT/name
// when that is set, else <repository root>/out/name (git-ignored). The
// repository's root is the nearest directory above the working directory
// that holds go.mod.
func OutDir(t testing.TB, name string) string {
	t.Helper()
	base := os.Getenv("BOOKSTORE_TEST_OUT")
	if base == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("nodetest: %v", err)
		}
		base = filepath.Join(root, "out")
	}
	dir, err := filepath.Abs(filepath.Join(base, name))
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("nodetest: creating %s: %v", dir, err)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}
