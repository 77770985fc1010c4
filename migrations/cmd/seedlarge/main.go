// Command seedlarge loads the large demo data set (package
// bookstore/migrations/seedlarge: 100,000 books, 1,000,000 orders, real
// bestsellers) into the developer's database, the one `make run` and `make
// db` use: `make seed-large`.
//
// It refuses any other database unless told otherwise (-any-database): the
// target must be the private cluster under -data (it asks the server for
// its data directory). When that cluster is not running, seedlarge starts
// it (migrating it if needed), loads, and stops it again.
//
// A second run says the data is already there; -reload deletes it and
// loads it again. The load is one transaction: a failed or interrupted run
// leaves the database as it was.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/platform/cli"
	"bookstore/graph/testkit/pgcluster"
	"bookstore/migrations"
	"bookstore/migrations/seedlarge"
)

func main() { cli.Main("seedlarge", run, flag.ErrHelp) }

type config struct {
	dataDir     string
	port        int
	database    string
	anyDatabase bool
	reload      bool
	sizes       seedlarge.Sizes
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := cli.NewFlagSet("seedlarge", "usage: seedlarge [flags]   (make seed-large)\n\nLoads 100,000 books and 1,000,000 orders into the make run database.\n\nFlags:", stderr)
	port := seedlargePort(getenv)
	fs.StringVar(&c.dataDir, "data", envOr(getenv, "DEV_DATA_DIR", ".data"), "`directory` of local state, as for make run: the dev database is its postgres/ cluster (env DEV_DATA_DIR)")
	fs.IntVar(&c.port, "port", port, "`port` of the dev database on 127.0.0.1 (env DEV_DB_PORT)")
	fs.StringVar(&c.database, "database", "", "superuser `URL` of the database to load; default: the dev database, postgres://postgres@127.0.0.1:PORT/bookstore")
	fs.BoolVar(&c.anyDatabase, "any-database", false, "load a database that is not the dev one (the data is demo data: never do this to a real store)")
	fs.BoolVar(&c.reload, "reload", false, "delete an earlier load and load again")
	fs.IntVar(&c.sizes.Books, "books", seedlarge.Full.Books, "books to generate")
	fs.IntVar(&c.sizes.Orders, "orders", seedlarge.Full.Orders, "orders to generate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -help)", fs.Args())
	}
	devDir, err := filepath.Abs(filepath.Join(c.dataDir, "postgres"))
	if err != nil {
		return err
	}

	target := c.database
	if target == "" {
		target = (&url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:" + strconv.Itoa(c.port),
			Path: "/bookstore", RawQuery: "sslmode=disable"}).String()
	}
	conn, err := connect(ctx, target)
	if err != nil && c.database == "" {
		// The dev database is not running: start it, as make db would.
		fmt.Fprintf(stdout, "the dev database does not answer on 127.0.0.1:%d (%v); starting it from %s\n", c.port, err, devDir)
		cluster, serr := pgcluster.Start(ctx, pgcluster.Options{DataDir: devDir, Port: c.port, Durable: true})
		if serr != nil {
			return fmt.Errorf("starting the dev database: %w", serr)
		}
		defer func() {
			fmt.Fprintln(stdout, "stopping the dev database")
			if err := cluster.Stop(); err != nil {
				fmt.Fprintln(stderr, "seedlarge:", err)
			}
		}()
		if err := migrations.EnsureDatabase(ctx, cluster.URL("postgres"), "bookstore"); err != nil {
			return err
		}
		if err := migrations.Up(ctx, target); err != nil {
			return err
		}
		conn, err = connect(ctx, target)
	}
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", redact(target), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	if err := checkDev(ctx, conn, devDir, c.anyDatabase, stdout); err != nil {
		return err
	}
	if err := migrations.Check(ctx, conn); err != nil {
		return fmt.Errorf("%w (run make run or make db once, or migrate up)", err)
	}

	fmt.Fprintf(stdout, "loading %d books and %d orders into %s, in one transaction\n", c.sizes.Books, c.sizes.Orders, redact(target))
	start := time.Now()
	r, err := seedlarge.Load(ctx, conn, seedlarge.Options{Sizes: c.sizes, Reload: c.reload, Progress: stdout})
	if errors.Is(err, seedlarge.ErrLoaded) {
		fmt.Fprintf(stdout, "already loaded: %d generated books and %d generated orders are there; nothing changed (-reload loads again)\n",
			r.Found.Books, r.Found.Orders)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w\nnothing was loaded: the transaction rolled back", err)
	}
	if !r.Found.Empty() {
		fmt.Fprintf(stdout, "deleted the earlier load: %d books and %d orders (with their lines, and other orders of those books)\n",
			r.Found.Books, r.Found.Orders)
	}
	fmt.Fprintf(stdout, "loaded %d books and %d orders with %d lines in %.1f s (VACUUM ANALYZE %.1f s; %.1f s in all)\n",
		r.Books, r.Orders, r.Lines, r.Load.Seconds(), r.Vacuum.Seconds(), time.Since(start).Seconds())
	fmt.Fprintf(stdout, "bestsellers: %s (%d lines), %s (%d lines), %s (%d lines)\n",
		seedlarge.BookID(1), r.Bestsellers[0], seedlarge.BookID(2), r.Bestsellers[1], seedlarge.BookID(3), r.Bestsellers[2])
	fmt.Fprintf(stdout, "bulk buyer: %s\n", seedlarge.BulkBuyer)
	return nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func seedlargePort(getenv func(string) string) int {
	if n, err := strconv.Atoi(getenv("DEV_DB_PORT")); err == nil {
		return n
	}
	return 5433
}

func connect(ctx context.Context, target string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return pgx.Connect(cctx, target)
}

// checkDev refuses a database whose server does not keep its data in
// devDir, unless anyDB is set.
func checkDev(ctx context.Context, conn *pgx.Conn, devDir string, anyDB bool, stdout io.Writer) error {
	var dir string
	err := conn.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dir)
	if err == nil && samePath(dir, devDir) {
		return nil
	}
	what := "its data directory is " + dir
	if err != nil {
		what = "it does not say where its data is (" + err.Error() + ")"
	}
	if anyDB {
		fmt.Fprintf(stdout, "loading a database that is not the dev one (%s), as -any-database asks\n", what)
		return nil
	}
	return fmt.Errorf("refusing to load: this is not the make run database (%s; the dev database's is %s). "+
		"The data is demo data; -any-database loads it anyway", what, devDir)
}

func samePath(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return ra == rb
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}
