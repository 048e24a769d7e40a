//go:build !unix

package benchserver

import "time"

// CPUTime returns zero: this system has no getrusage, and the benchmarks
// report no CPU time.
func CPUTime() time.Duration { return 0 }
