package oiphttp

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrMalformed is wrapped by every error about a body that is not what
// the protocol allows: broken JSON, a field of the wrong JSON type, sizes
// that do not add up. Errors about a tensor's contents wrap package
// tensor's sentinels instead (tensor.ErrLength, tensor.ErrRange, ...).
var ErrMalformed = errors.New("oiphttp: malformed body")

// ErrTooLarge is wrapped by the error for a body over a size limit, in
// either direction and on either side. Its code is RESOURCE_EXHAUSTED
// and its message says "larger than max" as grpc-go's does. A client's
// error for its own limit also wraps [wire.ErrRequestTooLarge] (a request
// not sent) or [wire.ErrResponseTooLarge] (a response not read), by which
// the call path tells it from a server's 413: the first is neither
// retried nor held against the server, the second is the server's
// answer, as a gRPC server's own RESOURCE_EXHAUSTED is.
var ErrTooLarge = errors.New("oiphttp: message larger than max")

// Error is an error of this package: a body it could not encode or
// decode, a server's error answer, or a failed exchange. It carries the
// gRPC status code a gRPC transport would have reported in its place, so
// that retries and the breaker behave the same on either transport;
// [status.FromError] and [status.Code] see it through GRPCStatus.
type Error struct {
	// Code is the gRPC status code.
	Code codes.Code
	// HTTPStatus is the status of the server's answer when the error is
	// one (a 4xx or 5xx with its error body), else 0.
	HTTPStatus int
	// Message says what went wrong.
	Message string
	// Err is the cause, or nil: ErrMalformed, ErrTooLarge (joined with
	// wire.ErrRequestTooLarge or wire.ErrResponseTooLarge for a limit of
	// the client's own), a sentinel of package tensor, a context or
	// network error.
	Err error
}

// Error returns the message, with the HTTP status if there is one.
func (e *Error) Error() string {
	if e.HTTPStatus != 0 {
		return fmt.Sprintf("oiphttp: HTTP %d: %s", e.HTTPStatus, e.Message)
	}
	return "oiphttp: " + e.Message
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus returns the error's status: e.Code and its message.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Error()) }

// FromServer reports whether the error is the server's answer rather
// than a failure to reach it or to decode what it sent.
func (e *Error) FromServer() bool { return e.HTTPStatus != 0 }

// newError returns an *Error with code, wrapping err, its message
// formatted.
func newError(code codes.Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// malformed returns an error about a broken body, wrapping ErrMalformed.
// Its code is set by the entry point that knows which side decoded it.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// decodeError makes err, from decoding a body, an *Error with code:
// INTERNAL on a client (a response it cannot decode, as grpc-go reports
// one), INVALID_ARGUMENT on a server (a request it cannot accept).
func decodeError(code codes.Code, what string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: code, Message: what + ": " + err.Error(), Err: err}
}

// maxEchoed is the most bytes of a server's tensor name that a
// [wire.TensorError] names it by.
const maxEchoed = 64

// echoed returns name cut to maxEchoed bytes at a rune boundary, with an
// ellipsis when it was cut.
func echoed(name string) string {
	if len(name) <= maxEchoed {
		return name
	}
	n := maxEchoed
	for i := 1; i < utf8.UTFMax && !utf8.RuneStart(name[n]); i++ {
		n--
	}
	return name[:n] + "…"
}
