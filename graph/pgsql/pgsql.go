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
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// UUIDs returns ids as the value of a uuid[] parameter; an id that is not
// a UUID (see IsUUID) becomes NULL, which equals nothing. pgx would encode
// a []string too, but only after failing to encode it in binary, and that
// failure costs it an error message that quotes every id.
func UUIDs(ids []string) []pgtype.UUID {
	out := make([]pgtype.UUID, len(ids))
	for i, id := range ids {
		if !IsUUID(id) {
			continue
		}
		u := &out[i]
		for j, k := 0, 0; j < len(id); j++ {
			if id[j] == '-' {
				continue
			}
			u.Bytes[k/2] = u.Bytes[k/2]<<4 | unhex(id[j])
			k++
		}
		u.Valid = true
	}
	return out
}

// unhex is the value of the hexadecimal digit c.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// EscapeLike makes s match literally inside a LIKE or ILIKE pattern that
// uses the default escape character.
func EscapeLike(s string) string {
	return likeEscaper.Replace(s)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
