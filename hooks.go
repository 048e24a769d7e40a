package goai

import (
	"context"
	"time"

	"github.com/sony/gobreaker/v2"
	"google.golang.org/grpc/codes"
)

// Hooks observe a [Caller]'s calls, for metrics and tracing, without tying
// this package to a metrics or tracing library. Each field may be nil. Hooks
// run synchronously on the calling goroutine, so they must be quick and
// safe for concurrent use.
type Hooks struct {
	// AttemptStart is called before each attempt, fallback included. The
	// context it returns is the attempt's (to carry a span, say); returning
	// ctx itself is fine.
	AttemptStart func(ctx context.Context, e AttemptEvent) context.Context
	// AttemptDone is called after each attempt with its outcome, on the
	// context AttemptStart returned.
	AttemptDone func(ctx context.Context, e AttemptEvent)
	// Retry is called when a failed attempt is about to be retried, before
	// the backoff wait.
	Retry func(ctx context.Context, e RetryEvent)
	// BreakerStateChange is called when a model's breaker changes state.
	// It runs under the breaker's lock: it must not call the [Caller].
	BreakerStateChange func(e BreakerEvent)
	// CallDone is called once per [Caller.Invoke], after its last attempt,
	// also when a limit or an open breaker rejected the call.
	CallDone func(ctx context.Context, e CallEvent)
}

// AttemptEvent describes one attempt. Code, Err and Latency are set for
// [Hooks.AttemptDone] only.
type AttemptEvent struct {
	// Method is the rpc's full method name.
	Method string
	// Model is the model the attempt calls.
	Model ModelRef
	// Attempt is the attempt's number in its call, from 1.
	Attempt int
	// Fallback is true for the attempt on the fallback model.
	Fallback bool
	// Code is the attempt's gRPC code: OK on success.
	Code codes.Code
	// Err is the attempt's error, nil on success.
	Err error
	// Latency is how long the attempt took.
	Latency time.Duration
}

// RetryEvent describes a retry about to be made.
type RetryEvent struct {
	// Method is the rpc's full method name.
	Method string
	// Model is the model the call retries.
	Model ModelRef
	// Attempt is the number of the attempt that failed.
	Attempt int
	// Code is the failed attempt's gRPC code.
	Code codes.Code
	// Backoff is the wait before the next attempt.
	Backoff time.Duration
	// Pushback is true when Backoff is the server's, from the
	// grpc-retry-pushback-ms trailer.
	Pushback bool
}

// BreakerEvent describes a breaker's change of state.
type BreakerEvent struct {
	// Model is the model (name and version) the breaker guards.
	Model ModelRef
	// From is the state left.
	From gobreaker.State
	// To is the state entered.
	To gobreaker.State
}

// CallEvent describes a finished call.
type CallEvent struct {
	// Method is the rpc's full method name.
	Method string
	// Info tells what the call did.
	Info CallInfo
	// Code is the call's gRPC code: OK on success.
	Code codes.Code
	// Err is the call's error, nil on success.
	Err error
}
