package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// child is one service process, bound to devstack.
type child struct {
	name    string
	pid     int
	port    int
	logPath string
	done    chan struct{} // closed once the process has exited and been reaped
	err     error         // its exit, valid after done
	stopped atomic.Bool   // set before devstack stops it on purpose
}

// spawn starts bin with args and the extra environment env, its output
// going to logDir/name.log, and reports its exit on st.exited unless
// devstack stopped it.
func (st *stack) spawn(ctx context.Context, name, bin string, args, env []string, logDir string, port int) (*child, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := &child{name: name, port: port, logPath: filepath.Join(logDir, name+".log"), done: make(chan struct{})}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: opening its log: %w", name, err)
	}
	defer logFile.Close() // the child has its own descriptor

	// Pdeathsig is sent when the thread that started the child exits, so
	// the goroutine that starts it keeps its OS thread until it is reaped.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(bin, args...)
		// Later entries win, so these override the caller's environment
		// (a DATABASE_URL meant for devstack, for one).
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGKILL, // devstack gone, even by SIGKILL: so is the child
			Setpgid:   true,            // a terminal's Ctrl-C is for devstack, which stops children in order
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.pid = cmd.Process.Pid
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
		if !c.stopped.Load() {
			select {
			case st.exited <- c:
			default: // devstack is already stopping for another child
			}
		}
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	st.children = append(st.children, c)
	fmt.Fprintf(st.out, "started %s (pid %d) on 127.0.0.1:%d, log %s\n", name, c.pid, port, c.logPath)
	return c, nil
}

// waitReady waits until the child answers GET /readyz with 200.
func (c *child) waitReady(ctx context.Context, timeout time.Duration) error {
	return waitHTTP(ctx, "http://"+hostPort(c.port)+"/readyz", c, timeout)
}

// running reports whether the process has not exited yet.
func (c *child) running() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, waits up to grace, then sends SIGKILL, and waits for
// the process to be reaped.
func (c *child) stop(grace time.Duration) error {
	c.stopped.Store(true)
	if !c.running() {
		return nil
	}
	if err := syscall.Kill(c.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s (pid %d): %w", c.name, c.pid, err)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
		return nil
	case <-t.C:
	}
	_ = syscall.Kill(c.pid, syscall.SIGKILL)
	<-c.done
	return fmt.Errorf("%s (pid %d) did not stop within %s of SIGTERM; killed", c.name, c.pid, grace)
}

// deathReport describes a child that exited on its own, with the end of
// its log.
func (c *child) deathReport() error {
	status := "exited"
	if c.err != nil {
		status = c.err.Error()
	}
	return fmt.Errorf("%s (pid %d) stopped unexpectedly (%s); the end of %s:\n%s", c.name, c.pid, status, c.logPath, tail(c.logPath, 15))
}

// tail returns the last n lines of file, indented.
func tail(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(b, []byte("?"))), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
