package transport

import (
	"context"
	"errors"

	"bookstore/router/federation/execute"
)

// Fetcher is a Client as the executor's fetcher (execute.Fetcher): the
// executor's requests and responses are its own types, and an
// ErrUnavailable of the client's is also the executor's.
type Fetcher struct{ Client *Client }

// Do sends req through the client.
func (f Fetcher) Do(ctx context.Context, req execute.FetchRequest) (*execute.FetchResponse, error) {
	resp, err := f.Client.Do(ctx, Request{Subgraph: req.Subgraph, Body: req.Body, Mutation: req.Mutation, Header: req.Header})
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			err = unavailable{err}
		}
		return nil, err
	}
	return &execute.FetchResponse{Status: resp.Status, Body: resp.Body, Replica: resp.Replica}, nil
}

// unavailable is an ErrUnavailable of the client's, which is also
// execute.ErrUnavailable.
type unavailable struct{ error }

func (u unavailable) Is(target error) bool { return target == execute.ErrUnavailable }
func (u unavailable) Unwrap() error        { return u.error }
