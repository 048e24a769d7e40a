package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// ownPackages are the only packages of the goai module the plugin may
// link: the generator, the annotation schema, and the command itself.
var ownPackages = []string{
	"github.com/goai-dev/goai/cmd/protoc-gen-goai",
	"github.com/goai-dev/goai/cmd/protoc-gen-goai/internal/generator",
	"github.com/goai-dev/goai/proto/goai/v1",
}

// TestDependencies checks that the plugin links nothing but the standard
// library, google.golang.org/protobuf and ownPackages: not the runtime
// that generated code calls, and so not grpc-go, gobreaker, x/time or
// float16 behind it, which would make the plugin large and its cold build
// slow. The generator mirrors what it needs of the runtime instead (see
// generator/model.go). Its tests may import the runtime; go list -deps
// without -test leaves them out.
func TestDependencies(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the plugin's dependencies: %v", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var deps []string
	for dep := range strings.FieldsSeq(string(out)) {
		deps = append(deps, dep)
		if !strings.HasPrefix(dep, "google.golang.org/protobuf/") && !slices.Contains(ownPackages, dep) {
			t.Errorf("protoc-gen-goai links %s; the plugin may link only the standard library, google.golang.org/protobuf and %v (mirror what the generator needs instead)", dep, ownPackages)
		}
	}
	for _, own := range ownPackages {
		if !slices.Contains(deps, own) {
			t.Errorf("go list -deps lacks %s, which the plugin links: the listing is wrong (%d packages)", own, len(deps))
		}
	}
}
