package generator

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
)

// packageSources are three files: shared/v1 declares messages; two files
// of one Go package, scoring/v1, call models with them.
var packageSources = map[string]string{
	"shared/v1/types.proto": `syntax = "proto3";
package shared.v1;
import "goai/v1/options.proto";
option go_package = "example.com/shared/v1;sharedv1";

message Features {
  repeated float values = 1 [(goai.v1.tensor) = {shape: [4]}];
}
`,
	"scoring/v1/a.proto": `syntax = "proto3";
package scoring.v1;
import "goai/v1/options.proto";
import "shared/v1/types.proto";
option go_package = "example.com/scoring/v1;scoringv1";

message Rating {
  float value = 1 [(goai.v1.tensor) = {}];
}

service Scorer {
  option (goai.v1.model) = {name: "scorer", max_batch_size: 8};
  rpc Score(shared.v1.Features) returns (Rating);
}
`,
	"scoring/v1/b.proto": `syntax = "proto3";
package scoring.v1;
import "goai/v1/options.proto";
import "shared/v1/types.proto";
import "scoring/v1/a.proto";
option go_package = "example.com/scoring/v1;scoringv1";

service Ranker {
  option (goai.v1.model) = {name: "ranker"};
  rpc Rank(shared.v1.Features) returns (Rating);
}
`,
}

// TestMappersAcrossFiles checks that the mappers of a message are declared
// once per Go package, by the first file that needs them, whatever file
// and package the message comes from.
func TestMappersAcrossFiles(t *testing.T) {
	resolver := protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(packageSources)},
		&protocompile.SourceResolver{ImportPaths: importPaths},
	}
	resp, err := generate(t, request(t, resolver, "", "shared/v1/types.proto", "scoring/v1/a.proto", "scoring/v1/b.proto"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range resp.File {
		got[f.GetName()] = f.GetContent()
	}
	a, b := got["example.com/scoring/v1/a_goai.pb.go"], got["example.com/scoring/v1/b_goai.pb.go"]
	for _, want := range []string{
		"func encodeSharedv1Features(e *goai.Encoder, batch []*v1.Features) {",
		"func decodeSharedv1Features(d *goai.Decoder, batch []*v1.Features) {",
		"batch[i] = &v1.Features{",
		"func encodeRating(",
		"func decodeRating(",
		"goai.Infer(ctx, c.caller, &ScorerModel.Methods[0], in, encodeSharedv1Features, decodeRating, opts...)",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("a_goai.pb.go lacks %s", want)
		}
	}
	if strings.Contains(b, "func encode") || strings.Contains(b, "func decode") {
		t.Error("b_goai.pb.go declares mappers that a_goai.pb.go declares")
	}
	if !strings.Contains(b, "goai.Infer(ctx, c.caller, &RankerModel.Methods[0], in, encodeSharedv1Features, decodeRating, opts...)") {
		t.Error("b_goai.pb.go does not call a_goai.pb.go's mappers")
	}
	// The message's own package declares no mappers: no service there uses it.
	if shared := got["example.com/shared/v1/types_goai.pb.go"]; strings.Contains(shared, "func ") {
		t.Errorf("types_goai.pb.go declares functions:\n%s", shared)
	}
	for name, content := range got {
		if _, err := parser.ParseFile(token.NewFileSet(), name, content, 0); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
