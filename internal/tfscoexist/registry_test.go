package tfscoexist

import (
	"strings"
	"testing"

	"github.com/goai-dev/goai/internal/tfspb"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	realtf "github.com/goai-dev/goai/internal/tfscoexist/realpb/tensorflow/core/framework"
)

// TestBothRegistered is the coexistence this package exists for: its
// binary links goai's private copy and the real stubs, and protobuf-go,
// which panics at init on a conflicting registration, let both in, each
// under its own names.
func TestBothRegistered(t *testing.T) {
	for _, path := range []string{
		"goai/internal/tfs/v1/tensor.proto",
		"tensorflow/core/framework/tensor.proto",
		"tensorflow_serving/apis/predict.proto",
		"goai/internal/tfs/v1/predict.proto",
	} {
		if _, err := protoregistry.GlobalFiles.FindFileByPath(path); err != nil {
			t.Errorf("%s is not registered: %v", path, err)
		}
	}
	for name, want := range map[protoreflect.FullName]protoreflect.Descriptor{
		"tensorflow.TensorProto":           (&realtf.TensorProto{}).ProtoReflect().Descriptor(),
		"goai.internal.tfs.v1.TensorProto": (&tfspb.TensorProto{}).ProtoReflect().Descriptor(),
	} {
		got, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
		if err != nil || got != want {
			t.Errorf("%s resolves to %v (%v), want the one of %s", name, got, err, want.ParentFile().Path())
		}
	}
}

// TestRegistryCatchesConflicts shows the check above could fail: a copy
// of the real protos under the real package, which is what goai avoids,
// conflicts with the real stubs, while goai's files and the real ones,
// registered together from scratch, do not.
func TestRegistryCatchesConflicts(t *testing.T) {
	var files protoregistry.Files
	register := func(fd protoreflect.FileDescriptor) error {
		return files.RegisterFile(fd)
	}
	// Every file either side brings, dependencies first.
	var all []protoreflect.FileDescriptor
	seen := map[string]bool{}
	var walk func(fd protoreflect.FileDescriptor)
	walk = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := range fd.Imports().Len() {
			walk(fd.Imports().Get(i).FileDescriptor)
		}
		all = append(all, fd)
	}
	for _, fd := range ourFiles {
		walk(fd)
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if strings.HasPrefix(fd.Path(), "tensorflow") {
			walk(fd)
		}
		return true
	})
	for _, fd := range all {
		if err := register(fd); err != nil {
			t.Fatalf("registering %s: %v", fd.Path(), err)
		}
	}
	// A private copy that kept the real package: same names, other path.
	clash := &descriptorpb.FileDescriptorProto{
		Name:        new("clash/tensor.proto"),
		Package:     new("tensorflow"),
		Syntax:      new("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: new("TensorProto")}},
	}
	fd, err := protodesc.NewFile(clash, &files)
	if err != nil {
		t.Fatal(err)
	}
	if err := register(fd); err == nil || !strings.Contains(err.Error(), "tensorflow.TensorProto") {
		t.Errorf("a copy under the real package registered: %v", err)
	}
}
