package testgen

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestProductionPackagesLinkNoTestServer checks, with go list -deps, that
// no generated client package depends on package inferencetest or grpc's
// bufconn, which only the generated fake packages (<pkg>goaitest) may
// link: production code that imports a client must not carry the test
// server. The fake packages are checked to depend on it, so that the test
// cannot pass by looking at the wrong packages.
func TestProductionPackagesLinkNoTestServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var clients, fakes []string
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case strings.HasSuffix(pkg, "goaitest"):
			fakes = append(fakes, pkg)
		case strings.HasSuffix(pkg, "/v1"):
			clients = append(clients, pkg)
		}
	}
	if len(clients) < 5 || len(fakes) < 3 {
		t.Fatalf("found %d client and %d fake packages: %v %v", len(clients), len(fakes), clients, fakes)
	}
	forbidden := []string{"github.com/goai-dev/goai/inferencetest", "google.golang.org/grpc/test/bufconn"}
	for _, pkg := range append(clients, fakes...) {
		deps, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		list := strings.Fields(string(deps))
		for _, f := range forbidden {
			has := slices.Contains(list, f)
			if fake := strings.HasSuffix(pkg, "goaitest"); has != fake {
				t.Errorf("%s depends on %s: %v, want %v", pkg, f, has, fake)
			}
		}
	}
}
