package generator

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/google/go-cmp/cmp"
)

// directSources hold a DIRECT service whose request reaches tensors in
// every way a message can: its own fields, nested singular messages two
// levels deep, a oneof, a message of another package, a recursive message,
// and fields that the checks do not follow.
var directSources = map[string]string{
	"shared/v1/types.proto": `syntax = "proto3";
package shared.v1;
import "goai/v1/options.proto";
option go_package = "example.com/shared/v1;sharedv1";

message Features {
  repeated float values = 1 [(goai.v1.tensor) = {shape: [4]}];
}
`,
	"store/v1/store.proto": `syntax = "proto3";
package store.v1;
import "goai/v1/options.proto";
import "google/protobuf/timestamp.proto";
import "shared/v1/types.proto";
option go_package = "example.com/store/v1;storev1";

message PutRequest {
  Inner inner = 1;
  oneof pick {
    Leaf leaf = 2;
    shared.v1.Features features = 3;
  }
  repeated Inner many = 4;
  map<string, Inner> by_name = 5;
  PutRequest next = 6;
  google.protobuf.Timestamp at = 7;
  repeated float any = 8 [(goai.v1.tensor) = {shape: [-1]}];
  repeated float pair = 9 [(goai.v1.tensor) = {shape: [1, -1, 2]}];
  float scalar = 10 [(goai.v1.tensor) = {}];
}

message Inner {
  Leaf leaf = 1;
  bytes raw = 2 [(goai.v1.tensor) = {dtype: INT16, shape: [-1]}];
  repeated int64 free = 3 [(goai.v1.tensor) = {}];
}

message Leaf {
  repeated string words = 1 [(goai.v1.tensor) = {shape: [3]}];
}

message Ack {}

service Store {
  option (goai.v1.model) = {protocol: PROTOCOL_DIRECT};
  rpc Put(PutRequest) returns (Ack);
  rpc Ping(Ack) returns (Ack);
  rpc Watch(Ack) returns (stream PutRequest);
}
`,
}

func TestDirectChecks(t *testing.T) {
	resolver := protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(directSources)},
		&protocompile.SourceResolver{ImportPaths: importPaths},
	}
	resp, err := generate(t, request(t, resolver, "", "shared/v1/types.proto", "store/v1/store.proto"))
	if err != nil {
		t.Fatal(err)
	}
	var store string
	for _, f := range resp.File {
		if _, err := parser.ParseFile(token.NewFileSet(), f.GetName(), f.GetContent(), 0); err != nil {
			t.Errorf("%s: %v", f.GetName(), err)
		}
		if f.GetName() == "example.com/store/v1/store_goai.pb.go" {
			store = f.GetContent()
		}
	}

	want := `func (c *StoreModelClient) checkPut(in *PutRequest) error {
	if err := goaiimpl.CheckTensorLength(&PutRequestTensors[1], len(in.GetPair())); err != nil {
		return err
	}
	if m1 := in.GetInner(); m1 != nil {
		if err := goaiimpl.CheckRawTensorLength(&InnerTensors[0], len(m1.GetRaw())); err != nil {
			return err
		}
		if m2 := m1.GetLeaf(); m2 != nil {
			if err := goaiimpl.CheckTensorLength(&LeafTensors[0], len(m2.GetWords())); err != nil {
				return err
			}
		}
	}
	if m1 := in.GetLeaf(); m1 != nil {
		if err := goaiimpl.CheckTensorLength(&LeafTensors[0], len(m1.GetWords())); err != nil {
			return err
		}
	}
	if m1 := in.GetFeatures(); m1 != nil {
		if err := goaiimpl.CheckTensorLength(&v1.FeaturesTensors[0], len(m1.GetValues())); err != nil {
			return err
		}
	}
	return nil
}
`
	start := strings.Index(store, "func (c *StoreModelClient) checkPut(")
	if start < 0 {
		t.Fatalf("no checkPut in:\n%s", store)
	}
	got := store[start:]
	got = got[:strings.Index(got, "\n}\n")+3]
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checkPut (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		"goaiimpl.CallDirect(ctx, c.client, &StoreModel.Methods[0], in, c.checkPut, c.stub.Put, opts...)",
		"goaiimpl.CallDirect(ctx, c.client, &StoreModel.Methods[1], in, nil, c.stub.Ping, opts...)",
		"stub: NewStoreClient(goaiimpl.Conn(client))",
		"call Watch on the StoreClient of NewStoreClient",
	} {
		if !strings.Contains(store, want) {
			t.Errorf("store_goai.pb.go lacks %s", want)
		}
	}
	for _, unwanted := range []string{"checkPing", "checkWatch", ") Watch(", "CheckModel", "Batch", "Fake"} {
		if strings.Contains(store, unwanted) {
			t.Errorf("store_goai.pb.go has %s", unwanted)
		}
	}
}
