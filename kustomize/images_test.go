package kustomize_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
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
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/migrations"
)

// imageSpec is one image make images builds: bookstore/<name>, holding the
// single file /<name>, its entrypoint.
type imageSpec struct {
	name string
	port string // the EXPOSEd port, "" for none
}

// imageSpecs lists the images make images builds.
var imageSpecs = []imageSpec{
	{name: "books-subgraph", port: "4001/tcp"},
	{name: "orders-subgraph", port: "4003/tcp"},
	{name: "router", port: "8080/tcp"},
	{name: "migrate"},
}

const (
	// imageUser is the user every image runs as (distroless's nonroot).
	imageUser = "65532:65532"
	// imageMaxBytes bounds an image's uncompressed size: a stripped static
	// binary is 10-15 MB; more means something else got in.
	imageMaxBytes = 25 << 20
	// Login roles the containerised services use (roles are global to a
	// server; these names are the test's own).
	imageBooksLogin  = "bookstore_books_image_test"
	imageOrdersLogin = "bookstore_orders_image_test"
)

// TestImages builds the images through the Makefile (make images with
// buildah), checks what is in them, then runs them on the host network
// against a real PostgreSQL: migrate migrates and seeds it, the subgraphs
// and the router become ready, and a federated query through the router
// answers the seeded catalogue.
func TestImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four images and runs them; skipped with -short")
	}
	for _, tool := range []string{"make", "buildah", "podman", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not on PATH: this test needs make, buildah, podman and runc"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg + "; .ci/run installs them (apt-get install -y buildah podman runc)")
			}
			t.Skip(msg + " (Debian: apt-get install -y buildah podman runc); with CI=true this fails")
		}
	}
	ctx := imageTestContext(t)
	env := newImageEnv(t)
	tag := "test-" + imageRandomHex(4)

	start := time.Now()
	env.makeImages(ctx, t, tag)
	t.Logf("make images took %s", time.Since(start).Round(time.Second))

	sizes := map[string][2]int64{} // name: uncompressed image, compressed layers
	t.Run("contents", func(t *testing.T) {
		for _, spec := range imageSpecs {
			t.Run(spec.name, func(t *testing.T) {
				sizes[spec.name] = env.checkImage(ctx, t, spec, env.ref(spec.name, tag))
			})
		}
	})
	for _, spec := range imageSpecs {
		if s, ok := sizes[spec.name]; ok {
			t.Logf("image bookstore/%-32s %5.1f MB uncompressed, %4.1f MB compressed",
				spec.name+":"+tag, float64(s[0])/1e6, float64(s[1])/1e6)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	start = time.Now()
	env.runStack(ctx, t, tag)
	t.Logf("running the stack took %s", time.Since(start).Round(time.Second))
}

// imageTestContext returns a context that ends a minute before the test's
// deadline, leaving time for the clean-up, and when the test ends.
func imageTestContext(t *testing.T) context.Context {
	t.Helper()
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-time.Minute))
		t.Cleanup(cancel)
	}
	return ctx
}

func imageRandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// imageEnv is the test's private container storage and configuration, so
// that it never touches the machine's images and containers.
type imageEnv struct {
	dir     string   // storage, configuration and scratch files
	environ []string // the process's environment, pointing at them
	root    string   // the repository's root
	// What the images' labels should say: the commit (empty when git does
	// not know it) and a time before make images started.
	revision string
	started  time.Time
}

