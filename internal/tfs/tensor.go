package tfs

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
)

// DefaultMaxDecodedBytes is the default limit on the raw bytes the tensors
// of one response (or, on the server, one request) decode to: 64 MiB,
// goai's default gRPC message limit. TensorFlow lets a typed field hold
// fewer values than the shape has elements and repeats the last one, so a
// message of a few bytes can describe gigabytes; the limit, checked before
// anything is allocated, caps what such a message costs. Tensors sent in
// full (tensor_content) are never larger than the message that carried
// them, so a limit equal to the connection's receive limit refuses only
// the stretched ones.
const DefaultMaxDecodedBytes = 64 << 20

// EncodeTensor returns t as a TensorProto the way goai sends requests:
// numeric tensors (FP16 and BF16 included) in tensor_content, which TF
// Serving reads as one copy, and BYTES elements in string_val. The proto
// aliases t.Raw: tensor_content is t.Raw itself and each string_val element
// a slice of it, so nothing is copied until the message is marshalled. It
// fails, with t's [*tensor.Error], on a tensor [tensor.Tensor.Validate]
// rejects.
func EncodeTensor(t tensor.Tensor) (*tfspb.TensorProto, error) {
	return encodeTensor(t, false)
}

// EncodeTensorTyped returns t as a TensorProto with its values in the
// dtype's typed field (float_val, int_val, half_val, string_val, ...), as
// TF Serving answers by default. The proto does not alias t.Raw, except
// for BYTES elements.
func EncodeTensorTyped(t tensor.Tensor) (*tfspb.TensorProto, error) {
	return encodeTensor(t, true)
}

func encodeTensor(t tensor.Tensor, typed bool) (*tfspb.TensorProto, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	p := &tfspb.TensorProto{Dtype: tfOfDType[t.DType], TensorShape: shapeProto(t.Shape)}
	if t.DType == tensor.Bytes {
		var err error
		p.StringVal, err = tensor.DecodeBytesElements(t.Raw, -1)
		return p, wrapTensor(t.Name, t.DType, err)
	}
	if !typed {
		if len(t.Raw) > 0 {
			p.TensorContent = t.Raw
		}
		return p, nil
	}
	var err error
	switch t.DType {
	case tensor.FP32:
		p.FloatVal, err = tensor.DecodeFloat32(nil, t.Raw)
	case tensor.FP64:
		p.DoubleVal, err = tensor.DecodeFloat64(nil, t.Raw)
	case tensor.Int8, tensor.Int16, tensor.Int32, tensor.Uint8, tensor.Uint16:
		p.IntVal, err = tensor.DecodeAs[int32](nil, t.DType, t.Raw)
	case tensor.Int64:
		p.Int64Val, err = tensor.DecodeInt64(nil, t.Raw)
	case tensor.Uint32:
		p.Uint32Val, err = tensor.DecodeUint32(nil, t.Raw)
	case tensor.Uint64:
		p.Uint64Val, err = tensor.DecodeUint64(nil, t.Raw)
	case tensor.Bool:
		p.BoolVal, err = tensor.DecodeBool(nil, t.Raw)
	case tensor.FP16, tensor.BF16:
		// The 16-bit patterns, widened into int32 without sign extension.
		var bits []uint16
		bits, err = tensor.DecodeUint16(nil, t.Raw)
		p.HalfVal = make([]int32, len(bits))
		for i, b := range bits {
			p.HalfVal[i] = int32(b)
		}
	}
	return p, wrapTensor(t.Name, t.DType, err)
}

// EncodeTensorContent returns t as a TensorProto entirely in
// tensor_content, as TF Serving answers with
// --enable_serialization_as_tensor_content: numeric tensors as raw bytes,
// BYTES in TensorFlow's string list encoding (every length as a varint,
// then all the bytes).
func EncodeTensorContent(t tensor.Tensor) (*tfspb.TensorProto, error) {
	p, err := encodeTensor(t, false)
	if err != nil || t.DType != tensor.Bytes {
		return p, err
	}
	p.TensorContent = encodeStringList(p.StringVal)
	p.StringVal = nil
	return p, nil
}

