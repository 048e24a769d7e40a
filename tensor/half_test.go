package tensor

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// halfFormat describes a 16-bit float format for the reference rounding.
type halfFormat struct {
	name    string
	toF32   func(uint16) float32
	fromF32 func(float32) uint16
	inf     float64 // the value +Inf stands for when rounding: 2^(emax+1)
	values  []float64
	bits    []uint16
}

// newHalfFormat lists every finite non-negative value of the format, in
// order, as the reference for correct rounding.
func newHalfFormat(name string, toF32 func(uint16) float32, fromF32 func(float32) uint16, inf float64) *halfFormat {
	h := &halfFormat{name: name, toF32: toF32, fromF32: fromF32, inf: inf}
	for b := 0; b < 0x8000; b++ {
		f := float64(toF32(uint16(b)))
		if math.IsInf(f, 0) || math.IsNaN(f) {
			continue
		}
		h.values = append(h.values, f)
		h.bits = append(h.bits, uint16(b))
	}
	// Rounding past the largest finite value lands on +Inf as if the
	// exponent range went on: Inf is the "next value", and it has an even
	// (zero) significand.
	h.values = append(h.values, inf)
	h.bits = append(h.bits, uint16(toBitsInf(name)))
	return h
}

func toBitsInf(name string) uint16 {
	if name == "FP16" {
		return 0x7c00
	}
	return 0x7f80
}

// round is the reference: the nearest listed value, ties to the even bit
// pattern, computed in float64 where every float32 is exact.
func (h *halfFormat) round(f float32) uint16 {
	x := float64(f)
	sign := uint16(0)
	if math.Signbit(x) {
		sign, x = 0x8000, -x
	}
	if x >= h.inf {
		return sign | h.bits[len(h.bits)-1]
	}
	i := sort.SearchFloat64s(h.values, x) // values[i] >= x
	if h.values[i] == x {
		return sign | h.bits[i]
	}
	lo, hi := i-1, i
	dlo, dhi := x-h.values[lo], h.values[hi]-x
	switch {
	case dlo < dhi:
		return sign | h.bits[lo]
	case dhi < dlo:
		return sign | h.bits[hi]
	case h.bits[lo]&1 == 0:
		return sign | h.bits[lo]
	default:
		return sign | h.bits[hi]
	}
}

func TestHalfRounding(t *testing.T) {
	formats := []*halfFormat{
		newHalfFormat("FP16", FP16ToFloat32, FP16FromFloat32, 65536),
		newHalfFormat("BF16", BF16ToFloat32, BF16FromFloat32, 0x1p128),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, h := range formats {
		check := func(f float32) {
			if f != f {
				return
			}
			if got, want := h.fromF32(f), h.round(f); got != want {
				t.Fatalf("%s(%g = %#08x) = %#04x, want %#04x", h.name, f, math.Float32bits(f), got, want)
			}
		}
		for range 200000 {
			check(math.Float32frombits(rng.Uint32()))
		}
		// Ties and near-ties: every low-half pattern that matters, over
		// random high halves, and around every FP16 value.
		for range 20000 {
			hi := rng.Uint32() &^ 0xffff
			for _, lo := range []uint32{0, 1, 0x0fff, 0x1000, 0x1001, 0x2000, 0x7fff, 0x8000, 0x8001, 0xffff} {
				check(math.Float32frombits(hi | lo))
			}
		}
		for _, v := range h.values[:len(h.values)-1] {
			f := float32(v)
			check(f)
			check(math.Nextafter32(f, float32(math.Inf(1))))
			check(math.Nextafter32(f, float32(math.Inf(-1))))
			check(-f)
		}
		check(math.MaxFloat32)
		check(math.SmallestNonzeroFloat32)
	}
}

// TestHalfExhaustive converts every 16-bit pattern to float32 and back: all
// non-NaN values must survive exactly, NaNs must stay NaN with their sign.
func TestHalfExhaustive(t *testing.T) {
	for _, h := range []struct {
		name string
		to   func(uint16) float32
		from func(float32) uint16
	}{{"FP16", FP16ToFloat32, FP16FromFloat32}, {"BF16", BF16ToFloat32, BF16FromFloat32}} {
		for b := range 1 << 16 {
			f := h.to(uint16(b))
			back := h.from(f)
			if f != f {
				g := h.to(back)
				if g == g || math.Signbit(float64(g)) != (b&0x8000 != 0) {
					t.Fatalf("%s NaN %#04x came back as %#04x", h.name, b, back)
				}
				continue
			}
			if back != uint16(b) {
				t.Fatalf("%s %#04x -> %g -> %#04x", h.name, b, f, back)
			}
		}
	}
}

// TestBF16NaNNeverInf covers the case plain rounding gets wrong: a NaN
// whose payload lives only in the low half, which adding the rounding bias
// would carry into an infinity, or drop to one.
func TestBF16NaNNeverInf(t *testing.T) {
	for _, b := range []uint32{0x7f800001, 0x7f80ffff, 0xff800001, 0x7fffffff, 0x7fc00000} {
		h := BF16FromFloat32(math.Float32frombits(b))
		if f := BF16ToFloat32(h); f == f {
			t.Errorf("BF16(NaN %#08x) = %#04x, not a NaN", b, h)
		}
	}
}
