package generator

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/pluginpb"
)

// TestNoDeadCode parses everything generated for the test protos, with and
// without fakes, and checks that every unexported function is called: the
// mappers a file declares are exactly those its package uses.
func TestNoDeadCode(t *testing.T) {
	files := findProtos(t, protoRoot, ".", "invalid")
	for _, opts := range []Options{{Fakes: true}, {Fakes: false}} {
		resp, err := generateWith(t, testProtos(t, "module=github.com/goai-dev/goai", files...), opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range parsePackages(t, resp) {
			declared := map[string]bool{}
			mentions := map[string]int{} // the declaration is one
			for _, f := range pkg {
				for _, d := range f.Decls {
					if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && !ast.IsExported(fn.Name.Name) {
						declared[fn.Name.Name] = true
					}
				}
				ast.Inspect(f, func(n ast.Node) bool {
					if id, ok := n.(*ast.Ident); ok {
						mentions[id.Name]++
					}
					return true
				})
			}
			for name := range declared {
				if mentions[name] < 2 {
					t.Errorf("fakes=%v: %s is declared but not used", opts.Fakes, name)
				}
			}
		}
	}
}

// TestWithoutFakes checks that fakes=false leaves out the fake packages,
// and only them: every other file is the same byte for byte, and none of
// them, with fakes or without, imports inferencetest, so that production
// code never links the test server.
func TestWithoutFakes(t *testing.T) {
	files := findProtos(t, protoRoot, ".", "invalid")
	with, err := generateWith(t, testProtos(t, "module=github.com/goai-dev/goai", files...), Options{Fakes: true})
	if err != nil {
		t.Fatal(err)
	}
	without, err := generateWith(t, testProtos(t, "module=github.com/goai-dev/goai", files...), Options{Fakes: false})
	if err != nil {
		t.Fatal(err)
	}
	withFiles := map[string]string{}
	fakes := 0
	for _, f := range with.File {
		if strings.HasSuffix(f.GetName(), fakeFileSuffix) {
			fakes++
			continue
		}
		withFiles[f.GetName()] = f.GetContent()
	}
	if fakes == 0 {
		t.Fatal("no fake files with fakes=true")
	}
	if len(without.File) != len(withFiles) {
		t.Fatalf("%d files without fakes, %d besides the fakes with them", len(without.File), len(withFiles))
	}
	fset := token.NewFileSet()
	for _, f := range without.File {
		content := f.GetContent()
		if strings.HasSuffix(f.GetName(), fakeFileSuffix) {
			t.Errorf("fakes=false wrote %s", f.GetName())
		}
		if content != withFiles[f.GetName()] {
			t.Errorf("%s differs with fakes and without", f.GetName())
		}
		file, err := parser.ParseFile(fset, f.GetName(), content, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); strings.HasSuffix(path, "/inferencetest") {
				t.Errorf("%s imports %s", f.GetName(), path)
			}
		}
	}
}

// parsePackages parses the generated files of resp, grouped by directory.
func parsePackages(t *testing.T, resp *pluginpb.CodeGeneratorResponse) map[string][]*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string][]*ast.File{}
	for _, f := range resp.File {
		file, err := parser.ParseFile(fset, f.GetName(), f.GetContent(), parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("%s: %v", f.GetName(), err)
		}
		dir := f.GetName()[:strings.LastIndexByte(f.GetName(), '/')]
		pkgs[dir] = append(pkgs[dir], file)
	}
	return pkgs
}
