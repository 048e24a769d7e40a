package goai

import (
	"math"
	"time"

	"google.golang.org/grpc/codes"
)

// Defaults of [RetryPolicy], [BreakerPolicy] and [CallPolicy], applied to
// zero fields. The retry defaults follow the shape of gRFC A6's retry policy
// (exponential backoff, multiplier 2, ±20% jitter as grpc-go's backoff
// package uses) with a shorter first wait, since an inference call is
// usually short; the breaker defaults are gobreaker's trip rule made
// explicit, with a shorter open period than its 60s.
const (
	// DefaultInitialBackoff is [RetryPolicy.InitialBackoff]'s default.
	DefaultInitialBackoff = 50 * time.Millisecond
	// DefaultMaxBackoff is [RetryPolicy.MaxBackoff]'s default.
	DefaultMaxBackoff = 2 * time.Second
	// DefaultBackoffMultiplier is [RetryPolicy.Multiplier]'s default.
	DefaultBackoffMultiplier = 2.0
	// DefaultJitter is [RetryPolicy.Jitter]'s default.
	DefaultJitter = 0.2
	// DefaultFailureRatio is [BreakerPolicy.FailureRatio]'s default when
	// neither it nor ConsecutiveFailures is set. A ratio rather than a run
	// of consecutive failures is the default because a model served by
	// several replicas sees a burst of failures when one replica crashes
	// (every call in flight to it fails at once), and a consecutive-failure
	// rule would then open the breaker for the whole model while the
	// other replicas are healthy.
	DefaultFailureRatio = 0.5
	// DefaultRatioMinRequests is [BreakerPolicy.MinRequests]'s default when
	// a failure ratio applies, so that a few early failures cannot trip
	// the breaker.
	DefaultRatioMinRequests = 20
	// DefaultRatioInterval is [BreakerPolicy.Interval]'s default when a
	// failure ratio applies: the window over which the ratio is counted.
	DefaultRatioInterval = 10 * time.Second
	// DefaultOpenTimeout is [BreakerPolicy.OpenTimeout]'s default.
	DefaultOpenTimeout = 5 * time.Second
)

// withDefaults returns p with its zero fields set to their defaults and its
// other fields brought into range: MaxAttempts at least 1, Multiplier at
// least 1 (NaN: 1; +Inf is kept, and backoff caps it), Jitter within
// [0, 1] (negative or NaN: none), MaxBackoff at least InitialBackoff.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.InitialBackoff {
		p.MaxBackoff = p.InitialBackoff
	}
	switch {
	case p.Multiplier == 0:
		p.Multiplier = DefaultBackoffMultiplier
	case p.Multiplier < 1 || math.IsNaN(p.Multiplier):
		p.Multiplier = 1
	}
	switch {
	case p.Jitter == 0:
		p.Jitter = DefaultJitter
	case p.Jitter < 0 || math.IsNaN(p.Jitter):
		p.Jitter = 0
	case p.Jitter > 1:
		p.Jitter = 1
	}
	if p.RetryableCodes == nil {
		p.RetryableCodes = []codes.Code{codes.Unavailable}
	}
	return p
}

// knownCode returns c, or UNKNOWN for a code outside gRPC's range, such as
// a server's grpc-status 99: grpc-go passes any number through, and gRPC
// says to treat what it does not know as UNKNOWN.
func knownCode(c codes.Code) codes.Code {
	if c > codes.Unauthenticated {
		return codes.Unknown
	}
	return c
}

// codeSet is a set of gRPC codes, one bit per code.
type codeSet uint64

// newCodeSet returns the set of cs, leaving out OK and codes outside
// gRPC's range, which an attempt's error never has once it has gone
// through knownCode.
func newCodeSet(cs []codes.Code) codeSet {
	var s codeSet
	for _, c := range cs {
		if c > codes.OK && c <= codes.Unauthenticated {
			s |= 1 << c
		}
	}
	return s
}

func (s codeSet) has(c codes.Code) bool { return c < 64 && s&(1<<c) != 0 }

// withDefaults returns p with its zero fields set to their defaults: with
// no trip rule, FailureRatio 0.5; with a failure ratio, MinRequests 20 and
// Interval 10s; OpenTimeout 5s; HalfOpenProbes 1. Out-of-range fields are
// brought into range first: a NaN or negative FailureRatio is not used,
// one above 1 (+Inf included) is 1, and a negative Interval is 0.
func (p BreakerPolicy) withDefaults() BreakerPolicy {
	switch {
	case !(p.FailureRatio > 0): // also NaN
		p.FailureRatio = 0
	case p.FailureRatio > 1:
		p.FailureRatio = 1
	}
	p.Interval = max(p.Interval, 0)
	if p.FailureRatio == 0 && p.ConsecutiveFailures == 0 {
		p.FailureRatio = DefaultFailureRatio
	}
	if p.FailureRatio > 0 {
		if p.MinRequests == 0 {
			p.MinRequests = DefaultRatioMinRequests
		}
		if p.Interval == 0 {
			p.Interval = DefaultRatioInterval
		}
	}
	if p.OpenTimeout <= 0 {
		p.OpenTimeout = DefaultOpenTimeout
	}
	if p.HalfOpenProbes == 0 {
		p.HalfOpenProbes = 1
	}
	return p
}

// idempotent reports whether a call under p may run more than once.
func (p CallPolicy) idempotent(proto Protocol) bool {
	if p.Idempotent != nil {
		return *p.Idempotent
	}
	return proto != ProtocolDirect
}

// limitRate reports whether p sets a rate limit: a RatePerSecond that is
// positive and finite. NaN sets none, and neither does +Inf, which would
// allow every call.
func (p LimitPolicy) limitRate() bool {
	return p.RatePerSecond > 0 && !math.IsInf(p.RatePerSecond, 1)
}

// limitBurst returns p.Burst, or its default max(1, ⌈RatePerSecond⌉),
// at most math.MaxInt.
func (p LimitPolicy) limitBurst() int {
	if p.Burst > 0 {
		return p.Burst
	}
	b := math.Ceil(p.RatePerSecond)
	if !(b < math.MaxInt) { // float64(math.MaxInt) is 2^63, past it
		return math.MaxInt
	}
	return max(1, int(b))
}
