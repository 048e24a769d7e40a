package demo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/goai-dev/goai"
	llmv1 "github.com/goai-dev/goai/examples/gen/llm/v1"
	"github.com/goai-dev/goai/examples/models/textgen"
)

// relaxed lifts the annotations' deadlines (1s for Tokenize, 2s for
// Classify, 30s for a stream and 2s for each of its responses), which a
// loaded machine can miss: the tests are about answers and retries, not
// the clock.
var relaxed = []goai.CallOption{goai.WithTimeout(0), goai.WithIdleTimeout(0)}

func TestRunIsCorrectAndAbsorbsFaults(t *testing.T) {
	// The micro-batcher takes batches of exactly Concurrency items: the
	// goroutines each wait for their batch, so every batch fills with one
	// call of each, and none goes for the delay.
	cfg := Config{Calls: 2000, Concurrency: 16, Batches: 5, BatchSize: 70, FaultRate: 0.1, Seed: 7,
		CallOptions: relaxed, Batching: goai.BatchingPolicy{MaxSize: 16, MaxDelay: time.Minute}}
	report, err := Run(context.Background(), io.Discard, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !report.OK() {
		t.Fatalf("report not OK: %+v", report.Phases)
	}
	for _, p := range report.Phases {
		if p.Wrong != 0 {
			t.Errorf("%s: %d wrong answers", p.Name, p.Wrong)
		}
		if p.P99 < p.P50 || p.Throughput <= 0 {
			t.Errorf("%s: implausible figures %+v", p.Name, p)
		}
	}
	faulty := phase(t, report, "Classify, 10% UNAVAILABLE")
	if faulty.Retries == 0 || faulty.MaxErrors != 7 {
		t.Errorf("the fault phase made %d retries and tolerates %d errors, want some and 7: %+v", faulty.Retries, faulty.MaxErrors, faulty)
	}
	batched := phase(t, report, "Classify, micro-batched")
	if want := cfg.Calls / cfg.Concurrency; batched.Requests != want {
		t.Errorf("micro-batching sent %d requests for %d calls, want %d", batched.Requests, cfg.Calls, want)
	}
	// 70 glyphs fit one request of at most 64 only as two: 5 batch calls
	// make 10 requests, besides one per single call (over gRPC or REST),
	// one per retry and the micro-batched phase's.
	single := 4 * cfg.Calls // Classify (both transports), Tokenize and the fault phase's
	retries := 0
	for _, p := range report.Phases {
		retries += p.Retries
	}
	// The TF Serving phase's calls go as Predict requests, one a call
	// and one a retry; the streaming phases' as ModelStreamInfer streams,
	// one an attempt; the others' as ModelInfer requests.
	tf := phase(t, report, "Classify over TF Serving, single calls")
	if report.Predicts != cfg.Calls+tf.Retries {
		t.Errorf("server received %d Predict requests, want %d", report.Predicts, cfg.Calls+tf.Retries)
	}
	streamed, reset := phase(t, report, "Generate, streamed tokens"), phase(t, report, "Generate, 10% of streams reset")
	streams := cfg.Calls / 10
	if want := 2*streams + streamed.Retries + reset.Retries; report.Streams != want {
		t.Errorf("server received %d ModelStreamInfer streams, want %d", report.Streams, want)
	}
	if want := single + 10 + retries - tf.Retries - streamed.Retries - reset.Retries + batched.Requests; report.Requests != want {
		t.Errorf("server received %d ModelInfer requests, want %d", report.Requests, want)
	}

	// Every stream carries the tokens the model computes for its prompt,
	// which depends on the call's index only: all of them without faults,
	// and as many through resets before the first token, but for the
	// streams whose every attempt was reset, which carried none.
	tokens := 0
	for i := range streams {
		tokens += len(textgen.Generate(prompt(rand.New(rand.NewPCG(cfg.Seed, uint64(i)))), generateTokens))
	}
	if streamed.Streams != streams || streamed.Calls != tokens || streamed.Errors != 0 || streamed.Retries != 0 {
		t.Errorf("%s: %d streams of %d tokens in all, %d errors, %d retries; want %d of %d, none and none",
			streamed.Name, streamed.Streams, streamed.Calls, streamed.Errors, streamed.Retries, streams, tokens)
	}
	if streamed.FirstP50 <= 0 || streamed.FirstP99 < streamed.FirstP50 || streamed.FirstP50 > streamed.P50 {
		t.Errorf("%s: implausible first-token latencies: p50 %s, p99 %s, with streams taking %s", streamed.Name,
			streamed.FirstP50, streamed.FirstP99, streamed.P50)
	}
	maxErrors := FaultTolerance(0.1, llmv1.TextGeneratorModel.Methods[0].Policy.Retry.MaxAttempts, streams)
	if reset.Streams != streams || reset.Retries == 0 || reset.MaxErrors != maxErrors ||
		reset.Calls > tokens || reset.Calls < tokens-reset.Errors*generateTokens || reset.Errors == 0 && reset.Calls != tokens {
		t.Errorf("%s: %d streams of %d tokens in all, %d errors (tolerating %d), %d retries; want %d streams, "+
			"%d tokens but for those of the failed streams, at most %d errors tolerated and some retries",
			reset.Name, reset.Streams, reset.Calls, reset.Errors, reset.MaxErrors, reset.Retries, streams, tokens, maxErrors)
	}

	// The metrics, scraped over HTTP, count what the server and the calls
	// did: an attempt per request of either protocol and per stream, the
	// retries the calls reported, a call per single call (the TF Serving
	// phase's too), per request of a batch call, per micro-batch and per
	// stream of the streaming phases.
	sc := report.Scrape
	calls := single + 10 + batched.Requests + cfg.Calls + 2*streams
	if attempts := report.Requests + report.Predicts + report.Streams; sc.Attempts != attempts || sc.Retries != retries || sc.Calls != calls {
		t.Errorf("scrape: %d calls, %d attempts, %d retries; want %d, %d, %d", sc.Calls, sc.Attempts, sc.Retries,
			calls, attempts, retries)
	}
	for _, model := range []string{"digits@1", "textgen@"} {
		if state, ok := sc.Breakers[model]; !ok || state != int(goai.BreakerClosed) {
			t.Errorf("scraped breakers %v, want %s closed", sc.Breakers, model)
		}
	}
	if len(sc.Excerpt) == 0 {
		t.Error("the scrape's excerpt is empty")
	}
}

// phase returns the phase of report named name.
func phase(t *testing.T, report Report, name string) Phase {
	t.Helper()
	for _, p := range report.Phases {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no phase %q", name)
	return Phase{}
}

func TestFaultTolerance(t *testing.T) {
	for _, tt := range []struct {
		rate            float64
		attempts, calls int
		want            int
	}{
		// P(X > 7) = 5.2e-11 and P(X > 6) = 2.1e-9 for X binomial
		// (2000, 1e-4).
		{0.1, 4, 2000, 7},
		{0.1, 4, 3000, 8},
		// Without retries, 285 of 2000 at 10%: P(X > 285) = 7.7e-10.
		{0.1, 1, 2000, 285},
		{0, 4, 2000, 0},
		{1, 4, 100, 100},
	} {
		if got := FaultTolerance(tt.rate, tt.attempts, tt.calls); got != tt.want {
			t.Errorf("FaultTolerance(%v, %d, %d) = %d, want %d", tt.rate, tt.attempts, tt.calls, got, tt.want)
		}
	}
}

// The demo serves the example models in process and calls them through
// the generated clients; every answer is checked against the model's own
// computation. A streaming phase's items are the tokens its 10 streams
// carried.
func ExampleRun() {
	report, err := Run(context.Background(), io.Discard, Config{Calls: 100, Concurrency: 8, Batches: 2, BatchSize: 10, Seed: 1,
		CallOptions: relaxed})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range report.Phases {
		fmt.Printf("%s: %d items, %d errors, %d wrong\n", p.Name, p.Calls, p.Errors, p.Wrong)
	}
	// Output:
	// Classify, single calls: 100 items, 0 errors, 0 wrong
	// Classify over REST, single calls: 100 items, 0 errors, 0 wrong
	// ClassifyBatch, 10 glyphs a call: 20 items, 0 errors, 0 wrong
	// Tokenize, single calls: 100 items, 0 errors, 0 wrong
	// Classify over TF Serving, single calls: 100 items, 0 errors, 0 wrong
	// Classify, micro-batched: 100 items, 0 errors, 0 wrong
	// Classify, 0% UNAVAILABLE: 100 items, 0 errors, 0 wrong
	// Generate, streamed tokens: 263 items, 0 errors, 0 wrong
	// Generate, 0% of streams reset: 263 items, 0 errors, 0 wrong
}
