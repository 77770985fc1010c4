package gqltest

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RunMainEnv is set in the environment of a test binary that StartProcess
// re-executes: its TestMain must then call main() instead of the tests.
const RunMainEnv = "BOOKSTORE_TEST_RUN_MAIN"

// Main is the TestMain of a service's main package: in a child started by
// StartProcess or RunProcess it runs the service's main(); otherwise it runs
// the tests with a database from testdb (passed in as runTests, usually
// testdb.Main).
func Main(m *testing.M, main func(), runTests func(*testing.M) int) {
	if os.Getenv(RunMainEnv) != "" {
		main()
		return
	}
	os.Exit(runTests(m))
}

// Process is the service's own main() running in a child process.
type Process struct {
	URL  string
	cmd  *exec.Cmd
	done chan error
	mu   sync.Mutex
	logs strings.Builder
}

// StartProcess re-executes the test binary as the service (its main()),
// with env added to the environment and ADDR on a free port of 127.0.0.1,
// and waits until it listens. The process is killed when the test ends if
// it is still running.
func StartProcess(t testing.TB, env map[string]string) *Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), RunMainEnv+"=1", "ADDR=127.0.0.1:0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			var entry struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" {
				addr <- entry.Addr
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case a := <-addr:
		p.URL = "http://" + a
	case err := <-p.done:
		t.Fatalf("the service exited before listening: %v\n%s", err, p.Logs())
	case <-time.After(30 * time.Second):
		t.Fatalf("the service did not listen within 30 s\n%s", p.Logs())
	}
	return p
}

// Logs returns what the process printed so far.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// Terminate sends SIGTERM.
func (p *Process) Terminate(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// Wait waits for the process to exit and returns its exit error.
func (p *Process) Wait(timeout time.Duration) (error, bool) {
	select {
	case err := <-p.done:
		return err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// RunProcess runs the service's main() in a child process that is expected
// to exit by itself (a configuration error, say), and returns its output.
func RunProcess(t testing.TB, env map[string]string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), RunMainEnv+"=1", "ADDR=127.0.0.1:0")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("the service did not exit within 30 s")
	}
	return string(out), err
}
