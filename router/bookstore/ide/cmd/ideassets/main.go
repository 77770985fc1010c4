// Command ideassets fetches the GraphQL IDE's third-party files (GraphiQL and
// React UMD builds) into router/bookstore/ide/assets/, where the router embeds them.
// `make ide` runs it from the repository's root.
//
// The versions are pinned by router/bookstore/ide/_npm/package.json and
// package-lock.json. The npm project is installed with `npm ci` in a cache
// outside the repository ($XDG_CACHE_HOME/bookstore/ide-npm, by default
// ~/.cache/bookstore/ide-npm), so no node_modules ever sits where Go looks,
// and every copied file is checked against router/bookstore/ide/_npm/SHA256SUMS. When
// the assets are already there and match, it does nothing.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// sources says where npm installs each asset, relative to node_modules.
func sources() map[string]string {
	return map[string]string{
		"graphiql.min.js":             "graphiql/graphiql.min.js",
		"graphiql.min.css":            "graphiql/graphiql.min.css",
		"react.production.min.js":     "react/umd/react.production.min.js",
		"react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
	}
}

func main() {
	npmDir := flag.String("npm", "router/bookstore/ide/_npm", "`directory` of package.json, package-lock.json and SHA256SUMS")
	out := flag.String("out", "router/bookstore/ide/assets", "`directory` the assets are copied to")
	cache := flag.String("cache", "", "`directory` where npm ci runs (default $XDG_CACHE_HOME/bookstore/ide-npm)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *npmDir, *out, *cache); err != nil {
		fmt.Fprintln(os.Stderr, "ideassets:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, npmDir, out, cache string) error {
	sums, err := readSums(filepath.Join(npmDir, "SHA256SUMS"))
	if err != nil {
		return err
	}
	if len(sums) != len(sources()) {
		return fmt.Errorf("SHA256SUMS lists %d files, want the %d assets", len(sums), len(sources()))
	}
	if missing := check(out, sums); len(missing) == 0 {
		fmt.Printf("IDE assets are up to date in %s\n", out)
		return nil
	}
	if cache == "" {
		base, err := os.UserCacheDir() // honours XDG_CACHE_HOME
		if err != nil {
			return fmt.Errorf("finding a cache directory (set XDG_CACHE_HOME or -cache): %w", err)
		}
		cache = filepath.Join(base, "bookstore", "ide-npm")
	}
	modules := filepath.Join(cache, "node_modules")
	if err := install(ctx, npmDir, cache, modules, sums); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", out, err)
	}
	for name, rel := range sources() {
		b, err := os.ReadFile(filepath.Join(modules, rel))
		if err != nil {
			return fmt.Errorf("reading %s after npm ci: %w", rel, err)
		}
		if got := hash(b); got != sums[name] {
			return fmt.Errorf("%s has SHA-256 %s, want %s (router/bookstore/ide/_npm/SHA256SUMS)", rel, got, sums[name])
		}
		if err := writeFile(filepath.Join(out, name), b); err != nil {
			return err
		}
	}
	fmt.Printf("IDE assets copied to %s; rebuild the router to embed them\n", out)
	return nil
}

// install runs npm ci in cache from the committed package files, unless the
// cache already holds the pinned files.
func install(ctx context.Context, npmDir, cache, modules string, sums map[string]string) error {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", cache, err)
	}
	same := true
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(npmDir, f))
		if err != nil {
			return fmt.Errorf("reading the pinned npm project: %w", err)
		}
		if old, err := os.ReadFile(filepath.Join(cache, f)); err != nil || !bytes.Equal(old, b) {
			same = false
		}
		if err := writeFile(filepath.Join(cache, f), b); err != nil {
			return err
		}
	}
	if same {
		ok := true
		for name, rel := range sources() {
			b, err := os.ReadFile(filepath.Join(modules, rel))
			if err != nil || hash(b) != sums[name] {
				ok = false
				break
			}
		}
		if ok {
			fmt.Printf("using the npm install cached in %s\n", cache)
			return nil
		}
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm not found: install Node.js and npm (Debian: apt-get install -y npm), then run make ide again")
	}
	fmt.Printf("npm ci in %s\n", cache)
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = cache
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm ci in %s: %w", cache, err)
	}
	return nil
}

// check returns the assets in dir that are absent or differ from sums.
func check(dir string, sums map[string]string) []string {
	var missing []string
	for name, want := range sums {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || hash(b) != want {
			missing = append(missing, name)
		}
	}
	return missing
}

// readSums reads a sha256sum-style file: "<hex>  <name>" per line.
func readSums(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading checksums: %w", err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", file, line)
		}
		if _, known := sources()[name]; !known {
			return nil, fmt.Errorf("%s: unknown asset %q", file, name)
		}
		sums[name] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return sums, nil
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// writeFile replaces file atomically.
func writeFile(file string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-"+filepath.Base(file)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}