func shapeProto(shape []int64) *tfspb.TensorShapeProto {
	s := &tfspb.TensorShapeProto{Dim: make([]*tfspb.TensorShapeProto_Dim, len(shape))}
	for i, d := range shape {
		s.Dim[i] = &tfspb.TensorShapeProto_Dim{Size: d}
	}
	return s
}

func wrapTensor(name string, dt tensor.DType, err error) error {
	if err == nil {
		return nil
	}
	return &tensor.Error{Name: name, DType: dt, Err: err}
}

// DecodeTensor returns p as a tensor named name, in every form a server
// may send it: raw in tensor_content (numeric types, and DT_STRING in
// TensorFlow's string list encoding) or in the typed field of its dtype,
// where fewer values than elements repeat the last value and none means
// zeros (TensorFlow's Tensor::FromProto rule). A TensorProto without a
// shape is a scalar.
//
// Numeric tensor_content is aliased, not copied. The raw result may take
// at most max bytes ([DefaultMaxDecodedBytes] if max <= 0): a shape that
// needs more fails with [ErrTooLarge] before anything is allocated, so the
// allocation is bounded by max whatever the shape claims.
//
// p is untrusted: an unknown rank, a negative dimension (-1 included: a
// tensor's shape is concrete), more than [tensor.MaxElements] elements, a
// TensorFlow type without an OIP datatype, values in a field other than
// the dtype's, values in both tensor_content and a typed field, more
// values than elements, tensor_content of the wrong length and typed
// values out of the dtype's range all fail with a [*tensor.Error] naming
// the tensor, wrapping the matching sentinel of package tensor (or
// [ErrTooLarge]). TensorFlow itself ignores surplus typed values and
// prefers tensor_content when both are set; goai refuses both, as it
// refuses anything a correct server never sends.
func DecodeTensor(name string, p *tfspb.TensorProto, max int) (tensor.Tensor, error) {
	if max <= 0 {
		max = DefaultMaxDecodedBytes
	}
	return decodeTensor(name, p, max)
}

// decodeTensor is [DecodeTensor] with an exact limit: max 0 allows only
// empty tensors.
func decodeTensor(name string, p *tfspb.TensorProto, max int) (tensor.Tensor, error) {
	dt, ok := FromTF(p.GetDtype())
	if !ok {
		return tensor.Tensor{}, wrapTensor(name, tensor.Invalid, unmappable(p.GetDtype()))
	}
	t := tensor.Tensor{Name: name, DType: dt}
	var err error
	if t.Shape, err = tensorShape(p.GetTensorShape()); err != nil {
		return tensor.Tensor{}, wrapTensor(name, dt, err)
	}
	n, err := tensor.NumElements(t.Shape)
	if err != nil {
		return tensor.Tensor{}, wrapTensor(name, dt, err)
	}
	t.Raw, err = decodeValues(dt, n, p, max)
	if err != nil {
		return tensor.Tensor{}, wrapTensor(name, dt, err)
	}
	return t, nil
}

// tensorShape returns the concrete shape s describes.
func tensorShape(s *tfspb.TensorShapeProto) ([]int64, error) {
	if s.GetUnknownRank() {
		if len(s.GetDim()) > 0 {
			return nil, fmt.Errorf("%w: unknown rank with %d dimensions", tensor.ErrShape, len(s.GetDim()))
		}
		return nil, fmt.Errorf("%w: unknown rank", tensor.ErrShape)
	}
	shape := make([]int64, len(s.GetDim()))
	for i, d := range s.GetDim() {
		if d.GetSize() < 0 {
			return nil, fmt.Errorf("%w: dimension %d is %d", tensor.ErrShape, i, d.GetSize())
		}
		shape[i] = d.GetSize()
	}
	return shape, nil
}

// typedField identifies one of TensorProto's typed value fields.
type typedField int

