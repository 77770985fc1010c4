package gqlrun

import (
	"bytes"
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

func TestMarshalSlice(t *testing.T) {
	for _, tc := range []struct {
		name     string
		length   int
		panicAt  int // -1: no element panics
		want     string
		wantErrs []string // the errors' paths
	}{
		{"empty", 0, -1, `[]`, nil},
		{"one", 1, -1, `[0]`, nil},
		{"in order", 4, -1, `[0,1,2,3]`, nil},
		{"a panic nulls its element", 3, 1, `[0,null,2]`, []string{"list[1]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
			ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "list"}}})
			var order []int
			got := MarshalSlice(ctx, tc.length, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
				if fc := graphql.GetFieldContext(ctx); fc.Index == nil || *fc.Index != i {
					t.Errorf("element %d: field context index %v", i, fc.Index)
				}
				order = append(order, i)
				if i == tc.panicAt {
					panic("boom")
				}
				return graphql.MarshalInt(i)
			})
			var b bytes.Buffer
			got.MarshalGQL(&b)
			if b.String() != tc.want {
				t.Errorf("got %s, want %s", b.String(), tc.want)
			}
			for i, n := range order {
				if i != n {
					t.Fatalf("marshalled in the order %v", order)
				}
			}
			errs := graphql.GetErrors(ctx)
			if len(errs) != len(tc.wantErrs) {
				t.Fatalf("errors %v, want at %v", errs, tc.wantErrs)
			}
			for i, e := range errs {
				if e.Path.String() != tc.wantErrs[i] {
					t.Errorf("error at %s, want %s", e.Path, tc.wantErrs[i])
				}
			}
		})
	}
}

func TestMarshalSliceWithoutPanicHandlerPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("the panic did not reach the caller")
		}
	}()
	MarshalSlice(context.Background(), 2, 0, true, func(context.Context, int) graphql.Marshaler { panic("boom") })
}
