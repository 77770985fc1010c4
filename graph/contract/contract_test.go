package contract_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"bookstore/graph/contract"
)

// federation declares what the subgraphs' SDL uses from Federation v2, so
// that gqlparser can load it.
const federation = `
directive @link(url: String!, import: [String]) repeatable on SCHEMA
directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
`

func load(t *testing.T, name, sdl string) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: name, Input: sdl})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func subgraph(t *testing.T, dir string) *ast.Schema {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", dir, "graph", "*.graphqls"))
	if len(files) == 0 {
		t.Fatalf("no schema files in %s", dir)
	}
	var sdl strings.Builder
	sdl.WriteString(federation)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sdl.Write(b)
	}
	return load(t, dir, sdl.String())
}

func defaultOf(v *ast.Value) string {
	if v == nil {
		return ""
	}
	return v.String()
}

// The copy in the repo is the shared contract, byte for byte, when the
// shared folder is there to compare with.
func TestContractCopyIsCurrent(t *testing.T) {
	shared, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "contract", "supergraph.graphql"))
	if err != nil {
		t.Skip("no ../shared/contract next to the repo")
	}
	if string(shared) != contract.SDL {
		t.Fatal("graph/contract/supergraph.graphql differs from ../shared/contract/supergraph.graphql")
	}
}

// graph/contract/README.md is the shared contract's README, byte for byte, followed
// by what this implementation adds.
func TestContractREADMECopyIsCurrent(t *testing.T) {
	shared, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "contract", "README.md"))
	if err != nil {
		t.Skip("no ../shared/contract next to the repo")
	}
	local, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(local), string(shared)) {
		t.Fatal("graph/contract/README.md does not start with ../shared/contract/README.md")
	}
	if !strings.Contains(string(local[len(shared):]), "## What this implementation adds") {
		t.Fatal("graph/contract/README.md adds nothing after the copy")
	}
}

// Each subgraph declares its part of the contract exactly (names, types,
// nullability, arguments and defaults), and together they declare all of it.
func TestSubgraphsImplementTheContract(t *testing.T) {
	client := load(t, "contract", contract.SDL)
	covered := map[string]bool{} // "Type.field" and "Enum.VALUE" the subgraphs declare
	for _, dir := range []string{"books-subgraph", "orders-subgraph"} {
		sub := subgraph(t, dir)
		for name, def := range sub.Types {
			if def.BuiltIn || strings.HasPrefix(name, "_") || name == "FieldSet" || name == "link__Import" {
				continue
			}
			want := client.Types[name]
			if want == nil {
				t.Errorf("%s: type %s is not in the contract", dir, name)
				continue
			}
			if def.Kind != want.Kind {
				t.Errorf("%s: %s is %s, the contract has %s", dir, name, def.Kind, want.Kind)
			}
			for _, v := range def.EnumValues {
				if want.EnumValues.ForName(v.Name) == nil {
					t.Errorf("%s: enum value %s.%s is not in the contract", dir, name, v.Name)
				}
				covered[name+"."+v.Name] = true
			}
			for _, f := range def.Fields {
				if strings.HasPrefix(f.Name, "_") {
					continue
				}
				wf := want.Fields.ForName(f.Name)
				if wf == nil {
					t.Errorf("%s: %s.%s is not in the contract", dir, name, f.Name)
					continue
				}
				covered[name+"."+f.Name] = true
				if f.Type.String() != wf.Type.String() || defaultOf(f.DefaultValue) != defaultOf(wf.DefaultValue) {
					t.Errorf("%s: %s.%s is %s = %q, the contract has %s = %q", dir, name, f.Name,
						f.Type, defaultOf(f.DefaultValue), wf.Type, defaultOf(wf.DefaultValue))
				}
				var args, wantArgs []string
				for _, a := range f.Arguments {
					args = append(args, a.Name+": "+a.Type.String()+" = "+defaultOf(a.DefaultValue))
				}
				for _, a := range wf.Arguments {
					wantArgs = append(wantArgs, a.Name+": "+a.Type.String()+" = "+defaultOf(a.DefaultValue))
				}
				if !slices.Equal(args, wantArgs) {
					t.Errorf("%s: %s.%s takes %v, the contract has %v", dir, name, f.Name, args, wantArgs)
				}
			}
		}
	}
	for name, def := range client.Types {
		if def.BuiltIn {
			continue
		}
		for _, f := range def.Fields {
			if !strings.HasPrefix(f.Name, "__") && !covered[name+"."+f.Name] {
				t.Errorf("no subgraph declares %s.%s", name, f.Name)
			}
		}
		for _, v := range def.EnumValues {
			if !covered[name+"."+v.Name] {
				t.Errorf("no subgraph declares %s.%s", name, v.Name)
			}
		}
	}
}
