package pgsql

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err says that PostgreSQL could not be
// reached or is not serving, rather than that the statement failed: a
// connection that could not be opened or broke, the server shutting down,
// crashing, starting up or recovering, or out of connection slots. Such a
// failure is the database's; the same request may succeed once it is back.
//
// A statement that fails this way may or may not have been applied: a
// COMMIT that gets such an error may have committed.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", // admin_shutdown: a fast or smart shutdown ended the session
			"57P02", // crash_shutdown: another server process crashed
			"57P03", // cannot_connect_now: starting up, shutting down, in recovery
			"53300": // too_many_connections
			return true
		}
		// Class 08: connection exception.
		return len(pgErr.Code) == 5 && pgErr.Code[:2] == "08"
	}
	var connectErr *pgconn.ConnectError
	var netErr *net.OpError
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}
