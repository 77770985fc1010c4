// Package scalar holds the custom GraphQL scalars that the subgraphs share.
package scalar

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalDateTime writes t as an RFC 3339 string in UTC with a "Z" suffix,
// keeping fractional seconds when t has them.
func MarshalDateTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(FormatDateTime(t)))
	})
}

// FormatDateTime formats t the way the contract's DateTime scalar does.
func FormatDateTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// UnmarshalDateTime reads an RFC 3339 timestamp. Any offset is accepted and
// converted to UTC.
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, fmt.Errorf("DateTime must be an RFC 3339 string, got %T", v)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("DateTime must be an RFC 3339 string: %w", err)
	}
	return t.UTC(), nil
}
