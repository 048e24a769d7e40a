package goaiimpl

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/goai-dev/goai"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
)

// Decoder holds the tensors of a batch of messages, checked against their
// declaration: the outputs of a ModelInferResponse on a client, the inputs
// of a request in a fake. A [DecodeFunc] that protoc-gen-goai generates
// reads each item's fields from the [TensorDecoder] of their tensor with
// [DecodeTensor], [DecodeScalar], [DecodeRaw], [DecodeString],
// [DecodeStrings], [DecodeUTF8String] and [DecodeUTF8Strings].
//
// Every tensor is checked when the Decoder is made: present once, of the
// declared datatype, of the declared shape (the batch dimension equal to
// the items sent, -1 matching any size, no declared shape matching any
// shape), and with exactly the data its shape implies (BYTES framing
// included). A Decoder keeps the first error of the decode functions, like
// an [Encoder].
//
// What decoding allocates is bounded by the data received, whatever its
// shape claims: at most 8 bytes per byte of fixed-size data (INT8 into
// int64 fields), and for BYTES 16 bytes per element into strings plus
// their text, 24 into byte slices, each element taking at least 4 bytes
// of raw data (see package tensor); items share these allocations.
type Decoder struct {
	tensors []TensorDecoder
	batch   int  // items the batch holds
	output  bool // the tensors are a response's
	index   []int
	err     error
	inline  [inlineTensors]TensorDecoder // tensors' room when few
}

// TensorDecoder reads the items of one tensor of a [Decoder].
type TensorDecoder struct {
	d     *Decoder
	name  string
	dtype tensor.DType
	at    int // the tensor's index on the wire; -1 until found
	raw   []byte
	// elems are the elements of a BYTES tensor that came one by one, as
	// typed contents do, which need no framing; nil for raw data.
	elems [][]byte
	// shared marks raw as memory the Decoder must not hand out (a request
	// that a fake's server keeps): the decoders that alias it copy it.
	shared bool
	n      int // elements
	per    int // elements per item
	// values is the whole tensor decoded, as []T, by the first item's
	// decode: items share one allocation.
	values any
	// utf8 is set once values, as []string, are known to be valid UTF-8.
	utf8 bool
}

// newDecoder returns a Decoder, not yet holding data, for batch items of
// the tensors descs.
func newDecoder(descs []goai.TensorDesc, batch int, output bool) *Decoder {
	d := new(Decoder)
	d.init(descs, batch, output)
	return d
}

// init makes d a Decoder, not yet holding data, for batch items of the
// tensors descs.
func (d *Decoder) init(descs []goai.TensorDesc, batch int, output bool) {
	d.batch, d.output = batch, output
	if len(descs) <= inlineTensors {
		d.tensors = d.inline[:len(descs)]
	} else {
		d.tensors = make([]TensorDecoder, len(descs))
	}
	for i := range descs {
		d.tensors[i] = TensorDecoder{d: d, name: descs[i].Name, dtype: descs[i].DType, at: -1}
	}
}

// locate finds each declared tensor among the count tensors on the wire,
// the j-th named name(j), and fails on a declared name the wire holds
// more than once: which of them is the tensor would be a guess. Wire
// tensors that no declaration names are left alone. It takes count times
// the declared tensors, a number the generated code fixes, and allocates
// nothing.
func (d *Decoder) locate(count int, name func(j int) string) error {
	where, kind := d.where(), "inputs"
	if d.output {
		kind = "outputs"
	}
	for j := range count {
		n := name(j)
		for k := range d.tensors {
			t := &d.tensors[k]
			if t.name != n {
				continue
			}
			if t.at >= 0 {
				return d.fail(t.name, -1, fmt.Sprintf("appears more than once in the %s, as %s %d and %d", where, kind, t.at, j), nil)
			}
			t.at = j
		}
	}
	return nil
}

// where names what the Decoder's tensors came in: "request" or
// "response".
func (d *Decoder) where() string {
	if d.output {
		return "response"
	}
	return "request"
}

// decodeResponse returns a Decoder of the outputs of resp, the answer to
// a request for batch items. The transport has read resp by its
// protocol's rules (where each output's data is, each name once); the
// Decoder checks it against the declaration.
func decodeResponse(outputs []goai.TensorDesc, batch int, batched bool, resp *wire.Response) (*Decoder, error) {
	d := new(Decoder)
	if err := d.readResponse(outputs, batch, batched, resp); err != nil {
		return nil, err
	}
	return d, nil
}

// readResponse is decodeResponse into d.
func (d *Decoder) readResponse(outputs []goai.TensorDesc, batch int, batched bool, resp *wire.Response) error {
	if err := d.readTensors(outputs, batch, batched, resp.Outputs, true); err != nil || resp.Elements == nil {
		return err
	}
	for k := range d.tensors {
		t := &d.tensors[k]
		if elems := resp.Elements[t.at]; elems != nil {
			t.elems = elems
		}
	}
	return nil
}

// decodeTensors returns a Decoder of the tensors ts, named as descs name
// them, for batch items: a response's outputs, or the inputs of a request
// a fake serves. For a request, the Decoder shares their data but the
// decoded messages do not: the decoders that alias data copy it first,
// for a server keeps the request.
func decodeTensors(descs []goai.TensorDesc, batch int, batched bool, ts []tensor.Tensor, output bool) (*Decoder, error) {
	d := new(Decoder)
	if err := d.readTensors(descs, batch, batched, ts, output); err != nil {
		return nil, err
	}
	return d, nil
}

