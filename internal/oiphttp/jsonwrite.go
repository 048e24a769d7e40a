package oiphttp

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goai-dev/goai/tensor"
)

// The JSON writer appends to a caller's buffer, like strconv's Append
// functions, so that a pooled buffer makes encoding allocation-free; the
// data arrays are written element by element with strconv, straight from
// raw little-endian contents (see the package doc for why not
// encoding/json).

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string. s must be valid UTF-8 (the
// callers check, because they must choose another form for anything
// else); only '"', '\\' and control characters are escaped, which is all
// JSON requires.
func AppendJSONString[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendShape appends shape as a JSON array.
func appendShape(dst []byte, shape []int64) []byte {
	dst = append(dst, '[')
	for i, d := range shape {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, d, 10)
	}
	return append(dst, ']')
}

// jsonable reports whether JSON can carry t's contents, which must be
// valid: not FP16 or BF16 (the protocol has no JSON form for them), no
// NaN or infinity (JSON has no literal for them), and for BYTES only
// elements that are valid UTF-8 (a JSON string holds text; an escape
// cannot stand for a lone byte).
func jsonable(t *tensor.Tensor) bool {
	raw := t.Raw
	switch t.DType {
	case tensor.FP16, tensor.BF16:
		return false
	case tensor.FP32:
		for i := 0; i+4 <= len(raw); i += 4 {
			// All exponent bits set: Inf or NaN.
			if binary.LittleEndian.Uint32(raw[i:])&0x7f80_0000 == 0x7f80_0000 {
				return false
			}
		}
	case tensor.FP64:
		for i := 0; i+8 <= len(raw); i += 8 {
			if binary.LittleEndian.Uint64(raw[i:])&0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000 {
				return false
			}
		}
	case tensor.Bytes:
		for len(raw) >= 4 {
			l := int(binary.LittleEndian.Uint32(raw))
			if !utf8.Valid(raw[4 : 4+l]) {
				return false
			}
			raw = raw[4+l:]
		}
	}
	return true
}

// maxJSONWidth is the longest an element of each fixed-size type takes in
// a JSON data array, its separator included: "-9223372036854775808,",
// "-1.17549435e-38," and so on.
var maxJSONWidth = map[tensor.DType]int{
	tensor.Bool: 6, tensor.Uint8: 4, tensor.Int8: 5, tensor.Uint16: 6, tensor.Int16: 7,
	tensor.Uint32: 11, tensor.Int32: 12, tensor.Uint64: 21, tensor.Int64: 21,
	tensor.FP32: 16, tensor.FP64: 25,
}

// appendData appends the contents of t, which must be valid and
// [jsonable], as a flat JSON array in row-major order.
func appendData(dst []byte, dt tensor.DType, raw []byte) []byte {
	// One allocation for the array rather than a doubling per append.
	if w := maxJSONWidth[dt]; w > 0 && dt.Size() > 0 {
		dst = slices.Grow(dst, 2+len(raw)/dt.Size()*w)
	}
	dst = append(dst, '[')
	switch dt {
	case tensor.Bool:
		for i, b := range raw {
			if i > 0 {
				dst = append(dst, ',')
			}
			if b != 0 {
				dst = append(dst, "true"...)
			} else {
				dst = append(dst, "false"...)
			}
		}
	case tensor.Uint8:
		for i, b := range raw {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendUint(dst, uint64(b), 10)
		}
	case tensor.Int8:
		for i, b := range raw {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(int8(b)), 10)
		}
	case tensor.Uint16:
		for i := 0; i+2 <= len(raw); i += 2 {
			dst = sep(dst, i)
			dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint16(raw[i:])), 10)
		}
	case tensor.Int16:
		for i := 0; i+2 <= len(raw); i += 2 {
			dst = sep(dst, i)
			dst = strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(raw[i:]))), 10)
		}
	case tensor.Uint32:
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = sep(dst, i)
			dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(raw[i:])), 10)
		}
	case tensor.Int32:
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = sep(dst, i)
			dst = strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(raw[i:]))), 10)
		}
	case tensor.Uint64:
		for i := 0; i+8 <= len(raw); i += 8 {
			dst = sep(dst, i)
			dst = strconv.AppendUint(dst, binary.LittleEndian.Uint64(raw[i:]), 10)
		}
	case tensor.Int64:
		for i := 0; i+8 <= len(raw); i += 8 {
			dst = sep(dst, i)
			dst = strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(raw[i:])), 10)
		}
	case tensor.FP32:
		for i := 0; i+4 <= len(raw); i += 4 {
			dst = sep(dst, i)
			// The shortest decimal that reads back as the same float32,
			// in %e form for large and small exponents: valid JSON either
			// way.
			dst = strconv.AppendFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))), 'g', -1, 32)
		}
	case tensor.FP64:
		for i := 0; i+8 <= len(raw); i += 8 {
			dst = sep(dst, i)
			dst = strconv.AppendFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])), 'g', -1, 64)
		}
	case tensor.Bytes:
		for i := 0; len(raw) >= 4; i++ {
			dst = sep(dst, i)
			l := int(binary.LittleEndian.Uint32(raw))
			dst = AppendJSONString(dst, raw[4:4+l])
			raw = raw[4+l:]
		}
	}
	return append(dst, ']')
}

// sep appends the comma before every element but the one at offset 0.
func sep(dst []byte, i int) []byte {
	if i > 0 {
		return append(dst, ',')
	}
	return dst
}

// toValidUTF8 returns s with invalid UTF-8 replaced by U+FFFD, for
// strings a server echoes (a model name, a request id) that a hostile or
// careless client may have sent as bytes.
func toValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, string(utf8.RuneError))
}
