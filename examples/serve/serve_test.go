package serve

import (
	"context"
	"slices"
	"testing"

	llmv1 "github.com/goai-dev/goai/examples/gen/llm/v1"
	"github.com/goai-dev/goai/examples/models/textgen"
	"github.com/goai-dev/goai/inferencetest"
)

// TestTextGenModelStreamsTheModelsTokens calls the textgen model through
// the generated client, in memory: each stream carries the tokens
// textgen.Generate computes, one response each, and its contract is the
// one the proto declares.
func TestTextGenModelStreamsTheModelsTokens(t *testing.T) {
	srv := inferencetest.New()
	if err := srv.Register(TextGenModel()); err != nil {
		t.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	cc, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	client := llmv1.NewTextGeneratorModelClientFromConn(cc)
	ctx := context.Background()
	if err := client.CheckModel(ctx); err != nil {
		t.Fatalf("contract: %v", err)
	}

	for _, tt := range []struct {
		prompt    string
		maxTokens int32
	}{
		{"Once upon a time", 32},
		{"Once upon a time", 5},
		{"", 1},
		{"the cap", 10 * textgen.MaxTokens},
		{"no tokens", 0},
		{"fewer than none", -3},
	} {
		var got []string
		for tok, err := range client.Generate(ctx, &llmv1.Prompt{TextInput: tt.prompt, MaxTokens: tt.maxTokens}) {
			if err != nil {
				t.Fatalf("%q, %d tokens: %v after %q", tt.prompt, tt.maxTokens, err, got)
			}
			got = append(got, tok.GetTextOutput())
		}
		if want := textgen.Generate(tt.prompt, int(tt.maxTokens)); !slices.Equal(got, want) {
			t.Errorf("%q, %d tokens: got %q, want %q", tt.prompt, tt.maxTokens, got, want)
		}
	}

	// Breaking out early takes what came and ends the call without error.
	var got []string
	for tok, err := range client.Generate(ctx, &llmv1.Prompt{TextInput: "Once upon a time", MaxTokens: 32}) {
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, tok.GetTextOutput()); len(got) == 3 {
			break
		}
	}
	if want := textgen.Generate("Once upon a time", 3); !slices.Equal(got, want) {
		t.Errorf("broke after %q, want %q", got, want)
	}
}
