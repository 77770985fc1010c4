package gqlrun

import (
	"context"
	"io"

	"github.com/99designs/gqlgen/graphql"
)

// DeferredGroup returns the @defer group of an object whose collected
// fields are fields: graphql.NewDeferredGroup(ctx) when one of them is
// deferred, else the zero group. Only a deferred field ever joins a group
// (graphql.FieldSet.ResolveConcurrently), so the group of an object with
// none stays empty, and its zero value says the same without computing
// the object's response path and making a map, as NewDeferredGroup does.
func DeferredGroup(ctx context.Context, fields []graphql.CollectedField) graphql.DeferredGroup {
	for _, f := range fields {
		if f.IsDeferred() {
			return graphql.NewDeferredGroup(ctx)
		}
	}
	return graphql.DeferredGroup{}
}

// Fields returns an object's resolved fields, out (a field set of fields,
// dispatched), as a Marshaler that writes what out's own MarshalGQL
// writes: each field under its alias, in order, the first of two fields
// with the same alias only. Unlike it, it makes no map of the aliases
// written and no iterators: an object has a few fields, so it looks for
// an alias among the ones before it.
func Fields(fields []graphql.CollectedField, out *graphql.FieldSet) graphql.Marshaler {
	return &fieldSet{fields: fields, values: out.Values}
}

type fieldSet struct {
	fields []graphql.CollectedField
	values []graphql.Marshaler
}

// MarshalGQL implements graphql.Marshaler.
func (f *fieldSet) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, "{")
	first := true
fields:
	for i := range f.fields {
		alias := f.fields[i].Alias
		for j := range i {
			if f.fields[j].Alias == alias {
				continue fields
			}
		}
		if !first {
			_, _ = io.WriteString(w, ",")
		}
		first = false
		// An alias is a GraphQL name ([_A-Za-z][_0-9A-Za-z]*): nothing to
		// escape.
		_, _ = io.WriteString(w, `"`)
		_, _ = io.WriteString(w, alias)
		_, _ = io.WriteString(w, `":`)
		f.values[i].MarshalGQL(w)
	}
	_, _ = io.WriteString(w, "}")
}
