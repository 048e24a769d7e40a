package tfs

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/tensor"
)

// Tensors in TF Serving's REST JSON are nested lists, one level per
// dimension, of numbers (integer types, DT_FLOAT and DT_DOUBLE, with NaN,
// Infinity and -Infinity), true and false (DT_BOOL) and strings or
// {"b64": "<base64>"} objects (DT_STRING). DT_HALF, DT_BFLOAT16 and
// DT_UINT16 have no JSON form: TF Serving's converter answers
// UNIMPLEMENTED for them, and goai refuses them before sending.

// errNoJSON reports a datatype TF Serving's REST API has no JSON form
// for; it comes with tensor.ErrDType.
var errNoJSON = errors.New("no JSON form in TF Serving's REST API")

// jsonDType reports whether dt has a JSON form.
func jsonDType(dt tensor.DType) error {
	switch dt {
	case tensor.FP16, tensor.BF16, tensor.Uint16:
		return fmt.Errorf("%w: %v (%s) has %w; use the gRPC API", tensor.ErrDType, dt, tfOfDType[dt], errNoJSON)
	}
	if !dt.Valid() {
		return fmt.Errorf("%w: datatype %v", tensor.ErrDType, dt)
	}
	return nil
}

// binaryName reports whether TF Serving writes the DT_STRING tensor name
// as {"b64": ...} objects: the aliases ending in _bytes.
func binaryName(name string) bool { return strings.HasSuffix(name, "_bytes") }

// jsonTensor collects one tensor from JSON values: raw contents in
// order, and the shape the nesting of lists gives, checked to be dense.
type jsonTensor struct {
	name string
	dt   tensor.DType
	raw  []byte
	// dims[d] is the length of every list at depth d, -1 until the first
	// one ends; rank is the depth of the values, -1 until one is seen.
	dims []int64
	rank int
	n    int
	// budget is the bytes left to all the tensors of one message.
	budget *int
}

func newJSONTensor(name string, dt tensor.DType, budget *int) *jsonTensor {
	return &jsonTensor{name: name, dt: dt, rank: -1, budget: budget}
}

// value reads one value at depth depth: a list, whose elements are at
// depth+1, or a leaf.
func (t *jsonTensor) value(r *jsonReader, depth int) error {
	tok, err := r.token()
	if err != nil {
		return err
	}
	if tok != json.Delim('[') {
		return t.leaf(r, tok, depth)
	}
	if t.rank >= 0 && depth >= t.rank {
		return fmt.Errorf("%w: a list at depth %d, below the values at depth %d", tensor.ErrShape, depth, t.rank)
	}
	if depth >= maxRank {
		return fmt.Errorf("%w: lists nested more than %d deep", tensor.ErrShape, maxRank)
	}
	for len(t.dims) <= depth {
		t.dims = append(t.dims, -1)
	}
	var n int64
	for r.more() {
		if err := t.value(r, depth+1); err != nil {
			return err
		}
		n++
	}
	if err := r.expect(']'); err != nil {
		return err
	}
	if n == 0 {
		// An empty list ends the shape here, as TF Serving reads it:
		// [[], []] is [2, 0].
		if err := t.setRank(depth + 1); err != nil {
			return err
		}
	}
	switch {
	case t.dims[depth] < 0:
		t.dims[depth] = n
	case t.dims[depth] != n:
		return fmt.Errorf("%w: lists at depth %d hold %d and %d values: not a dense tensor", tensor.ErrShape, depth, t.dims[depth], n)
	}
	return nil
}

func (t *jsonTensor) setRank(depth int) error {
	switch {
	case t.rank < 0:
		t.rank = depth
	case t.rank != depth:
		return fmt.Errorf("%w: values at depths %d and %d: not a dense tensor", tensor.ErrShape, t.rank, depth)
	}
	return nil
}

// leaf reads one element, whose first token is tok.
func (t *jsonTensor) leaf(r *jsonReader, tok json.Token, depth int) error {
	if err := t.setRank(depth); err != nil {
		return err
	}
	var err error
	start := len(t.raw)
	t.raw, err = t.appendLeaf(t.raw, r, tok)
	if err != nil {
		return fmt.Errorf("element %d: %w", t.n, err)
	}
	if *t.budget -= len(t.raw) - start; *t.budget < 0 {
		return fmt.Errorf("%w: over the limit after %d elements", ErrTooLarge, t.n)
	}
	t.n++
	return nil
}

