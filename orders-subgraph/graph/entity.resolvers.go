package graph

import (
	"context"

	"bookstore/orders-subgraph/graph/generated"
	"bookstore/orders-subgraph/graph/model"
	"bookstore/orders-subgraph/store"
)

// FindManyBookByIDs answers the Book representations the router sends for
// unitsSold. It needs no query of its own: it primes the request's loader,
// and unitsSold then loads the whole batch in one statement.
func (r *entityResolver) FindManyBookByIDs(ctx context.Context, reps []*model.BookByIDsInput) ([]*model.Book, error) {
	out := make([]*model.Book, len(reps))
	ids := make([]string, 0, len(reps))
	for i, rep := range reps {
		if store.ValidID(rep.ID) {
			out[i] = &model.Book{ID: rep.ID}
			ids = append(ids, rep.ID)
		}
	}
	r.loader(ctx).prime(ids...)
	return out, nil
}

// FindManyOrderByIDs resolves a batch of Order representations with one SQL
// statement, lined up with reps (nil for an unknown id).
func (r *entityResolver) FindManyOrderByIDs(ctx context.Context, reps []*model.OrderByIDsInput) ([]*model.Order, error) {
	ids := make([]string, len(reps))
	for i, rep := range reps {
		ids[i] = rep.ID
	}
	orders, err := r.Store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Order, len(orders))
	for i, o := range orders {
		if o != nil {
			out[i] = r.toModel(ctx, o)
		}
	}
	return out, nil
}

func (r *Resolver) Entity() generated.EntityResolver { return &entityResolver{r} }

type entityResolver struct{ *Resolver }
