// Command demo runs goai's generated example clients against the
// in-process model server and prints what they measured; it exits non-zero
// if any call failed or returned a wrong answer. `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/goai-dev/goai/examples/demo"
)

func main() {
	cfg := demo.DefaultConfig
	flag.IntVar(&cfg.Calls, "calls", cfg.Calls, "single calls per phase")
	flag.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "goroutines making calls")
	flag.IntVar(&cfg.Batches, "batches", cfg.Batches, "batch calls")
	flag.IntVar(&cfg.BatchSize, "batch-size", cfg.BatchSize, "items per batch call")
	flag.Float64Var(&cfg.FaultRate, "fault-rate", cfg.FaultRate, "fraction of calls the server fails in the fault phase")
	flag.Parse()

	report, err := demo.Run(context.Background(), os.Stdout, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	if !report.OK() {
		fmt.Fprintln(os.Stderr, "demo: some calls failed or answered wrong")
		os.Exit(1)
	}
}
