package gqlrun

import (
	"bytes"
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

func collected(aliases ...string) []graphql.CollectedField {
	out := make([]graphql.CollectedField, len(aliases))
	for i, a := range aliases {
		out[i] = graphql.CollectedField{Field: &ast.Field{Alias: a, Name: a}}
	}
	return out
}

func TestFieldsMarshalAsFieldSet(t *testing.T) {
	for _, aliases := range [][]string{
		nil,
		{"a"},
		{"id", "title", "_k_id", "__typename"},
		{"a", "b", "a", "c", "b"}, // a repeated alias: the first one only
	} {
		fields := collected(aliases...)
		out := graphql.NewFieldSet(fields)
		for i := range out.Values {
			out.Values[i] = graphql.MarshalInt(i)
		}
		var want, got bytes.Buffer
		out.MarshalGQL(&want)
		Fields(fields, out).MarshalGQL(&got)
		if got.String() != want.String() {
			t.Errorf("%v: got %s, want %s", aliases, got.String(), want.String())
		}
	}
}

func TestDeferredGroup(t *testing.T) {
	ctx := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "book"}}})
	plain := collected("id", "unitsSold")
	if g := DeferredGroup(ctx, plain); g.Defers != nil || g.FieldSet != nil || g.Path != nil {
		t.Errorf("no field deferred: %+v, want the zero group", g)
	}
	deferred := collected("id", "unitsSold")
	deferred[1].Deferrables = []*graphql.Deferrable{{Label: "sold"}}
	g := DeferredGroup(ctx, deferred)
	if g.Defers == nil || g.FieldSet == nil || g.Path.String() != "book" {
		t.Errorf("a field deferred: %+v, want graphql.NewDeferredGroup's", g)
	}
}
