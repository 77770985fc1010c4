// Package oracle runs Apollo Gateway, Apollo's composition and a set of test
// subgraphs from Node.js, so that tests can compare the Go router with the
// reference implementation of Apollo Federation on the same requests.
//
// It also reads the graphs of testdata/graphs (small federated graphs with
// their requests and Apollo Gateway's recorded answers; testdata/README.md
// describes their format), serves their subgraphs, composes them and runs
// Apollo Gateway for them, many graphs to one Node process.
//
// The Node project lives in testdata/ (so that Go tooling ignores its
// node_modules); Install runs `npm ci` there when needed. Every process this
// package starts listens on 127.0.0.1 on a port the kernel picks, dies with
// the test binary (Pdeathsig), and is stopped by PID in t.Cleanup.
package oracle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bookstore/graph/testkit/syncbuf"
)

const (
	// startTimeout bounds how long a Node process may take to print its
	// ready line. It is a safety net against a hung start, not an assertion.
	startTimeout = 2 * time.Minute
	// stopGrace is how long a process gets to exit after SIGTERM.
	stopGrace = 10 * time.Second
)

// NodeDir returns the absolute path of the Node project (this package's
// testdata directory).
func NodeDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("oracle: cannot locate the package source")
	}
	return filepath.Join(filepath.Dir(file), "testdata")
}

// install runs `npm ci` at most once per test binary; the file lock inside
// keeps test binaries running in parallel from installing at the same time.
var install = sync.OnceValue(installNodeModules)

// Install makes sure testdata/node_modules matches package-lock.json, running
// `npm ci` when node_modules is missing or older than the lock file. It fails
// the test when node or npm is missing or the install fails.
func Install(t testing.TB) {
	t.Helper()
	if err := install(); err != nil {
		t.Fatalf("oracle: %v", err)
	}
}

func installNodeModules() error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not on PATH: the oracle needs Node.js >= 20 and npm (Debian: apt-get install nodejs npm)")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not on PATH: the oracle needs Node.js >= 20 and npm (Debian: apt-get install nodejs npm)")
	}
	dir := NodeDir()
	lock, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open install lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	fresh, err := nodeModulesFresh(dir)
	if err != nil {
		return err
	}
	if fresh {
		return nil
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return nil
}

// nodeModulesFresh reports whether node_modules was installed from the
// current package-lock.json. npm writes node_modules/.package-lock.json at
// the end of every install, so its time stamp is the install's.
func nodeModulesFresh(dir string) (bool, error) {
	want, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false, fmt.Errorf("package-lock.json: %w", err)
	}
	got, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("node_modules: %w", err)
	}
	return !got.ModTime().Before(want.ModTime()), nil
}

// Subgraph names a running subgraph and its GraphQL endpoint.
type Subgraph struct{ Name, URL string }

// StartGateway starts Apollo Gateway composing the given subgraphs by
// introspection and returns its GraphQL URL. The gateway forwards the
// Authorization header to the subgraphs. It is stopped when the test ends.
func StartGateway(t testing.TB, subgraphs []Subgraph) string {
	t.Helper()
	args := []string{"gateway.mjs"}
	for _, s := range subgraphs {
		args = append(args, s.Name+"="+s.URL)
	}
	return startGateway(t, args)
}

// StartGatewaySupergraph starts Apollo Gateway on a composed supergraph SDL
// file (its join__Graph URLs must be reachable) and returns its GraphQL URL.
// It is stopped when the test ends.
func StartGatewaySupergraph(t testing.TB, file string) string {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	return startGateway(t, []string{"gateway.mjs", "--supergraph", abs})
}

func startGateway(t testing.TB, args []string) string {
	t.Helper()
	p := start(t, args, func(line string) bool { return strings.HasPrefix(line, "LISTENING ") })
	return strings.TrimPrefix(p.lines[len(p.lines)-1], "LISTENING ")
}

// StartTestSubgraphs starts the testgraph's three subgraphs (fleet, missions,
// telemetry; see testdata/subgraphs.mjs) and returns them in that order.
// They are stopped when the test ends.
func StartTestSubgraphs(t testing.TB) []Subgraph {
	t.Helper()
	p := start(t, []string{"subgraphs.mjs"}, func(line string) bool { return line == "READY" })
	var subgraphs []Subgraph
	for _, line := range p.lines {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "SUBGRAPH" {
			subgraphs = append(subgraphs, Subgraph{Name: f[1], URL: f[2]})
		}
	}
	if len(subgraphs) == 0 {
		t.Fatalf("oracle: subgraphs.mjs printed READY but no subgraph")
	}
	return subgraphs
}

// process is a Node process started by start: the stdout lines it printed up
// to and including its ready line.
type process struct {
	lines []string
}

