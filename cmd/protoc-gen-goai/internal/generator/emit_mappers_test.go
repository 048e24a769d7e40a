package generator

import (
	"path"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// utf8Sources hold string tensors under every rule protobuf has for
// UTF-8: proto3 checks it, proto2 does not, editions check it unless
// features.utf8_validation = NONE on the field or the file (the feature
// is allowed nowhere else).
var utf8Sources = map[string]string{
	"utf8/proto3.proto": `syntax = "proto3";
package utf8.v1;
import "goai/v1/options.proto";
option go_package = "example.com/utf8/v1;utf8v1";
message P3 {
  string one = 1 [(goai.v1.tensor) = {}];
  repeated string many = 2 [(goai.v1.tensor) = {}];
  optional string maybe = 3 [(goai.v1.tensor) = {}];
  bytes raw = 4 [(goai.v1.tensor) = {dtype: BYTES}];
}
service S3 {
  option (goai.v1.model) = {name: "s3"};
  rpc Echo(P3) returns (P3);
}
`,
	"utf8/proto2.proto": `syntax = "proto2";
package utf8.v1;
import "goai/v1/options.proto";
option go_package = "example.com/utf8/v1;utf8v1";
message P2 {
  optional string one = 1 [(goai.v1.tensor) = {}];
  repeated string many = 2 [(goai.v1.tensor) = {}];
}
service S2 {
  option (goai.v1.model) = {name: "s2"};
  rpc Echo(P2) returns (P2);
}
`,
	"utf8/editions.proto": `edition = "2023";
package utf8.v1;
import "goai/v1/options.proto";
option go_package = "example.com/utf8/v1;utf8v1";
message E {
  string checked = 1 [(goai.v1.tensor) = {}];
  string unchecked = 2 [features.utf8_validation = NONE, (goai.v1.tensor) = {}];
  repeated string many_unchecked = 3 [features.utf8_validation = NONE, (goai.v1.tensor) = {}];
}
message Other {
  repeated string many = 1 [(goai.v1.tensor) = {}];
  message Inner {
    string nested = 1;
    string nested_unchecked = 2 [features.utf8_validation = NONE];
  }
}
service SE {
  option (goai.v1.model) = {name: "se"};
  rpc Echo(E) returns (Other);
}
`,
	"utf8/editions_none.proto": `edition = "2023";
package utf8.none.v1;
import "goai/v1/options.proto";
option features.utf8_validation = NONE;
option go_package = "example.com/utf8/none/v1;utf8nonev1";
message N {
  string text = 1 [(goai.v1.tensor) = {}];
  string strict = 2 [features.utf8_validation = VERIFY, (goai.v1.tensor) = {}];
}
service SN {
  option (goai.v1.model) = {name: "sn"};
  rpc Echo(N) returns (N);
}
`,
}

// TestEnforcesUTF8 checks enforcesUTF8 against what protobuf-go does: it
// must be true exactly for the string fields whose invalid UTF-8 makes
// proto.Marshal fail.
func TestEnforcesUTF8(t *testing.T) {
	req := utf8Request(t)
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range gen.Files {
		if !f.Generate {
			continue
		}
		var walk func([]*protogen.Message)
		walk = func(msgs []*protogen.Message) {
			for _, m := range msgs {
				walk(m.Messages)
				for _, field := range m.Fields {
					fd := field.Desc
					if fd.Kind() != protoreflect.StringKind {
						if enforcesUTF8(fd) {
							t.Errorf("%s, of kind %v, enforces UTF-8", fd.FullName(), fd.Kind())
						}
						continue
					}
					msg := dynamicpb.NewMessage(m.Desc)
					bad := protoreflect.ValueOfString("\xff")
					if fd.IsList() {
						msg.Mutable(fd).List().Append(bad)
					} else {
						msg.Set(fd, bad)
					}
					_, err := proto.Marshal(msg)
					if got, want := enforcesUTF8(fd), err != nil; got != want {
						t.Errorf("%s: enforcesUTF8 = %v, but proto.Marshal of invalid UTF-8 gives %v", fd.FullName(), got, err)
					}
					checked++
				}
			}
		}
		walk(f.Messages)
	}
	if checked != 13 {
		t.Errorf("checked %d string fields, want 13", checked)
	}
}

// TestUTF8Decoders checks that the decoders check UTF-8 exactly for the
// fields that require it.
func TestUTF8Decoders(t *testing.T) {
	resp, err := generate(t, utf8Request(t))
	if err != nil {
		t.Fatal(err)
	}
	content := map[string]string{}
	for _, f := range resp.File {
		content[f.GetName()] = f.GetContent()
	}
	for file, wants := range map[string][]string{
		"example.com/utf8/v1/proto3_goai.pb.go": {
			"One:   goaiimpl.DecodeUTF8String(d.Tensor(0), i),",
			"Many:  goaiimpl.DecodeUTF8Strings(d.Tensor(1), i),",
			"Maybe: new(goaiimpl.DecodeUTF8String(d.Tensor(2), i)),",
			"Raw:   goaiimpl.DecodeString[[]byte](d.Tensor(3), i),",
		},
		"example.com/utf8/v1/proto2_goai.pb.go": {
			"One:  new(goaiimpl.DecodeString[string](d.Tensor(0), i)),",
			"Many: goaiimpl.DecodeStrings[string](d.Tensor(1), i),",
		},
		"example.com/utf8/v1/editions_goai.pb.go": {
			"Checked:       new(goaiimpl.DecodeUTF8String(d.Tensor(0), i)),",
			"Unchecked:     new(goaiimpl.DecodeString[string](d.Tensor(1), i)),",
			"ManyUnchecked: goaiimpl.DecodeStrings[string](d.Tensor(2), i),",
			"Many: goaiimpl.DecodeUTF8Strings(d.Tensor(0), i),",
		},
		"example.com/utf8/none/v1/editions_none_goai.pb.go": {
			"Text:   new(goaiimpl.DecodeString[string](d.Tensor(0), i)),",
			"Strict: new(goaiimpl.DecodeUTF8String(d.Tensor(1), i)),",
		},
	} {
		got, ok := content[file]
		if !ok {
			t.Errorf("no %s among %d files", file, len(resp.File))
			continue
		}
		// The decoders of a request's fields are the fake's, in the fake
		// package's file.
		got += content[fakeFileOf(file)]
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s lacks %s", file, want)
			}
		}
	}
}

func utf8Request(t *testing.T) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	resolver := protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(utf8Sources)},
		&protocompile.SourceResolver{ImportPaths: importPaths},
	}
	return request(t, resolver, "", "utf8/proto3.proto", "utf8/proto2.proto", "utf8/editions.proto", "utf8/editions_none.proto")
}

// fakeFileOf returns the name of the fake file beside name, a file of
// package <pkg>: dir/<pkg>goaitest/<base>_goaitest.pb.go. The package is
// the directory's last element with its version, as in the test protos'
// go_package options (utf8/v1 is utf8v1).
func fakeFileOf(name string) string {
	dir, base := path.Split(name)
	parts := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	pkg := parts[len(parts)-2] + parts[len(parts)-1]
	return dir + pkg + fakePackageSuffix + "/" + strings.TrimSuffix(base, fileSuffix) + fakeFileSuffix
}
