package oiphttp

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestParseFloatMatchesStrconv checks parseFloat against strconv on
// literals of the kinds servers write, and on the hard cases of the fast
// path: decimals next to the midpoint between two float32s.
func TestParseFloatMatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	check := func(s string) {
		t.Helper()
		n, ok := scanNumber([]byte(s), 0)
		if valid := json.Valid([]byte(s)); valid != (ok && n.end == len(s)) {
			t.Fatalf("scanNumber(%q) = %+v, %v; json.Valid %v", s, n, ok, valid)
		} else if !valid {
			return // "+Inf": a float32 rounded past its range
		}
		for _, bits := range []int{32, 64} {
			want, err := strconv.ParseFloat(s, bits)
			got, ok := parseFloat([]byte(s), &n, bits)
			if ok != (err == nil) || ok && math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("parseFloat(%q, %d) = %v, %v; strconv: %v, %v", s, bits, got, ok, want, err)
			}
		}
	}
	for range 30000 {
		f32 := math.Float32frombits(r.Uint32())
		f64 := math.Float64frombits(r.Uint64())
		act := r.Float64()*2 - 1
		for _, v := range []float64{float64(f32), f64, act, act * math.Pow(10, float64(r.IntN(60)-30))} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			check(strconv.FormatFloat(v, 'g', -1, 32))
			check(strconv.FormatFloat(v, 'g', -1, 64))
			check(strconv.FormatFloat(v, 'e', r.IntN(20), 64))
			check(strconv.FormatFloat(v, 'f', r.IntN(12), 64))
		}
		// Near a float32 midpoint: the midpoint itself, written to 9-19
		// digits, lands on or right beside it.
		x := math.Float32frombits(r.Uint32() & 0x7f7f_ffff)
		mid := (float64(x) + float64(math.Nextafter32(x, float32(math.Inf(1))))) / 2
		check(strconv.FormatFloat(mid, 'e', 8+r.IntN(11), 64))
		check(strconv.FormatFloat(mid, 'g', -1, 64))
	}
}
