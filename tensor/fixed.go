package tensor

import (
	"encoding/binary"
	"slices"
	"unsafe"
)

// fixed is the Go types whose in-memory value is one raw element of the
// same width: on a little-endian host a []T is already its wire form.
type fixed interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// sizeOf is the element width of T in bytes.
func sizeOf[T fixed]() int {
	var zero T
	return int(unsafe.Sizeof(zero))
}

// asBytes views v's memory as bytes, without copying. Byte slices have no
// alignment requirement, so this is valid for any v; the converse (bytes
// viewed as []float32) is not, because wire buffers are not aligned, and
// this package never does it: decoding copies into the caller's typed
// slice instead.
func asBytes[T fixed](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*sizeOf[T]())
}

// appendFixed appends v in raw form: on little-endian hosts one append of
// v's memory, which is a memmove.
func appendFixed[T fixed](dst []byte, v []T) []byte {
	if !nativeLittleEndian {
		return appendFixedPortable(dst, v)
	}
	return append(dst, asBytes(v)...)
}

// appendFixedPortable is the byte-order-independent encoder. It is used on
// big-endian hosts and called directly by tests on all hosts.
func appendFixedPortable[T fixed](dst []byte, v []T) []byte {
	size := sizeOf[T]()
	start := len(dst)
	dst = slices.Grow(dst, len(v)*size)[:start+len(v)*size]
	out := dst[start:]
	for i := range v {
		store(out[i*size:], v[i])
	}
	return dst
}

// decodeFixed appends the elements of raw, which holds dt values of T's
// width, to dst. The only allocation is for len(raw) bytes of elements: it
// is sized by what was received, never by a declared shape.
func decodeFixed[T fixed](dst []T, dt DType, raw []byte) ([]T, error) {
	size := sizeOf[T]()
	if len(raw)%size != 0 {
		return dst, errorf(ErrLength, "%d bytes is not a whole number of %v elements", len(raw), dt)
	}
	n := len(raw) / size
	if n == 0 {
		return dst, nil
	}
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	if nativeLittleEndian {
		copy(asBytes(dst[start:]), raw)
	} else {
		decodeFixedPortable(dst[start:], raw)
	}
	return dst, nil
}

// decodeFixedPortable fills out, len(raw)/size elements long, from raw. It
// is used on big-endian hosts and called directly by tests on all hosts.
func decodeFixedPortable[T fixed](out []T, raw []byte) {
	size := sizeOf[T]()
	for i := range out {
		out[i] = load[T](raw[i*size:])
	}
}

// load reads one little-endian element of T's width from b. Writing the
// bits through an unsigned integer of the same width makes this correct
// for floats and signed types alike, whatever the host's byte order.
func load[T fixed](b []byte) T {
	var v T
	switch p := unsafe.Pointer(&v); unsafe.Sizeof(v) {
	case 1:
		*(*uint8)(p) = b[0]
	case 2:
		*(*uint16)(p) = binary.LittleEndian.Uint16(b)
	case 4:
		*(*uint32)(p) = binary.LittleEndian.Uint32(b)
	default:
		*(*uint64)(p) = binary.LittleEndian.Uint64(b)
	}
	return v
}

// store writes v little-endian into the first bytes of b.
func store[T fixed](b []byte, v T) {
	switch p := unsafe.Pointer(&v); unsafe.Sizeof(v) {
	case 1:
		b[0] = *(*uint8)(p)
	case 2:
		binary.LittleEndian.PutUint16(b, *(*uint16)(p))
	case 4:
		binary.LittleEndian.PutUint32(b, *(*uint32)(p))
	default:
		binary.LittleEndian.PutUint64(b, *(*uint64)(p))
	}
}
