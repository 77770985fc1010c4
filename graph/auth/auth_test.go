package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestValid(t *testing.T) {
	a := NewAdmin("s3cret-token")
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"Bearer s3cret-token", true},
		{"bearer s3cret-token", true},
		{"BEARER   s3cret-token  ", true},
		{"Bearer s3cret-tokem", false},
		{"Bearer s3cret-token2", false},
		{"Bearer s3cret", false},
		{"Bearer ", false},
		{"Basic s3cret-token", false},
		{"s3cret-token", false},
		{"", false},
	} {
		if got := a.Valid(tc.header); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

func TestNoTokenMeansNoAdmin(t *testing.T) {
	a := NewAdmin("")
	if a.Enabled() || a.Valid("Bearer ") || a.Valid("Bearer") || a.Valid("") {
		t.Fatal("an empty admin token must never match")
	}
}

func TestMiddlewareAndRequire(t *testing.T) {
	a := NewAdmin("tok")
	var got []bool
	h := a.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = append(got, IsAdmin(r.Context()), Require(r.Context()) == nil)
	}))
	for _, header := range []string{"Bearer tok", "Bearer nope"} {
		req := httptest.NewRequest(http.MethodPost, "/query", nil)
		req.Header.Set("Authorization", header)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if want := []bool{true, true, false, false}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("admin, require = %v, want %v", got, want)
	}
	if IsAdmin(context.Background()) {
		t.Fatal("a bare context is admin")
	}
}