// newImageEnv writes a storage.conf (vfs, under a new temporary directory)
// and a containers.conf (runc, host network, explicit ulimits: without
// these crun fails on setrlimit and cgroups here), and removes everything
// when the test ends.
func newImageEnv(t *testing.T) *imageEnv {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		t.Fatalf("the repository's Makefile: %v", err)
	}
	dir, err := os.MkdirTemp("", "bookstore-images-")
	if err != nil {
		t.Fatal(err)
	}
	e := &imageEnv{dir: dir, root: root}

	q := strconv.Quote
	files := map[string]string{
		"storage.conf": "[storage]\n" +
			"driver = \"vfs\"\n" +
			"graphroot = " + q(filepath.Join(dir, "storage")) + "\n" +
			"runroot = " + q(filepath.Join(dir, "run")) + "\n",
		"containers.conf": "[containers]\n" +
			"netns = \"host\"\n" +
			"default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n" +
			"log_driver = \"k8s-file\"\n" +
			"\n[engine]\n" +
			"runtime = \"runc\"\n" +
			"events_logger = \"file\"\n" +
			"tmp_dir = " + q(filepath.Join(dir, "tmp")) + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			os.RemoveAll(dir)
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { e.cleanup(t) })
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "CONTAINERS_STORAGE_CONF", "CONTAINERS_CONF", // set below
			"STORAGE_DRIVER", "STORAGE_OPTS", // would override storage.conf
			"CONTAINER_HOST", "CONTAINER_CONNECTION", // would make podman a remote client
			"MAKEFLAGS", "MFLAGS", "MAKELEVEL": // the outer make's (make test)
		default:
			e.environ = append(e.environ, kv)
		}
	}
	e.environ = append(e.environ,
		"CONTAINERS_STORAGE_CONF="+filepath.Join(dir, "storage.conf"),
		"CONTAINERS_CONF="+filepath.Join(dir, "containers.conf"))
	return e
}

// cleanup removes the containers, then the storage, then the
// configuration. vfs layers can hold files a plain RemoveAll cannot delete
// (rootless: owned by sub-ids), so it falls back to removing the images
// first and deleting inside buildah's user namespace.
func (e *imageEnv) cleanup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := e.run(ctx, nil, "podman", "rm", "--all", "--force"); err != nil {
		t.Errorf("removing the containers: %v", err)
	}
	if _, err := e.run(ctx, nil, "buildah", "rm", "--all"); err != nil {
		t.Errorf("removing buildah's working containers: %v", err)
	}
	err := e.removeStorage(nil)
	if err != nil {
		_, _ = e.run(ctx, nil, "podman", "rmi", "--all", "--force")
		err = e.removeStorage(func(path string) {
			_, _ = e.run(ctx, nil, "buildah", "unshare", "rm", "-rf", path)
		})
	}
	if err == nil {
		err = os.RemoveAll(e.dir)
	}
	if err != nil {
		t.Errorf("removing the test's container storage: %v", err)
	}
}

// removeStorage removes everything in the test's directory but the
// configuration files, which must outlive every podman and buildah command:
// without them those would work on the machine's own storage. first, when
// not nil, is tried on each path before RemoveAll.
func (e *imageEnv) removeStorage(first func(path string)) error {
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, entry := range entries {
		if strings.HasSuffix(entry.Name(), ".conf") {
			continue
		}
		path := filepath.Join(e.dir, entry.Name())
		if first != nil {
			first(path)
		}
		errs = append(errs, os.RemoveAll(path))
	}
	return errors.Join(errs...)
}

