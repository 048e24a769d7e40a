package goai

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
)

// Hooks observe a [Client]'s calls, for metrics, tracing and logs, without
// tying this package to a metrics or tracing library: packages goaiprom
// and goaiotel (modules of their own) build theirs on them. Each field may
// be nil, and a nil hook costs nothing. Hooks run synchronously on the
// calling goroutine, so they must be quick and safe for concurrent use.
// Several [WithHooks] chain, in order.
//
// Every event names models as the client was configured to (descriptors,
// routes, fallback, call options), never as a server reported them, so a
// label made of an event's fields has as many values as the configuration
// has.
type Hooks struct {
	// CallStart is called once per call, before anything else happens
	// to it (limits, breaker, attempts). The context it returns is the
	// call's (to carry a span, say): every later hook of the call gets it
	// or one derived from it. Returning ctx itself is fine.
	CallStart func(ctx context.Context, e CallStartEvent) context.Context
	// AttemptStart is called before each attempt, fallback included. The
	// context it returns is the attempt's: AttemptDone gets it, and so
	// does the transport, which sends the attempt's outgoing gRPC
	// metadata ([google.golang.org/grpc/metadata.NewOutgoingContext]) as
	// the request's headers on every protocol, gRPC metadata or HTTP
	// headers alike; that is how a trace context reaches the server.
	// Returning ctx itself is fine.
	AttemptStart func(ctx context.Context, e AttemptEvent) context.Context
	// AttemptDone is called after each attempt with its outcome, on the
	// context AttemptStart returned.
	AttemptDone func(ctx context.Context, e AttemptEvent)
	// Retry is called when a failed attempt is about to be retried, before
	// the backoff wait.
	Retry func(ctx context.Context, e RetryEvent)
	// Limit is called when a call waited for a rate-limit token or a
	// bulkhead slot, or was refused one; a call that got both at once
	// reports nothing.
	Limit func(ctx context.Context, e LimitEvent)
	// BreakerStateChange is called when a model's breaker changes state.
	// It runs under the breaker's lock: it must not call the [Client].
	BreakerStateChange func(e BreakerEvent)
	// Batch is called when a micro-batch of a generated micro-batcher
	// (New<Rpc>Batcher) starts, on the batch's goroutine, before its call.
	Batch func(e BatchEvent)
	// CallDone is called once per call, after its last attempt, also when
	// a limit or an open breaker refused the call, on the context
	// CallStart returned. A batch call reports each of its requests as a
	// call.
	CallDone func(ctx context.Context, e CallEvent)
}

// Names of the transports in events ([CallEvent.Transport]).
const (
	// TransportGRPC is a protocol's gRPC API, or a direct service.
	TransportGRPC = "grpc"
	// TransportHTTP is a protocol's HTTP/REST API.
	TransportHTTP = "http"
)

// CallStartEvent describes a call about to start.
type CallStartEvent struct {
	// Method is the rpc's full method name.
	Method string
	// Model is the model the call goes to first: the method's, the
	// version of a [WithModelVersion], or the one the routes drew.
	Model ModelRef
	// Protocol is the model's protocol.
	Protocol Protocol
	// Transport is how the client reaches the server: [TransportGRPC] or
	// [TransportHTTP].
	Transport string
	// Items is the number of items the request carries along the batch
	// dimension: 1 for a single call or a model without one, the batch's
	// size for a batch request; 0 when the client does not know (a direct
	// service's rpc).
	Items int
	// RequestBytes is the tensor data the request carries, in bytes; 0
	// when the client does not know.
	RequestBytes int64
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
	// Transport is as in [CallStartEvent].
	Transport string
	// Code is the attempt's gRPC code: OK on success.
	Code codes.Code
	// Err is the attempt's error, nil on success.
	Err error
	// Latency is how long the attempt took.
	Latency time.Duration
}

// RetryReason is why a failed attempt is retried.
type RetryReason uint8

const (
	// RetryCode: the attempt failed with a retryable code, and the
	// client waits an exponential backoff.
	RetryCode RetryReason = iota
	// RetryPushback: the attempt failed with a retryable code, and the
	// server said when to retry.
	RetryPushback
	// RetryAttemptTimeout: the attempt timeout cut the attempt.
	RetryAttemptTimeout
)

// String returns "code", "pushback" or "attempt_timeout", fit for a
// metric label.
func (r RetryReason) String() string {
	switch r {
	case RetryCode:
		return "code"
	case RetryPushback:
		return "pushback"
	case RetryAttemptTimeout:
		return "attempt_timeout"
	}
	return "unknown"
}

