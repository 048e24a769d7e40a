package goai

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors with which the runtime ends a call on its own. Each is matched
// through [errors.Is] by the error a call returns, and that error also keeps
// a gRPC code for [status.Code] and [status.FromError]: the one named on
// each sentinel.
var (
	// ErrBreakerOpen is matched when a model's circuit breaker is open (or
	// half-open with every probe taken) and the call failed at once without
	// reaching the server. Code UNAVAILABLE. The error also matches
	// gobreaker's ErrOpenState (or ErrTooManyRequests when half-open), and
	// the error of the last attempt made, if any.
	ErrBreakerOpen = errors.New("goai: circuit breaker is open")
	// ErrRetryBudgetExhausted is matched when a failed attempt could have
	// been retried but the [RetryBudget] had no retry left. The error also
	// matches, and keeps the code of, the last attempt's error.
	ErrRetryBudgetExhausted = errors.New("goai: retry budget exhausted")
	// ErrRateLimited is matched when a call was over its rate limit and
	// failed fast, or could not have waited for a token within its
	// deadline. Code RESOURCE_EXHAUSTED.
	ErrRateLimited = errors.New("goai: rate limited")
	// ErrBulkheadFull is matched when a call found as many calls in flight
	// as its concurrency limit allows and failed fast. Code
	// RESOURCE_EXHAUSTED.
	ErrBulkheadFull = errors.New("goai: too many calls in flight")
	// ErrMessageTooLarge is matched when a request was larger than the
	// send limit ([WithMaxSendMsgSize], or a grpc.MaxCallSendMsgSize call
	// option) and was not sent: a [Pool] checks each request before grpc
	// does, and a client over REST before sending it, so that the error is
	// known to be this client's own. It is neither retried nor counted by
	// the breaker. Code RESOURCE_EXHAUSTED.
	ErrMessageTooLarge = errors.New("goai: message larger than the send limit")
	// ErrNoTransportSecurity is returned by [Dial] when no transport
	// credentials were given: pass [WithTLSConfig],
	// [WithTransportCredentials] or, knowingly, [WithInsecure]; and by a
	// generated client's constructor for an http:// target without
	// WithInsecure.
	ErrNoTransportSecurity = errors.New("goai: no transport security set")
)

// callError is an error the runtime ends a call with. It matches each of
// errs through [errors.Is] and [errors.As] (a sentinel first, then causes)
// and reports code as its gRPC status.
type callError struct {
	code codes.Code
	msg  string
	errs []error
}

func (e *callError) Error() string   { return e.msg }
func (e *callError) Unwrap() []error { return e.errs }

// GRPCStatus returns the error's status: its code and message.
func (e *callError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// newCallError returns a callError with message msg that matches each
// non-nil error of errs.
func newCallError(code codes.Code, msg string, errs ...error) error {
	kept := make([]error, 0, len(errs))
	for _, err := range errs {
		if err != nil {
			kept = append(kept, err)
		}
	}
	return &callError{code: code, msg: msg, errs: kept}
}

// contextError is the error of a call whose context ended before an
// attempt: the context's code, matching its error.
func contextError(err error) error {
	return newCallError(status.FromContextError(err).Code(), "goai: "+err.Error(), err)
}

// withContextCode gives a plain context error, one without a gRPC status,
// the context's code; it returns any other error unchanged.
func withContextCode(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return newCallError(status.FromContextError(err).Code(), err.Error(), err)
	}
	return err
}