const (
	fieldNone typedField = iota
	fieldHalf
	fieldFloat
	fieldDouble
	fieldInt
	fieldString
	fieldScomplex
	fieldInt64
	fieldBool
	fieldDcomplex
	fieldUint32
	fieldUint64
	numTypedFields
)

var typedFieldNames = [numTypedFields]string{
	"", "half_val", "float_val", "double_val", "int_val", "string_val", "scomplex_val",
	"int64_val", "bool_val", "dcomplex_val", "uint32_val", "uint64_val",
}

func typedLens(p *tfspb.TensorProto) [numTypedFields]int {
	return [numTypedFields]int{
		0, len(p.HalfVal), len(p.FloatVal), len(p.DoubleVal), len(p.IntVal), len(p.StringVal),
		len(p.ScomplexVal), len(p.Int64Val), len(p.BoolVal), len(p.DcomplexVal), len(p.Uint32Val), len(p.Uint64Val),
	}
}

// ownField returns the typed field TensorFlow reads dt's values from.
func ownField(dt tensor.DType) typedField {
	switch dt {
	case tensor.FP16, tensor.BF16:
		return fieldHalf
	case tensor.FP32:
		return fieldFloat
	case tensor.FP64:
		return fieldDouble
	case tensor.Int8, tensor.Int16, tensor.Int32, tensor.Uint8, tensor.Uint16:
		return fieldInt
	case tensor.Bytes:
		return fieldString
	case tensor.Int64:
		return fieldInt64
	case tensor.Bool:
		return fieldBool
	case tensor.Uint32:
		return fieldUint32
	case tensor.Uint64:
		return fieldUint64
	}
	return fieldNone
}

// decodeValues returns the raw contents of n elements of dt held by p,
// in at most max bytes.
func decodeValues(dt tensor.DType, n int, p *tfspb.TensorProto, max int) ([]byte, error) {
	own := ownField(dt)
	lens := typedLens(p)
	for f, l := range lens {
		if l == 0 || typedField(f) == own {
			continue
		}
		return nil, fmt.Errorf("%w: %s set for TensorFlow type %s", tensor.ErrDType, typedFieldNames[f], p.GetDtype())
	}
	c := lens[own]
	if len(p.TensorContent) > 0 {
		if c > 0 {
			return nil, fmt.Errorf("%w: both tensor_content (%d bytes) and %s (%d values) are set", tensor.ErrLength, len(p.TensorContent), typedFieldNames[own], c)
		}
		if dt == tensor.Bytes {
			return decodeStringList(p.TensorContent, n, max)
		}
		if want := int64(n) * int64(dt.Size()); int64(len(p.TensorContent)) != want {
			return nil, fmt.Errorf("%w: %d elements of %v need %d bytes of tensor_content, got %d", tensor.ErrLength, n, dt, want, len(p.TensorContent))
		}
		if len(p.TensorContent) > max {
			return nil, tooLarge(int64(len(p.TensorContent)), max)
		}
		return p.TensorContent, nil
	}
	if c > n {
		return nil, fmt.Errorf("%w: %d elements, %s holds %d values", tensor.ErrLength, n, typedFieldNames[own], c)
	}
	if dt == tensor.Bytes {
		return decodeStrings(p.StringVal, n, max)
	}
	size := int64(n) * int64(dt.Size()) // n <= MaxInt32, size <= 8: no overflow
	if size > int64(max) {
		return nil, tooLarge(size, max)
	}
	if c == 0 {
		return make([]byte, size), nil
	}
	dst := make([]byte, 0, size)
	var err error
	switch own {
	case fieldHalf:
		// The patterns must fit 16 bits: TensorFlow truncates wider
		// values, goai refuses them, as it refuses int_val out of range.
		dst, err = tensor.AppendAs(dst, tensor.Uint16, p.HalfVal)
	case fieldFloat:
		dst, err = tensor.AppendAs(dst, dt, p.FloatVal)
	case fieldDouble:
		dst, err = tensor.AppendAs(dst, dt, p.DoubleVal)
	case fieldInt:
		dst, err = tensor.AppendAs(dst, dt, p.IntVal)
	case fieldInt64:
		dst, err = tensor.AppendAs(dst, dt, p.Int64Val)
	case fieldBool:
		dst, err = tensor.AppendAs(dst, dt, p.BoolVal)
	case fieldUint32:
		dst, err = tensor.AppendAs(dst, dt, p.Uint32Val)
	case fieldUint64:
		dst, err = tensor.AppendAs(dst, dt, p.Uint64Val)
	}
	if err != nil {
		return nil, err
	}
	return repeatLast(dst, dt.Size(), int(size)), nil
}

