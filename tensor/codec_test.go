package tensor

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"
	"unsafe"
)

func TestNativeEndian(t *testing.T) {
	x := uint16(1)
	little := *(*byte)(unsafe.Pointer(&x)) == 1
	if nativeLittleEndian && !little {
		t.Fatal("nativeLittleEndian is true on a big-endian host: fix the build tags in endian_little.go")
	}
	if !nativeLittleEndian && little {
		t.Log("little-endian host on the portable path: built with -tags goai_portable, or this GOARCH is missing from endian_little.go")
	}
}

// Golden wire bytes, computed by hand from the IEEE 754 and two's
// complement encodings; see the comment on each.
func TestGolden(t *testing.T) {
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		// 1.0 = sign 0, exponent 127 (0x7f << 23), mantissa 0 = 0x3f800000.
		{"FP32 1.0", AppendFloat32(nil, []float32{1}), "0000803f"},
		// -2.5 = -1.25 * 2^1: 0xc0200000.
		{"FP32 -2.5", AppendFloat32(nil, []float32{-2.5}), "000020c0"},
		// 1.0 = 0x3ff0000000000000.
		{"FP64 1.0", AppendFloat64(nil, []float64{1}), "000000000000f03f"},
		// Length 2 little-endian, then "ab".
		{"BYTES ab", AppendBytesElements(nil, [][]byte{[]byte("ab")}), "0200000061 62"},
		{"BYTES ab,empty,c", AppendStringElements(nil, []string{"ab", "", "c"}), "020000006162 00000000 0100000063"},
		// FP16 1.0 = exponent 15 << 10 = 0x3c00.
		{"FP16 1.0", AppendFP16(nil, []float32{1}), "003c"},
		// BF16 1.0 = top half of 0x3f800000.
		{"BF16 1.0", AppendBF16(nil, []float32{1}), "803f"},
		// 1 + 2^-8 is FP32 0x3f808000: exactly halfway between BF16 0x3f80
		// and 0x3f81; ties to even keeps 0x3f80.
		{"BF16 1+2^-8 tie to even down", AppendBF16(nil, []float32{1 + 0x1p-8}), "803f"},
		// 1 + 3*2^-8 is 0x3f818000: halfway between 0x3f81 and 0x3f82;
		// ties to even goes up to 0x3f82. Triton's truncation gives 0x3f81.
		{"BF16 1+3*2^-8 tie to even up", AppendBF16(nil, []float32{1 + 3*0x1p-8}), "823f"},
		// 1 + 2^-8 + 2^-23 is just above the tie: rounds up to 0x3f81.
		{"BF16 above tie", AppendBF16(nil, []float32{1 + 0x1p-8 + 0x1p-23}), "813f"},
		// FP16 has 10 fraction bits: 1 + 2^-11 is the tie between 0x3c00 and
		// 0x3c01, even is 0x3c00; 1 + 3*2^-11 ties between 0x3c01 and
		// 0x3c02, even is 0x3c02.
		{"FP16 1+2^-11 tie to even down", AppendFP16(nil, []float32{1 + 0x1p-11}), "003c"},
		{"FP16 1+3*2^-11 tie to even up", AppendFP16(nil, []float32{1 + 3*0x1p-11}), "023c"},
		// 65504 is the largest FP16 (0x7bff); 65520 is the tie with the
		// next power of two and rounds to +Inf (0x7c00).
		{"FP16 max", AppendFP16(nil, []float32{65504, 65519, 65520}), "ff7b ff7b 007c"},
		// 2^-24 is the smallest FP16 subnormal (0x0001); 2^-25 is the tie
		// with zero and rounds to even, +0.
		{"FP16 subnormal", AppendFP16(nil, []float32{0x1p-24, 0x1p-25, -0x1p-24}), "0100 0000 0180"},
		{"FP16 inf nan", AppendFP16(nil, []float32{float32(math.Inf(-1)), float32(math.NaN())}), "00fc 007e"},
		{"BF16 inf nan", AppendBF16(nil, []float32{float32(math.Inf(1)), float32(math.NaN())}), "807f c07f"},
		// The largest finite FP32 rounds past the largest BF16 to +Inf.
		{"BF16 overflow", AppendBF16(nil, []float32{math.MaxFloat32}), "807f"},
		{"INT32 -2", AppendInt32(nil, []int32{-2}), "feffffff"},
		{"INT64 1", AppendInt64(nil, []int64{1}), "0100000000000000"},
		{"UINT16 0x1234", AppendUint16(nil, []uint16{0x1234}), "3412"},
		{"INT8 from int32", must(AppendAs(nil, Int8, []int32{-1, 127})), "ff7f"},
		{"UINT16 from uint32", must(AppendAs(nil, Uint16, []uint32{65535})), "ffff"},
		{"BOOL", AppendBool(nil, []bool{true, false}), "0100"},
	} {
		want, err := hex.DecodeString(stripSpaces(tc.want))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tc.got, want) {
			t.Errorf("%s: got % x, want % x", tc.name, tc.got, want)
		}
	}
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}

