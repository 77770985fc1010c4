// Command migrate applies the bookstore's embedded migrations, creates the
// services' login roles and loads the demo catalogue. Deployments run it as
// a Job before the services take traffic; it is safe to re-run, and safe to
// run from several places at once (the migrations take an advisory lock).
//
// Usage:
//
//	migrate [flags] up|down|version
//
// The database URL (-database, default $DATABASE_URL) needs the rights to
// create schemas and roles: the database owner, or a superuser.
// Passwords come from the environment only ($BOOKS_DB_PASSWORD,
// $ORDERS_DB_PASSWORD), never from flags, so they stay out of process lists.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"bookstore/graph/platform/cli"
	"bookstore/migrations"
)

func main() { cli.Main("migrate", run) }

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("migrate", "usage: migrate [flags] up|down|version", stderr)
	dbURL := fs.String("database", getenv("DATABASE_URL"), "owner or superuser `URL` of the database (default $DATABASE_URL)")
	seed := fs.Bool("seed", false, "after up, load the demo catalogue (books already there are kept)")
	booksLogin := fs.String("books-login", "", "create or update the books service's login `role` (password: $BOOKS_DB_PASSWORD)")
	ordersLogin := fs.String("orders-login", "", "create or update the orders service's login `role` (password: $ORDERS_DB_PASSWORD)")
	wait := fs.Duration("wait", 0, "keep trying to reach the database for up to `duration` first (a Job that starts beside its database)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want exactly one command: up, down or version")
	}
	if *dbURL == "" {
		return errors.New("no database: set DATABASE_URL or -database")
	}
	if *wait > 0 {
		if err := waitForDatabase(ctx, *dbURL, *wait, stderr); err != nil {
			return err
		}
	}
	switch cmd := fs.Arg(0); cmd {
	case "up":
		if err := migrations.Up(ctx, *dbURL); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema at version %d\n", migrations.Latest())
	case "down":
		if err := migrations.Down(ctx, *dbURL); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "every migration reverted")
		return nil
	case "version":
		conn, err := pgx.Connect(ctx, *dbURL)
		if err != nil {
			return fmt.Errorf("connecting: %w", err)
		}
		defer conn.Close(ctx)
		if err := migrations.Check(ctx, conn); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema is current (this build expects version %d)\n", migrations.Latest())
		return nil
	default:
		return fmt.Errorf("unknown command %q: want up, down or version", cmd)
	}

	if *booksLogin == "" && *ordersLogin == "" && !*seed {
		return nil
	}
	conn, err := pgx.Connect(ctx, *dbURL)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(ctx)
	for _, r := range []struct{ login, passwordVar, group string }{
		{*booksLogin, "BOOKS_DB_PASSWORD", migrations.BooksRole},
		{*ordersLogin, "ORDERS_DB_PASSWORD", migrations.OrdersRole},
	} {
		if r.login == "" {
			continue
		}
		if err := migrations.EnsureLoginRole(ctx, conn, r.login, getenv(r.passwordVar), r.group); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "login role %s is a member of %s\n", r.login, r.group)
	}
	if *seed {
		if err := migrations.Seed(ctx, conn); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "demo catalogue loaded")
	}
	return nil
}

// waitForDatabase connects until the server answers, for up to wait. A
// refused password or an unknown role ends the wait at once: retrying cannot
// fix it.
func waitForDatabase(ctx context.Context, dbURL string, wait time.Duration, log io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	backoff, lastLog := 250*time.Millisecond, time.Time{}
	for {
		err := ping(ctx, dbURL)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000") {
			return fmt.Errorf("connecting: %w", err)
		}
		if time.Since(lastLog) > 5*time.Second {
			fmt.Fprintf(log, "migrate: waiting for the database: %v\n", err)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the database did not answer within %s: %w", wait, err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 3*time.Second)
	}
}

func ping(ctx context.Context, dbURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}
