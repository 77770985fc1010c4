package child_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bookstore/graph/testkit/stack/child"
)

func TestMain(m *testing.M) {
	// With helperEnv set, the test binary is a child: one of the helper
	// processes below.
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

const helperEnv = "CHILD_TEST_HELPER"

// helper is a child process: "exit" writes 20 lines and a line on
// standard error and exits 3; "serve" answers /readyz on the address in
// args until SIGTERM; "ignore-term" ignores SIGTERM, prints "ready" and
// sleeps.
func helper(mode string, args []string) int {
	switch mode {
	case "exit":
		for i := 1; i <= 20; i++ {
			fmt.Printf("line %d\n", i)
		}
		fmt.Fprintln(os.Stderr, "to stderr")
		return 3
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		ln, err := net.Listen("tcp", args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" {
				http.NotFound(w, r)
			}
		})}
		go srv.Serve(ln)
		<-ctx.Done()
		fmt.Println("stopping on SIGTERM")
		srv.Close()
		return 0
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	return 2
}

// gone reports whether no process has pid: it has exited and been reaped.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestProcess(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		mode  string
		lines bool
		// stop is the grace Stop gets; 0 lets the process exit on its own.
		stop        time.Duration
		wantStopErr bool
		wantOnExit  bool
		wantStatus  string // in DeathReport
		wantTail    string // Tail(3)
	}{
		{
			name: "exits on its own", mode: "exit",
			wantOnExit: true, wantStatus: "(exit status 3)",
			wantTail: "    line 19\n    line 20\n    to stderr",
		},
		{
			name: "stops on SIGTERM", mode: "serve", stop: time.Minute,
			wantStatus: "(exited)", wantTail: "    stopping on SIGTERM",
		},
		{
			name: "killed after grace", mode: "ignore-term", lines: true, stop: 100 * time.Millisecond,
			wantStopErr: true, wantStatus: "(signal: killed)", wantTail: "    ready",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port, err := child.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			exited := make(chan *child.Process, 1)
			logDir := t.TempDir()
			p, err := child.Start(child.Options{
				Name: tc.mode, Bin: self, Args: []string{child.HostPort(port)},
				Env: []string{helperEnv + "=" + tc.mode}, LogDir: logDir, Lines: tc.lines,
				OnExit: func(p *child.Process) { exited <- p },
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Stop(0) })
			if p.PID() <= 0 || p.Name() != tc.mode || p.LogPath() != filepath.Join(logDir, tc.mode+".log") {
				t.Fatalf("pid %d, name %q, log %q", p.PID(), p.Name(), p.LogPath())
			}

			switch tc.mode {
			case "serve":
				if err := p.WaitReady(context.Background(), "http://"+child.HostPort(port)+"/readyz", time.Minute); err != nil {
					t.Fatalf("WaitReady: %v", err)
				}
			case "ignore-term":
				// Its first line comes after it has begun to ignore SIGTERM.
				if line := <-p.Lines(); line != "ready" {
					t.Fatalf("first line %q, want ready", line)
				}
			}
			if tc.stop > 0 {
				if !p.Running() {
					t.Fatalf("not running before Stop: %v", p.DeathReport())
				}
				err := p.Stop(tc.stop)
				if (err != nil) != tc.wantStopErr {
					t.Fatalf("Stop = %v, want an error: %t", err, tc.wantStopErr)
				}
			}
			<-p.Done()
			if p.Running() {
				t.Error("Running after Done is closed")
			}
			if !gone(p.PID()) {
				t.Errorf("pid %d still exists after Done", p.PID())
			}
			select {
			case got := <-exited:
				if !tc.wantOnExit {
					t.Error("OnExit was called after Stop")
				} else if got != p {
					t.Error("OnExit got another process")
				}
			default: // OnExit runs before Done is closed: it was not called
				if tc.wantOnExit {
					t.Error("OnExit was not called")
				}
			}
			if err := p.Stop(time.Minute); err != nil {
				t.Errorf("Stop after exit = %v", err)
			}
			if got := p.Tail(3); got != tc.wantTail {
				t.Errorf("Tail(3) = %q, want %q", got, tc.wantTail)
			}
			report := p.DeathReport().Error()
			for _, want := range []string{fmt.Sprintf("%s (pid %d) stopped unexpectedly", tc.mode, p.PID()), tc.wantStatus, p.LogPath(), tc.wantTail} {
				if !strings.Contains(report, want) {
					t.Errorf("DeathReport = %q, want it to hold %q", report, want)
				}
			}
		})
	}
}

// WaitReady reports a child that dies before it is ready, with its log.
func TestWaitReadyDeath(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	port, err := child.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := child.Start(child.Options{Name: "exit", Bin: self, Env: []string{helperEnv + "=exit"}, LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	err = p.WaitReady(context.Background(), "http://"+child.HostPort(port)+"/readyz", time.Hour)
	if err == nil || !strings.Contains(err.Error(), "stopped unexpectedly (exit status 3)") || !strings.Contains(err.Error(), "to stderr") {
		t.Fatalf("WaitReady = %v, want the death report", err)
	}
}

func TestStartFails(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    child.Options
		want string
	}{
		{"no binary", child.Options{Name: "x", Bin: filepath.Join(dir, "missing"), LogDir: dir}, "starting x (" + filepath.Join(dir, "missing") + ")"},
		{"no log directory", child.Options{Name: "x", Bin: "true", LogDir: filepath.Join(dir, "missing")}, "x: opening its log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := child.Start(tc.o)
			if err == nil {
				_ = p.Stop(time.Minute)
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start = %v, want it to hold %q", err, tc.want)
			}
		})
	}
}

// The options pgcluster uses: a log file of its own kept across starts, and
// another stop signal.
func TestLogFileAndStopSignal(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "server.log")
	for range 2 {
		p, err := child.Start(child.Options{Name: "exit", Bin: self, Env: []string{helperEnv + "=exit"}, LogFile: log, AppendLog: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.LogPath() != log {
			t.Errorf("LogPath = %q, want %q", p.LogPath(), log)
		}
		if err := p.Err(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
			t.Errorf("Err = %v, want exit status 3", err)
		}
	}
	if b, _ := os.ReadFile(log); strings.Count(string(b), "line 20\n") != 2 {
		t.Errorf("the log holds %d runs, want 2:\n%s", strings.Count(string(b), "line 20\n"), b)
	}

	// ignore-term ignores SIGTERM only: SIGINT ends it within the grace.
	p, err := child.Start(child.Options{Name: "ignore-term", Bin: self, Env: []string{helperEnv + "=ignore-term"},
		LogDir: t.TempDir(), Lines: true, StopSignal: syscall.SIGINT})
	if err != nil {
		t.Fatal(err)
	}
	if line := <-p.Lines(); line != "ready" {
		t.Fatalf("first line %q, want ready", line)
	}
	if err := p.Stop(time.Minute); err != nil {
		t.Errorf("Stop with SIGINT = %v", err)
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "interrupt") {
		t.Errorf("Err = %v, want signal: interrupt", err)
	}
}

func TestFreePorts(t *testing.T) {
	ports, err := child.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	more, err := child.FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	// Distinct across calls too, free, and below the ephemeral range,
	// where no outgoing connection takes them.
	seen := map[int]bool{}
	for _, p := range append(ports, more...) {
		if seen[p] || !child.PortFree(p) || p >= 32768 || p < 1024 {
			t.Errorf("port %d: listed twice, not free or in the ephemeral range (%v, %v)", p, ports, more)
		}
		seen[p] = true
	}
}