// RetryEvent describes a retry about to be made.
type RetryEvent struct {
	// Method is the rpc's full method name.
	Method string
	// Model is the model the call retries.
	Model ModelRef
	// Attempt is the number of the attempt that failed.
	Attempt int
	// Transport is as in [CallStartEvent].
	Transport string
	// Code is the failed attempt's gRPC code.
	Code codes.Code
	// Reason is why the attempt is retried.
	Reason RetryReason
	// Backoff is the wait before the next attempt.
	Backoff time.Duration
	// Pushback is true when Backoff is the server's, from the
	// grpc-retry-pushback-ms trailer.
	Pushback bool
}

// LimitKind names a limit of [LimitPolicy].
type LimitKind uint8

const (
	// LimitRate is the rate limit (RatePerSecond, Burst).
	LimitRate LimitKind = iota
	// LimitBulkhead is the bulkhead (MaxConcurrent).
	LimitBulkhead
)

// String returns "rate" or "bulkhead", fit for a metric label.
func (k LimitKind) String() string {
	if k == LimitBulkhead {
		return "bulkhead"
	}
	return "rate"
}

// LimitEvent describes a call's wait on a limit, or its refusal.
type LimitEvent struct {
	// Method is the rpc's full method name.
	Method string
	// Model is the model the call goes to.
	Model ModelRef
	// Transport is as in [CallStartEvent].
	Transport string
	// Limit is the limit waited on.
	Limit LimitKind
	// Wait is how long the call waited.
	Wait time.Duration
	// Refused is true when the limit refused the call (failing fast, a
	// wait that would pass the deadline, or the call's context ending
	// during the wait): the call ends with the limit's error.
	Refused bool
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

// BatchEvent describes a micro-batch as it starts.
type BatchEvent struct {
	// Method is the rpc's full method name.
	Method string
	// Model is the method's model, before routing.
	Model ModelRef
	// Items is the number of calls in the batch.
	Items int
	// Bytes is the batch's tensor data, in bytes.
	Bytes int64
	// FillWait is how long the batch gathered calls: from its first
	// call's arrival until it started.
	FillWait time.Duration
	// Queued is the number of calls still waiting for a batch of theirs
	// to start, once this one has.
	Queued int
}

// CallEvent describes a finished call.
type CallEvent struct {
	// Method is the rpc's full method name.
	Method string
	// Info tells what the call did; Info.Model is the model of its last
	// attempt.
	Info CallInfo
	// Code is the call's gRPC code: OK on success.
	Code codes.Code
	// Err is the call's error, nil on success.
	Err error
	// Target is the model the call went to first, as in
	// [CallStartEvent]; Info.Model differs from it after a fallback.
	Target ModelRef
	// Routed is true when Target's version was drawn from the routes
	// ([Client.SetRoutes]).
	Routed bool
	// Protocol, Transport, Items and RequestBytes are as in
	// [CallStartEvent].
	Protocol     Protocol
	Transport    string
	Items        int
	RequestBytes int64
	// ResponseBytes is the tensor data of the response, in bytes; 0 for
	// a failed call or when the client does not know.
	ResponseBytes int64
	// BudgetExhausted is true when the [RetryBudget] refused a retry of
	// the call.
	BudgetExhausted bool
}

// ChainHooks returns hooks that run each of hs's in turn, as that many
// [WithHooks] do: for a package that offers several sets of hooks as one.
func ChainHooks(hs ...Hooks) Hooks {
	var h Hooks
	for _, x := range hs {
		h = chainHooks(h, x)
	}
	return h
}

// chainHooks returns hooks that run a's and then b's.
func chainHooks(a, b Hooks) Hooks {
	return Hooks{
		CallStart:          chainStart(a.CallStart, b.CallStart),
		AttemptStart:       chainStart(a.AttemptStart, b.AttemptStart),
		AttemptDone:        chain2(a.AttemptDone, b.AttemptDone),
		Retry:              chain2(a.Retry, b.Retry),
		Limit:              chain2(a.Limit, b.Limit),
		BreakerStateChange: chain1(a.BreakerStateChange, b.BreakerStateChange),
		Batch:              chain1(a.Batch, b.Batch),
		CallDone:           chain2(a.CallDone, b.CallDone),
	}
}

// chain1 returns a function calling f then g, either of which may be nil.
func chain1[E any](f, g func(E)) func(E) {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(e E) { f(e); g(e) }
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

// chainStart chains two hooks that return a context: g gets the context
// f returned.
func chainStart[E any](f, g func(context.Context, E) context.Context) func(context.Context, E) context.Context {
	switch {
	case f == nil:
		return g
	case g == nil:
		return f
	}
	return func(ctx context.Context, e E) context.Context {
		if c := f(ctx, e); c != nil {
			ctx = c
		}
		if c := g(ctx, e); c != nil {
			return c
		}
		return ctx
	}
}
