package generator

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The golden files are the committed generated code itself,
// internal/testgen/**/*_goai.pb.go and the fake packages'
// *_goaitest.pb.go, which buf generate writes and the module compiles and
// vets: one copy, never out of step with what users get. go test
// ./generator -update rewrites them from the in-process run.
var update = flag.Bool("update", false, "rewrite the golden files, internal/testgen/**/*"+fileSuffix+" and *"+fakeFileSuffix)

// repoRoot is where output paths, relative to the module with
// module=github.com/goai-dev/goai as in buf.gen.yaml, start.
const repoRoot = "../../../.."

const goldenDir = "internal/testgen"

// unannotated are test protos without goai annotations: no output.
var unannotated = []string{
	"foreign/v1/legacy.proto",
	"plain/v1/feedback.proto",
}

func TestGolden(t *testing.T) {
	files := findProtos(t, protoRoot, ".", "invalid")
	resp, err := generate(t, testProtos(t, "module=github.com/goai-dev/goai", files...))
	if err != nil {
		t.Fatalf("generating %v:\n%v", files, err)
	}

	got := map[string]string{}
	for _, f := range resp.File {
		got[f.GetName()] = f.GetContent()
	}
	for _, name := range unannotated {
		prefix := goldenDir + "/" + strings.TrimSuffix(name, ".proto")
		for out := range got {
			if strings.HasPrefix(out, prefix) {
				t.Errorf("%s has no goai annotations, but got %s", name, out)
			}
		}
	}
	if main, _ := countFiles(got); main != len(files)-len(unannotated) {
		t.Errorf("got %d files for %d annotated protos", main, len(files)-len(unannotated))
	}

	committed := goldenFiles(t)
	for name, content := range got {
		path := filepath.Join(repoRoot, filepath.FromSlash(name))
		if *update {
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run go test ./generator -update)", name, err)
			continue
		}
		if diff := cmp.Diff(string(want), content); diff != "" {
			t.Errorf("%s is stale (-committed +generated); run go test ./generator -update:\n%s", name, diff)
		}
	}
	for _, name := range committed {
		if _, ok := got[name]; ok {
			continue
		}
		if *update {
			if err := os.Remove(filepath.Join(repoRoot, filepath.FromSlash(name))); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s is committed but no longer generated; run go test ./generator -update", name)
	}
}

// goldenFiles returns the committed generated files, relative to repoRoot.
func goldenFiles(t *testing.T) []string {
	t.Helper()
	var names []string
	root := filepath.Join(repoRoot, goldenDir)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, fileSuffix) && !strings.HasSuffix(path, fakeFileSuffix) {
			return err
		}
		rel, err := filepath.Rel(repoRoot, path)
		names = append(names, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}
