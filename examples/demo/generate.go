package demo

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/goai-dev/goai"
	llmv1 "github.com/goai-dev/goai/examples/gen/llm/v1"
	"github.com/goai-dev/goai/examples/models/textgen"
)

// The streaming phases call the language model, a decoupled model, through
// the generated Generate method, which ranges over the tokens the server
// streams for a prompt, one response each, as a client of an LLM served by
// Triton's vLLM or TensorRT-LLM backend does.

// generateTokens is the max_tokens of every prompt: enough that a stream
// carries a few sentences, and that many stop at the model's end token
// before it.
const generateTokens = 32

// prompt returns a random prompt of a few words.
func prompt(rng *rand.Rand) string { return sentence(rng, 8) }

// streams returns the number of streams a streaming phase of cfg makes:
// a tenth of its single calls, a stream being a few dozen responses.
func (cfg Config) streams() int { return max(1, cfg.Calls/10) }

// generate makes cfg.streams() Generate calls of random prompts, counting
// the tokens received as the phase's items, and a wrong answer when a
// stream's tokens differ from those textgen.Generate computes for its
// prompt (when it failed, from the first of them).
func (d *driver) generate(ctx context.Context, name string) Phase {
	return d.run(name, d.cfg.streams(), func(i int, rng *rand.Rand) result {
		text := prompt(rng)
		want := textgen.Generate(text, generateTokens)
		var (
			info goai.CallInfo
			got  []string
			r    result
		)
		start := time.Now()
		for tok, err := range d.texts.Generate(ctx, &llmv1.Prompt{TextInput: text, MaxTokens: generateTokens}, d.callOptions(goai.Report(&info))...) {
			if err != nil {
				r.err = err
				break
			}
			if len(got) == 0 {
				r.firstResponse = time.Since(start)
			}
			got = append(got, tok.GetTextOutput())
		}
		r.latency, r.attempts, r.items, r.streamed = time.Since(start), info.Attempts, len(got), true
		if r.err == nil {
			r.wrong = !slices.Equal(got, want)
		} else {
			// The tokens that came before a failure must be right too.
			r.wrong = len(got) > len(want) || !slices.Equal(got, want[:len(got)])
		}
		return r
	})
}
