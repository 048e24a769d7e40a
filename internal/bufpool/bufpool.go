// Package bufpool is a pool of byte buffers for tensor data, reused
// across calls instead of allocated for each: a fresh 600 KB buffer per
// call costs page faults on first touch, and the Go runtime keeps
// returning such memory to the operating system between calls.
//
// Buffers come back with unspecified contents. grpc's default pool
// clears the whole capacity of every buffer it hands out (1 MiB for a
// 600 KiB message), a pass over memory as long as the copy its user then
// makes; goai's users (the gRPC codec's marshaling, the encoders of
// batch requests) overwrite every byte they send, so clearing would buy
// nothing. Size classes are four per power of two, so a buffer is at
// most 25% larger than asked, not 100% as with pure powers of two:
// tensors are large enough for that to matter.
package bufpool

import (
	"math/bits"
	"sync"
)

// Pool is a pool of byte buffers by size class. It implements grpc's
// mem.BufferPool. The zero value is ready to use and safe for concurrent
// use.
type Pool struct {
	classes [4 * 64]sync.Pool // *[]byte of exactly classCap(i) capacity
}

// minPooledExp is log2 of the largest capacity not pooled; smaller Gets
// are allocated. grpc pools nothing at or below 1 KiB either: a buffer
// that small costs less to allocate than to pool.
const minPooledExp = 10

// sizeClass returns the index and capacity of the smallest class holding
// n bytes, or ok == false for n too small to pool.
func sizeClass(n int) (idx, capacity int, ok bool) {
	if n <= 1<<minPooledExp {
		return 0, 0, false
	}
	e := bits.Len(uint(n-1)) - 1 // 2^e < n <= 2^(e+1)
	step := 1 << (e - 2)
	q := (n - 1 - 1<<e) / step // 0..3
	return (e-minPooledExp)*4 + q, 1<<e + (q+1)*step, true
}

// Get returns a buffer of length n with unspecified contents.
func (p *Pool) Get(n int) *[]byte {
	idx, c, ok := sizeClass(n)
	if !ok {
		b := make([]byte, n)
		return &b
	}
	if buf, _ := p.classes[idx].Get().(*[]byte); buf != nil {
		*buf = (*buf)[:n]
		return buf
	}
	b := make([]byte, n, c)
	return &b
}

// Put returns buf to its class; buffers of any other capacity are left to
// the garbage collector.
func (p *Pool) Put(buf *[]byte) {
	c := cap(*buf)
	if idx, want, ok := sizeClass(c); ok && want == c {
		p.classes[idx].Put(buf)
	}
}
