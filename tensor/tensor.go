package tensor

import (
	"math"
)

// MaxElements is the largest element count this package accepts in a
// shape. No gRPC message on the Open Inference Protocol can exceed
// math.MaxInt32 bytes (Triton and TF Serving cap messages there, and protobuf
// cannot frame more), and every element takes at least one byte, so a shape
// above this bound is a broken or hostile header, not a tensor. Checking it
// before any allocation keeps a declared shape of 2^40 elements from costing
// memory.
const MaxElements = math.MaxInt32

// Tensor is one named tensor in raw form.
//
// Raw is the tensor's raw contents as they travel in raw_input_contents and
// raw_output_contents; the AppendXxx functions build it and the DecodeXxx
// functions read it. A Tensor does not own Raw: decoding may alias it.
type Tensor struct {
	Name  string  // tensor name, as in the model's metadata
	DType DType   // element datatype
	Shape []int64 // full shape, batch dimension included
	Raw   []byte  // row-major, little-endian; BYTES elements each framed by a 4-byte little-endian length
}

// NumElements returns the product of t.Shape. It fails with [ErrShape] on a
// negative dimension or a product above [MaxElements]; an empty shape is a
// scalar with one element.
func (t Tensor) NumElements() (int, error) {
	return NumElements(t.Shape)
}

// Validate reports whether t is well-formed: a known datatype, a valid
// shape, and raw contents of exactly the size the shape and datatype imply
// (for [Bytes], exactly that many well-framed elements and no trailing
// bytes). The error is an [*Error] naming the tensor. Validate does not
// allocate.
func (t Tensor) Validate() error {
	if err := validate(t.DType, t.Shape, t.Raw); err != nil {
		return &Error{Name: t.Name, DType: t.DType, Err: err}
	}
	return nil
}

func validate(dt DType, shape []int64, raw []byte) error {
	if !dt.Valid() {
		return errorf(ErrDType, "datatype %v", dt)
	}
	n, err := NumElements(shape)
	if err != nil {
		return err
	}
	if dt == Bytes {
		got, _, err := countBytesElements(raw, -1)
		if err != nil {
			return err
		}
		if got != n {
			return errorf(ErrLength, "shape %s holds %d BYTES elements, contents hold %d", FormatShape(shape), n, got)
		}
		return nil
	}
	// n <= MaxElements and Size <= 8, so the product fits in int64 on
	// every platform.
	if want := int64(n) * int64(dt.Size()); int64(len(raw)) != want {
		return errorf(ErrLength, "shape %s of %v needs %d bytes, contents have %d", FormatShape(shape), dt, want, len(raw))
	}
	return nil
}

// NumElements returns the product of shape. It fails with [ErrShape] on a
// negative dimension (use [InferShape] to resolve a -1) or when any
// dimension, or the product, exceeds [MaxElements]. An empty shape is a
// scalar with one element.
func NumElements(shape []int64) (int, error) {
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, errorf(ErrShape, "dimension %d of %s is negative", i, FormatShape(shape))
		}
		// Checking each dimension, not just the running product, rejects
		// [0, 1<<62] too: a zero elsewhere must not launder a nonsense
		// dimension.
		if d > MaxElements {
			return 0, errorf(ErrShape, "dimension %d of %s exceeds %d", i, FormatShape(shape), MaxElements)
		}
		n *= d // both factors <= MaxInt32, so no int64 overflow
		if n > MaxElements {
			return 0, errorf(ErrShape, "shape %s has more than %d elements", FormatShape(shape), MaxElements)
		}
	}
	return int(n), nil
}

// InferShape returns a copy of shape with at most one -1 dimension replaced
// so that the product equals n, the number of elements actually present. It
// fails with [ErrShape] if shape has more than one -1, any other negative
// dimension, or a product that cannot equal n. Model metadata uses -1 for
// variable dimensions; requests must send concrete ones.
func InferShape(shape []int64, n int) ([]int64, error) {
	if n < 0 || n > MaxElements {
		return nil, errorf(ErrShape, "element count %d out of range", n)
	}
	out := make([]int64, len(shape))
	copy(out, shape)
	free := -1
	known := int64(1)
	for i, d := range out {
		switch {
		case d == -1 && free >= 0:
			return nil, errorf(ErrShape, "shape %s has more than one -1 dimension", FormatShape(shape))
		case d == -1:
			free = i
		case d < 0:
			return nil, errorf(ErrShape, "dimension %d of %s is negative", i, FormatShape(shape))
		case d > MaxElements:
			return nil, errorf(ErrShape, "dimension %d of %s exceeds %d", i, FormatShape(shape), MaxElements)
		default:
			known *= d
			if known > MaxElements {
				return nil, errorf(ErrShape, "shape %s has more than %d elements", FormatShape(shape), MaxElements)
			}
		}
	}
	if free < 0 {
		if known != int64(n) {
			return nil, errorf(ErrShape, "shape %s holds %d elements, got %d", FormatShape(shape), known, n)
		}
		return out, nil
	}
	if known == 0 {
		// 0 * x == n only for n == 0, and then x is ambiguous: refuse rather
		// than guess.
		return nil, errorf(ErrShape, "cannot infer the -1 dimension of %s: other dimensions hold 0 elements", FormatShape(shape))
	}
	if int64(n)%known != 0 {
		return nil, errorf(ErrShape, "%d elements do not fit shape %s", n, FormatShape(shape))
	}
	out[free] = int64(n) / known
	return out, nil
}
