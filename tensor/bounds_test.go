package tensor

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

func TestFormatShape(t *testing.T) {
	long := make([]int64, 100000)
	for i := range long {
		long[i] = int64(i)
	}
	for _, tc := range []struct {
		shape []int64
		want  string
	}{
		{nil, "[]"},
		{[]int64{1, 3, 224, 224}, "[1 3 224 224]"},
		{[]int64{-1, 9223372036854775807}, "[-1 9223372036854775807]"},
		{long[:MaxFormattedDims], "[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15]"},
		{long[:MaxFormattedDims+1], "[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 … (17 dimensions)]"},
		{long, "[0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 … (100000 dimensions)]"},
	} {
		if got := FormatShape(tc.shape); got != tc.want {
			t.Errorf("FormatShape(%d dimensions) = %q, want %q", len(tc.shape), got, tc.want)
		}
	}
}

// TestErrorsBounded checks that the errors about a shape of 100000
// dimensions, as a hostile header can carry, do not repeat it all.
func TestErrorsBounded(t *testing.T) {
	huge := slices.Repeat([]int64{1}, 100000)
	huge[0] = -1
	var errs []error
	_, err := NumElements(huge)
	errs = append(errs, err)
	_, err = InferShape(append(slices.Clone(huge), -1), 3)
	errs = append(errs, err)
	huge[0] = 1
	errs = append(errs, Tensor{DType: FP32, Shape: huge, Raw: []byte{1}}.Validate())
	errs = append(errs, Tensor{DType: Bytes, Shape: huge, Raw: nil}.Validate())
	_, err = InferShape(huge, 3)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("%d: no error", i)
			continue
		}
		if n := len(err.Error()); n > 512 || !strings.Contains(err.Error(), "dimensions)") {
			t.Errorf("%d: a message of %d bytes: %.200s", i, n, err)
		}
	}
}

// TestDecodeStringElementsCost checks what decoding BYTES into strings
// costs for many empty elements, the worst case per byte received: one
// string header per element and the text, never a copy of the length
// prefixes.
func TestDecodeStringElementsCost(t *testing.T) {
	const n = 1 << 16
	raw := make([]byte, 4*n) // n empty elements
	header := uint64(unsafe.Sizeof(""))
	got := allocBytes(func() {
		if s, err := DecodeStringElements(raw, n); err != nil || len(s) != n {
			t.Fatalf("decoded %d elements, %v", len(s), err)
		}
	})
	if want := header * n; got > want+want/64 {
		t.Errorf("%d empty elements in %d bytes cost %d bytes, want about %d (%d per element)", n, len(raw), got, want, header)
	}

	// With text, the text is copied once, without its prefixes.
	raw = AppendStringElements(nil, slices.Repeat([]string{"abcdefghijkl"}, n))
	got = allocBytes(func() { _, _ = DecodeStringElements(raw, n) })
	if want := (header + 12) * n; got > want+want/64 {
		t.Errorf("%d elements of 12 bytes cost %d bytes, want about %d", n, got, want)
	}
}

func TestBytesToStrings(t *testing.T) {
	elems := [][]byte{[]byte("ab"), nil, []byte("c"), {}}
	got := BytesToStrings(elems)
	if !slices.Equal(got, []string{"ab", "", "c", ""}) {
		t.Errorf("BytesToStrings = %q", got)
	}
	elems[0][0] = 'x'
	if got[0] != "ab" {
		t.Errorf("the strings share memory with the elements: %q", got[0])
	}
	if n := testing.AllocsPerRun(10, func() { _ = BytesToStrings(elems) }); n != 2 {
		t.Errorf("%v allocations, want 2: the text and the headers", n)
	}
}

func TestCheckUTF8(t *testing.T) {
	for _, tc := range []struct {
		elems []string
		bad   int
	}{
		{nil, -1},
		{[]string{"", "ascii", "héllo", "日本"}, -1},
		{[]string{"ok", "\xff"}, 1},
		// Each half of "é" alone is invalid, though together they are not.
		{[]string{"\xc3", "\xa9"}, 0},
		{[]string{"a\x80b"}, 0},
	} {
		i, err := CheckUTF8(tc.elems)
		if i != tc.bad || (tc.bad < 0) != (err == nil) || err != nil && !errors.Is(err, ErrUTF8) {
			t.Errorf("CheckUTF8(%q) = %d, %v; want %d", tc.elems, i, err, tc.bad)
		}
	}
}