// repeatLast extends dst, whose last size bytes are one element, to total
// bytes by repeating that element, doubling the copied run each time.
func repeatLast(dst []byte, size, total int) []byte {
	if len(dst) == total {
		return dst
	}
	last := len(dst) - size
	dst = dst[:total]
	for done := last + size; done < total; {
		done += copy(dst[done:], dst[last:done])
	}
	return dst
}

func tooLarge(size int64, max int) error {
	return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, max)
}

// decodeStrings returns n BYTES elements framed from vals, repeating the
// last one (or an empty one) to fill n.
func decodeStrings(vals [][]byte, n, max int) ([]byte, error) {
	var size int64
	for _, v := range vals {
		size += 4 + int64(len(v))
	}
	var last []byte
	if len(vals) > 0 {
		last = vals[len(vals)-1]
	}
	size += int64(n-len(vals)) * (4 + int64(len(last)))
	if size > int64(max) {
		return nil, tooLarge(size, max)
	}
	for _, v := range vals {
		if int64(len(v)) > math.MaxUint32 {
			return nil, fmt.Errorf("%w: string_val element longer than 4 GiB - 1", tensor.ErrRange)
		}
	}
	dst := tensor.AppendBytesElements(make([]byte, 0, size), vals)
	if n == len(vals) {
		return dst, nil
	}
	if len(vals) == 0 {
		return dst[:size], nil // n empty elements: zero lengths
	}
	return repeatLast(dst, 4+len(last), int(size)), nil
}

// decodeStringList returns the n strings of TensorFlow's string list
// encoding in b (n varint32 lengths, then the bytes) as raw BYTES.
func decodeStringList(b []byte, n, max int) ([]byte, error) {
	// Every length takes at least one byte, so n is bounded by what was
	// received before anything is allocated.
	if n > len(b) {
		return nil, fmt.Errorf("%w: %d strings cannot fit %d bytes of tensor_content", tensor.ErrLength, n, len(b))
	}
	rest := b
	var total uint64
	for i := range n {
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > math.MaxUint32 {
			return nil, fmt.Errorf("%w: string %d: bad length in tensor_content", tensor.ErrLength, i)
		}
		rest = rest[k:]
		total += l
	}
	if total != uint64(len(rest)) {
		return nil, fmt.Errorf("%w: string lengths add up to %d, tensor_content holds %d bytes after them", tensor.ErrLength, total, len(rest))
	}
	size := 4*int64(n) + int64(total)
	if size > int64(max) {
		return nil, tooLarge(size, max)
	}
	dst := make([]byte, 0, size)
	lens, data := b, rest
	for range n {
		l, k := binary.Uvarint(lens)
		lens = lens[k:]
		dst = binary.LittleEndian.AppendUint32(dst, uint32(l))
		dst = append(dst, data[:l]...)
		data = data[l:]
	}
	return dst, nil
}

// encodeStringList is TensorFlow's string list encoding of elems.
func encodeStringList(elems [][]byte) []byte {
	size := 0
	for _, e := range elems {
		size += binary.MaxVarintLen32 + len(e)
	}
	dst := make([]byte, 0, size)
	for _, e := range elems {
		dst = binary.AppendUvarint(dst, uint64(len(e)))
	}
	for _, e := range elems {
		dst = append(dst, e...)
	}
	return dst
}