func (t *jsonTensor) appendLeaf(dst []byte, r *jsonReader, tok json.Token) ([]byte, error) {
	switch t.dt {
	case tensor.FP32, tensor.FP64:
		bits := 8 * t.dt.Size()
		f, err := parseFloat(tok, bits)
		if err != nil {
			return dst, fmt.Errorf("%w: %v", tensor.ErrDType, err)
		}
		if bits == 32 {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f))), nil
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case tensor.Bool:
		b, ok := tok.(bool)
		if !ok {
			return dst, fmt.Errorf("%w: want true or false, got %v", tensor.ErrDType, describe(tok))
		}
		if b {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case tensor.Bytes:
		return appendJSONBytes(dst, r, tok)
	}
	num, ok := tok.(json.Number)
	if !ok {
		return dst, fmt.Errorf("%w: want an integer, got %v", tensor.ErrDType, describe(tok))
	}
	return appendInteger(dst, t.dt, string(num))
}

// appendInteger appends the integer s as one element of dt, which must
// hold it: TF Serving writes integers without fraction or exponent, and
// reads only those.
func appendInteger(dst []byte, dt tensor.DType, s string) ([]byte, error) {
	if dt == tensor.Uint32 || dt == tensor.Uint64 || dt == tensor.Uint8 {
		u, err := strconv.ParseUint(s, 10, 8*dt.Size())
		if err != nil && strings.HasPrefix(s, "-") {
			if _, ierr := strconv.ParseInt(s, 10, 64); ierr == nil || errors.Is(ierr, strconv.ErrRange) {
				err = strconv.ErrRange // a negative integer
			}
		}
		if err != nil {
			return dst, integerError(dt, s, err)
		}
		switch dt {
		case tensor.Uint8:
			return append(dst, byte(u)), nil
		case tensor.Uint32:
			return binary.LittleEndian.AppendUint32(dst, uint32(u)), nil
		}
		return binary.LittleEndian.AppendUint64(dst, u), nil
	}
	i, err := strconv.ParseInt(s, 10, 8*dt.Size())
	if err != nil {
		return dst, integerError(dt, s, err)
	}
	switch dt {
	case tensor.Int8:
		return append(dst, byte(int8(i))), nil
	case tensor.Int16:
		return binary.LittleEndian.AppendUint16(dst, uint16(int16(i))), nil
	case tensor.Int32:
		return binary.LittleEndian.AppendUint32(dst, uint32(int32(i))), nil
	}
	return binary.LittleEndian.AppendUint64(dst, uint64(i)), nil
}

func integerError(dt tensor.DType, s string, err error) error {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%w: %s does not fit %v", tensor.ErrRange, s, dt)
	}
	return fmt.Errorf("%w: %s is not an integer", tensor.ErrDType, s)
}

// appendJSONBytes appends one BYTES element, framed: a string as its
// UTF-8 bytes, or {"b64": "..."} decoded (padded or not, as TF Serving's
// decoder takes it).
func appendJSONBytes(dst []byte, r *jsonReader, tok json.Token) ([]byte, error) {
	if s, ok := tok.(string); ok {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
		return append(dst, s...), nil
	}
	if tok != json.Delim('{') {
		return dst, fmt.Errorf("%w: want a string or a {\"b64\": ...} object, got %v", tensor.ErrDType, describe(tok))
	}
	k, err := r.key()
	if err != nil {
		return dst, err
	}
	if k != "b64" {
		return dst, fmt.Errorf("%w: an object with key %q where a string belongs; only {\"b64\": ...} is one", tensor.ErrDType, k)
	}
	enc, err := r.str()
	if err != nil {
		return dst, err
	}
	if err := r.expect('}'); err != nil {
		return dst, fmt.Errorf("%w: more than one key in a {\"b64\": ...} object", errJSON)
	}
	lenAt := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	encoding := base64.StdEncoding
	if len(enc)%4 != 0 {
		encoding = base64.RawStdEncoding
	}
	dst, err = encoding.AppendDecode(dst, []byte(enc))
	if err != nil {
		return dst[:lenAt], fmt.Errorf("%w: b64: %v", errJSON, err)
	}
	binary.LittleEndian.PutUint32(dst[lenAt:], uint32(len(dst)-lenAt-4))
	return dst, nil
}

