// Package pgcluster runs a private PostgreSQL cluster from the server
// binaries installed on the machine: for tests (a throwaway cluster) and for
// `make run` (a persistent one under .data/).
//
// The server is a direct child process (package
// graph/testkit/stack/child), stopped by its PID. It is also bound to its
// parent: if the parent dies without stopping it (a panic, a test timeout,
// kill -9), the kernel sends the server SIGINT, a fast shutdown, so no
// cluster is ever left running. PostgreSQL refuses to run as root, so when
// the caller is root the server runs as the "postgres" system user, with a
// data directory that user owns. It listens on 127.0.0.1 only,
// on a port picked at start unless one is given, and never on a Unix socket.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

	"bookstore/graph/testkit/stack/child"
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
	// Password, when set, is the postgres superuser's, and the new cluster
	// asks every connection for its password (scram-sha-256) instead of
	// trusting it. An existing cluster in DataDir keeps its own settings.
	Password string
	// BinDir holds initdb and postgres. Empty means: $PG_BIN, else the
	// newest /usr/lib/postgresql/*/bin, else postgres's directory on PATH.
	BinDir string
	// Settings are more server settings, each "name=value", passed as -c
	// flags (e.g. "shared_preload_libraries=auto_explain").
	Settings []string
}

// Cluster is a running PostgreSQL server.
type Cluster struct {
	DataDir string
	Port    int
	bin     string
	temp    bool
	extra   []string            // Options.Settings
	cred    *syscall.Credential // the postgres user's, when we are root
	uid     int                 // owner of the data directory
	gid     int
	proc    *child.Process // nil while halted
	pid     int            // the halted server's
	durable bool
	// password is the superuser's; empty when the cluster trusts local
	// connections.
	password string
}

// ErrNoBinaries reports that no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found: install them (Debian: apt-get install -y postgresql-15) or set PG_BIN to the directory holding initdb and postgres, or set DATABASE_URL to use an existing server")

// FindBinDir locates the directory of initdb and postgres.
func FindBinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
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
		return "", fmt.Errorf("PG_BIN=%s does not hold initdb and postgres", dir)
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
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
	c := &Cluster{DataDir: o.DataDir, Port: o.Port, bin: bin, uid: os.Getuid(), gid: os.Getgid(), password: o.Password, extra: o.Settings}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: PostgreSQL will not run as root, and there is no postgres user to run it as: %w", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}
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
			if port, err = child.FreePort(); err != nil {
				c.cleanup()
				return nil, err
			}
		}
		c.Port = port
		c.durable = o.Durable
		if startErr = c.start(ctx); startErr == nil {
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
	args := []string{"-D", c.DataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"}
	if c.password != "" {
		pwfile, err := c.passwordFile()
		if err != nil {
			return err
		}
		defer os.RemoveAll(filepath.Dir(pwfile))
		args = append(args, "-A", "scram-sha-256", "--pwfile", pwfile) // the later -A wins
	}
	cmd := c.command(ctx, "initdb", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgcluster: initdb: %w: %s", err, lastLines(out))
	}
	return nil
}

func (c *Cluster) start(ctx context.Context) error {
	args := []string{"-D", c.DataDir,
		"-c", "listen_addresses=127.0.0.1",
		"-p", strconv.Itoa(c.Port),
		"-c", "unix_socket_directories=",
		"-c", "max_connections=300",
	}
	if !c.durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	for _, s := range c.extra {
		args = append(args, "-c", s)
	}
	// The log may quote statements: private to us, as the data is to the
	// server's user.
	logFile, err := os.OpenFile(c.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: opening the server log: %w", err)
	}
	logFile.Close()
	// A fast shutdown (SIGINT) when we die without stopping it.
	p, err := child.Start(child.Options{
		Name: "postgres", Bin: filepath.Join(c.bin, "postgres"), Args: args, Dir: "/", Env: []string{"LC_ALL=C"},
		LogFile: c.LogPath(), AppendLog: true, Credential: c.cred,
		Pdeathsig: syscall.SIGINT, StopSignal: syscall.SIGINT,
	})
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	c.proc = p
	if err := c.waitReady(ctx, 60*time.Second); err != nil {
		_ = c.Stop()
		log, _ := os.ReadFile(c.LogPath())
		return fmt.Errorf("pgcluster: postgres on port %d: %w: %s", c.Port, err, lastLines(log))
	}
	return nil
}

// waitReady waits until postmaster.pid says the server accepts connections,
// as pg_ctl -w does.
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
		if err == nil {
			lines := strings.Split(string(b), "\n")
			if len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready" && strings.TrimSpace(lines[0]) == strconv.Itoa(c.proc.PID()) {
				return nil
			}
		}
		select {
		case <-c.proc.Done():
			return fmt.Errorf("the server exited: %v", c.proc.Err())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("the server was not ready in time")
		}
	}
}

