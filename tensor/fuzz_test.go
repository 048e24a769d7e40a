// Fuzz targets of package tensor. Each has a committed seed corpus under
// testdata/fuzz/<Target>/, which plain `go test` runs as regression tests.
// To fuzz, one target at a time (go test allows only one -fuzz per run):
//
//	for t in FuzzDecode FuzzBytesElements FuzzValidate \
//	         FuzzInferShape FuzzAppendAs FuzzHalf; do
//	    go test ./tensor -run '^$' -fuzz "^$t\$" -fuzztime 20s || exit 1
//	done
//
// The targets:
//
//	FuzzDecode        DecodeAs into every Go element type, any datatype, any bytes
//	FuzzBytesElements DecodeBytesElements / DecodeStringElements, their cost
//	                  per byte, and re-encoding
//	FuzzValidate      Tensor.Validate on any datatype, shape and raw bytes
//	FuzzInferShape    InferShape on any shape and element count
//	FuzzAppendAs      AppendAs of int64 values into every integer datatype
//	FuzzHalf          FP16 and BF16 rounding against the reference
//
// Each checks that nothing panics, that errors wrap one of the package's
// sentinels, and that what succeeds round-trips.
package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/goai-dev/goai/internal/testalloc"
)

// fuzzShape reads a shape from fuzz bytes, 8 little-endian bytes per
// dimension, so the fuzzer can reach negative and huge dimensions.
func fuzzShape(b []byte) []int64 {
	shape := make([]int64, 0, len(b)/8)
	for ; len(b) >= 8; b = b[8:] {
		shape = append(shape, int64(binary.LittleEndian.Uint64(b)))
	}
	return shape
}

// checkSentinel fails unless err is nil or wraps one of the sentinels.
func checkSentinel(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrShape) && !errors.Is(err, ErrLength) && !errors.Is(err, ErrDType) && !errors.Is(err, ErrRange) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint8(FP32), []byte{0, 0, 0x80, 0x3f})
	f.Fuzz(func(t *testing.T, dt uint8, raw []byte) {
		d := DType(dt)
		fuzzDecodeAs[bool](t, d, raw)
		fuzzDecodeAs[int8](t, d, raw)
		fuzzDecodeAs[int16](t, d, raw)
		fuzzDecodeAs[int32](t, d, raw)
		fuzzDecodeAs[int64](t, d, raw)
		fuzzDecodeAs[uint8](t, d, raw)
		fuzzDecodeAs[uint16](t, d, raw)
		fuzzDecodeAs[uint32](t, d, raw)
		fuzzDecodeAs[uint64](t, d, raw)
		fuzzDecodeAs[float32](t, d, raw)
		fuzzDecodeAs[float64](t, d, raw)
	})
}

func fuzzDecodeAs[T Element](t *testing.T, dt DType, raw []byte) {
	prefix := make([]T, 1, 2)
	out, err := DecodeAs(prefix, dt, raw)
	checkSentinel(t, err)
	if err != nil {
		if len(out) != 1 {
			t.Fatalf("DecodeAs[%T](%v) failed but changed dst: %d elements", *new(T), dt, len(out))
		}
		return
	}
	size := dt.Size()
	if size == 0 || len(raw)%size != 0 || len(out)-1 != len(raw)/size {
		t.Fatalf("DecodeAs[%T](%v) of %d bytes gave %d elements", *new(T), dt, len(raw), len(out)-1)
	}
	// Decoding is exact, so encoding back reproduces raw, except that BOOL
	// normalizes non-zero bytes to 1 and NaN payloads may be quieted.
	back, err := AppendAs(nil, dt, out[1:])
	if err != nil {
		t.Fatalf("re-encoding %v: %v", dt, err)
	}
	want := raw
	switch dt {
	case Bool:
		want = make([]byte, len(raw))
		for i, b := range raw {
			if b != 0 {
				want[i] = 1
			}
		}
	case FP16, BF16, FP32, FP64:
		// Compare as decoded values, NaN equal to NaN.
		again, _ := DecodeAs[T](nil, dt, back)
		if !equalNaN(again, out[1:]) {
			t.Fatalf("%v: re-encoding changed values", dt)
		}
		return
	}
	if !bytes.Equal(back, want) {
		t.Fatalf("%v via %T: % x re-encoded as % x", dt, *new(T), raw, back)
	}
}

