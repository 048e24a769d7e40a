package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/goai-dev/goai/runtime/inferencepb"
	"github.com/goai-dev/goai/runtime/tensor"
)

// Decoder holds the tensors of a batch of messages, checked against their
// declaration: the outputs of a ModelInferResponse on a client, the inputs
// of a request in a fake. A [DecodeFunc] that protoc-gen-goai generates
// reads each item's fields from the [TensorDecoder] of their tensor with
// [DecodeTensor], [DecodeScalar], [DecodeRaw], [DecodeString] and
// [DecodeStrings].
//
// Every tensor is checked when the Decoder is made: present, of the
// declared datatype, of the declared shape (the batch dimension equal to
// the items sent, -1 matching any size, no declared shape matching any
// shape), and with exactly the data its shape implies (BYTES framing
// included). A Decoder keeps the first error of the decode functions, like
// an [Encoder].
type Decoder struct {
	tensors []TensorDecoder
	batch   int  // items the batch holds
	output  bool // the tensors are a response's
	index   []int
	err     error
}

// TensorDecoder reads the items of one tensor of a [Decoder].
type TensorDecoder struct {
	d     *Decoder
	name  string
	dtype tensor.DType
	raw   []byte
	n     int // elements
	per   int // elements per item
	// values is the whole tensor decoded, as []T, by the first item's
	// decode: items share one allocation.
	values any
}

// newDecoder returns a Decoder, not yet holding data, for batch items of
// the tensors descs.
func newDecoder(descs []TensorDesc, batch int, output bool) *Decoder {
	d := &Decoder{tensors: make([]TensorDecoder, len(descs)), batch: batch, output: output}
	for i := range descs {
		d.tensors[i] = TensorDecoder{d: d, name: descs[i].Name, dtype: descs[i].DType}
	}
	return d
}

