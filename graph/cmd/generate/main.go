// Command generate is the second step of make generate, run in each
// subgraph's directory after `go tool gqlgen generate` (the gqlgen version
// the module's tool directive pins): it makes these changes to the
// executable schema gqlgen wrote (gqlgen.yml's exec.filename), which gqlgen
// has no setting for:
//
//   - lists of objects are marshalled in order, in the request's goroutine,
//     by gqlrun.MarshalSlice, instead of one goroutine per element by
//     graphql.MarshalSliceConcurrently (see package gqlrun for why);
//   - an object makes no @defer group unless one of its fields is
//     deferred: graphql.NewDeferredGroup computes the object's response
//     path and allocates a map for every object of a response, and only a
//     deferred field ever joins the group; an object none of whose fields
//     is resolved concurrently gets the zero group, since only those can
//     be deferred (graphql.FieldSet.ResolveConcurrently), and the others
//     get gqlrun.DeferredGroup, which looks at their fields;
//   - an object's fields are marshalled by gqlrun.Fields, which writes
//     what graphql.FieldSet does without a map and two closures per
//     object;
//   - a leaf field (a scalar or an enum) whose value is a field of its
//     object's Go struct is marshalled straight from it, without
//     graphql.ResolveField, which makes a field context, a context, two
//     closures and a boxed value for every such field of a response. What
//     ResolveField adds for such a field is the recovery of a panic (a
//     struct field read does not panic), errors at the field's path (the
//     marshallers of a value, or of a nullable pointer, report none) and
//     the server's field middleware: these fields never reach field
//     middleware (handler.Server.AroundFields), and the subgraphs install
//     none (see graph/platform/service).
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
	"strings"

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
	name := cfg.Exec.Filename
	src, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if bytes.Contains(src, []byte(`"bookstore/graph/platform/gqlrun"`)) {
		return fmt.Errorf("%s is already rewritten: run go tool gqlgen generate first (make generate runs both)", name)
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

// rewrite makes the changes to a generated executable schema.
func rewrite(src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "generated.go", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	offset := func(p token.Pos) int { return fset.Position(p).Offset }
	scalarContexts := scalarFieldContexts(f)
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
		if call := deferredGroup(fn.Body); call != nil && defines(fn.Body, "fields") {
			group := "gqlrun.DeferredGroup(ctx, fields)"
			if !addressTaken(fn.Body, "deferred") {
				group = "graphql.DeferredGroup{}"
			}
			edits = append(edits, edit{offset(call.Pos()), offset(call.End()), group})
		}
		if ret := returnedFieldSet(fn.Body); ret != nil {
			edits = append(edits, edit{offset(ret.Pos()), offset(ret.End()), "gqlrun.Fields(fields, out)"})
		}
		if marshal, value, ok := plainLeaf(fn, scalarContexts); ok {
			edits = append(edits, edit{offset(fn.Body.Lbrace) + 1, offset(fn.Body.Rbrace),
				"\n\treturn ec." + marshal + "(ctx, field.Selections, obj." + value + ")\n"})
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
	edits = append(edits, edit{first, first, `"bookstore/graph/platform/gqlrun"` + "\n\t"})
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

// defines reports whether one of body's statements is name := ….
func defines(body *ast.BlockStmt, name string) bool {
	for _, st := range body.List {
		if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE && len(as.Lhs) == 1 && isIdent(as.Lhs[0], name) {
			return true
		}
	}
	return false
}

// returnedFieldSet returns the out of the last statement of an object's
// marshaller, `return out`, where out := graphql.NewFieldSet(fields) is
// one of body's statements; or nil.
func returnedFieldSet(body *ast.BlockStmt) ast.Expr {
	if len(body.List) == 0 {
		return nil
	}
	ret, ok := body.List[len(body.List)-1].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 || !isIdent(ret.Results[0], "out") {
		return nil
	}
	for _, st := range body.List {
		as, ok := st.(*ast.AssignStmt)
		if !ok || as.Tok != token.DEFINE || len(as.Lhs) != 1 || !isIdent(as.Lhs[0], "out") || len(as.Rhs) != 1 {
			continue
		}
		if call, ok := as.Rhs[0].(*ast.CallExpr); ok && isCall(call, "graphql", "NewFieldSet") &&
			len(call.Args) == 1 && isIdent(call.Args[0], "fields") {
			return ret.Results[0]
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

// scalarFieldContexts returns the names of the generated field-context
// functions of leaf fields: those returning graphql.NewScalarFieldContext.
func scalarFieldContexts(f *ast.File) map[string]bool {
	out := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || fn.Body == nil || len(fn.Body.List) != 1 {
			continue
		}
		if call := returnedCall(fn.Body); call != nil && isCall(call, "graphql", "NewScalarFieldContext") {
			out[fn.Name.Name] = true
		}
	}
	return out
}

// plainLeaf reports whether fn is the generated resolution of a leaf field
// read from a field of its object's struct:
//
//	func (ec *executionContext) _T_f(ctx context.Context, field graphql.CollectedField, obj *model.T) (ret graphql.Marshaler) {
//		return graphql.ResolveField(ctx, ec.OperationContext, field,
//			func(ctx context.Context, field graphql.CollectedField) (*graphql.FieldContext, error) {
//				return ec.fieldContext_T_f(ctx, field) // returns graphql.NewScalarFieldContext(...)
//			},
//			func(ctx context.Context) (any, error) { return obj.F, nil },
//			nil, // no directives
//			func(ctx context.Context, selections ast.SelectionSet, v V) graphql.Marshaler {
//				return ec.marshalM(ctx, selections, v)
//			},
//			true, nonNull)
//	}
//
// where V is a value type, or a pointer with a nullable (marshalO…)
// marshaller. It returns the marshaller's name and the struct field's.
func plainLeaf(fn *ast.FuncDecl, scalarContexts map[string]bool) (marshal, value string, ok bool) {
	if fn.Recv == nil || fn.Body == nil || len(fn.Body.List) != 1 || fn.Type.Params.NumFields() != 3 {
		return "", "", false
	}
	if p := fn.Type.Params.List; len(p) != 3 || p[0].Names[0].Name != "ctx" || p[1].Names[0].Name != "field" || p[2].Names[0].Name != "obj" {
		return "", "", false
	}
	call := returnedCall(fn.Body)
	if call == nil || !isCall(call, "graphql", "ResolveField") || len(call.Args) != 9 {
		return "", "", false
	}
	// The field context: a leaf's.
	fc, ok := call.Args[3].(*ast.FuncLit)
	if !ok {
		return "", "", false
	}
	fcCall := returnedCall(fc.Body)
	if fcCall == nil || !isMethodCall(fcCall, "ec") || !scalarContexts[fcCall.Fun.(*ast.SelectorExpr).Sel.Name] {
		return "", "", false
	}
	// The resolver: obj.F, nil.
	res, ok := call.Args[4].(*ast.FuncLit)
	if !ok || len(res.Body.List) != 1 {
		return "", "", false
	}
	ret, ok := res.Body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 2 || !isIdent(ret.Results[1], "nil") {
		return "", "", false
	}
	sel, ok := ret.Results[0].(*ast.SelectorExpr)
	if !ok || !isIdent(sel.X, "obj") {
		return "", "", false
	}
	// No directives.
	if !isIdent(call.Args[5], "nil") {
		return "", "", false
	}
	// The marshaller: of a value, or a nullable one of a pointer.
	m, ok := call.Args[6].(*ast.FuncLit)
	if !ok || m.Type.Params.NumFields() != 3 {
		return "", "", false
	}
	mCall := returnedCall(m.Body)
	if mCall == nil || !isMethodCall(mCall, "ec") || len(mCall.Args) != 3 ||
		!isIdent(mCall.Args[0], "ctx") || !isIdent(mCall.Args[1], "selections") || !isIdent(mCall.Args[2], "v") {
		return "", "", false
	}
	name := mCall.Fun.(*ast.SelectorExpr).Sel.Name
	switch m.Type.Params.List[len(m.Type.Params.List)-1].Type.(type) {
	case *ast.Ident, *ast.SelectorExpr:
	case *ast.StarExpr:
		if !strings.HasPrefix(name, "marshalO") {
			return "", "", false
		}
	default:
		return "", "", false
	}
	return name, sel.Sel.Name, true
}

// returnedCall returns the call of a body that is one return statement of
// one call, or nil.
func returnedCall(body *ast.BlockStmt) *ast.CallExpr {
	if body == nil || len(body.List) != 1 {
		return nil
	}
	ret, ok := body.List[0].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 1 {
		return nil
	}
	call, _ := ret.Results[0].(*ast.CallExpr)
	return call
}

// isMethodCall reports whether call calls a method of the variable recv.
func isMethodCall(call *ast.CallExpr, recv string) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && isIdent(sel.X, recv)
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}
