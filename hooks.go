package goai

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
)

// Hooks observe a [Client]'s calls, for metrics and tracing, without tying
// this package to a metrics or tracing library. Each field may be nil. Hooks
// run synchronously on the calling goroutine, so they must be quick and
// safe for concurrent use. Several [WithHooks] chain, in order.
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
	// It runs under the breaker's lock: it must not call the [Client].
	BreakerStateChange func(e BreakerEvent)
	// CallDone is called once per call, after its last attempt, also when
	// a limit or an open breaker rejected the call. A batch call reports
	// each of its requests as a call.
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
	From BreakerState
	// To is the state entered.
	To BreakerState
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

// chainHooks returns hooks that run a's and then b's.
func chainHooks(a, b Hooks) Hooks {
	return Hooks{
		AttemptStart: chainStart(a.AttemptStart, b.AttemptStart),
		AttemptDone:  chain2(a.AttemptDone, b.AttemptDone),
		Retry:        chain2(a.Retry, b.Retry),
		BreakerStateChange: func() func(BreakerEvent) {
			switch {
			case a.BreakerStateChange == nil:
				return b.BreakerStateChange
			case b.BreakerStateChange == nil:
				return a.BreakerStateChange
			}
			return func(e BreakerEvent) { a.BreakerStateChange(e); b.BreakerStateChange(e) }
		}(),
		CallDone: chain2(a.CallDone, b.CallDone),
	}
}

// chain2 returns a function calling f then g, either of which may be nil.
func chain2[E any](f, g func(context.Context, E)) func(context.Context, E) {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(ctx context.Context, e E) { f(ctx, e); g(ctx, e) }
}

// chainStart chains two AttemptStart hooks: g gets the context f returned.
func chainStart(f, g func(context.Context, AttemptEvent) context.Context) func(context.Context, AttemptEvent) context.Context {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(ctx context.Context, e AttemptEvent) context.Context {
		if c := f(ctx, e); c != nil {
			ctx = c
		}
		return g(ctx, e)
	}
}
