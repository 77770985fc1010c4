package pgsql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"8df5658c-ffb4-3c83-d34f-c0e8a327b8b5":   true,
		"8DF5658C-FFB4-3C83-D34F-C0E8A327B8B5":   true,
		"8df5658cffb43c83d34fc0e8a327b8b5":       false,
		"{8df5658c-ffb4-3c83-d34f-c0e8a327b8b5}": false,
		"8df5658c-ffb4-3c83-d34f-c0e8a327b8bg":   false,
		"8df5658c_ffb4-3c83-d34f-c0e8a327b8b5":   false,
		"":                                       false,
		"' OR 1=1 --":                            false,
		"8df5658c-ffb4-3c83-d34f-c0e8a327b8é":    false,
	} {
		if got := IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestEscapeLike(t *testing.T) {
	for in, want := range map[string]string{`100%`: `100\%`, `a_b`: `a\_b`, `c:\dir`: `c:\\dir`, `plain`: `plain`} {
		if got := EscapeLike(in); got != want {
			t.Errorf("EscapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestArgs(t *testing.T) {
	var a Args
	if p1, p2 := a.Add("x"), a.Add(2); p1 != "$1" || p2 != "$2" || len(a) != 2 || a[1] != 2 {
		t.Fatalf("%s %s %v", p1, p2, a)
	}
}

func TestUUIDs(t *testing.T) {
	u := pgtype.UUID{Valid: true, Bytes: [16]byte{0x8d, 0xf5, 0x65, 0x8c, 0xff, 0xb4, 0x3c, 0x83, 0xd3, 0x4f, 0xc0, 0xe8, 0xa3, 0x27, 0xb8, 0xb5}}
	for _, tc := range []struct {
		ids  []string
		want []pgtype.UUID
	}{
		{nil, []pgtype.UUID{}},
		{[]string{"8df5658c-ffb4-3c83-d34f-c0e8a327b8b5"}, []pgtype.UUID{u}},
		{[]string{"8DF5658C-FFB4-3C83-D34F-C0E8A327B8B5", "not a uuid"}, []pgtype.UUID{u, {}}},
	} {
		if got := UUIDs(tc.ids); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("UUIDs(%q) = %v, want %v", tc.ids, got, tc.want)
		}
	}
	// The text form PostgreSQL would print is the id, lower-cased.
	v, err := UUIDs([]string{"8DF5658C-FFB4-3C83-D34F-C0E8A327B8B5"})[0].Value()
	if err != nil || v != "8df5658c-ffb4-3c83-d34f-c0e8a327b8b5" {
		t.Errorf("Value() = %v, %v", v, err)
	}
}

func TestUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"refused", fmt.Errorf("list books: %w", refused), true},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unexpected EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"conn closed", fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"crash shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"starting up", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "57P03"}), true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"undefined table", &pgconn.PgError{Code: "42P01"}, false},
		{"statement timeout", &pgconn.PgError{Code: "57014"}, false},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), false},
		{"cancelled", context.Canceled, false},
		{"plain", errors.New("no rows"), false},
	} {
		if got := Unavailable(tc.err); got != tc.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
