package demo

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/goai-dev/goai"
)

// relaxed lifts the annotations' deadlines (1s for Tokenize, 2s for
// Classify), which a loaded machine can miss: the tests are about answers
// and retries, not the clock.
var relaxed = []goai.CallOption{goai.WithTimeout(0)}

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
	faulty := report.Phases[len(report.Phases)-1]
	if faulty.Retries == 0 || faulty.MaxErrors != 7 {
		t.Errorf("the fault phase made %d retries and tolerates %d errors, want some and 7: %+v", faulty.Retries, faulty.MaxErrors, faulty)
	}
	batched := report.Phases[4]
	if batched.Name != "Classify, micro-batched" {
		t.Fatalf("phase 4 is %q, want the micro-batched one", batched.Name)
	}
	if want := cfg.Calls / cfg.Concurrency; batched.Requests != want {
		t.Errorf("micro-batching sent %d requests for %d calls, want %d", batched.Requests, cfg.Calls, want)
	}
	// 70 glyphs fit one request of at most 64 only as two: 5 batch calls
	// make 10 requests, besides one per single call (over either
	// transport), one per retry and the micro-batched phase's.
	single := 4 * cfg.Calls
	retries := 0
	for _, p := range report.Phases {
		retries += p.Retries
	}
	if want := single + 10 + retries + batched.Requests; report.Requests != want {
		t.Errorf("server received %d ModelInfer requests, want %d", report.Requests, want)
	}
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
// computation.
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
	// Classify, micro-batched: 100 items, 0 errors, 0 wrong
	// Classify, 0% UNAVAILABLE: 100 items, 0 errors, 0 wrong
}
