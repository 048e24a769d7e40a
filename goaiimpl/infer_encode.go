package goaiimpl

import (
	"encoding/binary"
	"fmt"
	"github.com/goai-dev/goai"
	"math"
	"slices"

	"github.com/goai-dev/goai/internal/bufpool"
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
	// alias lets the append functions keep a request's single item in
	// the caller's own memory, viewed as raw data (see [tensor.View])
	// instead of copied: set only where the request is sent, and the
	// transport done with it, before the caller gets its slices back.
	alias bool
	// pooled makes the tensors' data buffers come from tensorPool; the
	// Encoder's owner gives them back with [Encoder.release] once the
	// request is sent.
	pooled bool
	// index holds the caller's index of each item, when the batch is part
	// of the caller's; nil when they are the same.
	index []int
	err   error

	// measuring makes the Encoder record each item's size and dynamic
	// dimensions, for PlanBatches, instead of encoding.
	measuring bool
	sizes     []BatchItem
	keys      [][]byte

	// Room for the common case of few tensors, so that encoding a
	// request of up to inlineTensors tensors allocates no slices.
	inline  [inlineTensors]TensorEncoder
	list    [inlineTensors]tensor.Tensor
	outputs [inlineTensors]string
}

// inlineTensors is how many tensors an Encoder or Decoder holds without
// allocating: most models take and give one or two.
const inlineTensors = 2

// tensorPool holds the data buffers of pooled Encoders.
var tensorPool bufpool.Pool

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
	// full is the shape on the wire: the batch dimension, if the model
	// has one, then shape, whose memory it shares.
	full []int64
	raw  []byte
	// want is the size of the whole tensor's data, of a fixed-size
	// datatype, for the buffer that the first item's data reserves.
	want int
	buf  *[]byte // raw's pooled buffer, if any
	dims [1 + inlineDims]int64
}

// inlineDims is the rank of item shapes a TensorEncoder holds without
// allocating.
const inlineDims = 4

// newEncoder returns an Encoder for batch items of the tensors descs.
func newEncoder(descs []goai.TensorDesc, batch int, batched, output bool) *Encoder {
	e := new(Encoder)
	e.init(descs, batch, batched, output)
	return e
}

// init makes e an Encoder for batch items of the tensors descs.
func (e *Encoder) init(descs []goai.TensorDesc, batch int, batched, output bool) {
	e.batch, e.batched, e.output = batch, batched, output
	if len(descs) <= inlineTensors {
		e.tensors = e.inline[:len(descs)]
	} else {
		e.tensors = make([]TensorEncoder, len(descs))
	}
	for i := range descs {
		e.tensors[i] = TensorEncoder{e: e, desc: &descs[i]}
	}
}

// release gives the pooled buffers of e's tensors back, once the request
// they hold has been sent: the transport is done with it.
func (e *Encoder) release() {
	for i := range e.tensors {
		t := &e.tensors[i]
		if t.buf != nil {
			tensorPool.Put(t.buf)
			t.buf, t.raw = nil, nil
		}
	}
}

// reserve gives t an empty buffer for its data, of t.want bytes, unless
// it has one: pooled if the Encoder is.
func (t *TensorEncoder) reserve() {
	if t.raw != nil || t.want == 0 {
		return
	}
	if t.e.pooled {
		t.buf = tensorPool.Get(t.want)
		t.raw = (*t.buf)[:0]
		return
	}
	t.raw = make([]byte, 0, t.want)
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
		t.setShape(t.declared)
		if t.dynamic >= 0 {
			t.shape[t.dynamic] = dim
		}
		if t.desc.DType != tensor.Bytes && size > 0 && e.batch <= math.MaxInt/size {
			t.want = size * e.batch // every item has the same size
			if !e.alias {
				t.reserve()
			}
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

// setShape sets t's item shape to a copy of shape, and its full shape,
// in t's own room when the rank fits.
func (t *TensorEncoder) setShape(shape []int64) {
	full := t.dims[:0]
	if len(shape) > inlineDims {
		full = make([]int64, 0, 1+len(shape))
	}
	if t.e.batched {
		full = append(full, int64(t.e.batch))
	}
	t.full = append(full, shape...)
	t.shape = t.full[len(t.full)-len(shape):]
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
		if t.e.alias {
			if raw, ok := tensor.View(t.desc.DType, v); ok {
				t.raw = raw
				return
			}
			t.reserve()
		}
		t.add(tensor.AppendAs(t.raw, t.desc.DType, v))
	}
}

// AppendScalar appends an item held in a singular numeric or bool field,
// one element, converted as by [AppendTensor].
func AppendScalar[T tensor.Element](t *TensorEncoder, v T) {
	if t.begin(1, t.desc.DType.Size(), false) {
		t.reserve()
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
		if t.e.alias && len(v) > 0 {
			t.raw = v[:len(v):len(v)]
			return
		}
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
			t.setShape(t.desc.Shape)
			for j, d := range t.shape {
				t.shape[j] = max(d, 0)
			}
		}
	}
	return nil
}

// request returns the request of the encoded inputs, asking for the
// outputs, or the Encoder's error. The model name and version are left
// to each attempt.
func (e *Encoder) request(outputs []goai.TensorDesc) (*wire.Request, error) {
	req := new(wire.Request)
	return req, e.requestInto(req, outputs)
}

// requestInto is request into req.
func (e *Encoder) requestInto(req *wire.Request, outputs []goai.TensorDesc) error {
	inputs, err := e.tensorList()
	if err != nil {
		return err
	}
	names := e.outputs[:0]
	if len(outputs) > inlineTensors {
		names = make([]string, 0, len(outputs))
	}
	for i := range outputs {
		names = append(names, outputs[i].Name)
	}
	*req = wire.Request{Inputs: inputs, Outputs: names}
	return nil
}

// tensorList returns the encoded tensors, or the Encoder's error.
func (e *Encoder) tensorList() ([]tensor.Tensor, error) {
	if err := e.finish(); err != nil {
		return nil, err
	}
	out := e.list[:0]
	if len(e.tensors) > inlineTensors {
		out = make([]tensor.Tensor, 0, len(e.tensors))
	}
	for i := range e.tensors {
		t := &e.tensors[i]
		out = append(out, tensor.Tensor{Name: t.desc.Name, DType: t.desc.DType, Shape: t.full, Raw: t.raw})
	}
	return out, nil
}
