// Package gqlrun holds what the subgraphs' generated executable schemas
// call instead of parts of gqlgen's runtime (see graph/cmd/generate).
package gqlrun

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalSlice marshals the elements of a list one after another, in the
// calling goroutine. It takes the arguments of gqlgen's
// graphql.MarshalSliceConcurrently, which make generate replaces with it,
// and answers the same: each element gets a field context with its index
// (for the paths of errors), and, unless omitPanicHandler, a panic while
// marshalling an element becomes an error and a null element.
//
// gqlgen starts a goroutine per element of every list of objects, so that
// element resolvers that wait on I/O wait together. No element resolver of
// the bookstore waits on anything but a batch loaded once per request, and
// the goroutines, each growing a stack as deep as the element's fields,
// cost more than the rest of an order page's execution. workerLimit, which
// bounds those goroutines, has nothing to bound here.
func MarshalSlice(ctx context.Context, length int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	_ = workerLimit
	ret := make(graphql.Array, length)
	// One allocation each for the elements' field contexts and indexes.
	fcs := make([]graphql.FieldContext, length)
	index := make([]int, length)
	for i := range length {
		index[i] = i
		fcs[i].Index = &index[i]
		ctx := graphql.WithFieldContext(ctx, &fcs[i])
		if omitPanicHandler {
			ret[i] = marshalElement(ctx, i)
			continue
		}
		ret[i] = marshalRecovering(ctx, i, marshalElement)
	}
	return ret
}

func marshalRecovering(ctx context.Context, i int, marshalElement func(ctx context.Context, i int) graphql.Marshaler) (m graphql.Marshaler) {
	defer func() {
		if r := recover(); r != nil {
			graphql.AddError(ctx, graphql.Recover(ctx, r))
			m = graphql.Null
		}
	}()
	return marshalElement(ctx, i)
}