func FuzzBytesElements(f *testing.F) {
	f.Add([]byte{2, 0, 0, 0, 'a', 'b'}, -1)
	f.Fuzz(func(t *testing.T, raw []byte, max int) {
		elems, err := DecodeBytesElements(raw, max)
		checkSentinel(t, err)
		strs, serr := DecodeStringElements(raw, max)
		if (err == nil) != (serr == nil) {
			t.Fatalf("bytes and string decoders disagree: %v / %v", err, serr)
		}
		verr := Tensor{DType: Bytes, Shape: []int64{int64(len(elems))}, Raw: raw}.Validate()
		if err != nil {
			if elems != nil || strs != nil {
				t.Fatal("failed decode returned elements")
			}
			if max < 0 && verr == nil {
				t.Fatalf("Validate accepts what DecodeBytesElements refuses: %v", err)
			}
			return
		}
		if verr != nil {
			t.Fatalf("Validate refuses what DecodeBytesElements accepts: %v", verr)
		}
		if max >= 0 && len(elems) > max {
			t.Fatalf("%d elements exceed max %d", len(elems), max)
		}
		if len(elems) > len(raw)/4 {
			t.Fatalf("%d elements in %d bytes", len(elems), len(raw))
		}
		for i := range elems {
			if string(elems[i]) != strs[i] {
				t.Fatalf("element %d: %q vs %q", i, elems[i], strs[i])
			}
		}
		if again := BytesToStrings(elems); !slices.Equal(again, strs) {
			t.Fatalf("BytesToStrings = %q, want %q", again, strs)
		}
		if i, err := CheckUTF8(strs); (i < 0) != utf8.Valid(bytes.Join(elems, []byte{0})) || (i < 0) != (err == nil) {
			t.Fatalf("CheckUTF8 = %d, %v", i, err)
		}
		// Strings cost their text and a header each, within the allocator's
		// rounding: at most 4 bytes per byte of raw, each element taking
		// at least its 4-byte prefix. Copying the prefixes too cost 5.
		limit := uint64(4*len(raw) + len(raw)/2 + 256)
		if got := testalloc.Least(func() { _, _ = DecodeStringElements(raw, max) }, limit); got > limit {
			t.Fatalf("decoding %d elements from %d bytes allocated %d bytes, above %d", len(elems), len(raw), got, limit)
		}
		if back := AppendBytesElements(nil, elems); !bytes.Equal(back, raw) {
			t.Fatalf("re-encoded % x, want % x", back, raw)
		}
		if back := AppendStringElements(nil, strs); !bytes.Equal(back, raw) {
			t.Fatalf("strings re-encoded % x, want % x", back, raw)
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add(uint8(FP32), binary.LittleEndian.AppendUint64(nil, 1), []byte{0, 0, 0x80, 0x3f})
	f.Fuzz(func(t *testing.T, dt uint8, shapeBytes, raw []byte) {
		tt := Tensor{Name: "x", DType: DType(dt), Shape: fuzzShape(shapeBytes), Raw: raw}
		err := tt.Validate()
		checkSentinel(t, err)
		n, nerr := tt.NumElements()
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || te.Name != "x" {
				t.Fatalf("Validate error %v is not an *Error naming the tensor", err)
			}
			return
		}
		if nerr != nil || n > MaxElements {
			t.Fatalf("Validate accepted shape %v: %d, %v", tt.Shape, n, nerr)
		}
		if tt.DType == Bytes {
			elems, err := DecodeBytesElements(raw, n)
			if err != nil || len(elems) != n {
				t.Fatalf("valid BYTES tensor of %d does not decode: %d, %v", n, len(elems), err)
			}
		} else if len(raw) != n*tt.DType.Size() {
			t.Fatalf("valid %v tensor of %d elements has %d bytes", tt.DType, n, len(raw))
		}
	})
}

func FuzzInferShape(f *testing.F) {
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.MaxUint64), 3), 12)
	f.Fuzz(func(t *testing.T, shapeBytes []byte, n int) {
		shape := fuzzShape(shapeBytes)
		in := slices.Clone(shape)
		out, err := InferShape(shape, n)
		checkSentinel(t, err)
		if !slices.Equal(in, shape) {
			t.Fatal("InferShape modified its argument")
		}
		if err != nil {
			return
		}
		if got, err := NumElements(out); err != nil || got != n {
			t.Fatalf("InferShape(%v, %d) = %v with %d elements, %v", shape, n, out, got, err)
		}
		for i := range shape {
			if shape[i] != -1 && shape[i] != out[i] {
				t.Fatalf("InferShape changed fixed dimension %d: %v -> %v", i, shape, out)
			}
		}
	})
}

