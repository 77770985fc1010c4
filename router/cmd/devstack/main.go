// Command devstack runs the whole bookstore on a developer's machine, in the
// foreground: `make run`.
//
// It builds the binaries, starts a private PostgreSQL under .data/postgres
// (or uses DATABASE_URL), migrates and seeds it, creates the services' login
// roles, then starts two replicas of each subgraph and the router, each once
// the previous ones answer /readyz: the steps of package
// graph/testkit/stack, the launcher it shares with make db, make bench and
// the chaos suite. It prints the URLs and the dev admin token, and waits.
//
// Ctrl-C or SIGTERM stops every child by its PID (SIGTERM, then SIGKILL
// after a grace period), then PostgreSQL, and exits 0. If a child dies on
// its own, devstack says which one, prints the end of its log, stops the
// rest and exits 1. Children are bound to devstack (Pdeathsig), so killing
// devstack, even with SIGKILL, leaves nothing running.
//
// Child logs go to files, .data/logs/<name>.log, rather than the terminal:
// five services writing JSON lines per request would bury the URLs and
// interleave unreadably, while one file per process can be followed with
// tail -f or filtered with jq, and its last lines are printed when the
// process dies.
//
// Every port and path is a flag, with an environment default; see -help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bookstore/graph/platform/cli"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// Main parses args and runs the stack until SIGINT or SIGTERM. It returns
// the exit status.
func Main(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "devstack:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, stop, cfg, stdout, stderr); err != nil {
		if !errors.Is(err, errReported) {
			fmt.Fprintln(stderr, "devstack:", err)
		}
		return 1
	}
	return 0
}

// config is the stack's layout: every port and path can be changed.
type config struct {
	dataDir     string // PostgreSQL data in dataDir/postgres, logs in dataDir/logs
	binDir      string
	build       bool // go build the binaries into binDir first
	withRouter  bool
	dbPort      int
	routerPort  int
	booksPorts  []int
	ordersPorts []int
	adminToken  string
	logLevel    string
	grace       time.Duration // between SIGTERM and SIGKILL
	drain       time.Duration // each service's drain period after SIGTERM
	readyWait   time.Duration // for one service to become ready
	databaseURL string        // an existing database's owner URL; empty starts a cluster
	goCmd       string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		if n, err := strconv.Atoi(getenv(name)); err == nil {
			return n
		}
		return def
	}
	var c config
	fs := cli.NewFlagSet("devstack", "usage: devstack [flags]\n\nRuns PostgreSQL, two replicas of each subgraph and the router on 127.0.0.1 until Ctrl-C.\n\nFlags:", stderr)
	fs.StringVar(&c.dataDir, "data", env("DEV_DATA_DIR", ".data"), "`directory` of local state: PostgreSQL in DIR/postgres, logs in DIR/logs (env DEV_DATA_DIR)")
	fs.StringVar(&c.binDir, "bin", env("DEV_BIN_DIR", "bin"), "`directory` of the books-subgraph, orders-subgraph and router binaries (env DEV_BIN_DIR)")
	fs.BoolVar(&c.build, "build", true, "build the binaries into -bin first (run from the module root); -build=false uses them as they are")
	fs.BoolVar(&c.withRouter, "router", true, "start the router; -router=false runs the subgraphs only")
	fs.IntVar(&c.dbPort, "db-port", envInt("DEV_DB_PORT", 5433), "`port` of the private PostgreSQL; if taken, a free one is used (env DEV_DB_PORT)")
	fs.IntVar(&c.routerPort, "port", envInt("PORT", 8080), "router `port` (env PORT)")
	books := fs.String("books-ports", env("DEV_BOOKS_PORTS", "4001,4002"), "comma-separated `ports` of the books-subgraph replicas (env DEV_BOOKS_PORTS)")
	orders := fs.String("orders-ports", env("DEV_ORDERS_PORTS", "4003,4004"), "comma-separated `ports` of the orders-subgraph replicas (env DEV_ORDERS_PORTS)")
	fs.StringVar(&c.adminToken, "admin-token", env("ADMIN_TOKEN", env("DEV_ADMIN_TOKEN", "dev-admin-token")), "the dev admin `token`, local only (env ADMIN_TOKEN or DEV_ADMIN_TOKEN)")
	fs.StringVar(&c.logLevel, "log-level", env("LOG_LEVEL", "info"), "services' log `level` (env LOG_LEVEL)")
	fs.DurationVar(&c.grace, "grace", 10*time.Second, "time a child gets to stop after SIGTERM before SIGKILL")
	fs.DurationVar(&c.drain, "drain", time.Second, "time each service keeps serving after SIGTERM, unready, before it stops accepting (DRAIN_PERIOD; below -grace)")
	fs.DurationVar(&c.readyWait, "ready-timeout", 60*time.Second, "time a service gets to answer /readyz")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q (see -help)", fs.Args())
	}
	var err error
	if c.booksPorts, err = parsePorts(*books, 1); err != nil {
		return c, fmt.Errorf("-books-ports: %w", err)
	}
	if c.ordersPorts, err = parsePorts(*orders, 1); err != nil {
		return c, fmt.Errorf("-orders-ports: %w", err)
	}
	if c.adminToken == "" {
		return c, errors.New("the admin token may not be empty")
	}
	if c.drain < 0 || c.drain >= c.grace {
		return c, fmt.Errorf("-drain %v must be at least 0 and below -grace %v", c.drain, c.grace)
	}
	c.databaseURL = getenv("DATABASE_URL")
	c.goCmd = env("GO", "go")
	return c, nil
}

// parsePorts parses "4001,4002": at least min distinct ports.
func parsePorts(s string, min int) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%q is not a port", f)
		}
		if seen[p] {
			return nil, fmt.Errorf("port %d is listed twice", p)
		}
		seen[p] = true
		ports = append(ports, p)
	}
	if len(ports) < min {
		return nil, fmt.Errorf("want at least %d port(s), got %q", min, s)
	}
	return ports, nil
}