// start runs `node args...` in NodeDir and waits until it prints a line for
// which ready is true. The process gets SIGTERM when the test ends (SIGKILL
// after a grace period) and when the test binary dies.
func start(t testing.TB, args []string, ready func(string) bool) *process {
	t.Helper()
	Install(t)
	cmd := exec.Command("node", args...)
	cmd.Dir = NodeDir()
	// Its own process group keeps a terminal's ^C away from it; Pdeathsig
	// stops it if the test binary dies without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		t.Fatalf("oracle: start node %s: %v", args[0], err)
	}
	exited := make(chan error, 1)
	linesc := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			linesc <- sc.Text()
		}
		close(linesc)
		// Drain anything left, then reap the process.
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { stop(t, cmd, exited, &stderr) })

	p := &process{}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-linesc:
			if !ok {
				t.Fatalf("oracle: node %s exited before it was ready\nstdout:\n%s\nstderr:\n%s",
					strings.Join(args, " "), strings.Join(p.lines, "\n"), stderr.String())
			}
			p.lines = append(p.lines, line)
			if ready(line) {
				// Keep reading stdout so that the process never blocks on a
				// full pipe.
				go func() {
					for range linesc {
					}
				}()
				return p
			}
		case <-timer.C:
			t.Fatalf("oracle: node %s printed no ready line within %v\nstdout:\n%s\nstderr:\n%s",
				strings.Join(args, " "), startTimeout, strings.Join(p.lines, "\n"), stderr.String())
		}
	}
}

// stop sends SIGTERM to the process, waits for it, and sends SIGKILL when it
// has not exited after stopGrace.
func stop(t testing.TB, cmd *exec.Cmd, exited <-chan error, stderr *syncbuf.Buffer) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopGrace):
		_ = cmd.Process.Kill()
		<-exited
	}
	if t.Failed() && stderr.Len() > 0 {
		t.Logf("oracle: stderr of node %s:\n%s", cmd.Args[1], stderr.String())
	}
}

// SubgraphSDL is one subgraph given to Compose: its name, its routing URL
// and its SDL.
type SubgraphSDL struct{ Name, URL, SDL string }

// Compose composes the subgraphs with @apollo/composition and returns the
// supergraph SDL; it fails the test when composition fails.
func Compose(t testing.TB, subgraphs []SubgraphSDL) string {
	t.Helper()
	sdl, err := TryCompose(t, subgraphs)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	return sdl
}

// CompositionError is returned by TryCompose when Apollo's composition
// rejects the subgraphs. Errors holds one "CODE: message" per error.
type CompositionError struct{ Errors []string }

func (e *CompositionError) Error() string {
	return "composition failed:\n" + strings.Join(e.Errors, "\n")
}

// TryCompose is Compose for tests that expect composition to fail: it
// returns a *CompositionError when Apollo's composition rejects the
// subgraphs, and fails the test only when compose.mjs cannot run.
func TryCompose(t testing.TB, subgraphs []SubgraphSDL) (string, error) {
	t.Helper()
	type input struct {
		Name string `json:"name"`
		URL  string `json:"url"`
		SDL  string `json:"sdl"`
	}
	in := make([]input, len(subgraphs))
	for i, s := range subgraphs {
		in[i] = input{s.Name, s.URL, s.SDL}
	}
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	stdout, stderr, err := runNode(t, body, "compose.mjs", "-")
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout, nil
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return "", &CompositionError{Errors: strings.Split(strings.TrimSpace(stderr), "\n")}
	default:
		t.Fatalf("oracle: node compose.mjs: %v\n%s", err, stderr)
		return "", nil
	}
}

