package goaiimpl

import (
	"encoding/binary"
	"fmt"
	"github.com/goai-dev/goai"
	"math"
	"slices"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
)

// Encoder builds the tensors of a batch of messages: the inputs of a
// ModelInferRequest on a client, the outputs of a response in a fake. An
// [EncodeFunc] that protoc-gen-goai generates fills it, appending each
// item's fields to the [TensorEncoder] of their tensor with
// [AppendTensor], [AppendScalar], [AppendRaw], [AppendString] and
// [AppendStrings].
//
// An Encoder keeps the first error, like a [bufio.Writer]: the append
// functions then do nothing, and the Encoder's owner reports the error
// once the EncodeFunc has returned.
type Encoder struct {
	tensors []TensorEncoder
	batch   int  // items the batch holds
	batched bool // the model has a leading batch dimension
	output  bool // the tensors are a response's
	// index holds the caller's index of each item, when the batch is part
	// of the caller's; nil when they are the same.
	index []int
	err   error

	// measuring makes the Encoder record each item's size and dynamic
	// dimensions, for PlanBatches, instead of encoding.
	measuring bool
	sizes     []BatchItem
	keys      [][]byte
}

// TensorEncoder appends the items of one tensor of an [Encoder].
type TensorEncoder struct {
	e    *Encoder
	desc *goai.TensorDesc
	// declared is the shape of an item, set by the first: desc.Shape, or
	// [-1] for an item of a repeated field or raw bytes without one.
	// known is the product of its fixed dimensions, dynamic the index of
	// its -1 dimension (-1 if none); known is -1 when declared is not a
	// shape InferShape accepts.
	declared []int64
	known    int64
	dynamic  int
	items    int     // items begun
	shape    []int64 // the shape of the first item
	raw      []byte
}

// newEncoder returns an Encoder for batch items of the tensors descs.
func newEncoder(descs []goai.TensorDesc, batch int, batched, output bool) *Encoder {
	e := &Encoder{tensors: make([]TensorEncoder, len(descs)), batch: batch, batched: batched, output: output}
	for i := range descs {
		e.tensors[i] = TensorEncoder{e: e, desc: &descs[i]}
	}
	return e
}

// newMeasurer returns an Encoder that measures batch items of the request
// tensors descs instead of encoding them; see [Encoder.measured].
func newMeasurer(descs []goai.TensorDesc, batch int) *Encoder {
	e := newEncoder(descs, batch, true, false)
	e.measuring = true
	e.sizes = make([]BatchItem, batch)
	e.keys = make([][]byte, batch)
	return e
}

// Tensor returns the encoder of the i-th tensor, in the order of the
// []TensorDesc the Encoder was made for.
func (e *Encoder) Tensor(i int) *TensorEncoder { return &e.tensors[i] }

// fail keeps the first error, about item (in the batch; -1 for none) of t.
func (e *Encoder) fail(t *TensorEncoder, item int, msg string, err error) {
	if e.err != nil {
		return
	}
	if item >= 0 {
		item = e.itemIndex(item)
	}
	e.err = &goai.TensorError{Tensor: t.desc.Name, Output: e.output, Item: item, Message: msg, Err: err}
}

// itemIndex returns the caller's index of item.
func (e *Encoder) itemIndex(item int) int {
	if item < len(e.index) {
		return e.index[item]
	}
	return item
}

// declare sets t's per-item shape from its descriptor, for items held in
// a repeated field or raw bytes (vector) or in a singular field.
func (t *TensorEncoder) declare(vector bool) {
	t.declared = t.desc.Shape
	if t.declared == nil && vector {
		t.declared = []int64{-1}
	}
	t.known, t.dynamic = 1, -1
	for i, d := range t.declared {
		switch {
		case d == -1 && t.dynamic < 0:
			t.dynamic = i
		case d < 1 || d > tensor.MaxElements || t.known*d > tensor.MaxElements:
			t.known = -1 // InferShape says why
			return
		default:
			t.known *= d
		}
	}
}

