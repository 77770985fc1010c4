// Package pgsql holds the small helpers the stores share to build SQL:
// positional arguments, the shape of UUID ids, and LIKE escaping.
package pgsql

import (
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Args collects positional arguments for a statement built piece by piece.
type Args []any

// Add appends v and returns its placeholder ("$1", "$2", …).
func (a *Args) Add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// PlannedEachTime returns the arguments for a query whose best plan
// depends on their values (a search term, an author, a customer): pgx then
// sends it as PostgreSQL's unnamed statement, which is planned for the
// values of each run, rather than as a prepared statement, which switches
// to one generic plan for every value after five runs. Its description is
// still cached, so it costs no extra round trip.
func (a Args) PlannedEachTime() []any {
	return append([]any{pgx.QueryExecModeCacheDescribe}, a...)
}

// IsUUID reports whether s has the textual form of a UUID
// (8-4-4-4-12 hexadecimal digits, either case). The stores answer "not
// found" for any other id without asking the database, which would reject
// it with an error.
func IsUUID(s string) bool {
	_, ok := ParseUUID(s)
	return ok
}

// UUIDs returns ids as the value of a uuid[] parameter; an id that is not
// a UUID (see IsUUID) becomes NULL, which equals nothing. pgx would encode
// a []string too, but only after failing to encode it in binary, and that
// failure costs it an error message that quotes every id.
func UUIDs(ids []string) []pgtype.UUID {
	out := make([]pgtype.UUID, len(ids))
	for i, id := range ids {
		out[i].Bytes, out[i].Valid = ParseUUID(id)
	}
	return out
}

// ParseUUID returns the 16 bytes of a UUID's textual form, and whether s
// is one (see IsUUID).
func ParseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	// Where each byte's two digits start.
	for i, at := range [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34} {
		hi, lo := hexValue[s[at]], hexValue[s[at+1]]
		if hi|lo == 0xff {
			return [16]byte{}, false
		}
		u[i] = hi<<4 | lo
	}
	return u, true
}

// hexValue is the value of each hexadecimal digit, by byte; 0xff for a
// byte that is none.
const hexValue = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\xff\xff\xff\xff\xff\xff" +
	"\xff\x0a\x0b\x0c\x0d\x0e\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\x0a\x0b\x0c\x0d\x0e\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

// EscapeLike makes s match literally inside a LIKE or ILIKE pattern that
// uses the default escape character.
func EscapeLike(s string) string {
	return likeEscaper.Replace(s)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
