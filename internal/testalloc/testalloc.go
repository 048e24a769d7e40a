// Package testalloc measures what a function allocates, in bytes, for
// tests that bound a decoder's memory by the bytes it receives.
// testing.AllocsPerRun counts allocations; these bounds are about size.
package testalloc

import (
	"math"
	"runtime"
)

// Least returns the fewest bytes f allocates in one of up to three runs,
// stopping at the first run within limit. Other goroutines (a fuzzing
// worker's, a test server's) allocate now and then while f runs, and the
// runtime's counters cannot tell their bytes from f's: the least of a few
// runs is what f costs. A limit of 0 always makes three runs.
func Least(f func(), limit uint64) uint64 {
	least := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		if least = min(least, after.TotalAlloc-before.TotalAlloc); least <= limit {
			break
		}
	}
	return least
}