// decodeResponse returns a Decoder of the outputs of resp, the answer to
// a request for batch items.
func decodeResponse(outputs []TensorDesc, batch int, batched bool, resp *inferencepb.ModelInferResponse) (*Decoder, error) {
	d := newDecoder(outputs, batch, true)
	raws := resp.GetRawOutputContents()
	for k := range outputs {
		desc := &outputs[k]
		j := slices.IndexFunc(resp.GetOutputs(), func(o *inferencepb.ModelInferResponse_InferOutputTensor) bool {
			return o.GetName() == desc.Name
		})
		if j < 0 {
			return nil, d.fail(desc.Name, -1, "is missing from the response", nil)
		}
		out := resp.GetOutputs()[j]
		if err := d.check(desc, batched, out.GetDatatype(), out.GetShape()); err != nil {
			return nil, err
		}
		var raw []byte
		if len(raws) > 0 {
			// Raw and typed contents are exclusive; Triton always answers raw.
			if j >= len(raws) {
				return nil, d.fail(desc.Name, -1, fmt.Sprintf("has no data: the response has %d raw_output_contents for %d outputs",
					len(raws), len(resp.GetOutputs())), tensor.ErrLength)
			}
			raw = raws[j]
		} else {
			var err error
			if raw, err = tensor.FromContents(desc.DType, out.GetShape(), out.GetContents()); err != nil {
				return nil, d.fail(desc.Name, -1, "typed contents: "+err.Error(), err)
			}
		}
		if err := d.set(k, out.GetShape(), raw); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// decodeTensors returns a Decoder of the tensors ts, named as descs name
// them, for batch items. It copies their data: the decoded messages must
// not share memory with the request a server keeps.
func decodeTensors(descs []TensorDesc, batch int, batched bool, ts []tensor.Tensor) (*Decoder, error) {
	d := newDecoder(descs, batch, false)
	for k := range descs {
		desc := &descs[k]
		j := slices.IndexFunc(ts, func(t tensor.Tensor) bool { return t.Name == desc.Name })
		if j < 0 {
			return nil, d.fail(desc.Name, -1, "is missing from the request", nil)
		}
		t := ts[j]
		if err := d.check(desc, batched, t.DType.String(), t.Shape); err != nil {
			return nil, err
		}
		if err := d.set(k, t.Shape, bytes.Clone(t.Raw)); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// fail keeps the first error, about item (in the batch; -1 for none) of
// the tensor name, and returns it.
func (d *Decoder) fail(name string, item int, msg string, err error) error {
	if d.err == nil {
		if item >= 0 && item < len(d.index) {
			item = d.index[item]
		}
		d.err = &TensorError{Tensor: name, Output: d.output, Item: item, Message: msg, Err: err}
	}
	return d.err
}

// check compares a tensor's datatype and shape with its declaration.
func (d *Decoder) check(desc *TensorDesc, batched bool, dtype string, shape []int64) error {
	if dtype != desc.DType.String() {
		return d.fail(desc.Name, -1, fmt.Sprintf("has datatype %q, want %v", dtype, desc.DType), tensor.ErrDType)
	}
	item := shape
	if batched {
		if len(shape) == 0 || shape[0] != int64(d.batch) {
			return d.fail(desc.Name, -1, fmt.Sprintf("has shape %v, whose first dimension is not the batch of %d items", shape, d.batch), tensor.ErrShape)
		}
		item = shape[1:]
	}
	if desc.Shape != nil && !fits(item, desc.Shape) {
		want := desc.Shape
		if batched {
			want = append([]int64{int64(d.batch)}, want...)
		}
		return d.fail(desc.Name, -1, fmt.Sprintf("has shape %v, want %v", shape, want), tensor.ErrShape)
	}
	return nil
}

// fits reports whether shape has the rank of declared and its size in
// every dimension that declared does not mark -1.
func fits(shape, declared []int64) bool {
	if len(shape) != len(declared) {
		return false
	}
	for i, d := range declared {
		if d != -1 && d != shape[i] {
			return false
		}
	}
	return true
}

// set gives the k-th tensor its data, checked against its shape.
func (d *Decoder) set(k int, shape []int64, raw []byte) error {
	t := &d.tensors[k]
	if err := (tensor.Tensor{Name: t.name, DType: t.dtype, Shape: shape, Raw: raw}).Validate(); err != nil {
		msg := err.Error()
		var te *tensor.Error
		if errors.As(err, &te) {
			msg = te.Err.Error()
		}
		return d.fail(t.name, -1, msg, err)
	}
	n, _ := tensor.NumElements(shape) // Validate checked the shape
	t.raw, t.n = raw, n
	if d.batch > 0 {
		t.per = n / d.batch
	}
	return nil
}

// Tensor returns the decoder of the i-th tensor, in the order of the
// []TensorDesc the Decoder was made for.
func (d *Decoder) Tensor(i int) *TensorDecoder { return &d.tensors[i] }

// item reports whether item can be decoded: no error yet and in the batch.
func (t *TensorDecoder) item(item int) bool {
	d := t.d
	if d.err != nil {
		return false
	}
	if item < 0 || item >= d.batch {
		d.fail(t.name, -1, fmt.Sprintf("item %d is outside the batch of %d", item, d.batch), nil)
		return false
	}
	return true
}

// single reports whether t holds one element per item, as a singular
// field needs; it fails the Decoder if not.
func (t *TensorDecoder) single() bool {
	if t.per != 1 {
		t.d.fail(t.name, -1, fmt.Sprintf("holds %d elements per item, but its field holds one", t.per), tensor.ErrShape)
		return false
	}
	return true
}

// DecodeTensor returns item's elements, for a repeated numeric or bool
// field: converted from the tensor's datatype to T, which holds every
// value of it exactly (FP16 into float32, INT8 into int32, ...). The items
// of a tensor share one allocation, each slice capped at its own end.
func DecodeTensor[T tensor.Element](t *TensorDecoder, item int) []T {
	if !t.item(item) {
		return nil
	}
	all, ok := t.values.([]T)
	if !ok {
		var err error
		if all, err = tensor.DecodeAs[T](nil, t.dtype, t.raw); err != nil {
			t.d.fail(t.name, -1, err.Error(), err)
			return nil
		}
		t.values = all
	}
	lo, hi := item*t.per, (item+1)*t.per
	return all[lo:hi:hi]
}

// DecodeScalar returns item's one element, for a singular numeric or bool
// field, converted as by [DecodeTensor].
func DecodeScalar[T tensor.Element](t *TensorDecoder, item int) T {
	if !t.single() {
		var zero T
		return zero
	}
	v := DecodeTensor[T](t, item)
	if len(v) == 0 {
		var zero T
		return zero
	}
	return v[0]
}

// DecodeRaw returns item's raw, little-endian data, for a singular bytes
// field of a fixed-size datatype. The slice shares the decoded data,
// capped at its own end.
func DecodeRaw(t *TensorDecoder, item int) []byte {
	if !t.item(item) {
		return nil
	}
	size := t.dtype.Size()
	if size == 0 {
		t.d.fail(t.name, -1, fmt.Sprintf("raw data needs a fixed-size datatype, not %v", t.dtype), tensor.ErrDType)
		return nil
	}
	lo, hi := item*t.per*size, (item+1)*t.per*size
	return t.raw[lo:hi:hi]
}

// DecodeStrings returns item's BYTES elements, for a repeated string or
// bytes field. Strings are copied out of the data in one allocation per
// tensor; []byte elements share the decoded data.
func DecodeStrings[E string | []byte](t *TensorDecoder, item int) []E {
	if !t.item(item) {
		return nil
	}
	all, ok := t.values.([]E)
	if !ok {
		if t.dtype != tensor.Bytes {
			t.d.fail(t.name, -1, fmt.Sprintf("strings need datatype BYTES, not %v", t.dtype), tensor.ErrDType)
			return nil
		}
		var err error
		switch p := any(&all).(type) {
		case *[]string:
			*p, err = tensor.DecodeStringElements(t.raw, t.n)
		case *[][]byte:
			*p, err = tensor.DecodeBytesElements(t.raw, t.n)
		}
		if err != nil {
			t.d.fail(t.name, -1, err.Error(), err)
			return nil
		}
		t.values = all
	}
	lo, hi := item*t.per, (item+1)*t.per
	return all[lo:hi:hi]
}

// DecodeString returns item's one BYTES element, for a singular string or
// bytes field.
func DecodeString[E string | []byte](t *TensorDecoder, item int) E {
	var zero E
	if !t.single() {
		return zero
	}
	v := DecodeStrings[E](t, item)
	if len(v) == 0 {
		return zero
	}
	return v[0]
}
