package generator

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/pluginpb"
)

// The tests run the generator in process, as protoc would run the plugin:
// protocompile compiles the .proto files (with the standard source info that
// protoc and buf also produce), the descriptors go into a
// CodeGeneratorRequest, and protogen builds the plugin from it.

// protoRoot is the import root of the test protos; their paths are
// relative to it, as buf names them.
const protoRoot = repoRoot + "/testdata/protos"

// importPaths are the roots imports resolve in: goai/v1/options.proto
// lives in ../proto. Standard imports (google/protobuf/*.proto) are built in.
var importPaths = []string{repoRoot + "/proto", protoRoot}

// request compiles files, named relative to resolver's roots, into a
// request to generate them with the plugin parameter param.
func request(t *testing.T, resolver protocompile.Resolver, param string, files ...string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(resolver),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	linked, err := c.Compile(context.Background(), files...)
	if err != nil {
		t.Fatalf("compiling %v: %v", files, err)
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: files, Parameter: proto.String(param)}
	seen := map[string]bool{}
	var add func(protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) { // dependencies first, as protoc orders them
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := range fd.Imports().Len() {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(fd))
	}
	for _, fd := range linked {
		add(fd)
	}
	return viaWire(t, req)
}

// viaWire returns req as the plugin receives it, through the wire, as
// protoc sends it: options then arrive decoded by the registered goai.v1
// extensions, whatever form protocompile or a test kept them in.
func viaWire(t *testing.T, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	req = new(pluginpb.CodeGeneratorRequest)
	if err := proto.Unmarshal(b, req); err != nil {
		t.Fatal(err)
	}
	return req
}

// testProtos returns a request for files under protoRoot.
func testProtos(t *testing.T, param string, files ...string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	return request(t, &protocompile.SourceResolver{ImportPaths: importPaths}, param, files...)
}

// defaults are protoc-gen-goai's default parameters.
var defaults = Options{Fakes: true}

// generate runs the generator with the default parameters over every file
// of req to generate, as cmd/protoc-gen-goai does, and returns the
// response and the joined errors.
// mainFile returns the one <name>_goai.pb.go file of resp, for a request
// of one annotated file; the fake package's file is left aside.
func mainFile(t *testing.T, resp *pluginpb.CodeGeneratorResponse) *pluginpb.CodeGeneratorResponse_File {
	t.Helper()
	var main *pluginpb.CodeGeneratorResponse_File
	for _, f := range resp.GetFile() {
		if strings.HasSuffix(f.GetName(), fakeFileSuffix) {
			continue
		}
		if main != nil {
			t.Fatalf("two files: %s and %s", main.GetName(), f.GetName())
		}
		main = f
	}
	if main == nil {
		t.Fatalf("no %s file among %d", fileSuffix, len(resp.GetFile()))
	}
	return main
}

// allContent returns the content of every file of resp, one after another,
// for tests that look for code in a file or its fake package's.
func allContent(resp *pluginpb.CodeGeneratorResponse) string {
	var b strings.Builder
	for _, f := range resp.GetFile() {
		b.WriteString(f.GetContent())
	}
	return b.String()
}

func generate(t *testing.T, req *pluginpb.CodeGeneratorRequest) (*pluginpb.CodeGeneratorResponse, error) {
	t.Helper()
	return generateWith(t, req, defaults)
}

// generateWith is generate with the parameters opts. The protos it is
// given must draw no warnings: it fails the test on any.
func generateWith(t *testing.T, req *pluginpb.CodeGeneratorRequest, opts Options) (*pluginpb.CodeGeneratorResponse, error) {
	t.Helper()
	resp, warnings, err := generateAll(t, req, opts)
	for _, w := range warnings {
		t.Errorf("unexpected warning: %s", w)
	}
	return resp, err
}

// generateAll is generateWith, returning the warnings too.
func generateAll(t *testing.T, req *pluginpb.CodeGeneratorRequest, opts Options) (_ *pluginpb.CodeGeneratorResponse, warnings []string, _ error) {
	t.Helper()
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatalf("protogen: %v", err)
	}
	var errs []error
	for _, f := range gen.Files {
		if f.Generate {
			w, err := GenerateFile(gen, f, opts)
			warnings = append(warnings, w...)
			errs = append(errs, err)
		}
	}
	resp := gen.Response()
	if resp.Error != nil {
		t.Fatalf("response error: %s", resp.GetError())
	}
	return resp, warnings, errors.Join(errs...)
}

// findProtos returns the .proto files under root/dir, relative to root,
// sorted, leaving out the directories in skip.
func findProtos(t *testing.T, root, dir string, skip ...string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && slices.Contains(skip, rel):
			return filepath.SkipDir
		case !d.IsDir() && filepath.Ext(path) == ".proto":
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}
