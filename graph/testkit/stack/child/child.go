// Package child starts and stops the stack's processes (package
// graph/testkit/stack's services, graph/testkit/pgcluster's PostgreSQL): one
// process each, its output in a log file of its own, stopped by its PID.
//
// A child is bound to the process that started it: it gets SIGKILL (or
// Options.Pdeathsig) when that process dies, even by SIGKILL, so nothing is
// left running. It runs in a process group of its own, so a terminal's
// Ctrl-C goes to the starting process only, which then stops its children
// itself, in the order it chooses.
package child

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Options describe a child process.
type Options struct {
	// Name names the process in messages and its log, LogDir/Name.log,
	// which Start truncates.
	Name string
	// LogFile, when set, is the log's path instead of LogDir/Name.log.
	LogFile string
	// AppendLog keeps what the log already holds.
	AppendLog bool
	// Bin and Args are the program and its arguments.
	Bin  string
	Args []string
	// Env is added to the starting process's environment; later entries
	// win, so these override it.
	Env []string
	// Dir is the working directory; empty means the current one.
	Dir    string
	LogDir string
	// Lines delivers each line of standard output on Process.Lines as well
	// as to the log.
	Lines bool
	// OnExit, if set, is called once the process has exited on its own
	// and been reaped, before Done is closed; it is not called once Stop
	// has been. It must not block.
	OnExit func(*Process)
	// Pdeathsig is the signal the child gets when the starting process
	// dies; 0 means SIGKILL.
	Pdeathsig syscall.Signal
	// StopSignal is the signal Stop sends first; 0 means SIGTERM.
	StopSignal syscall.Signal
	// Credential, when set, runs the child as another user.
	Credential *syscall.Credential
}

// Process is a running or exited child process.
type Process struct {
	name    string
	pid     int
	logPath string
	done    chan struct{} // closed once the process has exited and been reaped
	err     error         // its exit status, valid after done
	lines   chan string   // standard output lines, with Options.Lines
	stopped atomic.Bool   // set when Stop is called
	stopSig syscall.Signal
}

// Start starts a child process as o describes. Its standard output and
// error go to its log file.
func Start(o Options) (*Process, error) {
	p := &Process{name: o.Name, logPath: o.LogFile, done: make(chan struct{}), stopSig: o.StopSignal}
	if p.logPath == "" {
		p.logPath = filepath.Join(o.LogDir, o.Name+".log")
	}
	if p.stopSig == 0 {
		p.stopSig = syscall.SIGTERM
	}
	pdeathsig := o.Pdeathsig
	if pdeathsig == 0 {
		pdeathsig = syscall.SIGKILL
	}
	// O_APPEND: with Lines, the child's standard error and the copy of its
	// standard output write to the file through separate descriptors.
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if !o.AppendLog {
		flags |= os.O_TRUNC
	}
	logFile, err := os.OpenFile(p.logPath, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: opening its log: %w", o.Name, err)
	}
	var pr, pw *os.File
	if o.Lines {
		if pr, pw, err = os.Pipe(); err != nil {
			logFile.Close()
			return nil, fmt.Errorf("%s: %w", o.Name, err)
		}
		p.lines = make(chan string, 64)
	}

	// Pdeathsig is sent when the thread that started the child exits, so
	// the goroutine that starts it keeps its OS thread until it is reaped.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(o.Bin, o.Args...)
		cmd.Dir = o.Dir
		cmd.Env = append(os.Environ(), o.Env...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if pw != nil {
			cmd.Stdout = pw
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Pdeathsig:  pdeathsig, // the parent gone, even by SIGKILL: so is the child
			Setpgid:    true,      // a terminal's Ctrl-C is for the parent, which stops its children
			Credential: o.Credential,
		}
		err := cmd.Start()
		logFile.Close() // the child has its own descriptor
		if pw != nil {
			pw.Close()
		}
		if err != nil {
			if pr != nil {
				pr.Close()
			}
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		if pr != nil {
			go p.copyLines(pr)
		}
		started <- nil
		p.err = cmd.Wait()
		if o.OnExit != nil && !p.stopped.Load() {
			o.OnExit(p)
		}
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", o.Name, o.Bin, err)
	}
	return p, nil
}

// copyLines appends the child's standard output to its log and hands each
// line to p.lines, dropping lines nobody reads.
func (p *Process) copyLines(r *os.File) {
	defer r.Close()
	log, err := os.OpenFile(p.logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		log = nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if log != nil {
			_, _ = log.WriteString(line + "\n")
		}
		select {
		case p.lines <- line:
		default:
		}
	}
	if log != nil {
		log.Close()
	}
	_, _ = io.Copy(io.Discard, r)
	close(p.lines)
}

// Name returns the name the process was started with.
func (p *Process) Name() string { return p.name }

// PID returns the process id.
func (p *Process) PID() int { return p.pid }

// LogPath returns the path of the process's log file.
func (p *Process) LogPath() string { return p.logPath }

// Done returns a channel that is closed once the process has exited and
// been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Lines returns the lines of the process's standard output when it was
// started with Options.Lines, and nil otherwise. A line is dropped when
// the channel's buffer is full; the channel is closed when the output ends.
func (p *Process) Lines() <-chan string { return p.lines }

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Err returns the process's exit status once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Signal sends sig to the running process.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(p.pid, sig); err != nil {
		return fmt.Errorf("%s (pid %d): kill -%d: %w", p.name, p.pid, sig, err)
	}
	return nil
}

// Stop sends the process Options.StopSignal (SIGTERM), waits up to grace,
// then sends SIGKILL, and waits for the process to be reaped. It returns
// nil when the process had already exited or stopped within grace. Once
// Stop is called, Options.OnExit is not.
func (p *Process) Stop(grace time.Duration) error {
	return p.StopWith(p.stopSig, grace)
}

// StopWith is Stop with sig instead of Options.StopSignal.
func (p *Process) StopWith(sig syscall.Signal, grace time.Duration) error {
	p.stopped.Store(true)
	if !p.Running() {
		return nil
	}
	if err := syscall.Kill(p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stopping %s (pid %d): %w", p.name, p.pid, err)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	}
	_ = syscall.Kill(p.pid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s (pid %d) did not stop within %s of %s; killed", p.name, p.pid, grace, signalName(sig))
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return "signal " + strconv.Itoa(int(sig))
}

// DeathReport describes a process that exited on its own, with the end of
// its log. Call it once Done is closed.
func (p *Process) DeathReport() error {
	status := "exited"
	if p.err != nil {
		status = p.err.Error()
	}
	return fmt.Errorf("%s (pid %d) stopped unexpectedly (%s); the end of %s:\n%s", p.name, p.pid, status, p.logPath, p.Tail(15))
}

// Tail returns the last n lines of the process's log, indented by four
// spaces, or a note saying why there are none.
func (p *Process) Tail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "    (no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(bytes.ToValidUTF8(b, []byte("?"))), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.Join(lines, "\n    ")
}
