package tensor

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// BYTES elements in raw contents are each a 4-byte little-endian length
// followed by that many bytes, concatenated with nothing in between.

// AppendBytesElements appends elems as raw BYTES contents and returns the
// extended buffer. It grows dst once, to the exact size. It panics if an
// element is 4 GiB or longer, which the 32-bit length prefix cannot frame
// (and no gRPC message can carry).
func AppendBytesElements(dst []byte, elems [][]byte) []byte {
	return appendElements(dst, elems)
}

// AppendStringElements is [AppendBytesElements] for strings.
func AppendStringElements(dst []byte, elems []string) []byte {
	return appendElements(dst, elems)
}

func appendElements[E []byte | string](dst []byte, elems []E) []byte {
	n := 4 * len(elems)
	for _, e := range elems {
		if uint64(len(e)) > math.MaxUint32 {
			panic("tensor: BYTES element longer than 4 GiB - 1")
		}
		n += len(e)
	}
	dst = slices.Grow(dst, n)
	for _, e := range elems {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(e)))
		dst = append(dst, e...)
	}
	return dst
}

// DecodeBytesElements splits raw BYTES contents into their elements. The
// elements alias raw: nothing is copied, so they are valid while raw is
// and change if it does. A max >= 0 caps the number of elements (pass the
// count the shape declares); a negative max means no cap beyond
// len(raw)/4. It fails with [ErrLength] on a length prefix that is cut
// short or runs past the end of raw, or on more than max elements. raw is
// checked in full before the result is allocated, so the allocation is
// one slice header per element actually present: 24 bytes on 64-bit
// hosts for at least 4 bytes of raw, at most 6 bytes per byte of raw.
func DecodeBytesElements(raw []byte, max int) ([][]byte, error) {
	n, _, err := countBytesElements(raw, max)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, n)
	for i := range out {
		l := int(binary.LittleEndian.Uint32(raw))
		// Full slice expression: appending to one element must not
		// overwrite the next element's length prefix.
		out[i] = raw[4 : 4+l : 4+l]
		raw = raw[4+l:]
	}
	return out, nil
}

// DecodeStringElements is [DecodeBytesElements] returning strings, copied
// out of raw. The elements share one allocation of their total length,
// which leaves out the length prefixes, so the cost is that plus a string
// header per element: 16 bytes on 64-bit hosts for at least 4 bytes of
// raw, at most 4 bytes per byte of raw in all.
func DecodeStringElements(raw []byte, max int) ([]string, error) {
	n, size, err := countBytesElements(raw, max)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.Grow(size)
	for off := 0; off < len(raw); {
		l := int(binary.LittleEndian.Uint32(raw[off:]))
		b.Write(raw[off+4 : off+4+l])
		off += 4 + l
	}
	s := b.String()
	out := make([]string, n)
	for i, off := 0, 0; i < n; i++ {
		l := int(binary.LittleEndian.Uint32(raw))
		out[i] = s[off : off+l]
		off += l
		raw = raw[4+l:]
	}
	return out, nil
}

// BytesToStrings returns elems as strings, copied into one allocation of
// their total length, for BYTES elements that arrived unframed (typed
// contents' bytes_contents): the cost is that plus 16 bytes of string
// header per element on 64-bit hosts, with no intermediate framing.
func BytesToStrings(elems [][]byte) []string {
	size := 0
	for _, e := range elems {
		size += len(e)
	}
	var b strings.Builder
	b.Grow(size)
	for _, e := range elems {
		b.Write(e)
	}
	s := b.String()
	out := make([]string, len(elems))
	off := 0
	for i, e := range elems {
		out[i] = s[off : off+len(e)]
		off += len(e)
	}
	return out
}

// CheckUTF8 returns -1 and nil if every element of elems is valid UTF-8,
// and otherwise the index of the first that is not with an error wrapping
// [ErrUTF8]. Elements are checked one by one: invalid halves of a
// character in two neighbours would make a valid concatenation.
func CheckUTF8(elems []string) (int, error) {
	for i, e := range elems {
		if !utf8.ValidString(e) {
			return i, errorf(ErrUTF8, "BYTES element %d is not valid UTF-8", i)
		}
	}
	return -1, nil
}

// countBytesElements returns the number of elements in raw BYTES contents
// and their total length without prefixes, checking that the framing
// covers raw exactly, without allocating.
func countBytesElements(raw []byte, max int) (n, size int, err error) {
	for off := 0; off < len(raw); n++ {
		if max >= 0 && n >= max {
			return 0, 0, errorf(ErrLength, "BYTES contents hold more than %d elements", max)
		}
		if len(raw)-off < 4 {
			return 0, 0, errorf(ErrLength, "BYTES element %d: length prefix cut short at byte %d of %d", n, off, len(raw))
		}
		// Compare in uint64 so a length near 4 GiB cannot overflow int on
		// 32-bit platforms.
		l := uint64(binary.LittleEndian.Uint32(raw[off:]))
		off += 4
		if l > uint64(len(raw)-off) {
			return 0, 0, errorf(ErrLength, "BYTES element %d: length %d runs past the end (%d bytes left)", n, l, len(raw)-off)
		}
		off += int(l)
		size += int(l)
	}
	return n, size, nil
}
