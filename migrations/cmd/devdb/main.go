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
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/pgcluster"
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
	admin := os.Getenv("DATABASE_URL")
	var cluster *pgcluster.Cluster
	if admin == "" {
		var err error
		cluster, err = pgcluster.Start(ctx, pgcluster.Options{DataDir: dir, Port: port, Durable: true})
		if err != nil {
			return err
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "devdb:", err)
			}
		}()
		if err := migrations.EnsureDatabase(ctx, cluster.URL("postgres"), "bookstore"); err != nil {
			return err
		}
		admin = cluster.URL("bookstore")
	}
	if err := migrations.Up(ctx, admin); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Close(ctx)
	for login, group := range map[string]string{"books_app": migrations.BooksRole, "orders_app": migrations.OrdersRole} {
		if err := migrations.EnsureLoginRole(ctx, conn, login, "dev-"+login, group); err != nil {
			return err
		}
	}
	if err := migrations.Seed(ctx, conn); err != nil {
		return err
	}
	role := func(user string) string {
		return strings.Replace(admin, "postgres@", user+":dev-"+user+"@", 1)
	}
	fmt.Printf("PostgreSQL is ready, migrated to version %d and seeded.\n", migrations.Latest())
	fmt.Printf("  owner:  %s\n  books:  %s\n  orders: %s\n", admin, role("books_app"), role("orders_app"))
	if cluster == nil {
		return nil
	}
	fmt.Println("Press Ctrl-C to stop it; the data stays in", cluster.DataDir)
	<-ctx.Done()
	fmt.Println("stopping PostgreSQL")
	return nil
}
