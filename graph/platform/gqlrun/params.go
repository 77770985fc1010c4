package gqlrun

import (
	"bytes"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"

	"bookstore/graph/gqlparams"
)

// decodeParams decodes a GraphQL request body into p, giving what gqlgen's
// transport gives (an encoding/json Decoder with UseNumber): the values of
// variables and extensions as map[string]any, []any, string, json.Number,
// bool and nil. It reads the common bodies with gqlparams, in one pass, and
// hands any other to encoding/json, which answers them the same.
func decodeParams(body []byte, p *graphql.RawParams) error {
	if fast, ok := gqlparams.Decode(body); ok {
		*p = graphql.RawParams{Query: fast.Query, OperationName: fast.OperationName, Variables: fast.Variables, Extensions: fast.Extensions}
		return nil
	}
	*p = graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(p)
}
