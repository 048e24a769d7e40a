package goai

import (
	"time"

	"google.golang.org/grpc"
)

// CallOption changes one call of a generated client: it overrides the
// method's [CallPolicy] or asks for a report.
type CallOption interface{ applyCall(*callConfig) }

type callOptionFunc func(*callConfig)

func (f callOptionFunc) applyCall(c *callConfig) { f(c) }

// callConfig is one call's policy after its options.
type callConfig struct {
	timeout        time.Duration
	attemptTimeout time.Duration
	idleTimeout    time.Duration
	maxAttempts    int
	idempotent     bool
	version        string
	versionSet     bool
	grpcOpts       []grpc.CallOption
	report         *CallInfo
	// timeoutInContext says that the deadline of the context Invoke gets
	// is the call's timeout, not the caller's own: an InferBatcher's batch
	// carries its callers' timeouts so (see InferBatcher.run).
	timeoutInContext bool
}

// CallInfo tells what a call did. Pass [Report] to have it filled.
type CallInfo struct {
	// Model is the model of the call's last attempt: on success, the
	// model that served it. Before any attempt it is the model the call
	// was routed to.
	Model ModelRef
	// Attempts is how many attempts were made, the fallback's included; 0
	// when a limit or an open breaker refused the call.
	Attempts int
	// Fallback is true when the fallback model was called.
	Fallback bool
	// Responses is, for a streaming rpc, how many responses the call
	// handed to its caller; 0 for a unary one.
	Responses int
	// Latency is how long the call took, waits included.
	Latency time.Duration
}

// Report makes the call fill *info when it returns.
func Report(info *CallInfo) CallOption {
	return callOptionFunc(func(c *callConfig) { c.report = info })
}

// WithTimeout bounds the whole call, from the moment it is made, waits on
// limits and retries included, by d instead of [CallPolicy.Timeout]; d <= 0
// removes the bound (the context's deadline still applies).
func WithTimeout(d time.Duration) CallOption {
	return callOptionFunc(func(c *callConfig) { c.timeout = max(d, 0) })
}

// WithAttemptTimeout bounds each attempt by d instead of
// [CallPolicy.AttemptTimeout]; d <= 0 removes the bound.
func WithAttemptTimeout(d time.Duration) CallOption {
	return callOptionFunc(func(c *callConfig) { c.attemptTimeout = max(d, 0) })
}

// WithIdleTimeout bounds each wait for a response of a streaming call (one
// that a decoupled model answers with many responses) by d: the first
// since the request was sent, and each next from the moment the caller
// asks for it; the call's timeout bounds the whole stream. A wait it cuts
// fails the call with DEADLINE_EXCEEDED, counts as a server failure and,
// before the first response only, is retried as an attempt timeout is.
// Unary calls ignore it; d <= 0 removes the bound. It replaces
// [CallPolicy.IdleTimeout], the rpc's idle_timeout annotation.
func WithIdleTimeout(d time.Duration) CallOption {
	return callOptionFunc(func(c *callConfig) { c.idleTimeout = max(d, 0) })
}

// WithMaxAttempts allows at most n attempts, the first included, instead of
// [RetryPolicy.MaxAttempts]; n <= 1 means no retries.
func WithMaxAttempts(n int) CallOption {
	return callOptionFunc(func(c *callConfig) { c.maxAttempts = max(n, 1) })
}

// WithoutRetries makes the call a single attempt, as WithMaxAttempts(1).
func WithoutRetries() CallOption { return WithMaxAttempts(1) }

// WithIdempotent says whether the call may run more than once, instead of
// [CallPolicy.Idempotent]. A call that is not idempotent is never retried
// and falls back only when its model's breaker refused it.
func WithIdempotent(ok bool) CallOption {
	return callOptionFunc(func(c *callConfig) { c.idempotent = ok })
}

// WithModelVersion calls version v of the method's model, bypassing the
// [Client]'s routes; "" lets the server choose (for a [ProtocolTFServing]
// service's model with a [ModelDesc.VersionLabel], the label's version).
// TF Serving reads a v of decimal digits as a version number and any
// other as a version label.
func WithModelVersion(v string) CallOption {
	return callOptionFunc(func(c *callConfig) { c.version, c.versionSet = v, true })
}

// WithGRPCCallOptions adds opts to the grpc.CallOptions each attempt gets
// in [Attempt.CallOptions].
func WithGRPCCallOptions(opts ...grpc.CallOption) CallOption {
	return callOptionFunc(func(c *callConfig) { c.grpcOpts = append(c.grpcOpts[:len(c.grpcOpts):len(c.grpcOpts)], opts...) })
}
