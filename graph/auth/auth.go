// Package auth checks the admin token that guards the catalogue mutations,
// cancelOrder and the order list.
//
// The token comes from configuration. It is compared in constant time (both
// sides are hashed first, so neither the content nor the length leaks), and
// neither it nor the Authorization header is ever logged.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"bookstore/graph/apierror"
)

// Admin checks bearer tokens against the configured admin token.
type Admin struct {
	sum     [sha256.Size]byte
	enabled bool
}

// NewAdmin returns a checker for token. With an empty token no request is
// ever admin.
func NewAdmin(token string) *Admin {
	return &Admin{sum: sha256.Sum256([]byte(token)), enabled: token != ""}
}

// Enabled reports whether an admin token is configured.
func (a *Admin) Enabled() bool { return a.enabled }

// Valid reports whether an Authorization header value carries the admin
// token as a Bearer token.
func (a *Admin) Valid(header string) bool {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], a.sum[:]) == 1 && a.enabled
}

type ctxKey struct{}

// Middleware records in the request's context whether it carries the admin
// token. It rejects nothing: resolvers decide with Require.
func (a *Admin) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin := a.Valid(r.Header.Get("Authorization"))
		next.ServeHTTP(w, r.WithContext(WithAdmin(r.Context(), admin)))
	})
}

// WithAdmin returns ctx marked as admin or not.
func WithAdmin(ctx context.Context, admin bool) context.Context {
	return context.WithValue(ctx, ctxKey{}, admin)
}

// IsAdmin reports whether the request behind ctx carried the admin token.
func IsAdmin(ctx context.Context) bool {
	admin, _ := ctx.Value(ctxKey{}).(bool)
	return admin
}

// Require returns an UNAUTHENTICATED error unless ctx is admin.
func Require(ctx context.Context) error {
	if IsAdmin(ctx) {
		return nil
	}
	return apierror.Unauth()
}
