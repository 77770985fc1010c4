package execute

import (
	"context"
	"errors"
	"net/http"
)

// Fetcher sends one request to a subgraph. The transport package adapts
// its client (transport.Fetcher); executetest's fakes are one.
//
// An error that wraps ErrUnavailable says the subgraph could not be
// reached (SUBGRAPH_UNAVAILABLE), one that wraps the context's error that
// the time ran out or the client left; any other, that the subgraph's
// answer was unusable.
type Fetcher interface {
	Do(ctx context.Context, req FetchRequest) (*FetchResponse, error)
}

// FetchRequest is one request to a subgraph.
type FetchRequest struct {
	// Subgraph names the subgraph.
	Subgraph string
	// Body is the JSON GraphQL request, {"query": ..., "variables": ...}.
	// The fetcher only reads it, and may go on reading it after Do
	// returns (a connection still writing it).
	Body []byte
	// Mutation marks an operation that must not run twice: it may be
	// retried only when it surely never reached the subgraph.
	Mutation bool
	// Header holds the headers to send along, already filtered; it may
	// be nil.
	Header http.Header
}

// FetchResponse is a subgraph's answer: any status, with the GraphQL
// response in Body.
type FetchResponse struct {
	Status int
	// Body is the JSON GraphQL response. The executor reads the values of
	// the response in place, until the execution ends: the fetcher must
	// not reuse or change the bytes once Do has returned them.
	Body []byte
	// Replica names the replica that answered (traces).
	Replica string
}

// ErrUnavailable marks a fetch whose subgraph could not be reached.
var ErrUnavailable = errors.New("subgraph unavailable")
