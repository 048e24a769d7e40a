package goai

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrBadTensor is matched, through [errors.Is], by every [*TensorError].
var ErrBadTensor = errors.New("goai: bad tensor")

// TensorError is a tensor that a generated client or fake could not map
// between its message and the wire: request data that does not fit the
// declared shape, or a response output that is missing, of another
// datatype or shape than declared, or too short for its shape.
//
// Its gRPC code ([status.Code]) is INVALID_ARGUMENT for a request tensor,
// which the client refuses before sending anything, and INTERNAL for a
// response tensor, as grpc-go reports other responses it cannot decode. A
// client decodes a response after the call's policies are done with it,
// so a TensorError is never retried and never counts against the breaker.
type TensorError struct {
	// Tensor is the tensor's name on the server.
	Tensor string
	// Output is true for a tensor of a response, false for one of a
	// request.
	Output bool
	// Item is the batch item at fault, counted from 0 in the caller's
	// slice, or -1 when the tensor as a whole is.
	Item int
	// Message says what is wrong.
	Message string
	// Err is the error of package tensor beneath, matching one of its
	// sentinels such as tensor.ErrShape, or nil.
	Err error
}

// Error returns the message, naming the tensor and the item.
func (e *TensorError) Error() string {
	kind := "input"
	if e.Output {
		kind = "output"
	}
	if e.Item >= 0 {
		return fmt.Sprintf("goai: %s %q of item %d: %s", kind, e.Tensor, e.Item, e.Message)
	}
	return fmt.Sprintf("goai: %s %q: %s", kind, e.Tensor, e.Message)
}

// Is reports whether target is [ErrBadTensor].
func (e *TensorError) Is(target error) bool { return target == ErrBadTensor }

// Unwrap returns e.Err.
func (e *TensorError) Unwrap() error { return e.Err }

// Code returns INTERNAL for an output and INVALID_ARGUMENT for an input.
func (e *TensorError) Code() codes.Code {
	if e.Output {
		return codes.Internal
	}
	return codes.InvalidArgument
}

// GRPCStatus returns the error's status: [TensorError.Code] and its
// message.
func (e *TensorError) GRPCStatus() *status.Status { return status.New(e.Code(), e.Error()) }

// maxEchoed is the most bytes of a string from the wire, such as a tensor
// name or a datatype, that an error message repeats. Nothing but the
// message size bounds such strings; real ones are short.
const maxEchoed = 64

// truncate returns s, or its first maxEchoed bytes and an ellipsis, for
// an error message to quote. The cut does not split a character of valid
// UTF-8.
func truncate(s string) string {
	if len(s) <= maxEchoed {
		return s
	}
	cut := maxEchoed
	for i := 1; i < utf8.UTFMax && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	return s[:cut] + "…"
}