// begin starts the next item of t, which has n elements taking size bytes
// and is held in a repeated field or raw bytes (vector) or in a singular
// field. It checks n against the tensor's shape and the other items,
// allocating nothing after the first item, and reports whether the caller
// is to append the item's data.
func (t *TensorEncoder) begin(n, size int, vector bool) bool {
	e := t.e
	if e.err != nil {
		return false
	}
	item := t.items
	t.items++
	if item >= e.batch {
		e.fail(t, -1, fmt.Sprintf("got more than the %d items of the batch", e.batch), nil)
		return false
	}
	if item == 0 {
		t.declare(vector)
	}
	// dim is the size of the dynamic dimension, if any.
	dim, ok := int64(0), t.known >= 0
	switch {
	case !ok:
	case t.dynamic < 0:
		ok = int64(n) == t.known
	case t.known > 0 && int64(n)%t.known == 0:
		dim = int64(n) / t.known
	default:
		ok = false
	}
	if !ok {
		_, err := tensor.InferShape(t.declared, n)
		e.fail(t, item, fmt.Sprintf("%d elements do not fit shape %v", n, t.declared), err)
		return false
	}
	if e.measuring {
		e.sizes[item].Bytes += size
		if t.dynamic >= 0 {
			e.keys[item] = binary.AppendUvarint(e.keys[item], uint64(dim))
		}
		return false
	}
	if item == 0 {
		t.shape = slices.Clone(t.declared)
		if t.dynamic >= 0 {
			t.shape[t.dynamic] = dim
		}
		if t.desc.DType != tensor.Bytes && size > 0 && e.batch <= math.MaxInt/size {
			t.raw = make([]byte, 0, size*e.batch) // every item has the same size
		}
		return true
	}
	if t.dynamic >= 0 && dim != t.shape[t.dynamic] {
		shape := slices.Clone(t.shape)
		shape[t.dynamic] = dim
		e.fail(t, item, fmt.Sprintf("has shape %v, but item %d has %v; the items of one request must agree in every dynamic dimension",
			shape, e.itemIndex(0), t.shape), tensor.ErrShape)
		return false
	}
	return true
}

// add keeps raw as t's data, or the error of appending an item to it.
func (t *TensorEncoder) add(raw []byte, err error) {
	if err != nil {
		t.e.fail(t, t.items-1, err.Error(), err)
		return
	}
	t.raw = raw
}

// AppendTensor appends an item held in a repeated numeric or bool field:
// its length must fit the tensor's shape, whose one -1 dimension takes the
// size the length implies (no shape at all means a vector of any length),
// and must agree with the request's other items. Values are converted to
// the tensor's datatype, rounding floats to nearest even; an integer the
// datatype cannot hold is an error.
func AppendTensor[T tensor.Element](t *TensorEncoder, v []T) {
	if t.begin(len(v), len(v)*t.desc.DType.Size(), true) {
		t.add(tensor.AppendAs(t.raw, t.desc.DType, v))
	}
}

// AppendScalar appends an item held in a singular numeric or bool field,
// one element, converted as by [AppendTensor].
func AppendScalar[T tensor.Element](t *TensorEncoder, v T) {
	if t.begin(1, t.desc.DType.Size(), false) {
		one := [1]T{v}
		t.add(tensor.AppendAs(t.raw, t.desc.DType, one[:]))
	}
}

// AppendRaw appends an item held in a singular bytes field as raw,
// little-endian data of the tensor's fixed-size datatype: its length must
// be a whole number of elements that fit the tensor's shape, as for
// [AppendTensor]. The bytes are copied as they are.
func AppendRaw(t *TensorEncoder, v []byte) {
	size := t.desc.DType.Size()
	if size == 0 {
		t.e.fail(t, t.items, fmt.Sprintf("raw data needs a fixed-size datatype, not %v", t.desc.DType), tensor.ErrDType)
		return
	}
	if len(v)%size != 0 {
		t.e.fail(t, t.items, fmt.Sprintf("%d bytes are not a whole number of %v elements of %d bytes", len(v), t.desc.DType, size), tensor.ErrLength)
		return
	}
	if t.begin(len(v)/size, len(v), true) {
		t.raw = append(t.raw, v...)
	}
}

