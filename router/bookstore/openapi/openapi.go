// Package openapi holds the OpenAPI 3.1 document of the router's REST
// shims (/books, /orders), which the router serves at /openapi.yaml.
//
// The document is written by hand from the shims' code and the contract
// (../shared/contract/README.md); package openapitest checks every REST
// answer the test suite sees against it, so it cannot drift from what the
// shims send.
package openapi

import _ "embed"

// MediaType is the document's Content-Type.
const MediaType = "application/yaml"

// document is a string, so that no caller can change it.
//
//go:embed openapi.yaml
var document string

// Document returns a copy of the OpenAPI document, in YAML.
func Document() []byte { return []byte(document) }
