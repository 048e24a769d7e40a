package tensor

import (
	"fmt"
	"slices"
	"unsafe"
)

// Element is the Go element types that have a raw form. Each converts to
// and from the datatypes of its kind; see [AppendAs] and [DecodeAs]. Go's
// int and uint are left out on purpose: their width depends on the
// platform, and a tensor's does not.
type Element interface {
	bool | int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64
}

// integer is the Go types of the integer datatypes.
type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// AppendAs appends v to dst as raw contents of datatype dt and returns the
// extended buffer. It is the general form of the AppendXxx functions, for
// tensors whose Go type is not the datatype's own: int32 token ids sent as
// INT8 or UINT16 (the protocol's typed contents carry those in int32 and
// uint32 slots), float32 sent as FP16 or BF16, float64 as FP32.
//
// Integer slices encode as any integer datatype: a value that does not fit
// fails with [ErrRange] and returns dst unextended, since silently wrapping
// it (as Triton does with typed contents) hides caller bugs. Float slices
// encode as FP16, BF16, FP32 or FP64, rounding to nearest even; values
// beyond the target's range become ±Inf, as in IEEE 754. Bools encode only
// as BOOL. Any other pairing fails with [ErrDType]. When T is dt's own type
// this is exactly the matching AppendXxx function: a memmove on
// little-endian hosts.
func AppendAs[T Element](dst []byte, dt DType, v []T) ([]byte, error) {
	switch v := any(v).(type) {
	case []bool:
		if dt == Bool {
			return AppendBool(dst, v), nil
		}
	case []int8:
		return appendIntAs(dst, dt, v)
	case []int16:
		return appendIntAs(dst, dt, v)
	case []int32:
		return appendIntAs(dst, dt, v)
	case []int64:
		return appendIntAs(dst, dt, v)
	case []uint8:
		return appendIntAs(dst, dt, v)
	case []uint16:
		return appendIntAs(dst, dt, v)
	case []uint32:
		return appendIntAs(dst, dt, v)
	case []uint64:
		return appendIntAs(dst, dt, v)
	case []float32:
		switch dt {
		case FP32:
			return AppendFloat32(dst, v), nil
		case FP16:
			return AppendFP16(dst, v), nil
		case BF16:
			return AppendBF16(dst, v), nil
		case FP64:
			return appendFloat[float32, float64](dst, v), nil
		}
	case []float64:
		switch dt {
		case FP64:
			return AppendFloat64(dst, v), nil
		case FP32:
			return appendFloat[float64, float32](dst, v), nil
		case FP16:
			return appendHalfFrom64(dst, v, AppendFP16), nil
		case BF16:
			return appendHalfFrom64(dst, v, AppendBF16), nil
		}
	}
	return dst, errorf(ErrDType, "cannot encode %s as %v", typeName[T](), dt)
}

// DecodeAs appends the raw contents raw, of datatype dt, to dst as T and
// returns the extended slice. It is the general form of the DecodeXxx
// functions and accepts every datatype whose values all fit T exactly:
// INT8, INT16 and INT32 into int32, UINT8..UINT32 into uint32 or int64,
// FP16, BF16 and FP32 into float32 or float64, and so on. A datatype that
// could hold values T cannot (INT64 into int32, FP64 into float32, any
// signed type into an unsigned one) fails with [ErrDType] before anything
// is decoded, so the result never depends on the data. A length that is
// not a whole number of elements fails with [ErrLength]. The allocation is
// at most len(raw) elements of T.
func DecodeAs[T Element](dst []T, dt DType, raw []byte) ([]T, error) {
	switch d := any(dst).(type) {
	case []bool:
		if dt == Bool {
			return castSlice[T](DecodeBool(d, raw))
		}
	case []int8:
		return castSlice[T](decodeIntAs(d, dt, raw))
	case []int16:
		return castSlice[T](decodeIntAs(d, dt, raw))
	case []int32:
		return castSlice[T](decodeIntAs(d, dt, raw))
	case []int64:
		return castSlice[T](decodeIntAs(d, dt, raw))
	case []uint8:
		return castSlice[T](decodeIntAs(d, dt, raw))
	case []uint16:
		return castSlice[T](decodeIntAs(d, dt, raw))
	case []uint32:
		return castSlice[T](decodeIntAs(d, dt, raw))
	case []uint64:
		return castSlice[T](decodeIntAs(d, dt, raw))
	case []float32:
		switch dt {
		case FP32:
			return castSlice[T](DecodeFloat32(d, raw))
		case FP16:
			return castSlice[T](DecodeFP16(d, raw))
		case BF16:
			return castSlice[T](DecodeBF16(d, raw))
		}
	case []float64:
		switch dt {
		case FP64:
			return castSlice[T](DecodeFloat64(d, raw))
		case FP32:
			return castSlice[T](decodeWiden[float32](d, dt, raw))
		case FP16:
			return castSlice[T](decodeHalfTo64(d, raw, DecodeFP16))
		case BF16:
			return castSlice[T](decodeHalfTo64(d, raw, DecodeBF16))
		}
	}
	return dst, errorf(ErrDType, "cannot decode %v into %s", dt, typeName[T]())
}

