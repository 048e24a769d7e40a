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
		"func encodeSharedv1Features(e *goaiimpl.Encoder, batch []*v1.Features) {",
		"func decodeRating(",
		"goaiimpl.Infer(ctx, c.client, &ScorerModel.Methods[0], in, encodeSharedv1Features, decodeRating, opts...)",
	} {
		if !strings.Contains(a, want) {
			t.Errorf("a_goai.pb.go lacks %s", want)
		}
	}
	// The fakes' mappers, the other way round, in the fake package.
	fa, fb := got["example.com/scoring/v1/scoringv1goaitest/a_goaitest.pb.go"], got["example.com/scoring/v1/scoringv1goaitest/b_goaitest.pb.go"]
	for _, want := range []string{
		// The fake package imports two packages named v1: protogen names
		// the second v11.
		"func decodeSharedv1Features(d *goaiimpl.Decoder, batch []*v11.Features) {",
		"batch[i] = &v11.Features{",
		"func encodeRating(",
	} {
		if !strings.Contains(fa, want) {
			t.Errorf("a_goaitest.pb.go lacks %s", want)
		}
	}
	for name, f := range map[string]string{"b_goai.pb.go": b, "b_goaitest.pb.go": fb} {
		if strings.Contains(f, "func encode") || strings.Contains(f, "func decode") {
			t.Errorf("%s declares mappers that the file of a declares", name)
		}
	}
	if !strings.Contains(b, "goaiimpl.Infer(ctx, c.client, &RankerModel.Methods[0], in, encodeSharedv1Features, decodeRating, opts...)") {
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