// tensor returns what t collected. instances, when >= 0, is the count of
// values of the outer dimension that t did not read as a list (the rows
// of TF Serving's row format, fed to t one by one at depth 1).
func (t *jsonTensor) tensor(instances int) (tensor.Tensor, error) {
	rank := max(t.rank, 0)
	shape := make([]int64, rank)
	copy(shape, t.dims)
	if instances >= 0 {
		if rank == 0 {
			// No row had a value: [] rows of an unknown shape.
			shape = []int64{0}
		}
		shape[0] = int64(instances)
	}
	out := tensor.Tensor{Name: t.name, DType: t.dt, Shape: shape, Raw: t.raw}
	if err := out.Validate(); err != nil {
		return tensor.Tensor{}, err
	}
	return out, nil
}

// appendJSONTensor appends t as a nested JSON list (a bare value for a
// scalar).
func appendJSONTensor(dst []byte, t tensor.Tensor) ([]byte, error) {
	w, err := newJSONWriter(t)
	if err != nil {
		return dst, err
	}
	return w.nested(dst, t.Shape, 0), nil
}

// appendJSONRow appends row i of t (its values at index i of dimension 0).
func appendJSONRow(dst []byte, w *jsonWriter, t tensor.Tensor, i int) []byte {
	stride := 1
	for _, d := range t.Shape[1:] {
		stride *= int(d)
	}
	return w.nested(dst, t.Shape[1:], i*stride)
}

// jsonWriter writes the elements of one tensor as JSON values.
type jsonWriter struct {
	t     tensor.Tensor
	elems [][]byte // BYTES elements
	b64   bool
}

func newJSONWriter(t tensor.Tensor) (*jsonWriter, error) {
	if err := jsonDType(t.DType); err != nil {
		return nil, wrapTensor(t.Name, t.DType, err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	w := &jsonWriter{t: t}
	if t.DType == tensor.Bytes {
		w.elems, _ = tensor.DecodeBytesElements(t.Raw, -1) // validated
		w.b64 = binaryName(t.Name)
		for _, e := range w.elems {
			if !utf8.Valid(e) {
				// A JSON string holds text only: binary data not sent
				// as b64 would be mangled.
				w.b64 = true
				break
			}
		}
	}
	return w, nil
}

// nested appends the elements from index first on as nested lists of
// shape.
func (w *jsonWriter) nested(dst []byte, shape []int64, first int) []byte {
	if len(shape) == 0 {
		return w.element(dst, first)
	}
	stride := 1
	for _, d := range shape[1:] {
		stride *= int(d)
	}
	dst = append(dst, '[')
	for i := range int(shape[0]) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = w.nested(dst, shape[1:], first+i*stride)
	}
	return append(dst, ']')
}

// element appends element i.
func (w *jsonWriter) element(dst []byte, i int) []byte {
	raw := w.t.Raw
	switch w.t.DType {
	case tensor.FP32:
		return appendFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))), 32)
	case tensor.FP64:
		return appendFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])), 64)
	case tensor.Bool:
		if raw[i] != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case tensor.Int8:
		return strconv.AppendInt(dst, int64(int8(raw[i])), 10)
	case tensor.Int16:
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(raw[2*i:]))), 10)
	case tensor.Int32:
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(raw[4*i:]))), 10)
	case tensor.Int64:
		return strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(raw[8*i:])), 10)
	case tensor.Uint8:
		return strconv.AppendUint(dst, uint64(raw[i]), 10)
	case tensor.Uint32:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(raw[4*i:])), 10)
	case tensor.Uint64:
		return strconv.AppendUint(dst, binary.LittleEndian.Uint64(raw[8*i:]), 10)
	}
	// tensor.Bytes; jsonDType refused the rest.
	e := w.elems[i]
	if !w.b64 {
		return oiphttp.AppendJSONString(dst, string(e))
	}
	dst = append(dst, `{"b64":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, e)
	return append(dst, `"}`...)
}