// run runs a command with the test's container settings plus extraEnv,
// and returns its standard output; its error carries standard error. It
// refuses to run once the configuration files are gone.
func (e *imageEnv) run(ctx context.Context, extraEnv []string, name string, args ...string) (string, error) {
	if err := e.configured(); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = e.dir
	cmd.Env = append(slices.Clone(e.environ), extraEnv...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// configured fails unless the test's storage.conf and containers.conf
// exist: podman and buildah would otherwise use the machine's storage.
func (e *imageEnv) configured() error {
	for _, name := range []string{"storage.conf", "containers.conf"} {
		if _, err := os.Stat(filepath.Join(e.dir, name)); err != nil {
			return fmt.Errorf("not running podman or buildah without the test's %s: %w", name, err)
		}
	}
	return nil
}

// ref is the local name of an image make images built with buildah.
func (e *imageEnv) ref(name, tag string) string {
	return "localhost/bookstore/" + name + ":" + tag
}

// makeImages runs make images with buildah, as a developer would.
func (e *imageEnv) makeImages(ctx context.Context, t *testing.T, tag string) {
	t.Helper()
	if err := e.configured(); err != nil {
		t.Fatal(err)
	}
	e.started = time.Now().Add(-time.Second).Truncate(time.Second)
	git := exec.CommandContext(ctx, "git", "-C", e.root, "rev-parse", "--verify", "-q", "HEAD")
	if out, err := git.Output(); err == nil {
		e.revision = strings.TrimSpace(string(out))
	}
	cmd := exec.CommandContext(ctx, "make", "-C", e.root, "images",
		"IMAGE_BUILDER=buildah", "BUILDAH_STORAGE_DRIVER=vfs", "IMAGE_TAG="+tag)
	cmd.Env = e.environ
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make images: %v; the end of its output:\n%s", err, imageTail(out, 60))
	}
	t.Logf("make images: the end of its output:\n%s", imageTail(out, 5))
}

// imageTail returns the last n lines of out, indented.
func imageTail(out []byte, n int) string {
	return imageHeadTail(out, 0, n)
}

// imageHeadTail returns the first head and the last tail lines of out,
// indented: a service's start-up and its last words.
func imageHeadTail(out []byte, head, tail int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > head+tail {
		lines = slices.Concat(lines[:head], []string{fmt.Sprintf("[%d lines]", len(lines)-head-tail)}, lines[len(lines)-tail:])
	}
	return "    " + strings.Join(lines, "\n    ")
}

// imageInspect is the part of podman image inspect the test checks.
type imageInspect struct {
	Architecture, Os string
	Size             int64
	Config           struct {
		User         string
		Entrypoint   []string
		Cmd          []string
		ExposedPorts map[string]struct{}
		Labels       map[string]string
	}
	RootFS struct{ Layers []string }
}

// checkImage checks one image's configuration and files, and returns its
// uncompressed size and the compressed size of its layers.
func (e *imageEnv) checkImage(ctx context.Context, t *testing.T, spec imageSpec, ref string) [2]int64 {
	t.Helper()
	out, err := e.run(ctx, nil, "podman", "image", "inspect", ref)
	if err != nil {
		t.Fatal(err)
	}
	var inspected []imageInspect
	if err := json.Unmarshal([]byte(out), &inspected); err != nil || len(inspected) != 1 {
		t.Fatalf("podman image inspect %s: %d images, %v:\n%s", ref, len(inspected), err, out)
	}
	img := inspected[0]
	if img.Os != "linux" || img.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", img.Os, img.Architecture)
	}
	if img.Config.User != imageUser {
		t.Errorf("user %q, want %q", img.Config.User, imageUser)
	}
	if want := []string{"/" + spec.name}; !slices.Equal(img.Config.Entrypoint, want) || len(img.Config.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want entrypoint %q and no cmd", img.Config.Entrypoint, img.Config.Cmd, want)
	}
	ports := slices.Sorted(maps.Keys(img.Config.ExposedPorts))
	var wantPorts []string
	if spec.port != "" {
		wantPorts = []string{spec.port}
	}
	if !slices.Equal(ports, wantPorts) {
		t.Errorf("exposed ports %q, want %q", ports, wantPorts)
	}
	labels := img.Config.Labels
	for key, ok := range map[string]func(string) bool{
		"title":       func(v string) bool { return v == spec.name },
		"description": func(v string) bool { return v != "" },
		"version":     func(v string) bool { return v != "" },
		"revision":    func(v string) bool { return v != "" && (e.revision == "" || v == e.revision) },
		"created": func(v string) bool {
			created, err := time.Parse(time.RFC3339, v)
			return err == nil && !created.Before(e.started) && !created.After(time.Now())
		},
		"source": func(string) bool { return true }, // empty without a git remote
	} {
		key = "org.opencontainers.image." + key
		if v, found := labels[key]; !found || !ok(v) {
			t.Errorf("label %s = %q (present: %t)", key, v, found)
		}
	}
	if len(img.RootFS.Layers) != 1 {
		t.Errorf("%d layers, want 1: %q", len(img.RootFS.Layers), img.RootFS.Layers)
	}
	if img.Size <= 0 || img.Size > imageMaxBytes {
		t.Errorf("size %d bytes, want at most %d", img.Size, imageMaxBytes)
	}

	files, compressed := e.imageFiles(ctx, t, ref)
	if want := []string{spec.name + " (executable)"}; !slices.Equal(files, want) {
		t.Errorf("files in the image %q, want only %q", files, want)
	}

	// No shell: the runtime cannot even find one.
	_, err = e.run(ctx, nil, "podman", "run", "--rm", "--pull=never", "--network=host",
		"--entrypoint=/bin/sh", ref, "-c", "true")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 127 {
		t.Errorf("podman run --entrypoint /bin/sh: %v, want exit status 127 (command not found)", err)
	}
	return [2]int64{img.Size, compressed}
}

