package scalar

import (
	"bytes"
	"testing"
	"time"
)

func TestMarshalIsUTCWithZ(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 24, 21, 53, 55, 0, paris), `"2026-11-24T20:53:55Z"`},
		{time.Date(2026, 11, 24, 20, 53, 55, 123456000, time.UTC), `"2026-11-24T20:53:55.123456Z"`},
	} {
		var b bytes.Buffer
		MarshalDateTime(tc.in).MarshalGQL(&b)
		if b.String() != tc.want {
			t.Errorf("marshal %v = %s, want %s", tc.in, b.String(), tc.want)
		}
	}
}

func TestUnmarshal(t *testing.T) {
	got, err := UnmarshalDateTime("2026-11-24T21:53:55+01:00")
	if err != nil || !got.Equal(time.Date(2026, 11, 24, 20, 53, 55, 0, time.UTC)) || got.Location() != time.UTC {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []any{"yesterday", "2026-11-24", 1732480435, nil} {
		if _, err := UnmarshalDateTime(bad); err == nil {
			t.Errorf("UnmarshalDateTime(%v) accepted", bad)
		}
	}
}
