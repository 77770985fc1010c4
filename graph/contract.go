// Package graph holds the bookstore's client contract, shared by the
// subgraphs and the router: the supergraph schema clients see at /graphql.
// Its subpackages hold the code the services share.
package graph

import _ "embed"

// ContractSDL is the client-facing supergraph schema: an exact copy of
// ../shared/contract/supergraph.graphql, kept in the repo so that a clone
// alone passes its tests.
//
//go:embed supergraph.graphql
var ContractSDL string