// imageFiles saves the image as an OCI layout and lists the entries of its
// layers that are not directories (executables marked), with the
// compressed size of the layers.
func (e *imageEnv) imageFiles(ctx context.Context, t *testing.T, ref string) ([]string, int64) {
	t.Helper()
	dir := filepath.Join(e.dir, "oci-"+imageRandomHex(4))
	defer os.RemoveAll(dir)
	if _, err := e.run(ctx, nil, "podman", "image", "save", "--format=oci-dir", "-o", dir, ref); err != nil {
		t.Fatal(err)
	}
	blob := func(digest string) string {
		return filepath.Join(dir, "blobs", strings.Replace(digest, ":", string(filepath.Separator), 1))
	}
	type descriptor struct {
		MediaType, Digest string
		Size              int64
	}
	var index struct{ Manifests []descriptor }
	var manifest struct{ Layers []descriptor }
	if err := imageReadJSON(filepath.Join(dir, "index.json"), &index); err != nil || len(index.Manifests) != 1 {
		t.Fatalf("the saved image's index: %d manifests, %v", len(index.Manifests), err)
	}
	if err := imageReadJSON(blob(index.Manifests[0].Digest), &manifest); err != nil {
		t.Fatalf("the saved image's manifest: %v", err)
	}
	var files []string
	var compressed int64
	for _, layer := range manifest.Layers {
		compressed += layer.Size
		names, err := imageLayerFiles(blob(layer.Digest))
		if err != nil {
			t.Fatalf("layer %s: %v", layer.Digest, err)
		}
		files = append(files, names...)
	}
	return files, compressed
}

func imageReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// imageLayerFiles lists a layer tarball's entries that are not
// directories, gzip-compressed or not.
func imageLayerFiles(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")
		if h.Typeflag == tar.TypeReg && h.Mode&0o111 != 0 {
			name += " (executable)"
		}
		names = append(names, name)
	}
}

// imageContainer is a container the test started with podman run -d.
type imageContainer struct {
	env  *imageEnv
	name string
	id   string
}

// start runs image name detached on the host network, as Kubernetes'
// restricted profile would (read-only root file system, no capabilities,
// no privilege escalation), and stops and removes it when the test ends.
// env entries are NAME=value; their values reach podman through its
// environment, never its command line.
func (e *imageEnv) start(ctx context.Context, t *testing.T, name, tag string, env []string, args ...string) *imageContainer {
	t.Helper()
	run := []string{"run", "--detach", "--pull=never", "--network=host", "--read-only",
		"--cap-drop=all", "--security-opt=no-new-privileges", "--name=" + name + "-" + tag}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		run = append(run, "--env="+k)
	}
	run = append(run, e.ref(name, tag))
	out, err := e.run(ctx, env, "podman", append(run, args...)...)
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	c := &imageContainer{env: e, name: name, id: strings.TrimSpace(out)}
	if c.id == "" {
		t.Fatalf("starting %s: podman run printed no container id", name)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := e.run(ctx, nil, "podman", "rm", "--force", "--time=10", c.id); err != nil {
			t.Errorf("removing %s: %v", name, err)
		}
	})
	return c
}

// logs returns the container's output (standard output and error).
func (c *imageContainer) logs() (string, error) {
	if err := c.env.configured(); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "podman", "logs", c.id)
	cmd.Env = c.env.environ
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("podman logs: %w: %s", err, out)
	}
	return string(out), nil
}

// fatalf fails the test with the start and the end of the container's logs.
func (c *imageContainer) fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	logs, err := c.logs()
	if err != nil {
		logs = err.Error()
	}
	t.Fatalf("%s: %s\n%s's logs:\n%s", c.name, fmt.Sprintf(format, args...), c.name, imageHeadTail([]byte(logs), 15, 25))
}

// state returns the container's status (running, exited, ...) and exit code.
func (c *imageContainer) state(ctx context.Context) (string, int, error) {
	out, err := c.env.run(ctx, nil, "podman", "container", "inspect", "--format={{.State.Status}} {{.State.ExitCode}}", c.id)
	if err != nil {
		return "", 0, err
	}
	status, code, _ := strings.Cut(strings.TrimSpace(out), " ")
	n, err := strconv.Atoi(code)
	return status, n, err
}

