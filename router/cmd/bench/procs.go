package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one child process started by the bench. Its output goes to a
// log file; it dies with the bench (Pdeathsig) and is stopped by its PID.
type proc struct {
	name    string
	pid     int
	logPath string
	done    chan struct{} // closed once the process has been reaped
	err     error         // its exit status, valid after done
	lines   chan string   // stdout lines, when asked for (Apollo's ready line)
}

// spawnOptions describe a child.
type spawnOptions struct {
	name  string
	bin   string
	args  []string
	env   []string // added to the bench's environment; later entries win
	dir   string
	lines bool // deliver stdout lines on proc.lines as well as to the log
}

// spawn starts a child. Pdeathsig fires when the thread that started the
// child exits, so the goroutine that starts it keeps its OS thread locked
// until the child has been reaped.
func spawn(logDir string, o spawnOptions) (*proc, error) {
	p := &proc{name: o.name, logPath: filepath.Join(logDir, o.name+".log"), done: make(chan struct{})}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: opening its log: %w", o.name, err)
	}
	var pr *os.File
	var pw *os.File
	if o.lines {
		if pr, pw, err = os.Pipe(); err != nil {
			logFile.Close()
			return nil, err
		}
		p.lines = make(chan string, 64)
	}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		cmd := exec.Command(o.bin, o.args...)
		cmd.Dir = o.dir
		cmd.Env = append(os.Environ(), o.env...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if pw != nil {
			cmd.Stdout = pw
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGKILL, // the bench gone, even by SIGKILL: so is the child
			Setpgid:   true,            // a terminal's Ctrl-C is for the bench, which stops children itself
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
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", o.name, o.bin, err)
	}
	return p, nil
}

// copyLines appends the child's stdout to its log and hands each line to
// p.lines, dropping lines nobody reads.
func (p *proc) copyLines(r *os.File) {
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

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the reaping.
func (p *proc) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	if err := syscall.Kill(p.pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
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
	return fmt.Errorf("%s (pid %d) did not stop within %s of SIGTERM; killed", p.name, p.pid, grace)
}

// deathReport describes a child that exited on its own, with its log's end.
func (p *proc) deathReport() error {
	status := "exited"
	if p.err != nil {
		status = p.err.Error()
	}
	return fmt.Errorf("%s (pid %d) stopped unexpectedly (%s); the end of %s:\n%s", p.name, p.pid, status, p.logPath, tail(p.logPath, 15))
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

// waitReady polls url until it answers 200, the child exits, ctx ends or
// timeout passes.
func waitReady(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if res, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return p.deathReport()
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not answer %s within %s; the end of %s:\n%s", p.name, url, timeout, p.logPath, tail(p.logPath, 15))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before the child binds it; the child then fails to start
// and the bench says so.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

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
