package goai

import (
	"strconv"
	"time"

	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
)

// Protocol is the wire protocol a generated client calls its model through.
type Protocol int

const (
	// ProtocolOpenInference calls the model through ModelInfer of the Open
	// Inference Protocol (KServe v2, Triton). It is the default.
	ProtocolOpenInference Protocol = iota
	// ProtocolDirect calls the service's own rpcs: the service is itself
	// the model's gRPC API.
	ProtocolDirect
	// ProtocolTFServing calls the model through TensorFlow Serving's
	// Predict (tensorflow.serving.PredictionService over gRPC), running
	// the signature [ModelDesc.SignatureName]. TF Serving's versions are numbers: a
	// version of decimal digits goes as one, anything else (from
	// [WithModelVersion] or a [Route]) as a version label.
	ProtocolTFServing
)

// String returns the protocol's name.
func (p Protocol) String() string {
	switch p {
	case ProtocolOpenInference:
		return "OPEN_INFERENCE"
	case ProtocolDirect:
		return "DIRECT"
	case ProtocolTFServing:
		return "TF_SERVING"
	}
	return "Protocol(" + strconv.Itoa(int(p)) + ")"
}

// ModelRef names a served model and, optionally, its version.
type ModelRef struct {
	// Name is the model's name on the server.
	Name string
	// Version is the model's version; empty lets the server choose.
	Version string
}

// TensorDesc describes one tensor of a message: the message field that holds
// it and the server tensor it maps to.
type TensorDesc struct {
	// Name is the tensor's name on the server.
	Name string
	// Field is the proto name of the message field that holds the tensor.
	Field string
	// DType is the tensor's datatype on the wire.
	DType tensor.DType
	// Shape is the shape of one example, without a batch dimension; -1
	// marks a dynamic dimension. Nil means any length for a repeated field
	// and a scalar for a singular one.
	Shape []int64
}

// ModelDesc describes the model a generated service calls.
type ModelDesc struct {
	// Service is the full name of the annotated proto service.
	Service string
	// Model is the served model and version.
	Model ModelRef
	// Protocol is how the model is called.
	Protocol Protocol
	// MaxBatchSize > 0 means the model has a leading batch dimension, which
	// the client adds; 0 means tensors go with their declared shape.
	MaxBatchSize int
	// Batching holds the micro-batcher's defaults.
	Batching BatchingPolicy
	// Limits bounds the calls made to the model.
	Limits LimitPolicy
	// Fallback is the model called when this one is unavailable; nil for none.
	Fallback *ModelRef
	// SignatureName is the signature a [ProtocolTFServing] model runs and
	// describes; empty for TF Serving's default, "serving_default".
	SignatureName string
	// VersionLabel is the version label a call of a [ProtocolTFServing]
	// service's model asks for when it names no version (Model.Version,
	// a route and the call's options name none): calls of Model go to the
	// version the server's label names. Empty for none. It applies to
	// Model alone, not to the fallback or another model of a method.
	VersionLabel string
	// Methods describes the service's rpcs, in declaration order.
	Methods []MethodDesc
}

// MethodDesc describes one rpc of a generated service.
type MethodDesc struct {
	// Name is the rpc's name, such as "Classify".
	Name string
	// FullMethod is the rpc's gRPC method path, such as
	// "/mnist.v1.DigitModel/Classify".
	FullMethod string
	// Model is the model the rpc calls: the service's, or the rpc's override.
	Model ModelRef
	// Inputs are the request message's tensors, in field order.
	Inputs []TensorDesc
	// Outputs are the response message's tensors, in field order.
	Outputs []TensorDesc
	// Policy is the rpc's call policy: the service's default_call merged
	// with the rpc's own annotation. Zero fields take the defaults that each
	// policy type documents.
	Policy CallPolicy
}

// CallPolicy is the policy of one call. The zero value means: no timeout,
// no retries, the default breaker, and idempotence by protocol.
type CallPolicy struct {
	// Timeout bounds the whole call as its caller sees it, from the
	// moment it is made: waits on limits, retries and, for a micro-batched
	// call, the wait for its batch included, and for a streaming rpc the
	// whole stream; 0 for none.
	Timeout time.Duration
	// AttemptTimeout bounds each attempt; 0 for none besides Timeout. An
	// attempt it cuts counts as a server failure and, if the call is
	// idempotent, is retried whatever RetryPolicy.RetryableCodes say. For
	// a streaming rpc it bounds each attempt until its first response.
	AttemptTimeout time.Duration
	// IdleTimeout bounds, for a streaming rpc, each wait for a response;
	// 0 for none. Unary calls ignore it. See [WithIdleTimeout].
	IdleTimeout time.Duration
	// Retry sets how failed attempts are retried.
	Retry RetryPolicy
	// Breaker sets the model's circuit breaker.
	Breaker BreakerPolicy
	// Idempotent says whether the call may run more than once; nil means
	// true for [ProtocolOpenInference] and [ProtocolTFServing], false for
	// [ProtocolDirect].
	Idempotent *bool
}