// waitStatus polls url with GET until it answers want. It fails with the
// container's logs when the container stops first or timeout passes.
func (c *imageContainer) waitStatus(ctx context.Context, t *testing.T, url string, want int, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last, lastStateCheck := "no answer yet", time.Now()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := client.Do(req); err != nil {
			last = err.Error()
		} else {
			body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
			res.Body.Close()
			if res.StatusCode == want {
				return
			}
			last = fmt.Sprintf("%s %s", res.Status, strings.TrimSpace(string(body)))
		}
		if time.Since(lastStateCheck) > time.Second {
			lastStateCheck = time.Now()
			if status, code, err := c.state(ctx); err == nil && status != "running" {
				c.fatalf(t, "%s before %s answered %d (exit code %d)", status, url, want, code)
			}
		}
		select {
		case <-ctx.Done():
			c.fatalf(t, "%s did not answer %d within %s; last: %s", url, want, timeout, last)
		case <-tick.C:
		}
	}
}

// stop stops the container with SIGTERM and checks that it drained and
// exited by itself, with status 0, within its grace period.
func (c *imageContainer) stop(ctx context.Context, t *testing.T) {
	t.Helper()
	if _, err := c.env.run(ctx, nil, "podman", "stop", "--time=20", c.id); err != nil {
		c.fatalf(t, "stopping: %v", err)
	}
	if status, code, err := c.state(ctx); err != nil || status != "exited" || code != 0 {
		c.fatalf(t, "after SIGTERM: status %q, exit code %d, %v; want exited with 0", status, code, err)
	}
}

// freePort asks the kernel for a free port on 127.0.0.1. Another
// process could take it before a container binds it; the container then
// exits, and waitStatus says so.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// imageDatabase creates a database for the stack: on the server of
// DATABASE_URL (a superuser URL) when set, else on a private cluster that
// pgcluster starts. It returns the database's superuser URL and a function
// that turns it into a login role's URL.
func imageDatabase(ctx context.Context, t *testing.T) (string, func(user, password string) string) {
	t.Helper()
	server := os.Getenv("DATABASE_URL")
	if server == "" {
		// Passwords are asked for (scram-sha-256), as by the official image
		// in the cluster: a password that does not reach a service fails.
		c, err := pgcluster.Start(ctx, pgcluster.Options{Password: imageRandomHex(12)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := c.Stop(); err != nil {
				t.Error(err)
			}
		})
		server = c.URL("postgres")
	}
	name := "bookstore_images_" + imageRandomHex(4)
	if err := migrations.EnsureDatabase(ctx, server, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	admin := u.String()
	return admin, func(user, password string) string {
		v := *u
		v.User = url.UserPassword(user, password)
		if password == "" {
			v.User = url.User(user)
		}
		return v.String()
	}
}

// runStack runs the images against a real PostgreSQL: migrate, then the
// two subgraphs and the router, and queries the supergraph through the
// router. Then it stops them, checking that each drains and exits 0.
func (e *imageEnv) runStack(ctx context.Context, t *testing.T, tag string) {
	t.Helper()
	adminURL, loginURL := imageDatabase(ctx, t)
	booksPassword, ordersPassword, adminToken := imageRandomHex(12), imageRandomHex(12), imageRandomHex(16)

	// migrate: the schema, the login roles and the demo catalogue.
	// As in the Job: the URL names the role, PGPASSWORD holds its password.
	adminNoPassword, adminPassword := splitPassword(t, adminURL)
	migrate := e.start(ctx, t, "migrate", tag, []string{
		"DATABASE_URL=" + adminNoPassword,
		"PGPASSWORD=" + adminPassword,
		"BOOKS_DB_PASSWORD=" + booksPassword,
		"ORDERS_DB_PASSWORD=" + ordersPassword,
	}, "-seed", "-books-login", imageBooksLogin, "-orders-login", imageOrdersLogin, "up")
	if out, err := e.run(ctx, nil, "podman", "wait", migrate.id); err != nil || strings.TrimSpace(out) != "0" {
		migrate.fatalf(t, "podman wait: exit code %q, %v; want 0", strings.TrimSpace(out), err)
	}
	logs, err := migrate.logs()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"schema at version", "login role " + imageBooksLogin, "login role " + imageOrdersLogin, "demo catalogue loaded"} {
		if !strings.Contains(logs, want) {
			migrate.fatalf(t, "its output lacks %q", want)
		}
	}
	seeded := imageSeededTitles(ctx, t, adminURL)

	// The services, each on a free port of 127.0.0.1. Each drains for a
	// second on SIGTERM, not the default 5 s: nothing balances over them
	// here (the chaos suite, router/cmd/chaos, tests the drain).
	booksPort, ordersPort, routerPort := freePort(t), freePort(t), freePort(t)
	// subgraphEnv is a subgraph's environment, and extra. As in the
	// manifests: the URL names the role, PGPASSWORD (from a Secret there)
	// holds its password.
	subgraphEnv := func(port int, login, password string, extra ...string) []string {
		return append([]string{
			"ADDR=127.0.0.1:" + strconv.Itoa(port),
			"DATABASE_URL=" + loginURL(login, ""),
			"PGPASSWORD=" + password,
			"ADMIN_TOKEN=" + adminToken,
			"DRAIN_PERIOD=1s",
		}, extra...)
	}
	books := e.start(ctx, t, "books-subgraph", tag, subgraphEnv(booksPort, imageBooksLogin, booksPassword))
	orders := e.start(ctx, t, "orders-subgraph", tag, subgraphEnv(ordersPort, imageOrdersLogin, ordersPassword, "ORDERS_LIST_PUBLIC=true"))
	router := e.start(ctx, t, "router", tag, []string{
		fmt.Sprintf("SUBGRAPHS=books=http://127.0.0.1:%d/query;orders=http://127.0.0.1:%d/query", booksPort, ordersPort),
		"DRAIN_PERIOD=1s",
	}, "--listen", "127.0.0.1:"+strconv.Itoa(routerPort))

	running := []struct {
		c    *imageContainer
		port int
	}{{books, booksPort}, {orders, ordersPort}, {router, routerPort}}
	for _, probe := range []string{"/healthz", "/readyz"} {
		for _, r := range running {
			r.c.waitStatus(ctx, t, fmt.Sprintf("http://127.0.0.1:%d%s", r.port, probe), http.StatusOK, time.Minute)
		}
	}

	// A federated query: titles from books-subgraph, unitsSold from orders-subgraph.
	titles := imageQueryBooks(ctx, t, router, routerPort)
	for _, title := range titles {
		if !slices.Contains(seeded, title) {
			router.fatalf(t, "the router answered title %q, which the seed does not hold", title)
		}
	}
	t.Logf("the router answered the seeded titles %q", titles)

	for _, r := range running {
		r.c.stop(ctx, t)
	}
}

