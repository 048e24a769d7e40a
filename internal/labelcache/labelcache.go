// Package labelcache is what goai's metrics modules (goaiprom, goaiotel)
// share to report an event without allocating: a map of label values to
// the metrics already resolved for them, read without a lock, and slots
// of metrics resolved on first use, one per gRPC code or per small enum.
//
// The modules import it across module boundaries, as an internal package
// of the runtime they instrument: each of their versions requires the
// runtime version whose labelcache it was built with.
package labelcache

import (
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
)

// Map maps keys to values made once per key. Reads take no lock: the map
// is replaced whole, under a lock, when a key is added, which happens
// once per series (as many times as a client's configuration has label
// values), so the copies cost nothing that matters.
type Map[K comparable, V any] struct {
	p  atomic.Pointer[map[K]V]
	mu sync.Mutex
}

// Get returns k's value, making it with make on first use; make runs
// under the map's lock, at most once per key.
func (m *Map[K, V]) Get(k K, make func() V) V {
	if p := m.p.Load(); p != nil {
		if v, ok := (*p)[k]; ok {
			return v
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var old map[K]V
	if p := m.p.Load(); p != nil {
		old = *p
		if v, ok := old[k]; ok {
			return v
		}
	}
	v := make()
	next := make2(old)
	next[k] = v
	m.p.Store(&next)
	return v
}

// make2 copies old into a map with room for one more.
func make2[K comparable, V any](old map[K]V) map[K]V {
	next := make(map[K]V, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	return next
}

// NumCodes is the number of gRPC codes, OK to UNAUTHENTICATED.
const NumCodes = 17

// Slots holds up to NumCodes values, each made on first use.
type Slots[T any] [NumCodes]atomic.Pointer[T]

// Get returns slot i's value, making it with make on first use; two
// first uses at once may both make one, and both get the one kept.
func (s *Slots[T]) Get(i int, make func() T) T {
	if p := s[i].Load(); p != nil {
		return *p
	}
	v := make()
	s[i].CompareAndSwap(nil, &v)
	return *s[i].Load()
}

// Code returns the slot of code: a code outside gRPC's counts as UNKNOWN,
// so that a server cannot grow a label's values.
func Code(c codes.Code) int {
	if c >= NumCodes {
		return int(codes.Unknown)
	}
	return int(c)
}

// CodeNames are the codes' names as gRPC's specification spells them,
// indexed by [Code].
var CodeNames = [NumCodes]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// Bucket boundaries of the histograms both modules export, so that a
// dashboard reads the same from either.
var (
	// LatencyBuckets are in seconds: 100 µs to 10 s, a model server's
	// range from a small model on the same host to a large one behind a
	// queue.
	LatencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// ByteBuckets are 256 B to 64 MiB, by fours.
	ByteBuckets = exponential(256, 4, 10)
	// ItemBuckets are 1 to 1024 items, by twos.
	ItemBuckets = exponential(1, 2, 11)
	// QueueBuckets are 0, then 1 to 4096 calls by twos.
	QueueBuckets = append([]float64{0}, exponential(1, 2, 13)...)
)

func exponential(start, factor float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}
