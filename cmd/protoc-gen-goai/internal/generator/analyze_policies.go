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

// Defaults that checks across options rely on: goai.DefaultInitialBackoff
// and goai.DefaultMaxBackoff, mirrored so that the plugin does not link
// the runtime; a test checks that they agree.
const (
	defaultInitialBackoff = 50 * time.Millisecond
	defaultMaxBackoff     = 2 * time.Second
)

// batching checks a service's batching options; maxBatchSize is its
// max_batch_size.
func (a *analysis) batching(s site, b *goaiv1.BatchingOptions, maxBatchSize int32) batchingPolicy {
	if maxBatchSize == 0 {
		a.errorf(s.at("batching"), "batching needs a batch dimension, but max_batch_size is 0; set max_batch_size to the model's largest batch, or remove batching")
	}
	if n := b.GetMaxSize(); maxBatchSize > 0 && n > maxBatchSize {
		a.errorf(s.at("batching.max_size"), "batching.max_size %d exceeds max_batch_size %d; lower max_size to %d or less, or raise max_batch_size", n, maxBatchSize, maxBatchSize)
	}
	p := batchingPolicy{
		maxSize:  int(nonNegative(a, s.at("batching.max_size"), b.GetMaxSize(), "or leave it unset for max_batch_size")),
		maxDelay: a.positiveDuration(s.at("batching.max_delay"), b.GetMaxDelay()),
		maxBytes: nonNegative(a, s.at("batching.max_bytes"), b.GetMaxBytes(), "or leave it unset for 3 MiB"),
		maxQueue: int(nonNegative(a, s.at("batching.max_queue"), b.GetMaxQueue(), "or leave it unset for 4 × max_size")),
	}
	// The runtime's batch size: max_size, which defaults to max_batch_size.
	size, from := p.maxSize, "batching.max_size"
	if size == 0 {
		size, from = int(maxBatchSize), "max_batch_size"
	}
	if p.maxQueue > 0 && p.maxQueue < size {
		a.errorf(s.at("batching.max_queue"), "batching.max_queue %d is below the batch size, %s %d, so no batch could fill; raise max_queue to %d or more, or lower the batch size",
			p.maxQueue, from, size, size)
	}
	return p
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
		idleTimeout:    a.positiveDuration(s.at(prefix+"idle_timeout"), c.GetIdleTimeout()),
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
		a.errorf(at, "%s %g is outside [0, 1]; use a fraction, such as 0.2, or 0 for none", at.label, j)
	} else if r != nil && r.Jitter != nil {
		p.jitter = new(j)
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
	}
	if b != nil && b.Disabled != nil {
		p.disabled = new(b.GetDisabled())
	}
	if r, at := b.GetFailureRatio(), s.at(prefix+"failure_ratio"); r != 0 && !(r > 0 && r <= 1) {
		a.errorf(at, "%s %g is outside (0, 1]; use a fraction of failed calls, such as 0.5", at.label, r)
	} else {
		p.failureRatio = r
	}
	at := s.at(prefix + "interval")
	switch d, ok := a.parseDuration(at, b.GetInterval()); {
	case ok && d < 0:
		a.errorf(at, "%s %q is negative; use a positive duration, or leave it unset to never reset the counts", at.label, b.GetInterval())
	case ok && d > 0 && d < minDuration:
		a.submicrosecond(at, b.GetInterval())
	default:
		p.interval = d
	}
	return p
}