// readTensors is decodeTensors into d.
func (d *Decoder) readTensors(descs []goai.TensorDesc, batch int, batched bool, ts []tensor.Tensor, output bool) error {
	d.init(descs, batch, output)
	if err := d.locate(len(ts), func(j int) string { return ts[j].Name }); err != nil {
		return err
	}
	for k := range descs {
		desc := &descs[k]
		t := &d.tensors[k]
		if t.at < 0 {
			return d.fail(desc.Name, -1, "is missing from the "+d.where(), nil)
		}
		in := ts[t.at]
		if err := d.check(desc, batched, in.DType, in.Shape); err != nil {
			return err
		}
		if in.Raw == nil && in.DType == tensor.Bytes && output {
			// Elements that came one by one: decodeResponse sets them,
			// counted as the transport checked them against the shape.
			d.setShape(t, in.Shape)
			continue
		}
		if err := d.set(k, in.Shape, in.Raw); err != nil {
			return err
		}
		t.shared = !output
	}
	return nil
}

// fail keeps the first error, about item (in the batch; -1 for none) of
// the tensor name, and returns it.
func (d *Decoder) fail(name string, item int, msg string, err error) error {
	if d.err == nil {
		if item >= 0 && item < len(d.index) {
			item = d.index[item]
		}
		d.err = &goai.TensorError{Tensor: name, Output: d.output, Item: item, Message: msg, Err: err}
	}
	return d.err
}

// check compares a tensor's datatype and shape with its declaration.
func (d *Decoder) check(desc *goai.TensorDesc, batched bool, dtype tensor.DType, shape []int64) error {
	if dtype != desc.DType {
		got := dtype.String()
		if !dtype.Valid() {
			got = "unknown to goai"
		}
		return d.fail(desc.Name, -1, fmt.Sprintf("has datatype %s, want %v", got, desc.DType), tensor.ErrDType)
	}
	item := shape
	if batched {
		if len(shape) == 0 || shape[0] != int64(d.batch) {
			return d.fail(desc.Name, -1, fmt.Sprintf("has shape %s, whose first dimension is not the batch of %d items", tensor.FormatShape(shape), d.batch), tensor.ErrShape)
		}
		item = shape[1:]
	}
	if desc.Shape != nil && !fits(item, desc.Shape) {
		want := desc.Shape
		if batched {
			want = append([]int64{int64(d.batch)}, want...)
		}
		return d.fail(desc.Name, -1, fmt.Sprintf("has shape %s, want %s", tensor.FormatShape(shape), tensor.FormatShape(want)), tensor.ErrShape)
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

// set gives the k-th tensor its raw data, checked against its shape.
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
	t.raw = raw
	d.setShape(t, shape)
	return nil
}

// setShape sets t's element counts from its shape, which has been checked.
func (d *Decoder) setShape(t *TensorDecoder, shape []int64) {
	t.n, _ = tensor.NumElements(shape)
	if d.batch > 0 {
		t.per = t.n / d.batch
	}
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
		if t.d.batch > 1 {
			t.values = all // for the other items; boxing it costs an allocation
		}
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
	raw := t.own()
	lo, hi := item*t.per*size, (item+1)*t.per*size
	return raw[lo:hi:hi]
}

// own returns t's raw data, copied once if it is shared, for decoders
// whose results alias it.
func (t *TensorDecoder) own() []byte {
	if t.shared {
		t.raw, t.shared = bytes.Clone(t.raw), false
	}
	return t.raw
}

// DecodeStrings returns item's BYTES elements, for a repeated string or
// bytes field. Strings are copied out of the data in one allocation per
// tensor, and are not checked for UTF-8 (see [DecodeUTF8Strings]); []byte
// elements share the decoded data.
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
			if t.elems != nil {
				*p = tensor.BytesToStrings(t.elems)
			} else {
				*p, err = tensor.DecodeStringElements(t.raw, t.n)
			}
		case *[][]byte:
			if t.elems != nil {
				*p = t.elems
			} else {
				*p, err = tensor.DecodeBytesElements(t.own(), t.n)
			}
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
// bytes field, as [DecodeStrings] does.
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

// DecodeUTF8Strings is [DecodeStrings] for a repeated string field that
// protobuf requires to hold UTF-8: those of proto3, and in editions those
// whose features.utf8_validation is VERIFY, the default. protoc-gen-goai
// calls it for such fields, and DecodeStrings for others (proto2's, or
// utf8_validation NONE). An element that is not valid UTF-8 would make
// the decoded message impossible to marshal, so it fails the Decoder
// with a [*goai.TensorError] naming its item, matching [tensor.ErrUTF8].
// Every element of the tensor is checked once, on the first decode.
func DecodeUTF8Strings(t *TensorDecoder, item int) []string {
	v := DecodeStrings[string](t, item)
	if v == nil || t.utf8 {
		return v
	}
	all := t.values.([]string)
	if i, err := tensor.CheckUTF8(all); err != nil {
		t.d.fail(t.name, i/t.per, fmt.Sprintf("element %d is not valid UTF-8, which its string field requires; data that may not be text belongs in a bytes field", i%t.per), err)
		return nil
	}
	t.utf8 = true
	return v
}

// DecodeUTF8String is [DecodeString] for a singular string field that
// requires UTF-8, as [DecodeUTF8Strings] is for a repeated one.
func DecodeUTF8String(t *TensorDecoder, item int) string {
	if !t.single() {
		return ""
	}
	v := DecodeUTF8Strings(t, item)
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
