package generator

import (
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/wellknownimports"
	"google.golang.org/protobuf/types/pluginpb"
)

// standardImports are the files that protocompile's standard imports provide
// (protocompile v0.14.1, std_imports.go), as protoc ships them: the
// well-known types, descriptor.proto (proto2, extension ranges), plugin.proto
// and the editions feature files.
var standardImports = []string{
	"google/protobuf/any.proto",
	"google/protobuf/api.proto",
	"google/protobuf/compiler/plugin.proto",
	"google/protobuf/cpp_features.proto",
	"google/protobuf/descriptor.proto",
	"google/protobuf/duration.proto",
	"google/protobuf/empty.proto",
	"google/protobuf/field_mask.proto",
	"google/protobuf/go_features.proto",
	"google/protobuf/java_features.proto",
	"google/protobuf/source_context.proto",
	"google/protobuf/struct.proto",
	"google/protobuf/timestamp.proto",
	"google/protobuf/type.proto",
	"google/protobuf/wrappers.proto",
}

// TestStandardImports runs the generator over every standard import: files
// that goai must read without failing, and without writing anything.
func TestStandardImports(t *testing.T) {
	// From source, with source info, as protoc reads them; go_features.proto
	// has no source there and comes from protocompile's built-in descriptor.
	resolver := wellknownimports.WithStandardImports(&protocompile.SourceResolver{})
	for _, name := range standardImports {
		t.Run(name, func(t *testing.T) {
			req := request(t, resolver, "", name)
			// Some feature files have no go_package; give them an import
			// path, as a user of protoc would with M.
			var params []string
			for _, f := range req.ProtoFile {
				if f.GetOptions().GetGoPackage() == "" {
					params = append(params, "M"+f.GetName()+"=example.com/"+strings.TrimSuffix(f.GetName(), ".proto"))
				}
			}
			req.Parameter = new(strings.Join(params, ","))
			resp, err := generate(t, req)
			if err != nil {
				t.Fatalf("error for a file without annotations: %v", err)
			}
			for _, f := range resp.File {
				t.Errorf("wrote %s for a file without annotations", f.GetName())
			}
		})
	}
}

// editionsSources are editions files, which Debian's protoc 3.21 cannot
// read, so they live here rather than in testdata/protos.
var editionsSources = map[string]string{
	"editions/plain.proto": `edition = "2023";

package editions.v1;

option features.field_presence = IMPLICIT;
option go_package = "example.com/editions/v1;editionsv1";

message Sample {
  repeated float values = 1;
  string label = 2 [features.field_presence = EXPLICIT];
  Inner inner = 3 [features.message_encoding = DELIMITED];

  message Inner {
    int32 n = 1;
  }
}

service Sampler {
  rpc Next(Sample) returns (Sample);
}
`,
	"editions/annotated.proto": `edition = "2023";

package editions.v1;

import "goai/v1/options.proto";

option go_package = "example.com/editions/v1;editionsv1";

message Features {
  repeated float values = 1 [(goai.v1.tensor) = {shape: [-1]}];
  int32 count = 2 [(goai.v1.tensor) = {dtype: INT16}];
}

message Scores {
  repeated double scores = 1 [(goai.v1.tensor) = {}];
}

service Scorer {
  option (goai.v1.model) = {name: "scorer"};
  rpc Score(Features) returns (Scores);
}
`,
	"editions/delimited.proto": `edition = "2023";

package editions.v1;

import "goai/v1/options.proto";

option go_package = "example.com/editions/v1;editionsv1";

message Inner {
  int32 n = 1;
}

message Outer {
  // A delimited message field is a group on the wire: no tensor.
  Inner inner = 1 [features.message_encoding = DELIMITED, (goai.v1.tensor) = {}];
}
`,
}

func editionsRequest(t *testing.T, name string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	resolver := protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(editionsSources)},
		&protocompile.SourceResolver{ImportPaths: importPaths},
	}
	return request(t, resolver, "", name)
}

func TestEditions(t *testing.T) {
	resp, err := generate(t, editionsRequest(t, "editions/plain.proto"))
	if err != nil || len(resp.File) > 0 {
		t.Errorf("plain.proto: %d files, error %v; want none", len(resp.File), err)
	}

	resp, err = generate(t, editionsRequest(t, "editions/annotated.proto"))
	if err != nil {
		t.Fatalf("annotated.proto: %v", err)
	}
	main := mainFile(t, resp)
	all := allContent(resp)
	if got, want := main.GetName(), "example.com/editions/v1/annotated_goai.pb.go"; got != want {
		t.Errorf("annotated.proto: wrote %s, want %s", got, want)
	}
	for _, want := range []string{
		`{Name: "values", Field: "values", DType: tensor.FP32, Shape: []int64{-1}}`,
		`{Name: "count", Field: "count", DType: tensor.Int16}`,
		`{Name: "scores", Field: "scores", DType: tensor.FP64, Shape: []int64{-1}}`,
		`Inputs:     FeaturesTensors,`,
		// Editions fields have explicit presence by default: a pointer.
		`Count:  new(goaiimpl.DecodeScalar[int32](d.Tensor(1), i)),`,
		`batch[i] = &v1.Features{`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("annotated_goai.pb.go and its fake lack %s", want)
		}
	}

	// The opaque API has no exported fields: decoders use the builders.
	req := editionsRequest(t, "editions/annotated.proto")
	req.Parameter = new("default_api_level=API_OPAQUE")
	resp, err = generate(t, req)
	if err != nil {
		t.Fatalf("annotated.proto, opaque: %v", err)
	}
	all = allContent(resp)
	for _, want := range []string{
		"batch[i] = v1.Features_builder{\n",
		"Count:  new(goaiimpl.DecodeScalar[int32](d.Tensor(1), i)),\n\t\t}.Build()",
		"goaiimpl.AppendScalar(e.Tensor(1), x.GetCount())",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("opaque annotated_goai.pb.go and its fake lack %s", want)
		}
	}

	_, err = generate(t, editionsRequest(t, "editions/delimited.proto"))
	want := "editions/delimited.proto:15:59: editions.v1.Outer.inner: field type editions.v1.Inner is a message, which cannot hold a tensor; annotate the fields of editions.v1.Inner instead"
	if err == nil || err.Error() != want {
		t.Errorf("delimited.proto: error\n%v\nwant\n%s", err, want)
	}
}
