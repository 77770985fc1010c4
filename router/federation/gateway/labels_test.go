package gateway_test

import (
	"context"
	"maps"
	"strings"
	"testing"

	"bookstore/router/federation/execute/executetest"
	"bookstore/router/federation/gateway"
)

// users serves User.name from "legacy" unless a progressive override label
// sends it to "profiles": percent(25) for name, "beta" for bio.
func users(t *testing.T) *gateway.Gateway {
	t.Helper()
	const fed = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
`
	return labelled(t, nil, fed)
}

func labelled(t *testing.T, forced map[string]bool, fed string) *gateway.Gateway {
	t.Helper()
	sg := executetest.Compose(t, map[string]string{
		"legacy":   fed + `type Query { user(id: ID!): User } type User @key(fields: "id") { id: ID! name: String bio: String }`,
		"profiles": fed + `type User @key(fields: "id") { id: ID! name: String @override(from: "legacy", label: "percent(25)") bio: String @override(from: "legacy", label: "beta") }`,
	})
	f, err := executetest.New(sg, map[string]*executetest.Subgraph{
		"legacy":   {Query: `{"user": {"id": "u1", "name": "old name", "bio": "old bio"}}`},
		"profiles": {Entities: `{"User": [{"id": "u1", "name": "new name", "bio": "new bio"}]}`},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(gateway.Options{Fetcher: f, OverrideLabels: forced})
	g.SetSupergraph(sg)
	return g
}

func ask(t *testing.T, g *gateway.Gateway, query string) string {
	t.Helper()
	resp := g.Do(context.Background(), &gateway.Request{Query: query})
	if resp.Status != 200 || len(resp.Errors) > 0 {
		t.Fatalf("status %d, errors %v", resp.Status, resp.Errors)
	}
	return string(resp.Data)
}

// A percent(N) label sends exactly N of every 100 requests to the
// overriding subgraph, spread evenly; a custom label stays off.
func TestProgressiveOverrideShare(t *testing.T) {
	g := users(t)
	const n = 400
	moved, streak, longest := 0, 0, 0
	for i := 0; i < n; i++ {
		got := ask(t, g, `{ user(id: "u1") { name bio } }`)
		switch got {
		case `{"user":{"name":"new name","bio":"old bio"}}`:
			moved++
			streak = 0
		case `{"user":{"name":"old name","bio":"old bio"}}`:
			streak++
			longest = max(longest, streak)
		default:
			t.Fatalf("request %d: %s", i, got)
		}
	}
	if moved != n/4 {
		t.Errorf("%d of %d requests took name from profiles; want exactly %d", moved, n, n/4)
	}
	if longest > 3 {
		t.Errorf("%d requests in a row kept the old subgraph; a 25%% share spread evenly allows 3", longest)
	}
}

// Labels the configuration forces are on or off for every request.
func TestForcedOverrideLabels(t *testing.T) {
	const fed = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@override"])
`
	for _, tc := range []struct {
		forced map[string]bool
		want   string
	}{
		{map[string]bool{"percent(25)": true, "beta": true}, `{"user":{"name":"new name","bio":"new bio"}}`},
		{map[string]bool{"percent(25)": false, "beta": true}, `{"user":{"name":"old name","bio":"new bio"}}`},
		{map[string]bool{"percent(25)": false}, `{"user":{"name":"old name","bio":"old bio"}}`},
	} {
		g := labelled(t, tc.forced, fed)
		for i := 0; i < 10; i++ {
			if got := ask(t, g, `{ user(id: "u1") { name bio } }`); got != tc.want {
				t.Fatalf("labels %v, request %d: %s, want %s", tc.forced, i, got, tc.want)
			}
		}
	}
}

// Items are separated by ';' alone, as the README's OVERRIDE_LABELS has
// them; ',' is refused, not taken as part of a label's name.
func TestParseOverrideLabels(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    map[string]bool
		wantErr string
	}{
		{in: "", want: map[string]bool{}},
		{in: "beta=on", want: map[string]bool{"beta": true}},
		{in: "percent(5)=on; beta=off ;x=true", want: map[string]bool{"percent(5)": true, "beta": false, "x": true}},
		{in: " a = OFF ;; b=False; ", want: map[string]bool{"a": false, "b": false}},
		{in: "a=on,b=off", wantErr: "not ','"},
		{in: "a=on, b=off", wantErr: "not ','"},
		{in: "beta", wantErr: "want label=on"},
		{in: "beta=maybe", wantErr: "want label=on"},
		{in: "=on", wantErr: "want label=on"},
		{in: "a=on;beta", wantErr: "want label=on"},
	} {
		got, err := gateway.ParseOverrideLabels(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: got %v, %v; want an error %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
