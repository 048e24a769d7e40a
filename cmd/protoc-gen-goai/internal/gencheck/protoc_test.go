// Package gencheck checks that protoc-gen-goai gives the same output under
// Debian's protoc as under buf, whose output is committed.
package gencheck

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// protoRoots are the buf module roots whose protos goai generates code for,
// relative to the repository root. testdata/protos/invalid is left out: it
// holds protos that must fail.
var protoRoots = []string{"testdata/protos", "examples/proto", "bench/proto"}

func TestProtocMatchesBuf(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("GOAI_REQUIRE_PROTOC") != "" {
			t.Fatal("protoc not found; install Debian's protobuf-compiler and libprotobuf-dev (make protoc)")
		}
		t.Skip("protoc not found; `make protoc` installs it")
	}
	repo, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(t.TempDir(), "protoc-gen-goai")
	build := exec.Command("go", "build", "-o", plugin, ".")
	build.Dir = filepath.Join(repo, "cmd", "protoc-gen-goai")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building protoc-gen-goai: %v\n%s", err, out)
	}

	checked := 0
	for _, root := range protoRoots {
		abs := filepath.Join(repo, root)
		files := protoFiles(t, abs)
		if len(files) == 0 {
			continue
		}
		out := t.TempDir()
		args := []string{
			"--plugin=protoc-gen-goai=" + plugin,
			"--goai_out=" + out,
			"--goai_opt=module=github.com/goai-dev/goai",
			"-I", abs,
			"-I", filepath.Join(repo, "proto"),
		}
		cmd := exec.Command(protoc, append(args, files...)...)
		cmd.Dir = abs
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("protoc over %s: %v\n%s", root, err, msg)
		}
		got := generatedFiles(t, out)
		if len(got) == 0 {
			t.Fatalf("protoc over %s produced no goai output", root)
		}
		for _, rel := range got {
			want, err := os.ReadFile(filepath.Join(repo, rel))
			if err != nil {
				t.Errorf("%s: protoc generated it, but buf's output is not committed: %v", rel, err)
				continue
			}
			have, err := os.ReadFile(filepath.Join(out, rel))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(have, want) {
				t.Errorf("%s: protoc output differs from the committed buf output", rel)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no goai output was compared")
	}
}

// protoFiles lists the .proto files below dir, relative to it, skipping
// the invalid ones.
func protoFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "invalid" {
			return fs.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// generatedFiles lists the files protoc wrote below dir, relative to it.
func generatedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