func FuzzAppendAs(f *testing.F) {
	f.Add(uint8(Int8), binary.LittleEndian.AppendUint64(nil, 128))
	f.Fuzz(func(t *testing.T, dt uint8, valBytes []byte) {
		d := DType(dt)
		vals := fuzzShape(valBytes) // any int64s
		raw, err := AppendAs(nil, d, vals)
		checkSentinel(t, err)
		inRange := true
		for _, v := range vals {
			inRange = inRange && fitsDType(v, d)
		}
		if _, _, isInt := integerKind(d); !isInt {
			if !errors.Is(err, ErrDType) {
				t.Fatalf("AppendAs(%v, []int64) = %v, want ErrDType", d, err)
			}
			return
		}
		if inRange != (err == nil) {
			t.Fatalf("AppendAs(%v, %v): in range %v, err %v", d, vals, inRange, err)
		}
		if err != nil {
			return
		}
		// Decode back through the widest type of the same signedness.
		var got []int64
		if size, isSigned, _ := integerKind(d); isSigned || size < 8 {
			got, err = DecodeAs[int64](nil, d, raw)
		} else {
			var u []uint64
			u, err = DecodeAs[uint64](nil, d, raw)
			for _, x := range u {
				got = append(got, int64(x))
			}
		}
		if err != nil || !slices.Equal(got, vals) && len(vals) > 0 {
			t.Fatalf("AppendAs(%v, %v) decoded as %v, %v", d, vals, got, err)
		}
	})
}

var (
	halfOnce sync.Once
	fp16Ref  *halfFormat
	bf16Ref  *halfFormat
)

func FuzzHalf(f *testing.F) {
	f.Add(uint32(0x3f808000))
	f.Fuzz(func(t *testing.T, bits uint32) {
		halfOnce.Do(func() {
			fp16Ref = newHalfFormat("FP16", FP16ToFloat32, FP16FromFloat32, 65536)
			bf16Ref = newHalfFormat("BF16", BF16ToFloat32, BF16FromFloat32, 0x1p128)
		})
		x := math.Float32frombits(bits)
		for _, h := range []*halfFormat{fp16Ref, bf16Ref} {
			got := h.fromF32(x)
			if x != x {
				if g := h.toF32(got); g == g {
					t.Fatalf("%s(NaN %#08x) = %#04x, not NaN", h.name, bits, got)
				}
				continue
			}
			if want := h.round(x); got != want {
				t.Fatalf("%s(%g = %#08x) = %#04x, want %#04x", h.name, x, bits, got, want)
			}
		}
		// Half bits read as float32 and back are unchanged.
		for _, h := range []*halfFormat{fp16Ref, bf16Ref} {
			hb := uint16(bits)
			if f := h.toF32(hb); f == f && h.fromF32(f) != hb {
				t.Fatalf("%s %#04x does not round-trip", h.name, hb)
			}
		}
	})
}
