package generator

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
)

// Policies: the call, retry, breaker, batching and limit options, checked
// one by one and, where options tie together, on the merged policy.

// Defaults that checks across options rely on: runtime.DefaultInitialBackoff
// and runtime.DefaultMaxBackoff, mirrored so that the plugin does not link
// the runtime; a test checks that they agree.
const (
	defaultInitialBackoff = 50 * time.Millisecond
	defaultMaxBackoff     = 2 * time.Second
)

func (a *analysis) batching(s site, b *goaiv1.BatchingOptions, maxBatchSize int32) batchingPolicy {
	if maxBatchSize == 0 {
		a.errorf(s.at("batching"), "batching needs a batch dimension, but max_batch_size is 0; set max_batch_size to the model's largest batch, or remove batching")
	}
	if n := b.GetMaxSize(); maxBatchSize > 0 && n > maxBatchSize {
		a.errorf(s.at("batching.max_size"), "batching.max_size %d exceeds max_batch_size %d; lower max_size to %d or less, or raise max_batch_size", n, maxBatchSize, maxBatchSize)
	}
	return batchingPolicy{
		maxSize:  int(nonNegative(a, s.at("batching.max_size"), b.GetMaxSize(), "or leave it unset for max_batch_size")),
		maxDelay: a.positiveDuration(s.at("batching.max_delay"), b.GetMaxDelay()),
		maxBytes: nonNegative(a, s.at("batching.max_bytes"), b.GetMaxBytes(), "or leave it unset for 3 MiB"),
		maxQueue: int(nonNegative(a, s.at("batching.max_queue"), b.GetMaxQueue(), "or leave it unset for 4 × max_size")),
	}
}

func (a *analysis) limits(s site, l *goaiv1.LimitOptions) limitPolicy {
	p := limitPolicy{
		ratePerSecond: l.GetRatePerSecond(),
		burst:         int(nonNegative(a, s.at("limits.burst"), l.GetBurst(), "or leave it unset for the rate rounded up")),
		maxConcurrent: int(nonNegative(a, s.at("limits.max_concurrent"), l.GetMaxConcurrent(), "or leave it unset for no cap")),
		failFast:      l.GetFailFast(),
	}
	if r := p.ratePerSecond; !(r >= 0) || math.IsInf(r, 0) {
		a.errorf(s.at("limits.rate_per_second"), "limits.rate_per_second %g is not a finite, non-negative number; use calls per second, such as 200, or leave it unset for no limit", r)
		p.ratePerSecond = 0
	}
	if p.burst > 0 && l.GetRatePerSecond() == 0 {
		a.errorf(s.at("limits.burst"), "limits.burst %d has no effect without limits.rate_per_second; set rate_per_second, or remove burst", p.burst)
	}
	return p
}

// call checks one call annotation, an rpc's (goai.v1.call) or a service's
// default_call (labels prefixed "default_call."), and converts it.
func (a *analysis) call(s site, prefix string, c *goaiv1.CallOptions) callPolicy {
	p := callPolicy{
		timeout:        a.positiveDuration(s.at(prefix+"timeout"), c.GetTimeout()),
		attemptTimeout: a.positiveDuration(s.at(prefix+"attempt_timeout"), c.GetAttemptTimeout()),
		retry:          a.retry(s, prefix+"retry.", c.GetRetry()),
		breaker:        a.breaker(s, prefix+"breaker.", c.GetBreaker()),
	}
	if c != nil && c.Idempotent != nil {
		p.idempotent = new(c.GetIdempotent())
	}
	return p
}

