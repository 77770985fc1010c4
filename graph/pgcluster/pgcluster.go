// Package pgcluster runs a private PostgreSQL cluster from the server
// binaries installed on the machine: for tests (a throwaway cluster) and for
// `make run` (a persistent one under .data/).
//
// PostgreSQL refuses to run as root, so when the caller is root the cluster
// runs as the "postgres" system user, with a data directory that user owns.
// The server listens on 127.0.0.1 only, on a port picked at start unless one
// is given, and never on a Unix socket.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options configure a cluster.
type Options struct {
	// DataDir holds the cluster. Empty means a new temporary directory,
	// removed by Stop. An existing cluster in DataDir is reused.
	DataDir string
	// Port to listen on; 0 picks a free one.
	Port int
	// Durable keeps fsync on. Tests leave it off for speed.
	Durable bool
	// BinDir holds initdb, pg_ctl and postgres. Empty means: $PG_BIN, else
	// the newest /usr/lib/postgresql/*/bin, else pg_ctl's directory on PATH.
	BinDir string
}

// Cluster is a running PostgreSQL server.
type Cluster struct {
	DataDir string
	Port    int
	bin     string
	temp    bool
	runAs   string // system user to run the server binaries as, or ""
}

// ErrNoBinaries reports that no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found: install them (Debian: apt-get install -y postgresql-15) or set PG_BIN to the directory holding initdb and pg_ctl, or set DATABASE_URL to use an existing server")

// FindBinDir locates the directory of initdb and pg_ctl.
func FindBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("PG_BIN"); dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("PG_BIN=%s does not hold initdb, pg_ctl and postgres", dir)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	return "", ErrNoBinaries
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start initialises the cluster if needed and starts the server, waiting
// until it accepts connections.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	bin := o.BinDir
	if bin == "" {
		var err error
		if bin, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	c := &Cluster{DataDir: o.DataDir, Port: o.Port, bin: bin}
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
	}
	if c.DataDir == "" {
		dir, err := os.MkdirTemp("", "bookstore-pg-")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		c.DataDir, c.temp = filepath.Join(dir, "data"), true
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c.DataDir = abs
	if err := c.init(ctx); err != nil {
		c.cleanup()
		return nil, err
	}
	// A port picked here could be taken before the server binds it; retry.
	var startErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := o.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				c.cleanup()
				return nil, err
			}
		}
		c.Port = port
		if startErr = c.start(ctx, o.Durable); startErr == nil {
			return c, nil
		}
		if o.Port != 0 {
			break
		}
	}
	c.cleanup()
	return nil, startErr
}

func (c *Cluster) init(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION")); err == nil {
		return c.own(c.DataDir) // an existing cluster: reuse it
	}
	// The parents must let the server's user through; the cluster itself
	// is private to it.
	if err := os.MkdirAll(filepath.Dir(c.DataDir), 0o755); err != nil {
		return fmt.Errorf("pgcluster: creating %s: %w", filepath.Dir(c.DataDir), err)
	}
	if err := os.Mkdir(c.DataDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("pgcluster: creating %s: %w", c.DataDir, err)
	}
	if err := c.own(c.DataDir); err != nil {
		return err
	}
	if c.temp {
		if err := c.own(filepath.Dir(c.DataDir)); err != nil {
			return err
		}
	}
	out, err := c.command(ctx, "initdb", "-D", c.DataDir, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: initdb: %w: %s", err, lastLines(out))
	}
	return nil
}

func (c *Cluster) start(ctx context.Context, durable bool) error {
	opts := []string{
		"-c listen_addresses=127.0.0.1",
		"-p " + strconv.Itoa(c.Port),
		"-c unix_socket_directories=''",
		"-c max_connections=300",
	}
	if !durable {
		opts = append(opts, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	logFile := filepath.Join(c.DataDir, "server.log")
	out, err := c.command(ctx, "pg_ctl", "-D", c.DataDir, "-l", logFile, "-w", "-t", "60",
		"-o", strings.Join(opts, " "), "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(logFile)
		return fmt.Errorf("pgcluster: pg_ctl start on port %d: %w: %s %s", c.Port, err, lastLines(out), lastLines(log))
	}
	return nil
}

// URL returns a postgres:// URL for the superuser and database db.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(c.Port),
		Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// PID returns the server's process id, read from postmaster.pid.
func (c *Cluster) PID() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgcluster: reading postmaster.pid: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(line)))
	if err != nil {
		return 0, fmt.Errorf("pgcluster: postmaster.pid: %w", err)
	}
	return pid, nil
}

// Stop stops the server by its PID (a fast shutdown: SIGINT, then SIGKILL
// after 15 s), and removes a temporary data directory.
func (c *Cluster) Stop() error {
	defer c.cleanup()
	pid, err := c.PID()
	if err != nil {
		return nil // not running
	}
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return fmt.Errorf("pgcluster: stopping server %d: %w", pid, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("pgcluster: server %d did not stop in 15 s; killed", pid)
}

func (c *Cluster) cleanup() {
	if c.temp {
		_ = os.RemoveAll(filepath.Dir(c.DataDir))
	}
}

// command runs a server binary, as the postgres user when we are root.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// own gives dir to the user the server runs as.
func (c *Cluster) own(dir string) error {
	if c.runAs == "" {
		return nil
	}
	u, err := user.Lookup(c.runAs)
	if err != nil {
		return fmt.Errorf("pgcluster: running as root needs the %q system user: %w", c.runAs, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return fmt.Errorf("pgcluster: chown %s: %w", dir, err)
	}
	return os.Chmod(dir, 0o700)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgcluster: finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, " | ")
}