// runNode runs `node args...` in NodeDir to completion, with stdin as its
// standard input, and returns what it printed. The process dies with the
// test binary and is killed after startTimeout.
func runNode(t testing.TB, stdin []byte, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	Install(t)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = NodeDir()
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// Case is one GraphQL request of a corpus.
type Case struct {
	// Name is the file name without its .graphql extension.
	Name          string
	Query         string
	OperationName string
	Variables     map[string]any
	// ExpectErrors is set by a "# expect: errors" header: the response has
	// errors (and maybe no data).
	ExpectErrors bool
}

// Corpus reads testdata/corpus/<name>/*.graphql in file name order. Each
// file holds one GraphQL document; comment lines at its top may set
//
//	# operationName: NAME
//	# variables: {"json": "object"}
//	# expect: errors
//
// Other comments are ignored, and the whole file is sent as the query.
func Corpus(t testing.TB, name string) []Case {
	t.Helper()
	dir := filepath.Join(NodeDir(), "corpus", name)
	cases, err := readCases(dir)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	if len(cases) == 0 {
		t.Fatalf("oracle: no *.graphql in %s", dir)
	}
	return cases
}

// readCases reads every *.graphql of dir, in file name order.
func readCases(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.graphql"))
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	sort.Strings(files)
	cases := make([]Case, 0, len(files))
	for _, f := range files {
		c, err := readCase(f)
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func readCase(file string) (Case, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return Case{}, fmt.Errorf("read case: %w", err)
	}
	c := Case{Name: strings.TrimSuffix(filepath.Base(file), ".graphql"), Query: string(src)}
	for _, line := range strings.Split(c.Query, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
		key, value, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(key) {
		case "operationName":
			c.OperationName = value
		case "variables":
			d := json.NewDecoder(strings.NewReader(value))
			d.UseNumber()
			if err := d.Decode(&c.Variables); err != nil {
				return Case{}, fmt.Errorf("%s: variables header: %w", file, err)
			}
		case "expect":
			if value != "errors" {
				return Case{}, fmt.Errorf("%s: unknown expectation %q (want \"errors\")", file, value)
			}
			c.ExpectErrors = true
		}
	}
	return c, nil
}

// Result is a GraphQL response: its HTTP status, its data (nil when the
// body has no "data" key, the JSON null when data is null), its errors and
// the raw body.
type Result struct {
	Status int
	Data   json.RawMessage
	Errors []json.RawMessage
	Body   []byte
}

// Post sends the case as a GraphQL POST (application/json) to url, with the
// extra headers given, and decodes the response. A body that is not a
// GraphQL response fails the test.
func Post(t testing.TB, url string, c Case, header http.Header) Result {
	t.Helper()
	req := map[string]any{"query": c.Query}
	if c.OperationName != "" {
		req["operationName"] = c.OperationName
	}
	if c.Variables != nil {
		req["variables"] = c.Variables
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("oracle: POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("oracle: read response of %s: %v", url, err)
	}
	var decoded struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatalf("oracle: %s answered %d with a body that is not JSON: %v\n%s", url, resp.StatusCode, err, raw)
	}
	return Result{Status: resp.StatusCode, Data: decoded.Data, Errors: decoded.Errors, Body: raw}
}

// Compare fails the test unless got's data equals want's as JSON, with the
// keys of every object in the same order, and both have errors or neither
// has. Numbers are equal when they have the same value.
func Compare(t testing.TB, want, got Result) {
	t.Helper()
	var problems []string
	if err := SameJSON(want.Data, got.Data); err != nil {
		problems = append(problems, "data differ: "+err.Error())
	}
	if (len(want.Errors) > 0) != (len(got.Errors) > 0) {
		problems = append(problems, fmt.Sprintf("want %d errors, got %d", len(want.Errors), len(got.Errors)))
	}
	if len(problems) > 0 {
		t.Errorf("oracle: %s\nwant (status %d): %s\ngot  (status %d): %s",
			strings.Join(problems, "; "), want.Status, want.Body, got.Status, got.Body)
	}
}

// SameJSON compares two JSON values as token streams, so that object key
// order counts, and says where they first differ. Numbers are equal when
// they have the same value. A missing value (nil) equals only another
// missing value.
func SameJSON(want, got json.RawMessage) error {
	if want == nil || got == nil {
		if (want == nil) != (got == nil) {
			return fmt.Errorf("one response has no data key (want %s, got %s)", orMissing(want), orMissing(got))
		}
		return nil
	}
	wd := json.NewDecoder(bytes.NewReader(want))
	gd := json.NewDecoder(bytes.NewReader(got))
	wd.UseNumber()
	gd.UseNumber()
	for {
		wt, werr := wd.Token()
		gt, gerr := gd.Token()
		if werr == io.EOF && gerr == io.EOF {
			return nil
		}
		if werr != nil || gerr != nil {
			return fmt.Errorf("want token error %v, got %v", werr, gerr)
		}
		if !sameToken(wt, gt) {
			return fmt.Errorf("want %s (byte %d), got %s (byte %d)",
				tokenString(wt), wd.InputOffset(), tokenString(gt), gd.InputOffset())
		}
	}
}

func sameToken(a, b json.Token) bool {
	an, aok := a.(json.Number)
	bn, bok := b.(json.Number)
	if aok && bok {
		if an == bn {
			return true
		}
		af, aerr := an.Float64()
		bf, berr := bn.Float64()
		return aerr == nil && berr == nil && af == bf
	}
	return a == b
}

func tokenString(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return string(v)
	case string:
		return fmt.Sprintf("%q", v)
	case nil:
		return "null"
	default:
		return fmt.Sprint(v)
	}
}

func orMissing(m json.RawMessage) string {
	if m == nil {
		return "missing"
	}
	return string(m)
}
