package wirecodec

import (
	"math/bits"
	"sync"
)

// dirtyPool is a mem.BufferPool that does not clear buffers on Get.
// grpc's default pool clears the whole capacity of every buffer it hands
// out (1 MiB for a 600 KiB message), a pass over memory as long as the
// copy the codec then makes. Marshal overwrites every byte it sends, so
// the clearing buys nothing here. Size classes are four per power of two,
// so a buffer is at most 25% larger than asked, not 100% as with pure
// powers of two: tensors are large enough for that to matter.
type dirtyPool struct {
	classes [4 * 64]sync.Pool // *[]byte of exactly classCap(i) capacity
}

// minPooled is the smallest capacity pooled; smaller Gets are allocated.
// Marshal pools nothing below grpc's 1 KiB threshold anyway.
const minPooledExp = 10

var marshalPool dirtyPool

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
func (p *dirtyPool) Get(n int) *[]byte {
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
func (p *dirtyPool) Put(buf *[]byte) {
	c := cap(*buf)
	if idx, want, ok := sizeClass(c); ok && want == c {
		p.classes[idx].Put(buf)
	}
}
