// Command benchserver runs the model server of goai's client benchmarks
// (see package bench/internal/benchserver) until its standard input
// ends: it prints "addr host:port", and answers "cpu" with its CPU time
// in nanoseconds.
//
//	go -C bench run ./cmd/benchserver
package main

import (
	"fmt"
	"os"

	"github.com/goai-dev/goai/bench/internal/benchserver"
)

func main() {
	if err := benchserver.Serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}
