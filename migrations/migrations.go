// Package migrations holds the bookstore's SQL migrations and the demo seed,
// embedded in every binary that needs them, and applies them with
// golang-migrate.
//
// Migrations take PostgreSQL's advisory lock (golang-migrate's pgx/v5 driver
// does this), so replicas or Jobs that start together apply each migration
// once: the others wait, then find nothing left to do.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers pgx5://
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed *.up.sql *.down.sql
var sqlFiles embed.FS

//go:embed seed.sql
var seedSQL string

// Group roles that the migrations grant privileges to. Each service connects
// as a login role that is a member of one of them.
const (
	BooksRole  = "bookstore_books"
	OrdersRole = "bookstore_orders"
)

// Latest is the version of the newest embedded migration: the schema version
// that this build of the services expects.
func Latest() uint {
	entries, err := fs.ReadDir(sqlFiles, ".")
	if err != nil {
		panic(fmt.Sprintf("migrations: reading embedded files: %v", err)) // cannot happen with embed
	}
	var latest uint
	for _, e := range entries {
		head, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		v, err := strconv.ParseUint(head, 10, 32)
		if err == nil && uint(v) > latest {
			latest = uint(v)
		}
	}
	return latest
}

// Up applies every pending migration to the database at databaseURL (a
// postgres:// URL). It returns nil when the schema is already current.
func Up(ctx context.Context, databaseURL string) error {
	return run(ctx, databaseURL, "up", func(m *migrate.Migrate) error { return m.Up() })
}

// Goto migrates up or down to version: for tests of a migration over the
// data an older schema held, and for an operator undoing a step.
func Goto(ctx context.Context, databaseURL string, version uint) error {
	return run(ctx, databaseURL, fmt.Sprintf("goto %d", version), func(m *migrate.Migrate) error { return m.Migrate(version) })
}

// Down reverts every migration. It exists for tests and for a developer
// who wants a clean database; deployments never run it.
func Down(ctx context.Context, databaseURL string) error {
	return run(ctx, databaseURL, "down", func(m *migrate.Migrate) error { return m.Down() })
}

func run(ctx context.Context, databaseURL, what string, step func(*migrate.Migrate) error) error {
	src, err := iofs.New(sqlFiles, ".")
	if err != nil {
		return fmt.Errorf("migrations: opening embedded source: %w", err)
	}
	target, err := driverURL(databaseURL)
	if err != nil {
		return err
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, target)
	if err != nil {
		return fmt.Errorf("migrations: connecting: %w", redact(err, databaseURL))
	}
	defer m.Close()

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			m.GracefulStop <- true
		case <-done:
		}
	}()

	if err := step(m); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrations: %s: %w", what, err)
	}
	return ctx.Err()
}

// driverURL turns a postgres:// URL into the pgx5:// form that
// golang-migrate's pgx/v5 driver registers.
func driverURL(databaseURL string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", errors.New("migrations: DATABASE_URL is not a URL (postgres://user@host:port/db)")
	}
	switch u.Scheme {
	case "postgres", "postgresql", "pgx5":
		u.Scheme = "pgx5"
		return u.String(), nil
	default:
		return "", fmt.Errorf("migrations: unsupported URL scheme %q, want postgres://", u.Scheme)
	}
}

// redact keeps a password in the URL out of an error message.
func redact(err error, databaseURL string) error {
	u, perr := url.Parse(databaseURL)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// Querier is what the version check needs: a pool, a connection or a
// transaction.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrNotMigrated reports a database whose schema is older than this build
// expects, or left dirty by a failed migration.
var ErrNotMigrated = errors.New("database schema is not migrated")

// Check reports whether the database's schema is at least the version this
// build expects and not dirty. A newer schema is accepted, so that old
// replicas keep serving during a rolling upgrade.
func Check(ctx context.Context, q Querier) error {
	var version int64
	var dirty bool
	err := q.QueryRow(ctx, `SELECT version, dirty FROM public.schema_migrations LIMIT 1`).Scan(&version, &dirty)
	var pgErr *pgconn.PgError
	latest := int64(Latest())
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pgErr) && pgErr.Code == "42P01":
		return fmt.Errorf("%w: no migration applied", ErrNotMigrated)
	case err != nil:
		return fmt.Errorf("reading schema version: %w", err)
	case dirty:
		return fmt.Errorf("%w: version %d is dirty (a migration failed)", ErrNotMigrated, version)
	case version < latest:
		return fmt.Errorf("%w: at version %d, want %d", ErrNotMigrated, version, latest)
	}
	return nil
}

// Execer runs SQL: a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Seed loads the demo catalogue. Books already present (by ISBN) are left
// untouched, so seeding twice changes nothing.
func Seed(ctx context.Context, db Execer) error {
	if _, err := db.Exec(ctx, seedSQL); err != nil {
		return fmt.Errorf("migrations: seeding the catalogue: %w", err)
	}
	return nil
}

// EnsureLoginRole creates the login role name as a member of group (one of
// BooksRole and OrdersRole), or updates its password and membership when it
// exists. An empty password leaves the role without one (for trust or peer
// authentication). It needs a connection with CREATEROLE.
func EnsureLoginRole(ctx context.Context, db Execer, name, password, group string) error {
	if !slices.Contains([]string{BooksRole, OrdersRole}, group) {
		return fmt.Errorf("migrations: unknown group role %q", group)
	}
	if name == "" || strings.ContainsRune(name, 0) || strings.ContainsRune(password, 0) {
		return errors.New("migrations: a login role needs a name, and neither name nor password may contain NUL")
	}
	ident := pgx.Identifier{name}.Sanitize()
	pw := "NULL"
	if password != "" {
		pw = "'" + strings.ReplaceAll(password, "'", "''") + "'"
	}
	// DO blocks take no parameters, so the names are quoted here instead.
	stmt := fmt.Sprintf(`DO $role$
BEGIN
  CREATE ROLE %[1]s LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $role$;
ALTER ROLE %[1]s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT PASSWORD %[2]s;
GRANT %[3]s TO %[1]s;`, ident, pw, pgx.Identifier{group}.Sanitize())
	if _, err := db.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("migrations: ensuring login role %s: %w", name, err)
	}
	return nil
}

// EnsureDatabase creates the database name on the server at serverURL (a
// postgres:// URL of a role with CREATEDB, connected to another database
// such as postgres) unless it exists. The migrations then run against it.
func EnsureDatabase(ctx context.Context, serverURL, name string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("migrations: connecting to create database %s: %w", name, redact(err, serverURL))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("migrations: looking for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("migrations: creating database %s: %w", name, err)
	}
	return nil
}
