// Package stack starts the bookstore on one machine, on 127.0.0.1, in three
// steps that each user takes as far as it needs:
//
//   - the server (StartServer): a private PostgreSQL cluster, package
//     pgcluster, or an existing server named by a superuser URL
//     (DATABASE_URL);
//   - a database on it (PrepareDatabase): created when missing, migrated,
//     with the services' login roles, seeded; CloneDatabase and
//     DropDatabase copy and remove one;
//   - the services (FindBinaries, StartServices): the binaries built with
//     go build or taken from a directory, then N replicas of each subgraph
//     and a router as child processes (package child: bound to this
//     process, stopped by their PID), at fixed ports or ports picked at
//     runtime, each waited for on /readyz, each logging to a file of its
//     own.
//
// Its users: router/cmd/devstack (make run), router/cmd/bench (make bench,
// make bench-scale), router/cmd/chaos (the chaos suite), migrations/cmd/devdb
// (make db) and graph/testkit/testdb (the tests' databases).
package stack

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// Logf prints a line of progress ("started books-1 (pid 42) on ..."); a nil
// Logf prints nothing.
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

// ModuleRoot walks up from the working directory to the go.mod of module
// bookstore, where go build runs.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module bookstore\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module bookstore not found above the working directory: run from the repository")
		}
		dir = parent
	}
}
