package goai_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestAPIIsTheUsers checks that package goai's documentation shows only
// what users call: the plumbing of generated code lives in goaiimpl, and
// no exported declaration names a type of a dependency such as gobreaker's,
// which would tie goai's API to it.
func TestAPIIsTheUsers(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/goai-dev/goai")
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]ast.Node{}
	for _, f := range p.Funcs {
		exported[f.Name] = f.Decl
	}
	for _, ty := range p.Types {
		exported[ty.Name] = ty.Decl
		for _, f := range append(ty.Funcs, ty.Methods...) {
			exported[ty.Name+"."+f.Name] = f.Decl
		}
	}
	for _, v := range append(p.Vars, p.Consts...) {
		for _, n := range v.Names {
			exported[n] = v.Decl
		}
	}
	if len(exported) < 50 {
		t.Fatalf("found %d exported names: the parse went wrong", len(exported))
	}
	for _, name := range []string{
		"Encoder", "Decoder", "EncodeFunc", "DecodeFunc", "Infer", "InferBatch", "InferBatcher", "NewInferBatcher",
		"ServeFake", "AppendTensor", "DecodeTensor", "CallDirect", "CheckTensorLength", "PlanBatches", "RunBatches",
		"NewCaller", "Caller", "Client.Invoke", "AttemptFunc", "Attempt", "SupportPackageIsVersion1",
	} {
		if _, ok := exported[name]; ok {
			t.Errorf("package goai exports %s, which is for generated code (package goaiimpl)", name)
		}
	}
	for name, decl := range exported {
		ast.Inspect(decl, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "gobreaker" || id.Name == "rate") {
					t.Errorf("%s names %s.%s in goai's API", name, id.Name, sel.Sel.Name)
				}
			}
			return true
		})
	}
}
