package tensor

import "slices"

// The functions in this file convert between Go slices and raw contents
// for the datatype whose Go type matches exactly: they cannot lose
// information. Each Append function appends to dst and returns the extended
// buffer, as the append builtin does, so a caller that keeps its buffer
// (buf = tensor.AppendFloat32(buf[:0], v)) encodes without allocating. Each
// Decode function appends to dst likewise (pass dst[:0] to reuse it) and
// fails with [ErrLength] unless raw holds a whole number of elements; it
// allocates at most the received bytes' worth of elements. On little-endian
// hosts the fixed-width ones are a single memmove.

// AppendBool appends v as raw BOOL, one byte 0x00 or 0x01 per element.
func AppendBool(dst []byte, v []bool) []byte {
	start := len(dst)
	dst = slices.Grow(dst, len(v))[:start+len(v)]
	for i, b := range v {
		// The Go spec leaves bool's representation open, so convert rather
		// than copy memory; BOOL tensors are rare and small.
		var x byte
		if b {
			x = 1
		}
		dst[start+i] = x
	}
	return dst
}

// DecodeBool appends the raw BOOL elements in raw to dst. Any non-zero
// byte is true, as in C++ and NumPy; only 0x01 is ever encoded.
func DecodeBool(dst []bool, raw []byte) ([]bool, error) {
	start := len(dst)
	dst = slices.Grow(dst, len(raw))[:start+len(raw)]
	for i, x := range raw {
		dst[start+i] = x != 0
	}
	return dst, nil
}

// AppendInt8 appends v as raw INT8.
func AppendInt8(dst []byte, v []int8) []byte { return appendFixed(dst, v) }

// AppendInt16 appends v as raw INT16.
func AppendInt16(dst []byte, v []int16) []byte { return appendFixed(dst, v) }

// AppendInt32 appends v as raw INT32.
func AppendInt32(dst []byte, v []int32) []byte { return appendFixed(dst, v) }

// AppendInt64 appends v as raw INT64.
func AppendInt64(dst []byte, v []int64) []byte { return appendFixed(dst, v) }

// AppendUint8 appends v as raw UINT8.
func AppendUint8(dst []byte, v []uint8) []byte { return append(dst, v...) }

// AppendUint16 appends v as raw UINT16.
func AppendUint16(dst []byte, v []uint16) []byte { return appendFixed(dst, v) }

// AppendUint32 appends v as raw UINT32.
func AppendUint32(dst []byte, v []uint32) []byte { return appendFixed(dst, v) }

// AppendUint64 appends v as raw UINT64.
func AppendUint64(dst []byte, v []uint64) []byte { return appendFixed(dst, v) }

// AppendFloat32 appends v as raw FP32.
func AppendFloat32(dst []byte, v []float32) []byte { return appendFixed(dst, v) }

// AppendFloat64 appends v as raw FP64.
func AppendFloat64(dst []byte, v []float64) []byte { return appendFixed(dst, v) }

// DecodeInt8 appends the raw INT8 elements in raw to dst.
func DecodeInt8(dst []int8, raw []byte) ([]int8, error) { return decodeFixed(dst, Int8, raw) }

// DecodeInt16 appends the raw INT16 elements in raw to dst.
func DecodeInt16(dst []int16, raw []byte) ([]int16, error) { return decodeFixed(dst, Int16, raw) }

// DecodeInt32 appends the raw INT32 elements in raw to dst.
func DecodeInt32(dst []int32, raw []byte) ([]int32, error) { return decodeFixed(dst, Int32, raw) }

// DecodeInt64 appends the raw INT64 elements in raw to dst.
func DecodeInt64(dst []int64, raw []byte) ([]int64, error) { return decodeFixed(dst, Int64, raw) }

// DecodeUint8 appends the raw UINT8 elements in raw to dst.
func DecodeUint8(dst []uint8, raw []byte) ([]uint8, error) { return append(dst, raw...), nil }

// DecodeUint16 appends the raw UINT16 elements in raw to dst.
func DecodeUint16(dst []uint16, raw []byte) ([]uint16, error) { return decodeFixed(dst, Uint16, raw) }

// DecodeUint32 appends the raw UINT32 elements in raw to dst.
func DecodeUint32(dst []uint32, raw []byte) ([]uint32, error) { return decodeFixed(dst, Uint32, raw) }

// DecodeUint64 appends the raw UINT64 elements in raw to dst.
func DecodeUint64(dst []uint64, raw []byte) ([]uint64, error) { return decodeFixed(dst, Uint64, raw) }

// DecodeFloat32 appends the raw FP32 elements in raw to dst.
func DecodeFloat32(dst []float32, raw []byte) ([]float32, error) { return decodeFixed(dst, FP32, raw) }

// DecodeFloat64 appends the raw FP64 elements in raw to dst.
func DecodeFloat64(dst []float64, raw []byte) ([]float64, error) { return decodeFixed(dst, FP64, raw) }
