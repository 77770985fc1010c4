package apierror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

func fieldCtx() context.Context {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, nil)
	return graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "myBooks"}}})
}

func TestPresenterKeepsCodedErrors(t *testing.T) {
	var logs bytes.Buffer
	p := Presenter(slog.New(slog.NewJSONHandler(&logs, nil)))
	err := New(InsufficientStock, "only 2 left", map[string]any{"bookId": "b1", "available": 2})
	got := p(fieldCtx(), fmt.Errorf("placing: %w", err))
	if got.Message != "only 2 left" || got.Extensions["code"] != InsufficientStock || got.Extensions["available"] != 2 {
		t.Fatalf("presented %+v", got)
	}
	if logs.Len() != 0 {
		t.Fatalf("a client error was logged as internal: %s", logs.String())
	}
}

func TestPresenterHidesInternalErrors(t *testing.T) {
	var logs bytes.Buffer
	p := Presenter(slog.New(slog.NewJSONHandler(&logs, nil)))
	got := p(fieldCtx(), errors.New(`list books: ERROR: relation "books.books" does not exist (SQLSTATE 42P01)`))
	if got.Message != "internal server error" || got.Extensions["code"] != Internal {
		t.Fatalf("presented %+v", got)
	}
	if !strings.Contains(logs.String(), "42P01") {
		t.Fatalf("the detail is not logged: %s", logs.String())
	}
	if got.Path.String() != "myBooks" {
		t.Fatalf("path = %q, want the client's alias", got.Path.String())
	}
}

func TestInputNamesTheField(t *testing.T) {
	e := Input("input.isbn", "must be %d digits", 13)
	if e.Extensions["code"] != BadUserInput || e.Extensions["field"] != "input.isbn" || e.Message != "input.isbn: must be 13 digits" {
		t.Fatalf("%+v", e)
	}
	if Code(fmt.Errorf("wrapped: %w", e)) != BadUserInput || Code(errors.New("plain")) != "" {
		t.Fatal("Code does not see through wrapping")
	}
}

func TestRecover(t *testing.T) {
	var logs bytes.Buffer
	err := Recover(slog.New(slog.NewJSONHandler(&logs, nil)))(context.Background(), "boom")
	if Code(err) != Internal || !strings.Contains(logs.String(), "boom") || strings.Contains(err.Error(), "boom") {
		t.Fatalf("err %v, logs %s", err, logs.String())
	}
}
