package tensor

import (
	"encoding/binary"
	"math"
	"slices"
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
// one slice header per element actually present.
func DecodeBytesElements(raw []byte, max int) ([][]byte, error) {
	n, err := countBytesElements(raw, max)
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

// DecodeStringElements is [DecodeBytesElements] returning strings. They
// are copied out of raw, in one allocation of len(raw) bytes shared by all
// elements.
func DecodeStringElements(raw []byte, max int) ([]string, error) {
	n, err := countBytesElements(raw, max)
	if err != nil {
		return nil, err
	}
	s := string(raw)
	out := make([]string, n)
	off := 0
	for i := range out {
		l := int(binary.LittleEndian.Uint32(raw[off:]))
		out[i] = s[off+4 : off+4+l]
		off += 4 + l
	}
	return out, nil
}

// countBytesElements returns the number of elements in raw BYTES contents,
// checking that the framing covers raw exactly, without allocating.
func countBytesElements(raw []byte, max int) (int, error) {
	n := 0
	for off := 0; off < len(raw); n++ {
		if max >= 0 && n >= max {
			return 0, errorf(ErrLength, "BYTES contents hold more than %d elements", max)
		}
		if len(raw)-off < 4 {
			return 0, errorf(ErrLength, "BYTES element %d: length prefix cut short at byte %d of %d", n, off, len(raw))
		}
		// Compare in uint64 so a length near 4 GiB cannot overflow int on
		// 32-bit platforms.
		l := uint64(binary.LittleEndian.Uint32(raw[off:]))
		off += 4
		if l > uint64(len(raw)-off) {
			return 0, errorf(ErrLength, "BYTES element %d: length %d runs past the end (%d bytes left)", n, l, len(raw)-off)
		}
		off += int(l)
	}
	return n, nil
}
