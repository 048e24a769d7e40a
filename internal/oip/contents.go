package oip

import (
	"fmt"
	"github.com/goai-dev/goai/tensor"
	"math"

	"github.com/goai-dev/goai/internal/oippb"
)

// FromContents converts typed contents of datatype dt and the given shape
// into raw form, the one representation the rest of this package and the
// generated clients work with. The field used is the one the protocol
// assigns to dt (int_contents for INT8, INT16 and INT32, uint_contents for
// UINT8, UINT16 and UINT32, and so on); it must hold exactly as many
// entries as the shape has elements, or FromContents fails with
// [tensor.ErrLength]. A value in int_contents or uint_contents that does not fit
// a narrower dt fails with [tensor.ErrRange], where Triton would keep its low
// bytes. Setting any other field fails with [tensor.ErrDType], as do tensor.FP16 and
// tensor.BF16, which have no typed field and travel only raw. A nil c is empty
// contents. The result is a new buffer of exactly the raw size.
func FromContents(dt tensor.DType, shape []int64, c *oippb.InferTensorContents) ([]byte, error) {
	n, own, err := checkContents(dt, shape, c)
	if err != nil {
		return nil, err
	}
	if c == nil {
		c = &oippb.InferTensorContents{}
	}
	if dt == tensor.Bytes {
		size := 4 * len(c.BytesContents)
		for i, e := range c.BytesContents {
			// A protobuf message cannot hold a 4 GiB field, but a caller
			// building contents in memory can; refuse instead of panicking.
			if uint64(len(e)) > math.MaxUint32 || size+len(e) < size {
				return nil, errorf(tensor.ErrRange, "BYTES element %d is longer than 4 GiB - 1", i)
			}
			size += len(e)
		}
		return tensor.AppendBytesElements(make([]byte, 0, size), c.BytesContents), nil
	}
	dst := make([]byte, 0, n*dt.Size())
	switch own {
	case fieldBool:
		dst, err = tensor.AppendAs(dst, dt, c.BoolContents)
	case fieldInt:
		dst, err = tensor.AppendAs(dst, dt, c.IntContents)
	case fieldInt64:
		dst, err = tensor.AppendAs(dst, dt, c.Int64Contents)
	case fieldUint:
		dst, err = tensor.AppendAs(dst, dt, c.UintContents)
	case fieldUint64:
		dst, err = tensor.AppendAs(dst, dt, c.Uint64Contents)
	case fieldFP32:
		dst, err = tensor.AppendAs(dst, dt, c.Fp32Contents)
	default: // fieldFP64
		dst, err = tensor.AppendAs(dst, dt, c.Fp64Contents)
	}
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// BytesFromContents returns the elements of a BYTES tensor of the given
// shape held in typed contents, checked as [FromContents] checks them, but
// not framed into raw form: the result is c.BytesContents itself, and
// costs nothing. A nil c is empty contents.
func BytesFromContents(shape []int64, c *oippb.InferTensorContents) ([][]byte, error) {
	if _, _, err := checkContents(tensor.Bytes, shape, c); err != nil {
		return nil, err
	}
	return c.GetBytesContents(), nil
}

// checkContents checks that typed contents c hold a tensor of datatype dt
// and the given shape in dt's own field and no other, and returns the
// tensor's element count and that field.
func checkContents(dt tensor.DType, shape []int64, c *oippb.InferTensorContents) (n, own int, err error) {
	if !dt.Valid() {
		return 0, 0, errorf(tensor.ErrDType, "datatype %v", dt)
	}
	if n, err = tensor.NumElements(shape); err != nil {
		return 0, 0, err
	}
	own, ok := contentsField(dt)
	if !ok {
		return 0, 0, errorf(tensor.ErrDType, "%v has no typed contents field; send it as raw contents", dt)
	}
	if c == nil {
		c = &oippb.InferTensorContents{}
	}
	lens := contentsLens(c)
	for f, l := range lens {
		if f != own && l > 0 {
			return 0, 0, errorf(tensor.ErrDType, "contents for %v set %s, which belongs to other datatypes", dt, contentsNames[f])
		}
	}
	if lens[own] != n {
		return 0, 0, errorf(tensor.ErrLength, "shape %s has %d elements, %s has %d", tensor.FormatShape(shape), n, contentsNames[own], lens[own])
	}
	return n, own, nil
}

// ToContents converts raw contents of datatype dt into typed contents, for
// servers that answer typed (Triton never does, but the protocol allows
// it). Narrow integers widen into the protocol's int32 and uint32 slots.
// BYTES elements alias raw rather than copy it. It fails with [tensor.ErrLength]
// on raw that is not a whole number of elements or not well-framed BYTES,
// and with [tensor.ErrDType] for tensor.FP16, tensor.BF16 and unknown datatypes.
func ToContents(dt tensor.DType, raw []byte) (*oippb.InferTensorContents, error) {
	c := &oippb.InferTensorContents{}
	var err error
	switch dt {
	case tensor.Bool:
		c.BoolContents, err = tensor.DecodeBool(nil, raw)
	case tensor.Int8, tensor.Int16, tensor.Int32:
		c.IntContents, err = tensor.DecodeAs[int32](nil, dt, raw)
	case tensor.Int64:
		c.Int64Contents, err = tensor.DecodeInt64(nil, raw)
	case tensor.Uint8, tensor.Uint16, tensor.Uint32:
		c.UintContents, err = tensor.DecodeAs[uint32](nil, dt, raw)
	case tensor.Uint64:
		c.Uint64Contents, err = tensor.DecodeUint64(nil, raw)
	case tensor.FP32:
		c.Fp32Contents, err = tensor.DecodeFloat32(nil, raw)
	case tensor.FP64:
		c.Fp64Contents, err = tensor.DecodeFloat64(nil, raw)
	case tensor.Bytes:
		c.BytesContents, err = tensor.DecodeBytesElements(raw, -1)
	case tensor.FP16, tensor.BF16:
		return nil, errorf(tensor.ErrDType, "%v has no typed contents field; send it as raw contents", dt)
	default:
		return nil, errorf(tensor.ErrDType, "datatype %v", dt)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// The fields of InferTensorContents, in field-number order.
const (
	fieldBool = iota
	fieldInt
	fieldInt64
	fieldUint
	fieldUint64
	fieldFP32
	fieldFP64
	fieldBytes
	numFields
)

var contentsNames = [numFields]string{
	"bool_contents", "int_contents", "int64_contents", "uint_contents",
	"uint64_contents", "fp32_contents", "fp64_contents", "bytes_contents",
}

func contentsLens(c *oippb.InferTensorContents) [numFields]int {
	return [numFields]int{
		len(c.BoolContents), len(c.IntContents), len(c.Int64Contents), len(c.UintContents),
		len(c.Uint64Contents), len(c.Fp32Contents), len(c.Fp64Contents), len(c.BytesContents),
	}
}

// contentsField returns the InferTensorContents field that carries dt.
func contentsField(dt tensor.DType) (int, bool) {
	switch dt {
	case tensor.Bool:
		return fieldBool, true
	case tensor.Int8, tensor.Int16, tensor.Int32:
		return fieldInt, true
	case tensor.Int64:
		return fieldInt64, true
	case tensor.Uint8, tensor.Uint16, tensor.Uint32:
		return fieldUint, true
	case tensor.Uint64:
		return fieldUint64, true
	case tensor.FP32:
		return fieldFP32, true
	case tensor.FP64:
		return fieldFP64, true
	case tensor.Bytes:
		return fieldBytes, true
	}
	return 0, false
}

// errorf wraps a sentinel of package tensor with a formatted detail, the
// detail after it, as package tensor words its own errors.
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