// combined checks the rules that tie two options together, on the policy
// that results at s: own, what the annotation at s sets, over inherited.
// A rule is checked only where the annotation sets one of its options, so
// that a mistake in default_call is reported once, at the service; stream
// says whether the policy is that of an rpc returning a stream, as
// default_call's may be.
func (a *analysis) combined(s site, prefix string, own, inherited callPolicy, stream bool) {
	p := merge(inherited, own)
	n := sources{prefix: prefix, own: own, inherited: inherited}

	r, or := p.retry, own.retry
	if or.initialBackoff != 0 || or.maxBackoff != 0 {
		initial := cmp.Or(r.initialBackoff, defaultInitialBackoff)
		maxBackoff := cmp.Or(r.maxBackoff, defaultMaxBackoff)
		if maxBackoff < initial {
			a.errorf(s.at(prefix+"retry.max_backoff"), "%s %q is below %s %q; raise max_backoff or lower initial_backoff",
				n.orDefault("retry.max_backoff"), maxBackoff, n.orDefault("retry.initial_backoff"), initial)
		}
	}

	timeouts := own.timeout != 0 || own.attemptTimeout != 0
	switch {
	case p.timeout == 0:
	case timeouts && p.attemptTimeout > p.timeout:
		a.errorf(s.at(prefix+"attempt_timeout"), "%s %q exceeds %s %q, so no attempt can use all of it; lower attempt_timeout or raise timeout",
			n.of("attempt_timeout"), p.attemptTimeout, n.of("timeout"), p.timeout)
	case (timeouts || own.retry.maxAttempts != 0) && p.attemptTimeout == p.timeout && p.retry.maxAttempts > 1:
		a.errorf(s.at(prefix+"attempt_timeout"), "%s %q equals %s %q, so an attempt it cuts short leaves no time to retry; lower attempt_timeout below timeout, or remove it",
			n.of("attempt_timeout"), p.attemptTimeout, n.of("timeout"), p.timeout)
	}

	if stream && (own.timeout != 0 || own.idleTimeout != 0) && p.timeout != 0 && p.idleTimeout > p.timeout {
		a.errorf(s.at(prefix+"idle_timeout"), "%s %q exceeds %s %q, which bounds the whole stream, so it never cuts a wait; lower idle_timeout or raise timeout",
			n.of("idle_timeout"), p.idleTimeout, n.of("timeout"), p.timeout)
	}

	b, ob := p.breaker, own.breaker
	if (ob.minRequests != 0 || ob.consecutiveFailures != 0 || ob.failureRatio != 0) && !b.off() &&
		b.minRequests != 0 && b.failureRatio == 0 && b.consecutiveFailures != 0 {
		a.errorf(s.at(prefix+"breaker.min_requests"), "%s %d has no effect: it applies to a failure ratio, and %s is unset while %s %d replaces the default ratio; set failure_ratio, or remove min_requests",
			n.of("breaker.min_requests"), b.minRequests, n.of("breaker.failure_ratio"), n.of("breaker.consecutive_failures"), b.consecutiveFailures)
	}
}

// sources names where each option of a merged policy comes from, for
// messages: the annotation being checked (own, whose labels have prefix),
// or default_call (inherited).
type sources struct {
	prefix         string
	own, inherited callPolicy
}

// of names the option label of the merged policy: by the annotation that
// sets it, or with the annotation's prefix when neither does.
func (n sources) of(label string) string {
	if !isSet(n.own, label) && isSet(n.inherited, label) {
		return "default_call." + label
	}
	return n.prefix + label
}

// orDefault is of, but names an option that neither annotation sets as
// "the default" option: the runtime's default value applies.
func (n sources) orDefault(label string) string {
	if !isSet(n.own, label) && !isSet(n.inherited, label) {
		return "the default " + label
	}
	return n.of(label)
}

// isSet reports whether p sets the option label: whether it has a value
// that merge would keep over another policy's.
func isSet(p callPolicy, label string) bool {
	r, b := p.retry, p.breaker
	switch label {
	case "timeout":
		return p.timeout != 0
	case "attempt_timeout":
		return p.attemptTimeout != 0
	case "idle_timeout":
		return p.idleTimeout != 0
	case "idempotent":
		return p.idempotent != nil
	case "retry.max_attempts":
		return r.maxAttempts != 0
	case "retry.initial_backoff":
		return r.initialBackoff != 0
	case "retry.max_backoff":
		return r.maxBackoff != 0
	case "retry.backoff_multiplier":
		return r.multiplier != 0
	case "retry.jitter":
		return r.jitter != nil
	case "retry.retryable_codes":
		return len(r.retryableCodes) > 0
	case "breaker.consecutive_failures":
		return b.consecutiveFailures != 0
	case "breaker.failure_ratio":
		return b.failureRatio != 0
	case "breaker.min_requests":
		return b.minRequests != 0
	case "breaker.interval":
		return b.interval != 0
	case "breaker.open_timeout":
		return b.openTimeout != 0
	case "breaker.half_open_probes":
		return b.halfOpenProbes != 0
	case "breaker.disabled":
		return b.disabled != nil
	}
	panic("generator: isSet: no option " + label)
}

// Options whose effect depends on others: retry tunings apply only to
// calls with more than one attempt, any retry option only to idempotent
// calls, and breaker settings only to a breaker that is on.
var (
	retryTunings    = []string{"retry.initial_backoff", "retry.max_backoff", "retry.backoff_multiplier", "retry.jitter", "retry.retryable_codes"}
	retryOptions    = append([]string{"retry.max_attempts"}, retryTunings...)
	breakerSettings = []string{"breaker.consecutive_failures", "breaker.failure_ratio", "breaker.min_requests", "breaker.interval", "breaker.open_timeout", "breaker.half_open_probes"}
)

// noEffect is options of an annotation that have no effect, and why.
type noEffect struct {
	labels   []string // relative to the annotation, in schema order
	why, fix string
}

