package tensor

import (
	"errors"
	"fmt"
)

// The sentinel errors of this package. Every error it returns wraps exactly
// one of them, so callers can branch with [errors.Is] without parsing
// messages; the message adds the detail (which dimension, how many bytes).
var (
	// ErrShape reports a shape that cannot describe the data: a negative
	// dimension, more than [MaxElements] elements, or an element count that
	// does not match the data supplied.
	ErrShape = errors.New("tensor: invalid shape")

	// ErrLength reports contents whose size does not match the shape and
	// datatype: raw bytes that are too short or too long, a BYTES length
	// prefix that runs past the end of the buffer, or a typed contents field
	// with the wrong number of entries.
	ErrLength = errors.New("tensor: contents length does not match shape")

	// ErrDType reports a datatype that is unknown, or that the operation
	// cannot handle: FP16 or BF16 in typed contents, raw FP32 decoded into an
	// int32 slice, a typed field other than the datatype's own set.
	ErrDType = errors.New("tensor: unsupported datatype")

	// ErrRange reports a value that does not fit the datatype it is being
	// encoded as, such as 300 sent as INT8. Triton silently keeps the low
	// bytes; this package refuses, because a wrapped value is almost always
	// a bug in the caller.
	ErrRange = errors.New("tensor: value out of range for datatype")

	// ErrUTF8 reports a BYTES element that is not valid UTF-8 where text
	// is required: decoded into a string field that protobuf checks for
	// UTF-8 (every proto3 string field; in editions, those with
	// features.utf8_validation = VERIFY, the default). Such a field could
	// not hold it without making its message unmarshalable; BYTES data
	// that may not be text belongs in a bytes field.
	ErrUTF8 = errors.New("tensor: BYTES element is not valid UTF-8")
)

// Error is a problem with one named tensor. It is what [Tensor.Validate]
// returns, so that a caller handling many tensors can tell which one failed
// with [errors.As]; Err is one of the sentinel errors ([ErrShape],
// [ErrLength], [ErrDType], [ErrRange], [ErrUTF8]) wrapped with detail, so [errors.Is]
// sees through it.
type Error struct {
	Name  string // tensor name, as in the request or response
	DType DType  // declared datatype; Invalid if it did not parse
	Err   error  // wraps a sentinel error of this package
}

// Error returns the message, naming the tensor and its datatype.
func (e *Error) Error() string {
	return fmt.Sprintf("tensor %q (%v): %v", e.Name, e.DType, e.Err)
}

// Unwrap returns e.Err, so [errors.Is] finds the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// errorf wraps a sentinel with a formatted detail; the detail comes first so
// messages read "tensor: invalid shape: dimension 2 is -1".
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}
