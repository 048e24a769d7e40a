package demo

import (
	"context"
	"fmt"
	"io"
	"testing"
)

func TestRunIsCorrectAndAbsorbsFaults(t *testing.T) {
	// Enough calls that the fault phase can show 99.9% success.
	cfg := Config{Calls: 2000, Concurrency: 16, Batches: 5, BatchSize: 70, FaultRate: 0.1, Seed: 7}
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
	if faulty.Retries == 0 {
		t.Errorf("the fault phase made no retries: %+v", faulty)
	}
	// 70 glyphs fit one request of at most 64 only as two: 5 batch calls
	// make 10 requests, besides one per single call, one per retry and
	// the micro-batched phase's.
	batched := report.Phases[3]
	if batched.Requests == 0 || batched.Requests > cfg.Calls/2 {
		t.Errorf("micro-batching sent %d requests for %d calls, want at most half as many", batched.Requests, cfg.Calls)
	}
	single := 3 * cfg.Calls
	retries := 0
	for _, p := range report.Phases {
		retries += p.Retries
	}
	if want := single + 10 + retries + batched.Requests; report.Requests != want {
		t.Errorf("server received %d ModelInfer requests, want %d", report.Requests, want)
	}
}

// The demo serves the example models in process and calls them through
// the generated clients; every answer is checked against the model's own
// computation.
func ExampleRun() {
	report, err := Run(context.Background(), io.Discard, Config{Calls: 100, Concurrency: 8, Batches: 2, BatchSize: 10, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range report.Phases {
		fmt.Printf("%s: %d items, %d errors, %d wrong\n", p.Name, p.Calls, p.Errors, p.Wrong)
	}
	// Output:
	// Classify, single calls: 100 items, 0 errors, 0 wrong
	// ClassifyBatch, 10 glyphs a call: 20 items, 0 errors, 0 wrong
	// Tokenize, single calls: 100 items, 0 errors, 0 wrong
	// Classify, micro-batched: 100 items, 0 errors, 0 wrong
	// Classify, 0% UNAVAILABLE: 100 items, 0 errors, 0 wrong
}
