// Package apierror holds the error codes of the bookstore contract and the
// GraphQL errors that carry them. Every error a client sees has one of these
// codes in extensions.code.
package apierror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The codes of the contract (../shared/contract/README.md).
const (
	BadRequest          = "BAD_REQUEST"
	ParseFailed         = "GRAPHQL_PARSE_FAILED"
	ValidationFailed    = "GRAPHQL_VALIDATION_FAILED"
	BadUserInput        = "BAD_USER_INPUT"
	QueryTooComplex     = "QUERY_TOO_COMPLEX"
	Unauthenticated     = "UNAUTHENTICATED"
	NotFound            = "NOT_FOUND"
	InsufficientStock   = "INSUFFICIENT_STOCK"
	OrderNotCancellable = "ORDER_NOT_CANCELLABLE"
	IdempotencyKeyReuse = "IDEMPOTENCY_KEY_REUSED"
	SubgraphUnavailable = "SUBGRAPH_UNAVAILABLE"
	Internal            = "INTERNAL_SERVER_ERROR"
)

// New returns a GraphQL error with the given code and extra extensions.
func New(code, message string, extensions map[string]any) *gqlerror.Error {
	ext := make(map[string]any, len(extensions)+1)
	for k, v := range extensions {
		ext[k] = v
	}
	ext["code"] = code
	return &gqlerror.Error{Message: message, Extensions: ext}
}

// Input reports an argument that breaks a rule of the contract. field names
// the argument or input field as the client wrote it, e.g. "input.isbn".
func Input(field, format string, args ...any) *gqlerror.Error {
	return New(BadUserInput, field+": "+fmt.Sprintf(format, args...), map[string]any{"field": field})
}

// Quote shows a client's string inside an error message: quoted, and cut
// short when long.
func Quote(s string) string {
	const max = 80
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}

// Unauth reports an admin-only operation called without a valid token.
func Unauth() *gqlerror.Error {
	return New(Unauthenticated, "this operation needs a valid admin token (Authorization: Bearer <token>)", nil)
}

// Code returns the contract code carried by err, or "" when it has none.
func Code(err error) string {
	var gqlErr *gqlerror.Error
	for e := err; errors.As(e, &gqlErr); e = gqlErr.Err {
		if code, ok := gqlErr.Extensions["code"].(string); ok && code != "" {
			return code
		}
		if gqlErr.Err == nil {
			break
		}
	}
	return ""
}

// Presenter returns a gqlgen error presenter. An error that carries a
// contract code goes to the client as it is, with its path. Anything else is
// an internal failure: its detail goes to the log, and the client gets
// INTERNAL_SERVER_ERROR with a message that leaks nothing.
func Presenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		presented := graphql.DefaultErrorPresenter(ctx, err)
		code := Code(err)
		if code == "" {
			code = Code(presented)
		}
		if code != "" {
			var inner *gqlerror.Error
			if errors.As(err, &inner) && inner != presented {
				// Keep the code and the other extensions of the inner error.
				presented.Message = inner.Message
				presented.Extensions = inner.Extensions
			}
			if presented.Extensions == nil {
				presented.Extensions = map[string]any{}
			}
			presented.Extensions["code"] = code
			return presented
		}
		if graphql.GetFieldContext(ctx) == nil && !graphql.HasOperationContext(ctx) {
			// Outside any field or operation, only the request itself can be
			// wrong: gqlgen's transport could not decode the body.
			presented.Extensions = map[string]any{"code": BadRequest}
			return presented
		}
		logger.ErrorContext(ctx, "internal error", "err", err.Error(), "path", presented.Path.String())
		return &gqlerror.Error{
			Message:    "internal server error",
			Path:       presented.Path,
			Extensions: map[string]any{"code": Internal},
		}
	}
}

// Recover returns a gqlgen recover function: a panicking resolver is logged
// with its value and becomes INTERNAL_SERVER_ERROR; the process survives.
func Recover(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p))
		return New(Internal, "internal server error", nil)
	}
}