// ineffective returns the options that own sets but that have no effect
// on the policy they result in, p, for a call that is idempotent or not
// and of an rpc that returns a stream (of an inference service) or not;
// n names the options.
func ineffective(own, p callPolicy, idempotent, stream bool, n sources) []noEffect {
	set := func(labels []string) []string {
		var out []string
		for _, l := range labels {
			if isSet(own, l) {
				out = append(out, l)
			}
		}
		return out
	}
	var out []noEffect
	if isSet(own, "idle_timeout") && !stream {
		why, fix := "as the rpc is unary: it bounds the wait for each response of an rpc that returns a stream", "remove it, or declare the rpc returns (stream ...) if its model is decoupled"
		if n.prefix != "" {
			why, fix = "as no rpc returns a stream: it bounds the wait for each response of one", "remove it, or declare the rpcs of decoupled models returns (stream ...)"
		}
		out = append(out, noEffect{[]string{"idle_timeout"}, why, fix})
	}
	switch tunings := set(retryTunings); {
	case len(tunings) > 0 && p.retry.maxAttempts <= 1:
		attempts := n.of("retry.max_attempts") + " is unset"
		if p.retry.maxAttempts == 1 {
			attempts = n.of("retry.max_attempts") + " is 1"
		}
		why, fix := "as the call is not retried: "+attempts, "set retry.max_attempts to 2 or more, or remove "+them(tunings)
		if n.prefix != "" { // default_call, which no rpc gives an effect
			why = "as no rpc is retried: " + attempts
			fix = "set " + n.prefix + "retry.max_attempts to 2 or more, or max_attempts on the rpcs that are to retry, or remove " + them(tunings)
		}
		out = append(out, noEffect{tunings, why, fix})
	case len(set(retryOptions)) > 0 && p.retry.maxAttempts > 1 && !idempotent:
		why := n.of("idempotent") + " is false"
		if p.idempotent == nil {
			why = "a PROTOCOL_DIRECT rpc is not idempotent unless its annotation says so"
		}
		fix := "set idempotent: true if running the rpc twice is safe, or remove retry"
		if n.prefix != "" {
			fix = "set idempotent: true on the rpcs that may run twice, or remove " + n.prefix + "retry"
		}
		out = append(out, noEffect{[]string{"retry"}, "as a call that may not run twice is never retried once sent, and " + why, fix})
	}
	if settings := set(breakerSettings); len(settings) > 0 && p.breaker.off() {
		fix := "remove " + them(settings) + ", or breaker.disabled"
		if !isSet(own, "breaker.disabled") {
			fix = "set breaker.disabled: false to turn the breaker on here, or remove " + them(settings)
		}
		out = append(out, noEffect{settings, "as the breaker is off: " + n.of("breaker.disabled") + " is true", fix})
	}
	return out
}

// them refers to labels in a fix: "it" for one, "them" for more.
func them(labels []string) string {
	if len(labels) == 1 {
		return "it"
	}
	return "them"
}

// reportIneffective reports each of effects at s, the options' labels
// prefixed as the annotation's.
func (a *analysis) reportIneffective(s site, prefix string, effects []noEffect) {
	for _, e := range effects {
		labels := make([]string, len(e.labels))
		for i, l := range e.labels {
			labels[i] = prefix + l
		}
		verb := "has"
		if len(labels) > 1 {
			verb = "have"
		}
		a.errorf(s.at(labels[0]), "%s %s no effect, %s; %s", joinLabels(labels), verb, e.why, e.fix)
	}
}

// joinLabels lists labels in prose: "a", "a and b", "a, b and c".
func joinLabels(labels []string) string {
	if len(labels) < 2 {
		return strings.Join(labels, "")
	}
	return strings.Join(labels[:len(labels)-1], ", ") + " and " + labels[len(labels)-1]
}

// merge returns base with every option that over sets replacing base's:
// zero values and nil pointers are unset, a non-empty code list replaces
// base's list.
func merge(base, over callPolicy) callPolicy {
	r, or := base.retry, over.retry
	b, ob := base.breaker, over.breaker
	p := callPolicy{
		timeout:        cmp.Or(over.timeout, base.timeout),
		attemptTimeout: cmp.Or(over.attemptTimeout, base.attemptTimeout),
		idleTimeout:    cmp.Or(over.idleTimeout, base.idleTimeout),
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
			disabled:            cmp.Or(ob.disabled, b.disabled),
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

// minDuration is the shortest duration an option may hold: below a
// microsecond, no timer of a remote call means anything, and the value is
// most likely a slip of the unit ("5ns" for "5ms").
const minDuration = time.Microsecond

// positiveDuration parses a duration option that must be at least
// minDuration when set; 0 means unset.
func (a *analysis) positiveDuration(at site, v string) time.Duration {
	d, ok := a.parseDuration(at, v)
	switch {
	case ok && d <= 0:
		a.errorf(at, `%s %q is not above zero; use a positive duration, such as "250ms", or leave %s unset`, at.label, v, at.label)
		return 0
	case ok && d < minDuration:
		a.submicrosecond(at, v)
		return 0
	}
	return d
}

func (a *analysis) submicrosecond(at site, v string) {
	a.errorf(at, `%s %q is below a microsecond, shorter than anything a remote call does (a slip of the unit?); use a duration of 1µs or more, such as "250ms", or leave %s unset`, at.label, v, at.label)
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