// AppendStrings appends an item held in a repeated string or bytes field,
// one BYTES element each, checked against the shape as by [AppendTensor].
//
// Strings are sent as they are, without a UTF-8 check: BYTES carry any
// bytes, a string of a message that proto.Unmarshal decoded is valid
// already, and checking every string a client sends would cost a pass
// over its text for the rare caller that set invalid text itself. Where
// text is decoded into a string field that requires UTF-8, on the other
// side, [DecodeUTF8Strings] checks it: a generated fake refuses such a
// request with INVALID_ARGUMENT, as a client refuses such a response.
func AppendStrings[E string | []byte](t *TensorEncoder, v []E) {
	size, ok := bytesSize(t, v)
	if !ok || !t.begin(len(v), size, true) {
		return
	}
	switch v := any(v).(type) {
	case []string:
		t.raw = tensor.AppendStringElements(t.raw, v)
	case [][]byte:
		t.raw = tensor.AppendBytesElements(t.raw, v)
	}
}

// AppendString appends an item held in a singular string or bytes field,
// as one BYTES element, unchecked for UTF-8 as by [AppendStrings].
func AppendString[E string | []byte](t *TensorEncoder, v E) {
	one := [1]E{v}
	size, ok := bytesSize(t, one[:])
	if !ok || !t.begin(1, size, false) {
		return
	}
	t.raw = binary.LittleEndian.AppendUint32(t.raw, uint32(len(v)))
	t.raw = append(t.raw, v...)
}

// bytesSize returns the raw size of elems as BYTES elements of t, or
// false, having failed, if t is not BYTES or an element is too long to
// frame.
func bytesSize[E string | []byte](t *TensorEncoder, elems []E) (int, bool) {
	if t.desc.DType != tensor.Bytes {
		t.e.fail(t, t.items, fmt.Sprintf("strings need datatype BYTES, not %v", t.desc.DType), tensor.ErrDType)
		return 0, false
	}
	size := 4 * len(elems)
	for i, e := range elems {
		if uint64(len(e)) > math.MaxUint32 {
			t.e.fail(t, t.items, fmt.Sprintf("element %d is longer than 4 GiB - 1, the most a BYTES element can frame", i), tensor.ErrRange)
			return 0, false
		}
		size += len(e)
	}
	return size, true
}

// measured returns the size and shape key of every item of a measuring
// Encoder, or its error.
func (e *Encoder) measured() ([]BatchItem, error) {
	if err := e.finish(); err != nil {
		return nil, err
	}
	for i, key := range e.keys {
		e.sizes[i].Shape = string(key)
	}
	return e.sizes, nil
}

// finish returns the Encoder's error, or an error if a tensor did not get
// every item of the batch.
func (e *Encoder) finish() error {
	if e.err != nil {
		return e.err
	}
	for i := range e.tensors {
		t := &e.tensors[i]
		if t.items != e.batch {
			e.fail(t, -1, fmt.Sprintf("got %d items for a batch of %d", t.items, e.batch), nil)
			return e.err
		}
		if e.batch == 0 {
			// No item told the dynamic sizes: any will do for no data.
			t.shape = slices.Clone(t.desc.Shape)
			for j, d := range t.shape {
				t.shape[j] = max(d, 0)
			}
		}
	}
	return nil
}

// fullShape returns t's shape on the wire: the batch dimension, if the
// model has one, and the items' shape.
func (e *Encoder) fullShape(t *TensorEncoder) []int64 {
	if !e.batched {
		return t.shape
	}
	return append(append(make([]int64, 0, 1+len(t.shape)), int64(e.batch)), t.shape...)
}

// request returns the request of the encoded inputs, asking for the
// outputs, or the Encoder's error. The model name and version are left
// to each attempt.
func (e *Encoder) request(outputs []goai.TensorDesc) (*wire.Request, error) {
	inputs, err := e.tensorList()
	if err != nil {
		return nil, err
	}
	req := &wire.Request{Inputs: inputs, Outputs: make([]string, len(outputs))}
	for i := range outputs {
		req.Outputs[i] = outputs[i].Name
	}
	return req, nil
}

// tensorList returns the encoded tensors, or the Encoder's error.
func (e *Encoder) tensorList() ([]tensor.Tensor, error) {
	if err := e.finish(); err != nil {
		return nil, err
	}
	out := make([]tensor.Tensor, len(e.tensors))
	for i := range e.tensors {
		t := &e.tensors[i]
		out[i] = tensor.Tensor{Name: t.desc.Name, DType: t.desc.DType, Shape: e.fullShape(t), Raw: t.raw}
	}
	return out, nil
}
