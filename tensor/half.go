package tensor

import (
	"encoding/binary"
	"math"
	"slices"

	"github.com/x448/float16"
)

// FP16FromFloat32 returns the IEEE 754 binary16 bits nearest to f, ties to
// even. Values beyond the FP16 range become ±Inf, tiny values become
// subnormals or ±0, and NaN stays NaN (quiet, sign kept).
func FP16FromFloat32(f float32) uint16 {
	return float16.Fromfloat32(f).Bits()
}

// FP16ToFloat32 returns the float32 equal to the binary16 bits h; every
// FP16 value, subnormals included, is exact in float32.
func FP16ToFloat32(h uint16) float32 {
	return float16.Frombits(h).Float32()
}

// BF16FromFloat32 returns the bfloat16 bits nearest to f, ties to even.
// BF16 is the top half of an FP32, so this rounds away the low 16 bits;
// values that round past the largest finite BF16 become ±Inf, and NaN stays
// NaN (quiet, sign kept; rounding a NaN's payload could otherwise turn it
// into Inf).
//
// Triton's Python client truncates instead (it keeps the high 16 bits), so
// for about half of all inputs the two differ in the last bit; rounding
// halves the worst-case error and matches PyTorch's and NumPy's
// (ml_dtypes) conversions.
func BF16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fff_ffff > 0x7f80_0000 {
		return uint16(b>>16) | 0x0040
	}
	// Adding 0x7fff plus the lowest kept bit carries into the kept half
	// exactly when the dropped half is above one half, or equal to it with
	// an odd kept half: round to nearest, ties to even. The carry out of
	// the largest finite values lands on the Inf encoding, as it should.
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BF16ToFloat32 returns the float32 equal to the bfloat16 bits h; the
// conversion is exact.
func BF16ToFloat32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// AppendFP16 appends v as raw FP16, each element rounded with
// [FP16FromFloat32], and returns the extended buffer.
func AppendFP16(dst []byte, v []float32) []byte {
	dst = slices.Grow(dst, 2*len(v))
	var tmp [chunk]uint16
	for base := 0; base < len(v); base += chunk {
		part := v[base:min(base+chunk, len(v))]
		for i, f := range part {
			tmp[i] = FP16FromFloat32(f)
		}
		dst = appendFixed(dst, tmp[:len(part)])
	}
	return dst
}

// AppendBF16 appends v as raw BF16, each element rounded with
// [BF16FromFloat32], and returns the extended buffer.
func AppendBF16(dst []byte, v []float32) []byte {
	dst = slices.Grow(dst, 2*len(v))
	var tmp [chunk]uint16
	for base := 0; base < len(v); base += chunk {
		part := v[base:min(base+chunk, len(v))]
		for i, f := range part {
			tmp[i] = BF16FromFloat32(f)
		}
		dst = appendFixed(dst, tmp[:len(part)])
	}
	return dst
}

// DecodeFP16 appends the raw FP16 elements in raw to dst as float32 and
// returns the extended slice. It fails with [ErrLength] if len(raw) is odd.
func DecodeFP16(dst []float32, raw []byte) ([]float32, error) {
	start, out, err := growHalf(&dst, FP16, raw)
	if err != nil {
		return dst, err
	}
	for i := range out {
		out[i] = FP16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return dst[:start+len(out)], nil
}

// DecodeBF16 appends the raw BF16 elements in raw to dst as float32 and
// returns the extended slice. It fails with [ErrLength] if len(raw) is odd.
func DecodeBF16(dst []float32, raw []byte) ([]float32, error) {
	start, out, err := growHalf(&dst, BF16, raw)
	if err != nil {
		return dst, err
	}
	for i := range out {
		out[i] = BF16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return dst[:start+len(out)], nil
}

// growHalf checks raw holds whole 16-bit elements and extends *dst by as
// many, returning the old length and the new elements to fill.
func growHalf(dst *[]float32, dt DType, raw []byte) (int, []float32, error) {
	if len(raw)%2 != 0 {
		return 0, nil, errorf(ErrLength, "%d bytes is not a whole number of %v elements", len(raw), dt)
	}
	n := len(raw) / 2
	start := len(*dst)
	*dst = slices.Grow(*dst, n)[:start+n]
	return start, (*dst)[start:], nil
}

// float32RoundToOdd converts x to float32 rounding to odd: truncate toward
// zero, then set the last bit if anything was dropped. Rounding that result
// again to a format at least two bits narrower (FP16 keeps 11 of FP32's 24
// significant bits, BF16 8) gives the correctly rounded result, which a
// plain float32(x) first would not: 1 + 2^-11 + 2^-40 would round to the
// FP16 tie 1 + 2^-11 and then, ties to even, down to 1.
func float32RoundToOdd(x float64) float32 {
	f := float32(x)
	if float64(f) == x || x != x {
		return f // exact, or NaN
	}
	if math.Abs(float64(f)) > math.Abs(x) {
		// Rounded away from zero (possibly to Inf): step back toward zero.
		f = math.Float32frombits(math.Float32bits(f) - 1)
	}
	return math.Float32frombits(math.Float32bits(f) | 1)
}
