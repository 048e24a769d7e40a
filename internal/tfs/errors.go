package tfs

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrTooLarge reports tensors that would decode to more bytes than the
// limit allows ([DefaultMaxDecodedBytes] unless configured). It is how a
// TensorProto whose few values the repeat-last-value rule would stretch
// over a huge shape is refused, before anything is allocated for it.
var ErrTooLarge = errors.New("tfs: decoded tensors exceed the size limit")

// Error is a failure with the gRPC code a transport reports it under,
// wrapping its cause: one of package tensor's sentinels (ErrShape,
// ErrLength, ErrDType, ErrRange) for a tensor goai cannot read,
// [ErrTooLarge], or a JSON syntax error. [status.Code] and
// [status.FromError] see the code; [errors.Is] and [errors.As] see the
// cause.
type Error struct {
	Code codes.Code
	Err  error
}

// Error returns the cause's message.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus returns the error as a gRPC status with e's code.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Err.Error()) }

// badResponse marks err as the server's answer being unreadable: INTERNAL,
// as grpc-go reports a response it cannot parse, or RESOURCE_EXHAUSTED for
// one over the size limit, as grpc-go reports a message over its receive
// limit (which retrying does not help).
func badResponse(err error) error {
	if err == nil {
		return nil
	}
	code := codes.Internal
	if errors.Is(err, ErrTooLarge) {
		code = codes.ResourceExhausted
	}
	return &Error{Code: code, Err: fmt.Errorf("tfs: malformed response: %w", err)}
}

// badRequest marks err as a request the server cannot serve:
// INVALID_ARGUMENT, as TF Serving answers it.
func badRequest(err error) error {
	if err == nil {
		return nil
	}
	code := codes.InvalidArgument
	if errors.Is(err, ErrTooLarge) {
		code = codes.ResourceExhausted
	}
	return &Error{Code: code, Err: err}
}
