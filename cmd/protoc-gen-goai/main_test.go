package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/goai-dev/goai/cmd/protoc-gen-goai/internal/generator"
	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

func request(param string) *pluginpb.CodeGeneratorRequest {
	return &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{"goai/v1/options.proto"},
		Parameter:      new(param),
		ProtoFile: []*descriptorpb.FileDescriptorProto{
			protodesc.ToFileDescriptorProto(descriptorpb.File_google_protobuf_descriptor_proto),
			protodesc.ToFileDescriptorProto(goaiv1.File_goai_v1_options_proto),
		},
	}
}

// TestSupportedFeatures checks what the plugin declares to protoc, which
// refuses proto3 optional fields and editions files without it.
func TestSupportedFeatures(t *testing.T) {
	var opts generator.Options
	gen, err := options(&opts).New(request("paths=source_relative"))
	if err != nil {
		t.Fatal(err)
	}
	if err := generate(gen, opts, io.Discard); err != nil {
		t.Fatal(err)
	}
	resp := gen.Response()
	want := uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL | pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	if got := resp.GetSupportedFeatures(); got != want {
		t.Errorf("SupportedFeatures = %b, want %b", got, want)
	}
	if got, want := resp.GetMinimumEdition(), int32(descriptorpb.Edition_EDITION_PROTO2); got != want {
		t.Errorf("MinimumEdition = %d, want %d", got, want)
	}
	if got, want := resp.GetMaximumEdition(), int32(descriptorpb.Edition_EDITION_2024); got != want {
		t.Errorf("MaximumEdition = %d, want %d", got, want)
	}
	if len(resp.File) != 0 {
		t.Errorf("wrote %d files for options.proto, which has no goai annotations", len(resp.File))
	}
}

func TestFakesParameter(t *testing.T) {
	for _, tt := range []struct {
		param string
		want  bool
	}{
		{"", true},
		{"fakes=true", true},
		{"fakes=false", false},
		{"paths=source_relative,fakes=false", false},
	} {
		var opts generator.Options
		if _, err := options(&opts).New(request(tt.param)); err != nil {
			t.Errorf("%q: %v", tt.param, err)
			continue
		}
		if opts.Fakes != tt.want {
			t.Errorf("%q: Fakes = %v, want %v", tt.param, opts.Fakes, tt.want)
		}
	}
	var opts generator.Options
	if _, err := options(&opts).New(request("fakes=maybe")); err == nil || !strings.Contains(err.Error(), "fakes=maybe") {
		t.Errorf("fakes=maybe: err = %v, want one naming the parameter", err)
	}
}

func TestUnknownParameter(t *testing.T) {
	var opts generator.Options
	_, err := options(&opts).New(request("no_such_param=1"))
	if err == nil || !strings.Contains(err.Error(), "no_such_param") {
		t.Errorf("err = %v, want one naming no_such_param", err)
	}
}

func TestCommand(t *testing.T) {
	for _, tt := range []struct {
		args               []string
		code               int
		stdout, stderrPart string
	}{
		{[]string{"--version"}, 0, "protoc-gen-goai v0.1.0\n", ""},
		{[]string{"--help"}, 0, usage, ""},
		{[]string{"-h"}, 0, usage, ""},
		{[]string{"--bogus"}, 2, "", "Parameters"},
	} {
		var stdout, stderr bytes.Buffer
		code := command(tt.args, &stdout, &stderr)
		if code != tt.code || stdout.String() != tt.stdout || !strings.Contains(stderr.String(), tt.stderrPart) {
			t.Errorf("command(%q) = %d, stdout %q, stderr %q", tt.args, code, stdout.String(), stderr.String())
		}
	}
}

// TestWarningsToStderr checks that warnings go to stderr, one per line,
// while the file is generated: protoc and buf show a plugin's stderr, and
// a CodeGeneratorResponse has no place for warnings.
func TestWarningsToStderr(t *testing.T) {
	tensor := func(name string) *descriptorpb.FieldDescriptorProto {
		opts := &descriptorpb.FieldOptions{}
		proto.SetExtension(opts, goaiv1.E_Tensor, &goaiv1.TensorOptions{Shape: []int64{4}})
		return &descriptorpb.FieldDescriptorProto{
			Name: new(name), Number: new(int32(1)), JsonName: new(name), Options: opts,
			Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(),
			Type:  descriptorpb.FieldDescriptorProto_TYPE_FLOAT.Enum(),
		}
	}
	model := &descriptorpb.ServiceOptions{}
	proto.SetExtension(model, goaiv1.E_Model, &goaiv1.ModelOptions{
		Name: "m", MaxBatchSize: 8, Batching: &goaiv1.BatchingOptions{MaxDelay: "1s"},
	})
	call := &descriptorpb.MethodOptions{}
	proto.SetExtension(call, goaiv1.E_Call, &goaiv1.CallOptions{Timeout: "10ms"})
	file := &descriptorpb.FileDescriptorProto{
		Name: new("w/v1/w.proto"), Package: new("w.v1"), Syntax: new("proto3"),
		Dependency: []string{"goai/v1/options.proto"},
		Options:    &descriptorpb.FileOptions{GoPackage: new("example.com/w/v1;wv1")},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: new("In"), Field: []*descriptorpb.FieldDescriptorProto{tensor("x")}},
			{Name: new("Out"), Field: []*descriptorpb.FieldDescriptorProto{tensor("y")}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: new("S"), Options: model,
			Method: []*descriptorpb.MethodDescriptorProto{{Name: new("Run"), InputType: new(".w.v1.In"), OutputType: new(".w.v1.Out"), Options: call}},
		}},
	}
	req := request("")
	req.FileToGenerate = []string{"w/v1/w.proto"}
	req.ProtoFile = append(req.ProtoFile, file)

	var opts generator.Options
	gen, err := options(&opts).New(req)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if err := generate(gen, opts, &stderr); err != nil {
		t.Fatal(err)
	}
	if n := len(gen.Response().File); n != 2 {
		t.Errorf("wrote %d files, want the client's and the fake's: a warning does not stop generation", n)
	}
	want := `w/v1/w.proto: w.v1.S: warning: batching.max_delay "1s" is longer than the timeout "10ms" of rpc Run`
	if got := stderr.String(); !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 {
		t.Errorf("stderr = %q, want one line starting %q", got, want)
	}
}
