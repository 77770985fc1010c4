package graph

import (
	"context"
	"errors"

	"bookstore/graph/apierror"
	"bookstore/graph/auth"
	"bookstore/orders-subgraph/graph/generated"
	"bookstore/orders-subgraph/graph/model"
	"bookstore/orders-subgraph/store"
)

func (r *bookResolver) UnitsSold(ctx context.Context, obj *model.Book) (*int, error) {
	n, err := r.loader(ctx).get(ctx, obj.ID)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func (r *mutationResolver) PlaceOrder(ctx context.Context, input model.PlaceOrderInput) (*model.Order, error) {
	no, err := newOrder(input)
	if err != nil {
		return nil, err
	}
	o, replayed, err := r.Store.Place(ctx, no)
	if err != nil {
		return nil, placeError(err)
	}
	if replayed {
		markReplayed(ctx)
	}
	return r.toModel(ctx, o), nil
}

func (r *mutationResolver) CancelOrder(ctx context.Context, id string) (*model.Order, error) {
	if err := auth.Require(ctx); err != nil {
		return nil, err
	}
	o, err := r.Store.Cancel(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, orderNotFound(id)
	case errors.Is(err, store.ErrNotCancellable):
		return nil, apierror.New(apierror.OrderNotCancellable, "only a PLACED order can be cancelled; this one is CANCELLED", map[string]any{"id": id})
	case errors.Is(err, store.ErrReleaseOverflow):
		return nil, apierror.New(apierror.OrderNotCancellable,
			"returning the items would take a book's stock past 1,000,000; lower that stock first", map[string]any{"id": id})
	case err != nil:
		return nil, err
	}
	return r.toModel(ctx, o), nil
}

func (r *orderConnectionResolver) TotalCount(ctx context.Context, obj *model.OrderConnection) (int, error) {
	return r.Store.Count(ctx, obj.Filter)
}

func (r *queryResolver) Orders(ctx context.Context, first *int, after *string, filter *model.OrderFilter) (*model.OrderConnection, error) {
	if !r.OrdersListPublic {
		if err := auth.Require(ctx); err != nil {
			return nil, err
		}
	}
	p, err := listParams(first, after, filter)
	if err != nil {
		return nil, err
	}
	page, err := r.Store.List(ctx, p)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, apierror.Input("after", "is not a cursor of this list")
	}
	if err != nil {
		return nil, err
	}
	conn := &model.OrderConnection{
		Edges:    make([]*model.OrderEdge, len(page.Edges)),
		PageInfo: &model.PageInfo{HasNextPage: page.HasNextPage},
		Filter:   p.Filter,
	}
	for i, e := range page.Edges {
		conn.Edges[i] = &model.OrderEdge{Cursor: e.Cursor, Node: r.toModel(ctx, e.Order)}
	}
	if n := len(page.Edges); n > 0 {
		conn.PageInfo.EndCursor = &page.Edges[n-1].Cursor
	}
	return conn, nil
}

func (r *queryResolver) Order(ctx context.Context, id string) (*model.Order, error) {
	o, err := r.Store.Get(ctx, id)
	if err != nil || o == nil {
		return nil, err
	}
	return r.toModel(ctx, o), nil
}

func (r *Resolver) Book() generated.BookResolver { return &bookResolver{r} }

func (r *Resolver) Mutation() generated.MutationResolver { return &mutationResolver{r} }

func (r *Resolver) OrderConnection() generated.OrderConnectionResolver {
	return &orderConnectionResolver{r}
}

func (r *Resolver) Query() generated.QueryResolver { return &queryResolver{r} }

type (
	bookResolver            struct{ *Resolver }
	mutationResolver        struct{ *Resolver }
	orderConnectionResolver struct{ *Resolver }
	queryResolver           struct{ *Resolver }
)
