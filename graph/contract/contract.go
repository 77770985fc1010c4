// Package contract holds the bookstore's client contract, shared by the
// subgraphs and the router: the supergraph schema clients see at /graphql,
// and (README.md) what it promises beyond the schema.
package contract

import _ "embed"

// SDL is the client-facing supergraph schema: an exact copy of the shared
// contract's supergraph.graphql (../shared/contract/ next to the repo),
// kept in the repo so that a clone alone passes its tests.
//
//go:embed supergraph.graphql
var SDL string