// roundTrip encodes v as dt with AppendAs, checks the length, decodes it
// back with DecodeAs and compares.
func roundTrip[T Element](t *testing.T, dt DType, v []T) []byte {
	t.Helper()
	prefix := []byte{0xaa}
	raw, err := AppendAs(prefix, dt, v)
	if err != nil {
		t.Fatalf("AppendAs(%v, %v): %v", dt, v, err)
	}
	if raw[0] != 0xaa || len(raw)-1 != len(v)*dt.Size() {
		t.Fatalf("AppendAs(%v) = % x: prefix lost or wrong length", dt, raw)
	}
	raw = raw[1:]
	head := []T{v[0]}
	got, err := DecodeAs(head, dt, raw)
	if err != nil {
		t.Fatalf("DecodeAs(%v): %v", dt, err)
	}
	if !slices.Equal(got[1:], v) && !equalNaN(got[1:], v) {
		t.Fatalf("%v round trip: got %v, want %v", dt, got[1:], v)
	}
	if err := (Tensor{DType: dt, Shape: []int64{int64(len(v))}, Raw: raw}).Validate(); err != nil {
		t.Fatal(err)
	}
	return raw
}

func equalNaN[T Element](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := any(a[i]), any(b[i])
		if x == y {
			continue
		}
		switch x := x.(type) {
		case float32:
			if x == x || y.(float32) == y.(float32) {
				return false
			}
		case float64:
			if x == x || y.(float64) == y.(float64) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func TestRoundTripEveryDType(t *testing.T) {
	nan32, inf32 := float32(math.NaN()), float32(math.Inf(1))
	t.Run("BOOL", func(t *testing.T) { roundTrip(t, Bool, []bool{true, false, true}) })
	t.Run("INT8", func(t *testing.T) { roundTrip(t, Int8, []int8{math.MinInt8, -1, 0, 1, math.MaxInt8}) })
	t.Run("INT16", func(t *testing.T) { roundTrip(t, Int16, []int16{math.MinInt16, -1, 0, 1, math.MaxInt16}) })
	t.Run("INT32", func(t *testing.T) { roundTrip(t, Int32, []int32{math.MinInt32, -1, 0, 1, math.MaxInt32}) })
	t.Run("INT64", func(t *testing.T) { roundTrip(t, Int64, []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}) })
	t.Run("UINT8", func(t *testing.T) { roundTrip(t, Uint8, []uint8{0, 1, math.MaxUint8}) })
	t.Run("UINT16", func(t *testing.T) { roundTrip(t, Uint16, []uint16{0, 1, math.MaxUint16}) })
	t.Run("UINT32", func(t *testing.T) { roundTrip(t, Uint32, []uint32{0, 1, math.MaxUint32}) })
	t.Run("UINT64", func(t *testing.T) { roundTrip(t, Uint64, []uint64{0, 1, math.MaxUint64}) })
	t.Run("FP32", func(t *testing.T) {
		roundTrip(t, FP32, []float32{0, float32(math.Copysign(0, -1)), 1, -1.5, math.MaxFloat32, math.SmallestNonzeroFloat32, inf32, -inf32, nan32})
	})
	t.Run("FP64", func(t *testing.T) {
		roundTrip(t, FP64, []float64{0, 1, -1.5, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(-1), math.NaN()})
	})
	// Values exactly representable in the half types survive the trip.
	t.Run("FP16", func(t *testing.T) {
		roundTrip(t, FP16, []float32{0, 1, -2, 0.5, 65504, 0x1p-24, 0x1p-14, inf32, -inf32, nan32})
	})
	t.Run("BF16", func(t *testing.T) {
		roundTrip(t, BF16, []float32{0, 1, -2, 0.5, 3.3895314e38, 0x1p-133, inf32, -inf32, nan32})
	})
	t.Run("BYTES", func(t *testing.T) {
		in := [][]byte{[]byte("hello"), {}, {0, 0xff, 0}, bytes.Repeat([]byte("x"), 300)}
		raw := AppendBytesElements([]byte{}, in)
		got, err := DecodeBytesElements(raw, len(in))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(in) {
			t.Fatalf("got %d elements, want %d", len(got), len(in))
		}
		for i := range in {
			if !bytes.Equal(got[i], in[i]) {
				t.Errorf("element %d: got %q, want %q", i, got[i], in[i])
			}
		}
		// Appending to an element must not clobber the next one.
		_ = append(got[0], 'X')
		if again, _ := DecodeBytesElements(raw, -1); !bytes.Equal(again[1], in[1]) || len(again) != 4 {
			t.Fatal("appending to a decoded element overwrote the buffer")
		}
		strs, err := DecodeStringElements(raw, -1)
		if err != nil || len(strs) != 4 || strs[0] != "hello" || strs[3] != string(in[3]) {
			t.Fatalf("DecodeStringElements = %q, %v", strs, err)
		}
	})
}

// TestWidening checks every pairing DecodeAs accepts against a plain Go
// conversion, and that encoding back narrows exactly.
func TestWidening(t *testing.T) {
	ints := []int64{math.MinInt64, math.MinInt32, math.MinInt16, math.MinInt8, -1, 0, 1, math.MaxInt8, math.MaxUint8, math.MaxInt16, math.MaxUint16, math.MaxInt32, math.MaxUint32, math.MaxInt64}
	for _, dt := range []DType{Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Uint64} {
		// The subset of ints that dt holds.
		var fit []int64
		for _, x := range ints {
			if fitsDType(x, dt) {
				fit = append(fit, x)
			}
		}
		raw, err := AppendAs(nil, dt, fit)
		if err != nil {
			t.Fatalf("AppendAs(%v, %v): %v", dt, fit, err)
		}
		// Every value outside dt is refused.
		for _, x := range ints {
			if _, err := AppendAs(nil, dt, []int64{x}); fitsDType(x, dt) == errors.Is(err, ErrRange) {
				t.Errorf("AppendAs(%v, %d): err = %v", dt, x, err)
			}
		}
		checkDecode[int8](t, dt, raw, fit)
		checkDecode[int16](t, dt, raw, fit)
		checkDecode[int32](t, dt, raw, fit)
		checkDecode[int64](t, dt, raw, fit)
		checkDecode[uint8](t, dt, raw, fit)
		checkDecode[uint16](t, dt, raw, fit)
		checkDecode[uint32](t, dt, raw, fit)
		checkDecode[uint64](t, dt, raw, fit)
		if _, err := DecodeAs[float32](nil, dt, raw); !errors.Is(err, ErrDType) {
			t.Errorf("DecodeAs[float32](%v) = %v, want ErrDType", dt, err)
		}
	}
}

func fitsDType(x int64, dt DType) bool {
	switch dt {
	case Int8:
		return x >= math.MinInt8 && x <= math.MaxInt8
	case Int16:
		return x >= math.MinInt16 && x <= math.MaxInt16
	case Int32:
		return x >= math.MinInt32 && x <= math.MaxInt32
	case Int64:
		return true
	case Uint8:
		return x >= 0 && x <= math.MaxUint8
	case Uint16:
		return x >= 0 && x <= math.MaxUint16
	case Uint32:
		return x >= 0 && x <= math.MaxUint32
	case Uint64:
		return x >= 0
	}
	return false
}

// checkDecode decodes raw (dt holding want) into T: it must succeed, with
// the right values, exactly when every dt value fits T.
func checkDecode[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](t *testing.T, dt DType, raw []byte, want []int64) {
	t.Helper()
	tsize, tsigned := sizeOf[T](), signed[T]()
	size, dsigned, _ := integerKind(dt)
	ok := size < tsize && (tsigned || !dsigned) || size == tsize && tsigned == dsigned
	got, err := DecodeAs[T](nil, dt, raw)
	if !ok {
		if !errors.Is(err, ErrDType) {
			t.Errorf("DecodeAs[%T](%v) = %v, want ErrDType", T(0), dt, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("DecodeAs[%T](%v): %v", T(0), dt, err)
	}
	for i := range want {
		if int64(got[i]) != want[i] {
			t.Errorf("DecodeAs[%T](%v)[%d] = %d, want %d", T(0), dt, i, got[i], want[i])
		}
	}
}

func TestFloatConversions(t *testing.T) {
	v32 := []float32{1, -0.5, 65504, 3.3e38, float32(math.Inf(-1))}
	raw, err := AppendAs(nil, FP64, v32)
	if err != nil {
		t.Fatal(err)
	}
	got64, err := DecodeFloat64(nil, raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range v32 {
		if got64[i] != float64(v32[i]) {
			t.Errorf("FP64 from float32: %v != %v", got64[i], v32[i])
		}
	}
	for _, dt := range []DType{FP16, BF16, FP32} {
		raw, err := AppendAs(nil, dt, v32)
		if err != nil {
			t.Fatal(err)
		}
		f32, err := DecodeAs[float32](nil, dt, raw)
		if err != nil {
			t.Fatal(err)
		}
		f64, err := DecodeAs[float64](nil, dt, raw)
		if err != nil {
			t.Fatal(err)
		}
		for i := range f32 {
			if float64(f32[i]) != f64[i] {
				t.Errorf("%v: float32 %v and float64 %v decodes differ", dt, f32[i], f64[i])
			}
		}
		// float64 input that is exactly a float32 encodes the same way.
		raw2, err := AppendAs(nil, dt, got64)
		if err != nil || !bytes.Equal(raw, raw2) {
			t.Errorf("%v: float64 input encodes to % x, float32 to % x (%v)", dt, raw2, raw, err)
		}
	}
	if _, err := DecodeAs[float32](nil, FP64, raw); !errors.Is(err, ErrDType) {
		t.Errorf("DecodeAs[float32](FP64) = %v, want ErrDType", err)
	}
	for _, dt := range []DType{Int32, Bool, Bytes, Invalid} {
		if _, err := AppendAs(nil, dt, v32); !errors.Is(err, ErrDType) {
			t.Errorf("AppendAs(%v, []float32) = %v, want ErrDType", dt, err)
		}
	}
	if _, err := AppendAs(nil, FP32, []bool{true}); !errors.Is(err, ErrDType) {
		t.Errorf("AppendAs(FP32, []bool) = %v, want ErrDType", err)
	}
	if _, err := DecodeAs[bool](nil, Uint8, []byte{1}); !errors.Is(err, ErrDType) {
		t.Errorf("DecodeAs[bool](UINT8) = %v, want ErrDType", err)
	}
}

// TestFloat64ToHalfDoubleRounding checks that float64 inputs are rounded
// once, not twice: 1 + 2^-11 + 2^-40 is above the FP16 tie 1 + 2^-11, so it
// rounds up, though float32 rounding first would land on the tie and then
// go down to even.
func TestFloat64ToHalfDoubleRounding(t *testing.T) {
	for _, tc := range []struct {
		dt   DType
		x    float64
		want uint16
	}{
		{FP16, 1 + 0x1p-11 + 0x1p-40, 0x3c01},
		{FP16, 1 + 0x1p-11 - 0x1p-40, 0x3c00},
		{FP16, 1 + 0x1p-11, 0x3c00},
		{BF16, 1 + 0x1p-8 + 0x1p-40, 0x3f81},
		{BF16, 1 + 0x1p-8, 0x3f80},
		{BF16, -(1 + 0x1p-8 + 0x1p-40), 0xbf81},
		{FP16, 1e300, 0x7c00},
		{BF16, -1e300, 0xff80},
		{BF16, 1e-300, 0x0000},
		{FP16, -1e-300, 0x8000},
	} {
		raw, err := AppendAs(nil, tc.dt, []float64{tc.x})
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint16(raw); got != tc.want {
			t.Errorf("%v(%g) = %#04x, want %#04x", tc.dt, tc.x, got, tc.want)
		}
	}
}

func TestDecodeLengthErrors(t *testing.T) {
	odd := []byte{1, 2, 3}
	checks := map[string]error{}
	_, checks["FP32"] = DecodeFloat32(nil, odd)
	_, checks["FP64"] = DecodeFloat64(nil, odd)
	_, checks["INT16"] = DecodeInt16(nil, odd)
	_, checks["INT64"] = DecodeInt64(nil, odd)
	_, checks["UINT32"] = DecodeUint32(nil, odd)
	_, checks["FP16"] = DecodeFP16(nil, odd)
	_, checks["BF16"] = DecodeBF16(nil, odd)
	_, checks["INT16 as int64"] = DecodeAs[int64](nil, Int16, odd)
	_, checks["FP16 as float64"] = DecodeAs[float64](nil, FP16, odd)
	_, checks["BYTES"] = DecodeBytesElements(odd, -1)
	_, checks["STRING"] = DecodeStringElements([]byte{5, 0, 0, 0, 'a'}, -1)
	_, checks["BYTES max"] = DecodeBytesElements(AppendStringElements(nil, []string{"a", "b"}), 1)
	for name, err := range checks {
		if !errors.Is(err, ErrLength) {
			t.Errorf("%s: err = %v, want ErrLength", name, err)
		}
	}
}

// TestDecodeKeepsDst checks the append contract: existing elements stay,
// and on error dst comes back unchanged.
func TestDecodeKeepsDst(t *testing.T) {
	dst := []float32{7}
	got, err := DecodeFloat32(dst, AppendFloat32(nil, []float32{1, 2}))
	if err != nil || !slices.Equal(got, []float32{7, 1, 2}) {
		t.Fatalf("got %v, %v", got, err)
	}
	got, err = DecodeFloat32(dst, []byte{1})
	if err == nil || !slices.Equal(got, dst) {
		t.Fatalf("on error got %v, %v", got, err)
	}
	b, err := AppendAs([]byte{9}, Int8, []int32{1, 300})
	if !errors.Is(err, ErrRange) || !bytes.Equal(b, []byte{9}) {
		t.Fatalf("AppendAs on range error = % x, %v", b, err)
	}
}

// TestPortableMatchesNative runs the encoding/binary path, used on
// big-endian hosts, against the memmove path on every fixed-width type.
func TestPortableMatchesNative(t *testing.T) {
	testPortable(t, []int8{-128, -1, 0, 1, 127})
	testPortable(t, []int16{math.MinInt16, -2, 0x1234})
	testPortable(t, []int32{math.MinInt32, -2, 0x12345678})
	testPortable(t, []int64{math.MinInt64, -2, 0x123456789abcdef})
	testPortable(t, []uint8{0, 0x80, 0xff})
	testPortable(t, []uint16{0, 0x1234, 0xffff})
	testPortable(t, []uint32{0, 0x12345678, 0xffffffff})
	testPortable(t, []uint64{0, 0x123456789abcdef0, math.MaxUint64})
	testPortable(t, []float32{0, 1, -2.5, float32(math.Inf(1)), math.SmallestNonzeroFloat32})
	testPortable(t, []float64{0, 1, -2.5, math.Inf(-1), math.SmallestNonzeroFloat64})
}

func testPortable[T fixed](t *testing.T, v []T) {
	t.Helper()
	portable := appendFixedPortable([]byte{0xee}, v)
	// Reference: encoding/binary's own little-endian encoding.
	var ref bytes.Buffer
	ref.WriteByte(0xee)
	if err := binary.Write(&ref, binary.LittleEndian, v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(portable, ref.Bytes()) {
		t.Errorf("%T: portable % x, binary.Write % x", v, portable, ref.Bytes())
	}
	if native := appendFixed([]byte{0xee}, v); !bytes.Equal(native, portable) {
		t.Errorf("%T: native % x, portable % x", v, native, portable)
	}
	out := make([]T, len(v))
	decodeFixedPortable(out, portable[1:])
	if !slices.Equal(out, v) {
		t.Errorf("%T: portable decode %v, want %v", v, out, v)
	}
	native, err := decodeFixed[T](nil, Invalid, portable[1:])
	if err != nil || !slices.Equal(native, v) {
		t.Errorf("%T: native decode %v, %v", v, native, err)
	}
}

func TestSteadyStateAllocs(t *testing.T) {
	f32 := make([]float32, 1024)
	ids := make([]int32, 1024)
	strs := []string{"a", "bc", "def"}
	buf := make([]byte, 0, 8192)
	out32 := make([]float32, 0, 1024)
	outIDs := make([]int32, 0, 1024)
	raw := AppendFloat32(nil, f32)
	raw16 := AppendFP16(nil, f32)
	for name, f := range map[string]func(){
		"AppendFloat32":        func() { buf = AppendFloat32(buf[:0], f32) },
		"DecodeFloat32":        func() { out32, _ = DecodeFloat32(out32[:0], raw) },
		"AppendAs FP32":        func() { buf, _ = AppendAs(buf[:0], FP32, f32) },
		"DecodeAs FP32":        func() { out32, _ = DecodeAs(out32[:0], FP32, raw) },
		"AppendAs INT8":        func() { buf, _ = AppendAs(buf[:0], Int8, ids) },
		"DecodeAs INT16":       func() { outIDs, _ = DecodeAs(outIDs[:0], Int16, raw) },
		"AppendFP16":           func() { buf = AppendFP16(buf[:0], f32) },
		"DecodeFP16":           func() { out32, _ = DecodeFP16(out32[:0], raw16) },
		"AppendStringElements": func() { buf = AppendStringElements(buf[:0], strs) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

// TestDecodeAllocationBounded checks that what decoding allocates follows
// the bytes received: a few bytes cannot make it reserve more.
func TestDecodeAllocationBounded(t *testing.T) {
	raw := []byte{0xff, 0xff, 0xff, 0x7f} // a BYTES length prefix of 2 GiB
	if _, err := DecodeBytesElements(raw, -1); !errors.Is(err, ErrLength) {
		t.Fatalf("err = %v", err)
	}
	// Only the error message is allocated, never the declared 2 GiB.
	if b := allocBytes(func() { _, _ = DecodeBytesElements(raw, -1) }); b > 1024 {
		t.Errorf("decoding a hostile prefix allocated %d bytes", b)
	}
	if b := allocBytes(func() { _ = Tensor{DType: FP64, Shape: []int64{1 << 40}}.Validate() }); b > 1024 {
		t.Errorf("Validate of a 2^40 shape allocated %d bytes", b)
	}
	got, _ := DecodeFloat32(nil, make([]byte, 8))
	if cap(got) > 8 {
		t.Errorf("decoding 2 elements reserved %d", cap(got))
	}
}

// allocBytes returns the bytes f allocates, averaged over a few runs.
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / 10
}
