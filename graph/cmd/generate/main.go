// Command generate is what make generate runs in each subgraph's
// directory: gqlgen's generate, with the gqlgen.yml found there and the
// gqlgen version the module's tool directive pins, then two changes to the
// executable schema it wrote, which gqlgen has no setting for:
//
//   - lists of objects are marshalled in order, in the request's goroutine,
//     by gqlrun.MarshalSlice, instead of one goroutine per element by
//     graphql.MarshalSliceConcurrently (see package gqlrun for why);
//   - an object none of whose fields is resolved concurrently makes no
//     @defer group: graphql.NewDeferredGroup computes the object's
//     response path and allocates a map for every object of a response,
//     and only a concurrently resolved field can ever be deferred
//     (graphql.FieldSet.ResolveConcurrently), so the group of such an
//     object stays empty; its zero value says the same.
//
// It fails, rather than generating something else, when gqlgen's output no
// longer has the shapes it changes.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log"
	"os"
	"slices"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	log.SetOutput(io.Discard) // as gqlgen's command does without -verbose
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no gqlgen.yml here or above: run in a subgraph's directory")
	}
	if err != nil {
		return err
	}
	if err := api.Generate(cfg); err != nil {
		return err
	}
	name := cfg.Exec.Filename
	src, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	out, err := rewrite(src)
	if err != nil {
		return fmt.Errorf("%s: %w (gqlgen's output changed? see graph/cmd/generate)", name, err)
	}
	return os.WriteFile(name, out, 0o644)
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// rewrite makes the two changes to a generated executable schema.
func rewrite(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "generated.go", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	offset := func(p token.Pos) int { return fset.Position(p).Offset }
	var edits []edit
	lists := 0
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok && isCall(call, "graphql", "MarshalSliceConcurrently") {
				edits = append(edits, edit{offset(call.Fun.Pos()), offset(call.Fun.End()), "gqlrun.MarshalSlice"})
				lists++
			}
			return true
		})
		if call := deferredGroup(fn.Body); call != nil && !addressTaken(fn.Body, "deferred") {
			edits = append(edits, edit{offset(call.Pos()), offset(call.End()), "graphql.DeferredGroup{}"})
		}
	}
	if lists == 0 {
		return nil, errors.New("no graphql.MarshalSliceConcurrently call")
	}
	if len(f.Imports) == 0 || f.Imports[0].Path.Value == "" {
		return nil, errors.New("no imports")
	}
	// Before the first import; format.Source sorts it into its group.
	first := offset(f.Imports[0].Pos())
	edits = append(edits, edit{first, first, `"bookstore/graph/gqlrun"` + "\n\t"})
	out := apply(src, edits)
	formatted, err := format.Source(out)
	if err != nil {
		return nil, fmt.Errorf("formatting: %w", err)
	}
	return formatted, nil
}

// apply makes non-overlapping edits to src.
func apply(src []byte, edits []edit) []byte {
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	var b bytes.Buffer
	at := 0
	for _, e := range edits {
		b.Write(src[at:e.start])
		b.WriteString(e.text)
		at = e.end
	}
	b.Write(src[at:])
	return b.Bytes()
}

// deferredGroup returns the call of `deferred := graphql.NewDeferredGroup(ctx)`
// among body's statements, or nil.
func deferredGroup(body *ast.BlockStmt) *ast.CallExpr {
	for _, st := range body.List {
		as, ok := st.(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			continue
		}
		if id, ok := as.Lhs[0].(*ast.Ident); !ok || id.Name != "deferred" {
			continue
		}
		if call, ok := as.Rhs[0].(*ast.CallExpr); ok && isCall(call, "graphql", "NewDeferredGroup") {
			return call
		}
	}
	return nil
}

// addressTaken reports whether body takes the address of the variable
// name (&name): how generated code hands an object's group to the fields
// it resolves concurrently.
func addressTaken(body *ast.BlockStmt, name string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if u, ok := n.(*ast.UnaryExpr); ok && u.Op == token.AND {
			if id, ok := u.X.(*ast.Ident); ok && id.Name == name {
				found = true
			}
		}
		return !found
	})
	return found
}

// isCall reports whether call calls pkg.fun.
func isCall(call *ast.CallExpr, pkg, fun string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != fun {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}
