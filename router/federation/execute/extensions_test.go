package execute_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"bookstore/router/federation/execute"
	"bookstore/router/federation/execute/executetest"
)

// TestPassExtensions checks that the members of subgraph responses'
// extensions that Executor.PassExtensions names, and only those, reach the
// result's extensions, through the passthrough and through merging.
func TestPassExtensions(t *testing.T) {
	sg := shop(t)
	plain, err := executetest.New(sg, shopData())
	if err != nil {
		t.Fatal(err)
	}
	data := func() subgraphs {
		s := shopData()
		// products answers as it would, with extensions.
		s["products"].Answer = func(ctx context.Context, r executetest.Request) (*execute.FetchResponse, error) {
			body, _ := json.Marshal(map[string]any{"query": r.Query, "variables": r.Variables})
			resp, err := plain.Do(ctx, execute.FetchRequest{Subgraph: r.Subgraph, Body: body})
			if err != nil {
				return nil, err
			}
			b := bytes.TrimSuffix(bytes.TrimSpace(resp.Body), []byte("}"))
			b = append(b, `,"extensions":{"idempotentReplayed":true,"cost":{"estimated":3}}}`...)
			return &execute.FetchResponse{Status: 200, Body: b}, nil
		}
		return s
	}
	for _, tc := range []struct {
		name, query string
		pass        []string
		want        map[string]any
	}{
		{"passthrough, one named", `{ topProduct { name } }`, []string{"idempotentReplayed"}, map[string]any{"idempotentReplayed": true}},
		{"merged, one named", `{ topProduct { name stock } }`, []string{"idempotentReplayed"}, map[string]any{"idempotentReplayed": true}},
		{"merged, two named, one absent", `{ topProduct { name stock } }`, []string{"cost", "idempotentReplayed", "absent"},
			map[string]any{"idempotentReplayed": true, "cost": map[string]any{"estimated": float64(3)}}},
		{"none named", `{ topProduct { name stock } }`, nil, nil},
		{"passthrough, none named", `{ topProduct { name } }`, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := executetest.New(sg, data())
			if err != nil {
				t.Fatal(err)
			}
			ex := &execute.Executor{Fetcher: f, Schema: sg.Schema, PassExtensions: tc.pass}
			o := executetest.RunExecutor(t, sg, ex, tc.query, nil)
			if len(o.Result.Errors) > 0 {
				t.Fatalf("errors: %v", o.Result.Errors)
			}
			got := o.Result.Extensions
			if cost, ok := got["cost"].(map[string]any); ok {
				if n, ok := cost["estimated"].(interface{ Float64() (float64, error) }); ok {
					v, _ := n.Float64()
					got["cost"] = map[string]any{"estimated": v}
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("extensions %v, want %v", got, tc.want)
			}
		})
	}
}