// RetryPolicy sets how failed attempts are retried, with exponential
// backoff and jitter. Zero fields take the defaults named on each.
//
// Like every policy of this package, it is clamped, not rejected: the
// generator has checked annotated policies, and a [Client] cannot refuse
// one. A MaxAttempts below 1 is 1, a Multiplier below 1 or NaN is 1, a
// Jitter above 1 is 1 and a NaN one none, a MaxBackoff below
// InitialBackoff is InitialBackoff; no wait is negative or longer than
// MaxBackoff, whatever the values.
type RetryPolicy struct {
	// MaxAttempts is the most attempts, the first included. 0 or 1: no retries.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry. 0: 50ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between attempts. 0: 2s.
	MaxBackoff time.Duration
	// Multiplier grows the wait after each retry. 0: 2.
	Multiplier float64
	// Jitter randomizes each wait by ± this fraction. 0: 0.2; negative:
	// none.
	Jitter float64
	// RetryableCodes are the status codes retried. Nil: UNAVAILABLE only.
	RetryableCodes []codes.Code
}

// BreakerPolicy sets a model's circuit breaker. The breaker counts calls,
// not attempts: a call asks it once, before its first attempt, and is
// counted by the outcome of its last, so retries that end in a success
// leave it closed, while an open breaker fails a call at once, without
// retries. Zero fields take the defaults named on each. Out-of-range
// fields are clamped: a NaN or negative FailureRatio is not used, one
// above 1 is 1 (the breaker trips when every call fails), and a negative
// Interval or OpenTimeout counts as 0.
type BreakerPolicy struct {
	// ConsecutiveFailures trips the breaker after this many server failures
	// in a row. 0: not used.
	ConsecutiveFailures uint32
	// FailureRatio trips the breaker when this fraction of at least
	// MinRequests calls within Interval failed. 0: not used, unless
	// ConsecutiveFailures is 0 too; then 0.5 (see [DefaultFailureRatio]).
	FailureRatio float64
	// MinRequests is the fewest calls counted before FailureRatio applies.
	// 0: 20.
	MinRequests uint32
	// Interval is the closed-state window after which counts reset. 0:
	// 10s when a failure ratio applies, else never.
	Interval time.Duration
	// OpenTimeout is how long the breaker stays open. 0: 5s.
	OpenTimeout time.Duration
	// HalfOpenProbes is how many calls may probe a half-open breaker. 0: 1.
	HalfOpenProbes uint32
	// Disabled turns the breaker off.
	Disabled bool
}

// BatchingPolicy sets how calls are coalesced into, and split between,
// requests. Zero fields take the defaults named on each; negative ones
// count as 0, except MaxDelay (see [NewMicroBatcher]), and no value, up to
// the largest, makes a batcher panic, block or overflow.
type BatchingPolicy struct {
	// MaxSize is the most items in one request. 0: the model's MaxBatchSize.
	MaxSize int
	// MaxDelay is how long the first call of a batch waits for others. 0: 1ms.
	MaxDelay time.Duration
	// MaxBytes caps the tensor bytes of one request. 0: 3 MiB.
	MaxBytes int64
	// MaxQueue caps the calls waiting for a batch. 0: 4 × MaxSize.
	MaxQueue int
}

// LimitPolicy bounds the calls made to a model. The zero value sets no limit.
type LimitPolicy struct {
	// RatePerSecond is a token-bucket rate limit; 0 for none, and so is a
	// negative, NaN or +Inf rate.
	RatePerSecond float64
	// Burst is the token bucket's size. 0 or negative: max(1,
	// ⌈RatePerSecond⌉), at most math.MaxInt.
	Burst int
	// MaxConcurrent caps the calls in flight; 0 for no cap.
	MaxConcurrent int
	// FailFast makes a call over a limit fail at once instead of waiting.
	FailFast bool
}
