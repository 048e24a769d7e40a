package tensor

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"testing"
)

// Benchmark names are BenchmarkEncode/<DTYPE>/<elements>/<implementation>
// and BenchmarkDecode/..., with b.SetBytes set to the raw size so MB/s
// compares across implementations. For FP32 the implementations are:
//
//	memcpy       copy() of the same raw bytes into a preallocated buffer:
//	             the floor
//	goai         this package, into a reused buffer
//	binary_write encoding/binary Write of the whole slice into a reused
//	binary_read  bytes.Buffer, or Read from a bytes.Reader
//	triton       the Triton Go client example: per element, PutUint32 into a
//	             4-byte scratch and append to a fresh slice; decode with one
//	             binary.Read on a new bytes.Buffer per element
//
// Run, for example:
//
//	go test ./runtime/tensor -run '^$' -bench 'Encode|Decode' -count 3 -benchtime 200ms

var benchSizes = []int{784, 150528, 1048576}

func benchFloat32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i%1000) * 0.001
	}
	return v
}

func BenchmarkEncode(b *testing.B) {
	for _, n := range benchSizes {
		v := benchFloat32(n)
		raw := AppendFloat32(nil, v)
		b.Run(fmt.Sprintf("FP32/%d/memcpy", n), func(b *testing.B) {
			dst := make([]byte, len(raw))
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				copy(dst, raw)
			}
		})
		b.Run(fmt.Sprintf("FP32/%d/goai", n), func(b *testing.B) {
			buf := make([]byte, 0, len(raw))
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendFloat32(buf[:0], v)
			}
		})
		b.Run(fmt.Sprintf("FP32/%d/binary_write", n), func(b *testing.B) {
			var buf bytes.Buffer
			buf.Grow(len(raw))
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("FP32/%d/triton", n), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var out []byte
				scratch := make([]byte, 4)
				for _, x := range v {
					binary.LittleEndian.PutUint32(scratch, math.Float32bits(x))
					out = append(out, scratch...)
				}
				sink = out
			}
		})
	}
	for _, n := range benchSizes[:2] {
		v := benchFloat32(n)
		b.Run(fmt.Sprintf("FP16/%d/goai", n), func(b *testing.B) {
			buf := AppendFP16(nil, v)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = AppendFP16(buf[:0], v)
			}
		})
		b.Run(fmt.Sprintf("BF16/%d/goai", n), func(b *testing.B) {
			buf := AppendBF16(nil, v)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = AppendBF16(buf[:0], v)
			}
		})
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = int64(i)
		}
		b.Run(fmt.Sprintf("INT64/%d/goai", n), func(b *testing.B) {
			buf := AppendInt64(nil, ids)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = AppendInt64(buf[:0], ids)
			}
		})
		ids32 := make([]int32, n)
		for i := range ids32 {
			ids32[i] = int32(i % 128)
		}
		b.Run(fmt.Sprintf("INT8_from_int32/%d/goai", n), func(b *testing.B) {
			buf, _ := AppendAs(nil, Int8, ids32)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf, _ = AppendAs(buf[:0], Int8, ids32)
			}
		})
		strs := benchStrings(n / 16)
		b.Run(fmt.Sprintf("BYTES/%d/goai", n/16), func(b *testing.B) {
			buf := AppendStringElements(nil, strs)
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = AppendStringElements(buf[:0], strs)
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, n := range benchSizes {
		raw := AppendFloat32(nil, benchFloat32(n))
		b.Run(fmt.Sprintf("FP32/%d/memcpy", n), func(b *testing.B) {
			dst := make([]byte, len(raw))
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				copy(dst, raw)
			}
		})
		b.Run(fmt.Sprintf("FP32/%d/goai", n), func(b *testing.B) {
			out := make([]float32, 0, n)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if out, err = DecodeFloat32(out[:0], raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("FP32/%d/binary_read", n), func(b *testing.B) {
			out := make([]float32, n)
			r := bytes.NewReader(raw)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(raw)
				if err := binary.Read(r, binary.LittleEndian, out); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("FP32/%d/triton", n), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				out := make([]float32, n)
				for i := range out {
					if err := binary.Read(bytes.NewBuffer(raw[i*4:i*4+4]), binary.LittleEndian, &out[i]); err != nil {
						b.Fatal(err)
					}
				}
				sink = out
			}
		})
	}
	for _, n := range benchSizes[:2] {
		v := benchFloat32(n)
		raw16 := AppendFP16(nil, v)
		b.Run(fmt.Sprintf("FP16/%d/goai", n), func(b *testing.B) {
			out := make([]float32, 0, n)
			b.SetBytes(int64(len(raw16)))
			for b.Loop() {
				out, _ = DecodeFP16(out[:0], raw16)
			}
		})
		rawb := AppendBF16(nil, v)
		b.Run(fmt.Sprintf("BF16/%d/goai", n), func(b *testing.B) {
			out := make([]float32, 0, n)
			b.SetBytes(int64(len(rawb)))
			for b.Loop() {
				out, _ = DecodeBF16(out[:0], rawb)
			}
		})
		ids := make([]int64, n)
		raw64 := AppendInt64(nil, ids)
		b.Run(fmt.Sprintf("INT64/%d/goai", n), func(b *testing.B) {
			out := make([]int64, 0, n)
			b.SetBytes(int64(len(raw64)))
			for b.Loop() {
				out, _ = DecodeInt64(out[:0], raw64)
			}
		})
		raws := AppendStringElements(nil, benchStrings(n/16))
		b.Run(fmt.Sprintf("BYTES/%d/goai", n/16), func(b *testing.B) {
			b.SetBytes(int64(len(raws)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeBytesElements(raws, n/16); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchStrings(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("token-%010d", i)
	}
	return s
}

// sink keeps results of allocating benchmarks alive.
var sink any
