package generator

import (
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strconv"
	"testing"

	"github.com/goai-dev/goai"
	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
)

// The generator mirrors the runtime's types, constants and names rather
// than linking the runtime (see model.go). These tests hold the mirrors to
// what they mirror.

// TestDTypes checks that every goai.v1.DType but the unset one names the
// tensor.DType of the same spelling, through the constant that generated
// code refers to.
func TestDTypes(t *testing.T) {
	pkg := checkFile(t, repoRoot+"/tensor/dtype.go")
	for v, name := range goaiv1.DType_name {
		d := goaiv1.DType(v)
		if d == goaiv1.DType_DTYPE_UNSPECIFIED {
			if _, ok := dtypeNames[d]; ok {
				t.Error("dtypeNames names DTYPE_UNSPECIFIED")
			}
			continue
		}
		want, err := tensor.ParseDType(name)
		if err != nil {
			t.Errorf("goai.v1.DType %s: %v", name, err)
			continue
		}
		ident, ok := dtypeNames[d]
		if !ok {
			t.Errorf("dtypeNames has no name for %s", name)
			continue
		}
		if got := constValue(t, pkg, ident); got != int64(want) {
			t.Errorf("dtypeNames[%s] = tensor.%s, which is %d, want %s (%d)", name, ident, got, want, want)
		}
	}
	if len(dtypeNames) != len(goaiv1.DType_name)-1 {
		t.Errorf("dtypeNames has %d names, want %d", len(dtypeNames), len(goaiv1.DType_name)-1)
	}
}

// TestProtocolNames checks that protocolNames names the goai.Protocol
// constants.
func TestProtocolNames(t *testing.T) {
	want := map[protocol]goai.Protocol{
		protocolOpenInference: goai.ProtocolOpenInference,
		protocolDirect:        goai.ProtocolDirect,
		protocolTFServing:     goai.ProtocolTFServing,
	}
	if len(protocolNames) != len(want) {
		t.Errorf("protocolNames has %d names, want %d", len(protocolNames), len(want))
	}
	for p, rp := range want {
		if int(p) != int(rp) {
			t.Errorf("protocol %d is goai.Protocol %d", p, rp)
		}
		if got, want := protocolNames[p], "Protocol"+map[goai.Protocol]string{
			goai.ProtocolOpenInference: "OpenInference",
			goai.ProtocolDirect:        "Direct",
			goai.ProtocolTFServing:     "TFServing",
		}[rp]; got != want {
			t.Errorf("protocolNames[%v] = %q, want %q", rp, got, want)
		}
	}
}

// TestCodeNames checks codeNames against grpc-go: every code's number,
// google.rpc.Code spelling and Go constant, and that there is no other.
func TestCodeNames(t *testing.T) {
	for i, n := range codeNames {
		c := codes.Code(i)
		if got := c.String(); got != n.goName {
			t.Errorf("code %d is codes.%s, want codes.%s", i, got, n.goName)
		}
		var parsed codes.Code
		if err := parsed.UnmarshalJSON([]byte(strconv.Quote(n.proto))); err != nil || parsed != c {
			t.Errorf("grpc-go reads %q as %v (%v), want %v", n.proto, parsed, err, c)
		}
		if got, ok := parseCode(n.proto); !ok || got != code(i) {
			t.Errorf("parseCode(%q) = %d, %v; want %d", n.proto, got, ok, i)
		}
	}
	if s := codes.Code(len(codeNames)).String(); s != "Code("+strconv.Itoa(len(codeNames))+")" {
		t.Errorf("grpc-go knows code %d, %s, which codeNames lacks", len(codeNames), s)
	}
	for _, bad := range []string{"", "unavailable", "Unavailable", "14", "CANCELED"} {
		if _, ok := parseCode(bad); ok {
			t.Errorf("parseCode(%q) succeeds", bad)
		}
	}
}

// TestDefaults checks the runtime's limits and defaults that the checks
// rely on.
func TestDefaults(t *testing.T) {
	if maxElements != tensor.MaxElements {
		t.Errorf("maxElements = %d, tensor.MaxElements = %d", maxElements, tensor.MaxElements)
	}
	if defaultInitialBackoff != goai.DefaultInitialBackoff {
		t.Errorf("defaultInitialBackoff = %v, goai.DefaultInitialBackoff = %v", defaultInitialBackoff, goai.DefaultInitialBackoff)
	}
	if defaultMaxBackoff != goai.DefaultMaxBackoff {
		t.Errorf("defaultMaxBackoff = %v, goai.DefaultMaxBackoff = %v", defaultMaxBackoff, goai.DefaultMaxBackoff)
	}
}

// checkFile type-checks one file of a package, alone: enough for the
// constants it declares, and much faster than the whole package from
// source. Mistakes from the package's other files being absent are
// ignored; a constant that is missing fails constValue.
func checkFile(t *testing.T, path string) *types.Package {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	conf := types.Config{Importer: importer.Default(), Error: func(error) {}}
	pkg, _ := conf.Check(f.Name.Name, fset, []*ast.File{f}, nil)
	return pkg
}

// constValue returns the value of the integer constant name of pkg.
func constValue(t *testing.T, pkg *types.Package, name string) int64 {
	t.Helper()
	c, ok := pkg.Scope().Lookup(name).(*types.Const)
	if !ok {
		t.Fatalf("%s.%s is not a constant", pkg.Name(), name)
	}
	v, ok := constant.Int64Val(c.Val())
	if !ok {
		t.Fatalf("%s.%s = %v is not an integer", pkg.Name(), name, c.Val())
	}
	return v
}