// splitPassword takes the password out of a postgres:// URL.
func splitPassword(t *testing.T, raw string) (string, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	u.User = url.User(u.User.Username())
	return u.String(), password
}

// imageSeededTitles returns the titles of the books in the database.
func imageSeededTitles(ctx context.Context, t *testing.T, adminURL string) []string {
	t.Helper()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT title FROM books.books")
	if err != nil {
		t.Fatal(err)
	}
	titles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(titles) < 3 {
		t.Fatalf("the database holds %d books after migrate -seed, want at least 3", len(titles))
	}
	return titles
}

// imageQueryBooks asks the router for three books with a field of each
// subgraph, and returns their titles: three distinct ones, each with a
// unitsSold (0 on a fresh database), and no error.
func imageQueryBooks(ctx context.Context, t *testing.T, router *imageContainer, port int) []string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": "{ books(first: 3) { edges { node { title unitsSold } } } }"})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/graphql", port), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		router.fatalf(t, "query: %v", err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		router.fatalf(t, "reading the answer: %v", err)
	}
	var answer struct {
		Data struct {
			Books struct {
				Edges []struct {
					Node struct {
						Title     string
						UnitsSold *int
					}
				}
			}
		}
		Errors []json.RawMessage
	}
	if err := json.Unmarshal(raw, &answer); err != nil || res.StatusCode != http.StatusOK || len(answer.Errors) != 0 {
		router.fatalf(t, "query: %s, %v: %s", res.Status, err, raw)
	}
	var titles []string
	for _, edge := range answer.Data.Books.Edges {
		n := edge.Node
		if n.Title == "" || slices.Contains(titles, n.Title) || n.UnitsSold == nil || *n.UnitsSold != 0 {
			router.fatalf(t, "query: a book without a distinct title or with unitsSold other than 0: %s", raw)
		}
		titles = append(titles, n.Title)
	}
	if len(titles) != 3 {
		router.fatalf(t, "query: %d books, want 3: %s", len(titles), raw)
	}
	return titles
}