// castSlice returns s as []T. Callers pass an s whose type is []T, known
// only after a type switch; the unsafe cast avoids boxing the result in an
// interface, which would allocate on every call.
func castSlice[T any, S any](s []S, err error) ([]T, error) {
	return *(*[]T)(unsafe.Pointer(&s)), err
}

func typeName[T any]() string {
	var zero T
	return fmt.Sprintf("[]%T", zero)
}

// signed reports whether the integer type T is signed.
func signed[T integer]() bool {
	var zero T
	return zero-1 < 0
}

// integerKind returns the width and signedness of an integer datatype, or
// ok == false for any other datatype.
func integerKind(dt DType) (size int, isSigned, ok bool) {
	switch dt {
	case Int8, Int16, Int32, Int64:
		return dt.Size(), true, true
	case Uint8, Uint16, Uint32, Uint64:
		return dt.Size(), false, true
	}
	return 0, false, false
}

func appendIntAs[S integer](dst []byte, dt DType, v []S) ([]byte, error) {
	size, isSigned, ok := integerKind(dt)
	switch {
	case !ok:
		return dst, errorf(ErrDType, "cannot encode %s as %v", typeName[S](), dt)
	case size == sizeOf[S]() && isSigned == signed[S]():
		return appendFixed(dst, v), nil
	}
	switch dt {
	case Int8:
		return appendInt[S, int8](dst, dt, v)
	case Int16:
		return appendInt[S, int16](dst, dt, v)
	case Int32:
		return appendInt[S, int32](dst, dt, v)
	case Int64:
		return appendInt[S, int64](dst, dt, v)
	case Uint8:
		return appendInt[S, uint8](dst, dt, v)
	case Uint16:
		return appendInt[S, uint16](dst, dt, v)
	case Uint32:
		return appendInt[S, uint32](dst, dt, v)
	default:
		return appendInt[S, uint64](dst, dt, v)
	}
}

// chunk is the number of elements the converting encoders and decoders
// stage at a time in a stack array: converting into a typed array and
// copying it as bytes keeps the per-element loop free of byte-order code,
// and 2 KiB or less of stack stays in L1.
const chunk = 256

// appendInt appends v converted to D, failing on the first value that D
// cannot hold. A value survives the round trip S -> D -> S and keeps its
// sign exactly when D holds it.
func appendInt[S, D integer](dst []byte, dt DType, v []S) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, len(v)*sizeOf[D]())
	var tmp [chunk]D
	for base := 0; base < len(v); base += chunk {
		part := v[base:min(base+chunk, len(v))]
		for i, x := range part {
			y := D(x)
			if S(y) != x || (x < 0) != (y < 0) {
				return dst[:start], errorf(ErrRange, "element %d is %d, outside %v", base+i, x, dt)
			}
			tmp[i] = y
		}
		dst = appendFixed(dst, tmp[:len(part)])
	}
	return dst, nil
}

// appendFloat appends v converted to D: exact when widening, rounded to
// nearest even when narrowing, as Go's conversion does.
func appendFloat[S, D ~float32 | ~float64](dst []byte, v []S) []byte {
	dst = slices.Grow(dst, len(v)*sizeOf[D]())
	var tmp [chunk]D
	for base := 0; base < len(v); base += chunk {
		part := v[base:min(base+chunk, len(v))]
		for i, x := range part {
			tmp[i] = D(x)
		}
		dst = appendFixed(dst, tmp[:len(part)])
	}
	return dst
}

// appendHalfFrom64 appends float64 values as FP16 or BF16 (appendHalf is
// AppendFP16 or AppendBF16), rounding to odd on the way through float32 so
// the result is rounded once; see float32RoundToOdd.
func appendHalfFrom64(dst []byte, v []float64, appendHalf func([]byte, []float32) []byte) []byte {
	dst = slices.Grow(dst, 2*len(v))
	var tmp [chunk]float32
	for base := 0; base < len(v); base += chunk {
		part := v[base:min(base+chunk, len(v))]
		for i, x := range part {
			tmp[i] = float32RoundToOdd(x)
		}
		dst = appendHalf(dst, tmp[:len(part)])
	}
	return dst
}

