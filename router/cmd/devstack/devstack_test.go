package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/graph/testkit/proctest"
	"bookstore/graph/testkit/syncbuf"
)

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"4001,4002", []int{4001, 4002}, false},
		{" 4001 , 4002 ,", []int{4001, 4002}, false},
		{"4001", []int{4001}, false},
		{"", nil, true},
		{"4001,4001", nil, true},
		{"0", nil, true},
		{"65536", nil, true},
		{"http", nil, true},
	}
	for _, tt := range tests {
		got, err := parsePorts(tt.in, 1)
		if (err != nil) != tt.wantErr || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("parsePorts(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(config) string
	}{
		{"defaults", nil, nil, func(c config) string {
			if c.dataDir != ".data" || c.dbPort != 5433 || c.routerPort != 8080 || c.adminToken != "dev-admin-token" ||
				fmt.Sprint(c.booksPorts) != "[4001 4002]" || fmt.Sprint(c.ordersPorts) != "[4003 4004]" || !c.build || !c.withRouter ||
				c.drain != time.Second || c.grace != 10*time.Second {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
		{"environment", nil, map[string]string{"DEV_DB_PORT": "6000", "PORT": "9000", "DEV_DATA_DIR": "/x",
			"DEV_ADMIN_TOKEN": "t1", "DEV_BOOKS_PORTS": "1,2,3", "DATABASE_URL": "postgres://h/db"}, func(c config) string {
			if c.dbPort != 6000 || c.routerPort != 9000 || c.dataDir != "/x" || c.adminToken != "t1" ||
				len(c.booksPorts) != 3 || c.databaseURL != "postgres://h/db" {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
		{"ADMIN_TOKEN wins", nil, map[string]string{"DEV_ADMIN_TOKEN": "t1", "ADMIN_TOKEN": "t2"}, func(c config) string {
			if c.adminToken != "t2" {
				return c.adminToken
			}
			return ""
		}},
		{"flags win", []string{"-port", "1234", "-router=false", "-build=false", "-data", "d"}, map[string]string{"PORT": "9000"}, func(c config) string {
			if c.routerPort != 1234 || c.withRouter || c.build || c.dataDir != "d" {
				return fmt.Sprintf("%+v", c)
			}
			return ""
		}},
	}
	for _, args := range [][]string{{"-drain", "10s"}, {"-drain", "-1s"}, {"-drain", "3s", "-grace", "2s"}} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("parseConfig(%q) accepted", args)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(c); msg != "" {
				t.Errorf("config: %s", msg)
			}
		})
	}
}

// TestDevstack runs the real devstack twice on free ports with a temporary
// data directory: the first run is stopped with SIGINT, the second, which
// must still see the order placed in the first, with SIGKILL (its children
// must follow it through Pdeathsig).
func TestDevstack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and five services; skipped with -short")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	databaseURL := testDatabase(t)

	tmp := t.TempDir()
	devstack := filepath.Join(tmp, "devstack")
	if out, err := exec.Command("go", "build", "-o", devstack, ".").CombinedOutput(); err != nil {
		t.Fatalf("building devstack: %v\n%s", err, out)
	}
	// The router is being written in parallel: without it, test the rest.
	var noRouter string
	check := exec.Command("go", "build", "-o", filepath.Join(tmp, "router-check"), "./router")
	check.Dir = root
	if out, err := check.CombinedOutput(); err != nil {
		noRouter = fmt.Sprintf("the router binary does not build yet (go build ./router: %s)", strings.TrimSpace(string(out)))
		if len(noRouter) > 300 {
			noRouter = noRouter[:300] + "…"
		}
	}
	// PostgreSQL runs as the postgres user when the test runs as root: the
	// data directory's parents must let it through.
	data, err := os.MkdirTemp("", "devstack-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tmp, "bin")

	var orderID string
	// Each run ends differently; all of them must leave nothing running.
	ends := []struct {
		name string
		end  func(*testing.T, *runningStack)
	}{
		{"SIGINT", func(t *testing.T, ds *runningStack) { ds.stop(t, syscall.SIGINT) }},
		{"SIGKILL", func(t *testing.T, ds *runningStack) { ds.stop(t, syscall.SIGKILL) }},
		{"child dies", func(t *testing.T, ds *runningStack) { ds.childDies(t, "books-2") }},
	}
	for run, tt := range ends {
		t.Run(tt.name, func(t *testing.T) {
			ports := freePorts(t, 6)
			args := []string{
				"-data", data, "-bin", bin, "-build=" + strconv.FormatBool(run == 0),
				"-db-port", strconv.Itoa(ports[0]),
				"-books-ports", fmt.Sprintf("%d,%d", ports[1], ports[2]),
				"-orders-ports", fmt.Sprintf("%d,%d", ports[3], ports[4]),
				"-port", strconv.Itoa(ports[5]),
				"-router=" + strconv.FormatBool(noRouter == ""),
				"-admin-token", "test-token",
				"-grace", "5s",
			}
			ds := startDevstack(t, devstack, root, databaseURL, args)
			for _, p := range ports[1:5] {
				if code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/readyz", p)); code != http.StatusOK {
					t.Errorf("port %d /readyz: %d %s", p, code, body)
				}
			}
			books := fmt.Sprintf("http://127.0.0.1:%d/query", ports[1])
			orders := fmt.Sprintf("http://127.0.0.1:%d/query", ports[4])
			var res struct {
				Books struct{ TotalCount int }
			}
			graphql(t, books, `{ books(first: 1) { totalCount } }`, &res)
			if res.Books.TotalCount == 0 {
				t.Error("the catalogue is empty: not seeded")
			}
			// ORDERS_LIST_PUBLIC=true: the list needs no token.
			graphql(t, orders, `{ orders(first: 1) { totalCount } }`, nil)
			if run == 0 {
				var placed struct{ PlaceOrder struct{ ID string } }
				graphql(t, orders, `mutation { placeOrder(input: {customerEmail: "devstack@example.com",
					items: [{bookId: "96d4816c-1d71-3e59-2cd2-8f7f36d767b9", quantity: 1}]}) { id } }`, &placed)
				orderID = placed.PlaceOrder.ID
			} else if orderID != "" {
				var got struct{ Order *struct{ ID string } }
				graphql(t, orders, `{ order(id: "`+orderID+`") { id } }`, &got)
				if got.Order == nil {
					t.Errorf("order %s placed in the first run is gone after a restart", orderID)
				}
			}
			t.Run("router", func(t *testing.T) {
				if noRouter != "" {
					t.Skip("router part skipped: " + noRouter)
				}
				var got struct {
					Books struct {
						Edges []struct{ Node struct{ Title string } }
					}
				}
				graphql(t, fmt.Sprintf("http://127.0.0.1:%d/graphql", ports[5]), `{ books(first: 2) { edges { node { title unitsSold } } } }`, &got)
				if len(got.Books.Edges) != 2 {
					t.Errorf("the router's books(first: 2) gave %d books", len(got.Books.Edges))
				}
			})
			tt.end(t, ds)
		})
	}
}

// testDatabase returns the DATABASE_URL devstack should use: a fresh
// database on DATABASE_URL's server when it is set (devstack must not seed
// the suite's own database), else "" so that devstack starts its cluster.
func testDatabase(t *testing.T) string {
	admin := os.Getenv("DATABASE_URL")
	if admin == "" {
		if _, err := pgcluster.FindBinDir(); err != nil {
			t.Skipf("no PostgreSQL: %v", err)
		}
		return ""
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "devstack_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connecting to DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// runningStack is a devstack process and the PIDs it reported.
type runningStack struct {
	cmd    *exec.Cmd
	output *syncbuf.Buffer
	waited chan error // devstack's exit, once

	mu     sync.Mutex
	pids   map[string]int // service name → pid
	exited bool
}

var pidLine = regexp.MustCompile(`^started (\S+) \(pid (\d+)\)`)

func startDevstack(t *testing.T, bin, dir, databaseURL string, args []string) *runningStack {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	if databaseURL != "" {
		env = append(env, "DATABASE_URL="+databaseURL)
	}
	cmd.Env = env
	out := &syncbuf.Buffer{}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ds := &runningStack{cmd: cmd, pids: map[string]int{}, output: out, waited: make(chan error, 1)}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			out.WriteString(line + "\n")
			if m := pidLine.FindStringSubmatch(line); m != nil {
				pid, _ := strconv.Atoi(m[2])
				ds.mu.Lock()
				ds.pids[m[1]] = pid
				ds.mu.Unlock()
			}
			if !signalled && strings.HasPrefix(line, "The bookstore is running") {
				signalled = true
				ready <- true
			}
		}
		if !signalled {
			ready <- false
		}
		err := cmd.Wait()
		ds.mu.Lock()
		ds.exited = true
		ds.mu.Unlock()
		ds.waited <- err
	}()
	t.Cleanup(func() {
		// On a failed test, make sure nothing is left: SIGKILL devstack;
		// Pdeathsig takes its children with it.
		ds.mu.Lock()
		if !ds.exited {
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
		}
		ds.mu.Unlock()
		if t.Failed() {
			t.Logf("devstack output:\n%s", out.String())
		}
	})
	if !<-ready {
		err := <-ds.waited
		t.Fatalf("devstack stopped before the stack was up (%v):\n%s", err, out.String())
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for _, name := range []string{"books-1", "books-2", "orders-1", "orders-2"} {
		if ds.pids[name] == 0 {
			t.Errorf("devstack did not report the pid of %s", name)
		}
	}
	return ds
}

// stop signals devstack and checks that it and every process it reported
// are gone: at once for SIGINT (devstack reaps them before it exits), and
// once the kernel has delivered Pdeathsig for SIGKILL.
func (ds *runningStack) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := ds.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	err := <-ds.waited
	var exit *exec.ExitError
	switch {
	case sig == syscall.SIGKILL:
		if !errors.As(err, &exit) {
			t.Errorf("devstack after SIGKILL: %v", err)
		}
	case err != nil:
		t.Errorf("devstack after %s: %v, want exit status 0\n%s", sig, err, ds.output.String())
	}
	ds.mu.Lock()
	pids := maps.Clone(ds.pids)
	ds.mu.Unlock()
	for name, pid := range pids {
		if sig == syscall.SIGKILL {
			proctest.WaitGone(t.Context(), pid)
		}
		if proctest.Alive(pid) {
			t.Errorf("%s (pid %d) is still running after devstack exited", name, pid)
		}
	}
	if sig != syscall.SIGKILL && !strings.Contains(ds.output.String(), "stopped postgres") && !strings.Contains(ds.output.String(), "using DATABASE_URL") {
		t.Errorf("devstack did not say it stopped PostgreSQL:\n%s", ds.output.String())
	}
}

// childDies kills one service and checks that devstack notices, names
// it, stops the others and exits 1.
func (ds *runningStack) childDies(t *testing.T, name string) {
	t.Helper()
	ds.mu.Lock()
	pid := ds.pids[name]
	pids := maps.Clone(ds.pids)
	ds.mu.Unlock()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-ds.waited
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("devstack after %s died: %v, want exit status 1", name, err)
	}
	out := ds.output.String()
	if want := fmt.Sprintf("%s (pid %d) stopped unexpectedly", name, pid); !strings.Contains(out, want) {
		t.Errorf("devstack output lacks %q:\n%s", want, out)
	}
	for other, pid := range pids {
		if proctest.Alive(pid) {
			t.Errorf("%s (pid %d) is still running after devstack exited", other, pid)
		}
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// graphql posts query to endpoint and decodes its data into out (when not
// nil), failing on any error.
func graphql(t *testing.T, endpoint, query string, out any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	res, err := http.Post(endpoint, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer res.Body.Close()
	var r struct {
		Data   json.RawMessage
		Errors []json.RawMessage
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatalf("POST %s: status %d: %v", endpoint, res.StatusCode, err)
	}
	if len(r.Errors) > 0 || res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s %s: status %d, errors %s", endpoint, query, res.StatusCode, r.Errors)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			t.Fatalf("decoding %s: %v", r.Data, err)
		}
	}
}
