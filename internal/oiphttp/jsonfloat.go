package oiphttp

import (
	"math"
	"strconv"
)

// Decoding floats is most of the cost of a JSON tensor (jsonbench),
// and strconv.ParseFloat spends most of its time re-reading a literal
// the scanner has already checked. parseFloat takes the literals real
// data consists of (up to 19 significant digits, a small exponent) the
// fast way and leaves the rest to strconv.

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat returns the float of bits 32 or 64 nearest to the JSON
// number literal lit, ties to even, exactly as strconv.ParseFloat does;
// ok is false when the value is out of the type's range. n is lit as
// scanNumber read it.
func parseFloat(lit []byte, n *numLit, bits int) (f float64, ok bool) {
	if f, ok := fastFloat(n); ok {
		if bits == 64 {
			return f, true
		}
		// The float64 is correctly rounded, so rounding it again to
		// float32 gives the float32 nearest the literal unless it lies
		// exactly on a midpoint between two float32s (then the literal
		// may be on either side), or in float32's subnormal or overflow
		// range, where strconv decides.
		if a := math.Abs(f); a == 0 || a >= 0x1p-126 && a <= math.MaxFloat32 {
			if math.Float64bits(f)&(1<<29-1) != 1<<28 {
				return float64(float32(f)), true
			}
		}
	}
	// string(lit) does not escape (strconv clones what it keeps for an
	// error), so short literals are converted on the stack.
	f, err := strconv.ParseFloat(string(lit), bits)
	return f, err == nil // a valid JSON literal can only fail on range
}

// fastFloat is Clinger's fast path: a decimal of at most 2^53 as an
// integer, times or divided by a power of ten of at most 1e22, is one
// correctly rounded float64 operation on exact operands. ok is false
// for any other literal.
func fastFloat(n *numLit) (float64, bool) {
	f := float64(n.mant)
	switch {
	case n.big:
		return 0, false
	case n.mant == 0:
	case n.mant > 1<<53:
		return 0, false
	case n.exp < 0 && n.exp >= -22:
		f /= pow10[-n.exp]
	case n.exp >= 0 && n.exp <= 22:
		f *= pow10[n.exp]
	default:
		return 0, false
	}
	if n.neg {
		f = -f
	}
	return f, true
}