func (a *analysis) retry(s site, prefix string, r *goaiv1.RetryOptions) retryPolicy {
	p := retryPolicy{
		initialBackoff: a.positiveDuration(s.at(prefix+"initial_backoff"), r.GetInitialBackoff()),
		maxBackoff:     a.positiveDuration(s.at(prefix+"max_backoff"), r.GetMaxBackoff()),
	}
	if n, at := r.GetMaxAttempts(), s.at(prefix+"max_attempts"); n < 0 {
		a.errorf(at, "%s %d is below 1; use 1 for a single attempt, or more to retry", at.label, n)
	} else {
		p.maxAttempts = int(n)
	}
	switch m, at := r.GetBackoffMultiplier(), s.at(prefix+"backoff_multiplier"); {
	case math.IsNaN(m) || math.IsInf(m, 0):
		a.errorf(at, "%s %g is not a finite number; use a factor of 1 or more, such as 1.6", at.label, m)
	case m != 0 && m < 1:
		a.errorf(at, "%s %g is below 1, which would shrink the waits; use 1 or more, or leave it unset for 2", at.label, m)
	default:
		p.multiplier = m
	}
	if j, at := r.GetJitter(), s.at(prefix+"jitter"); !(j >= 0 && j <= 1) {
		a.errorf(at, "%s %g is outside [0, 1]; use a fraction, such as 0.2", at.label, j)
	} else {
		p.jitter = j
	}
	at := s.at(prefix + "retryable_codes")
	for _, name := range r.GetRetryableCodes() {
		c, ok := parseCode(name)
		switch {
		case !ok:
			if upper := strings.ToUpper(name); upper != name && validCode(upper) {
				a.errorf(at, "%s has unknown code %q; spell it in upper case, as google.rpc.Code does: %q", at.label, name, upper)
			} else {
				a.errorf(at, "%s has unknown code %q; use a google.rpc.Code name, such as UNAVAILABLE or RESOURCE_EXHAUSTED", at.label, name)
			}
		case c == codeOK:
			a.errorf(at, "%s lists OK, which is a success, not a failure; remove it", at.label)
		case slices.Contains(p.retryableCodes, c):
			a.errorf(at, "%s lists %s twice; remove one", at.label, name)
		default:
			p.retryableCodes = append(p.retryableCodes, c)
		}
	}
	return p
}

func validCode(name string) bool {
	_, ok := parseCode(name)
	return ok
}

func (a *analysis) breaker(s site, prefix string, b *goaiv1.BreakerOptions) breakerPolicy {
	p := breakerPolicy{
		consecutiveFailures: b.GetConsecutiveFailures(),
		minRequests:         b.GetMinRequests(),
		openTimeout:         a.positiveDuration(s.at(prefix+"open_timeout"), b.GetOpenTimeout()),
		halfOpenProbes:      b.GetHalfOpenProbes(),
		disabled:            b.GetDisabled(),
	}
	if r, at := b.GetFailureRatio(), s.at(prefix+"failure_ratio"); r != 0 && !(r > 0 && r <= 1) {
		a.errorf(at, "%s %g is outside (0, 1]; use a fraction of failed calls, such as 0.5", at.label, r)
	} else {
		p.failureRatio = r
	}
	at := s.at(prefix + "interval")
	if d, ok := a.parseDuration(at, b.GetInterval()); ok && d < 0 {
		a.errorf(at, "%s %q is negative; use a positive duration, or leave it unset to never reset the counts", at.label, b.GetInterval())
	} else {
		p.interval = d
	}
	return p
}

