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
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jackc/pgx/v5"

	"bookstore/migrations"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database", getenv("DATABASE_URL"), "owner or superuser `URL` of the database (default $DATABASE_URL)")
	seed := fs.Bool("seed", false, "after up, load the demo catalogue (books already there are kept)")
	booksLogin := fs.String("books-login", "", "create or update the books service's login `role` (password: $BOOKS_DB_PASSWORD)")
	ordersLogin := fs.String("orders-login", "", "create or update the orders service's login `role` (password: $ORDERS_DB_PASSWORD)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: migrate [flags] up|down|version")
		fs.PrintDefaults()
	}
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
