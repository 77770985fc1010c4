// Command devdb runs a developer's PostgreSQL: a private cluster under
// .data/postgres that persists across runs, migrated and seeded, with the
// services' login roles. It prints the URLs and stays in the foreground;
// Ctrl-C stops the server.
//
// With DATABASE_URL set it starts nothing and prepares that database.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/graph/testkit/stack"
	"bookstore/migrations"
)

func main() {
	dir := flag.String("data", ".data/postgres", "data `directory` of the private cluster")
	port := flag.Int("port", 5433, "`port` of the private cluster on 127.0.0.1")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dir, *port); err != nil {
		fmt.Fprintln(os.Stderr, "devdb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, port int) error {
	srv, err := stack.StartServer(ctx, stack.ServerOptions{
		URL:     os.Getenv("DATABASE_URL"),
		Cluster: pgcluster.Options{DataDir: dir, Port: port, Durable: true},
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "devdb:", err)
		}
	}()
	name := "bookstore"
	if srv.Cluster == nil {
		name = "" // DATABASE_URL's own
	}
	db, err := stack.PrepareDatabase(ctx, srv, name, stack.DatabaseOptions{Roles: stack.DevRoles, Seed: true})
	if err != nil {
		return err
	}
	fmt.Printf("PostgreSQL is ready, migrated to version %d and seeded.\n", migrations.Latest())
	fmt.Printf("  owner:  %s\n  books:  %s\n  orders: %s\n", db.URL, db.BooksURL(), db.OrdersURL())
	if srv.Cluster == nil {
		return nil
	}
	fmt.Println("Press Ctrl-C to stop it; the data stays in", srv.Cluster.DataDir)
	<-ctx.Done()
	fmt.Println("stopping PostgreSQL")
	return nil
}