// URL returns a postgres:// URL for the superuser and database db, with
// the password when the cluster has one.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(c.Port),
		Path: "/" + db, RawQuery: "sslmode=disable"}
	if c.password != "" {
		u.User = url.UserPassword("postgres", c.password)
	}
	return u.String()
}

// LogPath returns the server's log file: beside the data directory, named
// after it with .log added.
func (c *Cluster) LogPath() string {
	return filepath.Join(filepath.Dir(c.DataDir), filepath.Base(c.DataDir)+".log")
}

// PID returns the server's process id (the last one's, once halted).
func (c *Cluster) PID() int {
	if c.proc == nil {
		return c.pid
	}
	return c.proc.PID()
}

// Stop stops the server by its PID (a fast shutdown: SIGINT, then SIGKILL
// after 15 s), waits for it to exit, and removes a temporary data
// directory.
func (c *Cluster) Stop() error {
	defer c.cleanup()
	if c.proc == nil {
		return nil
	}
	if err := c.proc.Stop(15 * time.Second); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// HaltMode is how Halt stops the server, as pg_ctl stop -m names it.
type HaltMode int

const (
	// Fast (SIGINT) rolls back open transactions, ends every session
	// and writes a checkpoint: a clean stop.
	Fast HaltMode = iota
	// Immediate (SIGQUIT) ends every process at once, with no
	// checkpoint: a crash. The next start replays the write-ahead log.
	Immediate
)

// Halt stops the server as `pg_ctl stop -m fast|immediate` would, by its
// PID, and waits for it to exit; unlike Stop it keeps the data directory,
// temporary or not, so that Restart can start the same cluster again.
func (c *Cluster) Halt(mode HaltMode) error {
	if c.proc == nil {
		return errors.New("pgcluster: the server is not running")
	}
	sig := syscall.SIGINT
	if mode == Immediate {
		sig = syscall.SIGQUIT
	}
	_ = c.proc.StopWith(sig, 15*time.Second) // killed after 15 s: halted all the same
	c.pid, c.proc = c.proc.PID(), nil
	return nil
}

// Restart starts a halted server again, on the same port and data
// directory, and waits until it accepts connections (after replaying the
// write-ahead log, following an Immediate halt).
func (c *Cluster) Restart(ctx context.Context) error {
	if c.proc != nil {
		return errors.New("pgcluster: the server is still running")
	}
	return c.start(ctx)
}

func (c *Cluster) cleanup() {
	if c.temp {
		_ = os.RemoveAll(filepath.Dir(c.DataDir))
	}
}

// command runs a server binary, as the postgres user when we are root.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// passwordFile writes the superuser's password where initdb, running as the
// server's user, can read it and no one else can.
func (c *Cluster) passwordFile() (string, error) {
	dir, err := os.MkdirTemp("", "bookstore-pgpw-")
	if err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	path := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(path, []byte(c.password+"\n"), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("pgcluster: writing the password file: %w", err)
	}
	if c.cred != nil {
		for _, p := range []string{dir, path} {
			if err := os.Chown(p, c.uid, c.gid); err != nil {
				os.RemoveAll(dir)
				return "", fmt.Errorf("pgcluster: chown %s: %w", p, err)
			}
		}
	}
	return path, nil
}

// own gives dir to the user the server runs as.
func (c *Cluster) own(dir string) error {
	if c.cred == nil {
		return nil
	}
	if err := os.Chown(dir, c.uid, c.gid); err != nil {
		return fmt.Errorf("pgcluster: chown %s: %w", dir, err)
	}
	return os.Chmod(dir, 0o700)
}

func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(b, nil))), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, " | ")
}
