package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"bookstore/graph/testkit/pgcluster"
	"bookstore/graph/testkit/stack/child"
	"bookstore/migrations"
)

// ServerOptions say which PostgreSQL server to use.
type ServerOptions struct {
	// URL is a superuser URL of an existing server (DATABASE_URL); when
	// set, nothing is started, and URL("") is this URL as it is.
	URL string
	// Cluster configures the private cluster started when URL is empty.
	// A DataDir that holds a cluster is reused (make run's .data/postgres);
	// an empty one is a temporary cluster, removed by Stop.
	Cluster pgcluster.Options
	// AnyPort: when Cluster.Port is taken, use a free port instead, and
	// say so.
	AnyPort bool
	Logf    Logf
}

// Server is a PostgreSQL server: a private cluster or an existing one.
type Server struct {
	// Cluster is the private cluster; nil for an existing server.
	Cluster *pgcluster.Cluster
	url     string // a superuser URL
	logf    Logf
}

// ServerAt returns the existing server of a superuser URL.
func ServerAt(superuserURL string) *Server { return &Server{url: superuserURL} }

// StartServer starts the private cluster, or takes the existing server of
// o.URL.
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	if o.URL != "" {
		o.Logf.printf("using DATABASE_URL (%s); no PostgreSQL is started", Redact(o.URL))
		return &Server{url: o.URL, logf: o.Logf}, nil
	}
	copts := o.Cluster
	if copts.Port != 0 && o.AnyPort && !child.PortFree(copts.Port) {
		copts.Port = 0
	}
	c, err := pgcluster.Start(ctx, copts)
	if err != nil {
		return nil, fmt.Errorf("starting PostgreSQL: %w", err)
	}
	if copts.Port != o.Cluster.Port {
		o.Logf.printf("port %d is taken (another make db or make run?); PostgreSQL uses port %d instead", o.Cluster.Port, c.Port)
	}
	o.Logf.printf("started postgres (pid %d) on 127.0.0.1:%d, data in %s, log %s", c.PID(), c.Port, c.DataDir, c.LogPath())
	return &Server{Cluster: c, url: c.URL("postgres"), logf: o.Logf}, nil
}

// URL returns a superuser URL of database db; "" names the server URL's own
// database (postgres, on a private cluster).
func (s *Server) URL(db string) string {
	if db == "" {
		return s.url
	}
	u, err := url.Parse(s.url)
	if err != nil {
		return s.url
	}
	u.Path = "/" + db
	return u.String()
}

// Stop stops a private cluster (and removes a temporary one); it does
// nothing to an existing server.
func (s *Server) Stop() error {
	if s == nil || s.Cluster == nil {
		return nil
	}
	if err := s.Cluster.Stop(); err != nil {
		return err
	}
	s.logf.printf("stopped postgres (pid %d)", s.Cluster.PID())
	return nil
}

// Login is a service's login role.
type Login struct{ User, Password string }

// Roles are the login roles the services connect as: members of
// migrations.BooksRole and migrations.OrdersRole, least privilege.
type Roles struct{ Books, Orders Login }

// DevRoles are the login roles of a developer's stack (make run, make db,
// the Makefile's books and orders targets), with local-only passwords.
var DevRoles = Roles{
	Books:  Login{"books_app", "dev-books_app"},
	Orders: Login{"orders_app", "dev-orders_app"},
}

// RandomRoles are DevRoles' users with passwords random to this run: a
// cluster that trusts local connections does not check them, but nothing
// fixed is worth leaving around.
func RandomRoles() Roles {
	pw := func() string {
		var b [12]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	return Roles{Books: Login{DevRoles.Books.User, pw()}, Orders: Login{DevRoles.Orders.User, pw()}}
}

// Database is a database prepared for the services.
type Database struct {
	Name  string
	URL   string // the superuser's
	Roles Roles
}

// LoginURL returns the database's URL for a login role.
func (d *Database) LoginURL(l Login) string {
	u, err := url.Parse(d.URL)
	if err != nil {
		return d.URL
	}
	u.User = url.UserPassword(l.User, l.Password)
	return u.String()
}

// BooksURL and OrdersURL are the database's URLs for the services' login
// roles.
func (d *Database) BooksURL() string  { return d.LoginURL(d.Roles.Books) }
func (d *Database) OrdersURL() string { return d.LoginURL(d.Roles.Orders) }

// DatabaseOptions shape PrepareDatabase.
type DatabaseOptions struct {
	Roles Roles
	// Seed loads the demo catalogue.
	Seed bool
	Logf Logf
}

// PrepareDatabase makes database name on srv ready for the services:
// created when missing ("" is the server URL's own database, used as it
// is), migrated, with o.Roles' login roles and, with o.Seed, seeded. Every
// step is idempotent, so a kept database is brought up to date.
func PrepareDatabase(ctx context.Context, srv *Server, name string, o DatabaseOptions) (*Database, error) {
	if name != "" {
		if err := migrations.EnsureDatabase(ctx, srv.URL(""), name); err != nil {
			return nil, err
		}
	}
	db := &Database{Name: name, URL: srv.URL(name), Roles: o.Roles}
	conn, err := pgx.Connect(ctx, db.URL)
	if err != nil {
		return nil, fmt.Errorf("connecting to the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var before int64
	_ = conn.QueryRow(ctx, `SELECT version FROM public.schema_migrations`).Scan(&before)
	start := time.Now()
	if err := migrations.Up(ctx, db.URL); err != nil {
		return nil, fmt.Errorf("migrating: %w", err)
	}
	if before > 0 && before < int64(migrations.Latest()) {
		o.Logf.printf("migrated %s from version %d to %d in %.1f s", name, before, migrations.Latest(), time.Since(start).Seconds())
	}
	for _, r := range []struct {
		login Login
		group string
	}{{o.Roles.Books, migrations.BooksRole}, {o.Roles.Orders, migrations.OrdersRole}} {
		// Roles are global to the server: test packages preparing their
		// databases in parallel may race on them, and ALTER ROLE then
		// fails with "tuple concurrently updated".
		var err error
		for attempt := range 5 {
			if err = migrations.EnsureLoginRole(ctx, conn, r.login.User, r.login.Password, r.group); err == nil {
				break
			}
			time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
		}
		if err != nil {
			return nil, err
		}
	}
	if o.Seed {
		if err := migrations.Seed(ctx, conn); err != nil {
			return nil, err
		}
	}
	return db, nil
}

// CloneDatabase creates database name on srv as a copy of template, and
// returns it with roles. PostgreSQL refuses while another session is
// connected to the template, so it tries again for a second.
func CloneDatabase(ctx context.Context, srv *Server, name, template string, roles Roles) (*Database, error) {
	conn, err := pgx.Connect(ctx, srv.URL(""))
	if err != nil {
		return nil, fmt.Errorf("connecting to create database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	stmt := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, stmt)
		if err == nil || attempt == 9 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("creating database %s from %s: %w", name, template, err)
	}
	return &Database{Name: name, URL: srv.URL(name), Roles: roles}, nil
}

// DropDatabase drops database name on srv if it exists, ending its
// sessions.
func DropDatabase(ctx context.Context, srv *Server, name string) error {
	conn, err := pgx.Connect(ctx, srv.URL(""))
	if err != nil {
		return fmt.Errorf("connecting to drop database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}

// Redact hides a URL's password.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}