// decodeIntAs decodes the integer datatype dt into D if every dt value
// fits D: same signedness and no wider, or unsigned into a wider signed
// type.
func decodeIntAs[D integer](dst []D, dt DType, raw []byte) ([]D, error) {
	size, isSigned, ok := integerKind(dt)
	dsize, dsigned := sizeOf[D](), signed[D]()
	switch {
	case !ok || size > dsize || (isSigned && !dsigned) || (!isSigned && dsigned && size == dsize):
		return dst, errorf(ErrDType, "cannot decode %v into %s", dt, typeName[D]())
	case size == dsize:
		return decodeFixed(dst, dt, raw)
	}
	switch dt {
	case Int8:
		return decodeWiden[int8](dst, dt, raw)
	case Int16:
		return decodeWiden[int16](dst, dt, raw)
	case Int32:
		return decodeWiden[int32](dst, dt, raw)
	case Uint8:
		return decodeWiden[uint8](dst, dt, raw)
	case Uint16:
		return decodeWiden[uint16](dst, dt, raw)
	default: // Uint32; 64-bit types are never narrower than D
		return decodeWiden[uint32](dst, dt, raw)
	}
}

// decodeWiden appends the elements of raw, read as S, to dst converted to
// the wider D; callers guarantee the conversion is exact.
func decodeWiden[S, D integer | ~float32 | ~float64](dst []D, dt DType, raw []byte) ([]D, error) {
	size := sizeOf[S]()
	if len(raw)%size != 0 {
		return dst, errorf(ErrLength, "%d bytes is not a whole number of %v elements", len(raw), dt)
	}
	n := len(raw) / size
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	out := dst[start:]
	var tmp [chunk]S
	for base := 0; base < n; base += chunk {
		part := tmp[:min(chunk, n-base)]
		if _, err := decodeFixed(part[:0], dt, raw[base*size:(base+len(part))*size]); err != nil {
			return dst[:start], err // unreachable: the length was checked
		}
		for i, x := range part {
			out[base+i] = D(x)
		}
	}
	return dst, nil
}

// decodeHalfTo64 decodes FP16 or BF16 (decodeHalf is DecodeFP16 or
// DecodeBF16) into float64, through float32, which holds both exactly.
func decodeHalfTo64(dst []float64, raw []byte, decodeHalf func([]float32, []byte) ([]float32, error)) ([]float64, error) {
	if len(raw)%2 != 0 {
		_, err := decodeHalf(nil, raw)
		return dst, err
	}
	n := len(raw) / 2
	start := len(dst)
	dst = slices.Grow(dst, n)[:start+n]
	out := dst[start:]
	var tmp [chunk]float32
	for base := 0; base < n; base += chunk {
		part, _ := decodeHalf(tmp[:0], raw[2*base:2*min(base+chunk, n)])
		for i, x := range part {
			out[base+i] = float64(x)
		}
	}
	return dst, nil
}

// View returns v's memory as raw contents of datatype dt, without copying,
// when that memory already is their wire form: T is dt's own Go type
// (float32 for FP32, int64 for INT64, ...; never bool, whose in-memory
// form Go does not define) on a little-endian host. Otherwise it returns
// false, and the caller encodes v with [AppendAs].
//
// The bytes are v's own: a change to v shows in them, so they must not
// outlive the caller's promise to leave v alone, typically the call that
// sends them.
func View[T Element](dt DType, v []T) ([]byte, bool) {
	if !nativeLittleEndian || len(v) == 0 {
		return nil, false
	}
	switch v := any(v).(type) {
	case []int8:
		return asBytes(v), dt == Int8
	case []int16:
		return asBytes(v), dt == Int16
	case []int32:
		return asBytes(v), dt == Int32
	case []int64:
		return asBytes(v), dt == Int64
	case []uint8:
		return v, dt == Uint8
	case []uint16:
		return asBytes(v), dt == Uint16
	case []uint32:
		return asBytes(v), dt == Uint32
	case []uint64:
		return asBytes(v), dt == Uint64
	case []float32:
		return asBytes(v), dt == FP32
	case []float64:
		return asBytes(v), dt == FP64
	}
	return nil, false
}
