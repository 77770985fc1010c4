package pgcluster

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"bookstore/graph/testkit/proctest"
)

func TestStartQueryStop(t *testing.T) {
	if _, err := FindBinDir(); errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	ctx := context.Background()
	c, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	if err := conn.QueryRow(ctx, `SELECT current_setting('listen_addresses')`).Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Fatalf("listen_addresses = %q, %v", addr, err)
	}
	conn.Close(ctx)
	pid := c.PID()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if proctest.Alive(pid) {
		t.Fatalf("server %d still runs after Stop", pid)
	}
	if _, err := os.Stat(filepath.Dir(c.DataDir)); !os.IsNotExist(err) {
		t.Fatalf("temporary directory left behind: %v", err)
	}
}

// A persistent cluster keeps its data across restarts.
func TestRestartKeepsData(t *testing.T) {
	if _, err := FindBinDir(); errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	for _, d := range []string{filepath.Dir(dir), filepath.Dir(filepath.Dir(dir))} {
		if err := os.Chmod(d, 0o755); err != nil { // let the postgres user through
			t.Fatal(err)
		}
	}
	for i, stmt := range []string{`CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)`, `SELECT n FROM kept`} {
		c, err := Start(ctx, Options{DataDir: dir, Durable: true})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			_, err = conn.Exec(ctx, stmt)
		} else {
			var n int
			if err = conn.QueryRow(ctx, stmt).Scan(&n); err == nil && n != 42 {
				t.Fatalf("n = %d", n)
			}
		}
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
	}
}

// If the process that started the server dies without stopping it, the
// server stops by itself.
func TestServerDiesWithItsParent(t *testing.T) {
	if _, err := FindBinDir(); errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	if os.Getenv("PGCLUSTER_CHILD") != "" {
		c, err := Start(context.Background(), Options{})
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString(strconv.Itoa(c.PID()) + " " + filepath.Dir(c.DataDir) + "\n")
		time.Sleep(time.Minute) // killed by the parent test long before
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithItsParent$")
	cmd.Env = append(os.Environ(), "PGCLUSTER_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, _ := out.Read(buf)
	pidText, dir, _ := strings.Cut(strings.TrimSpace(string(buf[:n])), " ")
	pid, err := strconv.Atoi(pidText)
	if err != nil || !proctest.Alive(pid) || !strings.Contains(dir, "bookstore-pg-") {
		t.Fatalf("child reported %q: %v", buf[:n], err)
	}
	defer os.RemoveAll(dir) // the killed child could not
	_ = cmd.Process.Kill()  // no chance to clean up
	_ = cmd.Wait()
	proctest.WantGone(t, pid, 15*time.Second, "the server of a killed parent")
}

// With a password the cluster asks for it: the right one connects, a wrong
// or missing one is refused (SQLSTATE 28P01), as on a real server.
func TestPasswordIsRequired(t *testing.T) {
	if _, err := FindBinDir(); errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	ctx := context.Background()
	c, err := Start(ctx, Options{Password: "s3cret'pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("the right password: %v", err)
	}
	conn.Close(ctx)
	for name, pw := range map[string]*url.Userinfo{
		"wrong password": url.UserPassword("postgres", "guess"),
		"no password":    url.User("postgres"),
	} {
		u, err := url.Parse(c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		u.User = pw
		t.Setenv("PGPASSWORD", "")
		_, err = pgx.Connect(ctx, u.String())
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
			t.Errorf("%s: %v, want SQLSTATE 28P01", name, err)
		}
	}
}

// Halt keeps the cluster: an Immediate halt is a crash whose committed
// transactions survive (fsync on), and Restart serves them on the same port.
func TestHaltRestart(t *testing.T) {
	if _, err := FindBinDir(); errors.Is(err, ErrNoBinaries) {
		t.Skip(err)
	}
	ctx := context.Background()
	c, err := Start(ctx, Options{Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	run := func(stmt string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	run(`CREATE TABLE kept (n int)`)
	for i, mode := range []HaltMode{Immediate, Fast} {
		run(`INSERT INTO kept VALUES (` + strconv.Itoa(i) + `)`)
		pid, port := c.PID(), c.Port
		if err := c.Halt(mode); err != nil {
			t.Fatal(err)
		}
		if proctest.Alive(pid) {
			t.Fatalf("server %d still runs after Halt", pid)
		}
		if _, err := pgx.Connect(ctx, c.URL("postgres")); err == nil {
			t.Fatal("connected to a halted server")
		}
		if err := c.Halt(mode); err == nil {
			t.Fatal("Halt of a halted server succeeded")
		}
		if err := c.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		if c.Port != port {
			t.Fatalf("port %d after Restart, was %d", c.Port, port)
		}
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = conn.QueryRow(ctx, `SELECT count(*) FROM kept`).Scan(&n)
		conn.Close(ctx)
		if err != nil || n != i+1 {
			t.Fatalf("after halt %d: %d rows, %v; want %d", mode, n, err, i+1)
		}
	}
	if err := c.Restart(ctx); err == nil {
		t.Fatal("Restart of a running server succeeded")
	}
}
