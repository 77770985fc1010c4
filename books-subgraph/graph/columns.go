package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/books-subgraph/store"
)

// fieldColumns are the columns each field of a Book reads.
var fieldColumns = map[string]store.Columns{
	"__typename":    0,
	"id":            0,
	"isbn":          store.ISBN,
	"title":         store.Title,
	"author":        store.Author,
	"description":   store.Description,
	"publishedYear": store.PublishedYear,
	"priceCents":    store.PriceCents,
	"currency":      store.Currency,
	"stock":         store.Stock,
	"inStock":       store.Stock,
	"createdAt":     store.CreatedAt,
	"updatedAt":     store.UpdatedAt,
}

// bookColumns returns the columns the fields of a Book selected by sel
// read. A field it does not know reads them all.
func bookColumns(oc *graphql.OperationContext, sel ast.SelectionSet) store.Columns {
	var c store.Columns
	for _, f := range graphql.CollectFields(oc, sel, []string{"Book", "_Entity"}) {
		cols, ok := fieldColumns[f.Name]
		if !ok {
			return store.AllColumns
		}
		c |= cols
	}
	return c
}

// step is one field on the way from a resolver's type down to Book: the
// field, of the type on.
type step struct{ on, field string }

// selectedColumns returns the columns the books a resolver returns need:
// what the field resolved under ctx selects of them, down path. Without a
// field context, every column.
func selectedColumns(ctx context.Context, path ...step) store.Columns {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !graphql.HasOperationContext(ctx) {
		return store.AllColumns
	}
	oc := graphql.GetOperationContext(ctx)
	sels := []ast.SelectionSet{fc.Field.Selections}
	for _, s := range path {
		var next []ast.SelectionSet
		for _, sel := range sels {
			for _, f := range graphql.CollectFields(oc, sel, []string{s.on}) {
				if f.Name == s.field {
					next = append(next, f.Selections)
				}
			}
		}
		sels = next
	}
	var c store.Columns
	for _, sel := range sels {
		c |= bookColumns(oc, sel)
	}
	return c
}