// combined checks the rules that tie two options together, on the policy
// that results at s: own, what the annotation at s sets, over inherited.
// A rule is checked only where the annotation sets one of its options, so
// that a mistake in default_call is reported once, at the service.
func (a *analysis) combined(s site, prefix string, own, inherited callPolicy) {
	p := merge(inherited, own)
	// from names where a value of the resulting policy comes from.
	from := func(label string, ownSet, inheritedSet bool) string {
		switch {
		case ownSet:
			return prefix + label
		case inheritedSet:
			return "default_call." + label
		}
		return "the default " + label
	}

	r, or, ir := p.retry, own.retry, inherited.retry
	if or.initialBackoff != 0 || or.maxBackoff != 0 {
		initial := cmp.Or(r.initialBackoff, defaultInitialBackoff)
		maxBackoff := cmp.Or(r.maxBackoff, defaultMaxBackoff)
		if maxBackoff < initial {
			a.errorf(s.at(prefix+"retry.max_backoff"), "%s %q is below %s %q; raise max_backoff or lower initial_backoff",
				from("retry.max_backoff", or.maxBackoff != 0, ir.maxBackoff != 0), maxBackoff,
				from("retry.initial_backoff", or.initialBackoff != 0, ir.initialBackoff != 0), initial)
		}
	}

	if (own.timeout != 0 || own.attemptTimeout != 0) && p.timeout != 0 && p.attemptTimeout > p.timeout {
		a.errorf(s.at(prefix+"attempt_timeout"), "%s %q exceeds %s %q, so no attempt can use all of it; lower attempt_timeout or raise timeout",
			from("attempt_timeout", own.attemptTimeout != 0, inherited.attemptTimeout != 0), p.attemptTimeout,
			from("timeout", own.timeout != 0, inherited.timeout != 0), p.timeout)
	}
}

// merge returns base with every option that over sets replacing base's:
// zero values are unset, a non-empty code list replaces base's list.
func merge(base, over callPolicy) callPolicy {
	r, or := base.retry, over.retry
	b, ob := base.breaker, over.breaker
	p := callPolicy{
		timeout:        cmp.Or(over.timeout, base.timeout),
		attemptTimeout: cmp.Or(over.attemptTimeout, base.attemptTimeout),
		retry: retryPolicy{
			maxAttempts:    cmp.Or(or.maxAttempts, r.maxAttempts),
			initialBackoff: cmp.Or(or.initialBackoff, r.initialBackoff),
			maxBackoff:     cmp.Or(or.maxBackoff, r.maxBackoff),
			multiplier:     cmp.Or(or.multiplier, r.multiplier),
			jitter:         cmp.Or(or.jitter, r.jitter),
			retryableCodes: r.retryableCodes,
		},
		breaker: breakerPolicy{
			consecutiveFailures: cmp.Or(ob.consecutiveFailures, b.consecutiveFailures),
			failureRatio:        cmp.Or(ob.failureRatio, b.failureRatio),
			minRequests:         cmp.Or(ob.minRequests, b.minRequests),
			interval:            cmp.Or(ob.interval, b.interval),
			openTimeout:         cmp.Or(ob.openTimeout, b.openTimeout),
			halfOpenProbes:      cmp.Or(ob.halfOpenProbes, b.halfOpenProbes),
			disabled:            ob.disabled || b.disabled,
		},
		idempotent: cmp.Or(over.idempotent, base.idempotent),
	}
	if len(or.retryableCodes) > 0 {
		p.retry.retryableCodes = or.retryableCodes
	}
	return p
}

// parseDuration parses a duration option. ok is false when the option is
// unset (empty) or not a duration, which it reports.
func (a *analysis) parseDuration(at site, v string) (d time.Duration, ok bool) {
	if v == "" {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		a.errorf(at, `%s %q is not a duration; write it as Go's time.ParseDuration reads it, such as "250ms" or "1.5s"`, at.label, v)
		return 0, false
	}
	return d, true
}

// positiveDuration parses a duration option that must be above zero when
// set; 0 means unset.
func (a *analysis) positiveDuration(at site, v string) time.Duration {
	d, ok := a.parseDuration(at, v)
	if ok && d <= 0 {
		a.errorf(at, `%s %q is not above zero; use a positive duration, such as "250ms", or leave %s unset`, at.label, v, at.label)
		return 0
	}
	return d
}

// nonNegative checks an integer option that must not be negative; fix
// says what to do besides using a positive value.
func nonNegative[T ~int32 | ~int64](a *analysis, at site, v T, fix string) T {
	if v < 0 {
		a.errorf(at, "%s %d is negative; use a positive value, %s", at.label, v, fix)
		return 0
	}
	return v
}
