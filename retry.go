package goai

import (
	"math"
	"strconv"
	"time"

	"google.golang.org/grpc/metadata"
)

// pushbackKey is the trailer by which a server asks for a retry delay,
// from gRFC A6.
const pushbackKey = "grpc-retry-pushback-ms"

// backoff returns the wait before the n-th retry since the start of the
// call or the last server pushback (n >= 1) under p, which must have its
// defaults applied. u is uniform in [0, 1): it spreads the wait by
// ±p.Jitter. The result is in [0, p.MaxBackoff] whatever the fields hold:
// the arithmetic is in float64, which saturates to +Inf rather than
// wrapping, and only a value below MaxBackoff is converted back.
func (p RetryPolicy) backoff(n int, u float64) time.Duration {
	maxD := float64(p.MaxBackoff)
	d := float64(p.InitialBackoff) * math.Pow(p.Multiplier, float64(n-1))
	if !(d < maxD) { // also +Inf and NaN
		d = maxD
	}
	d *= 1 + p.Jitter*(2*u-1)
	// maxD may have rounded up past math.MaxInt64, where the conversion
	// would wrap: return MaxBackoff itself rather than converting it.
	if !(d < maxD) {
		return p.MaxBackoff
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(d)
}

// MaxPushback is the longest server pushback (gRFC A6's
// grpc-retry-pushback-ms) a call waits for when its RetryPolicy.MaxBackoff
// is shorter: a server asking for a longer delay than both is taken to ask
// the client not to retry, as for a negative one, rather than to hold the
// caller. A pushback that would not leave time for an attempt before the
// call's deadline stops retrying too.
const MaxPushback = time.Minute

// pushback reads the server's retry pushback from trailer md, as gRFC A6
// defines it: absent (has false), a delay in milliseconds (has true), or a
// request not to retry (stop true): a negative, malformed or repeated
// value, or one above limit. Any value too large for a Duration
// (9223372036854775807 ms, say) is above limit, so it can neither wrap
// into a negative, immediate retry nor overflow.
func pushback(md metadata.MD, limit time.Duration) (d time.Duration, has, stop bool) {
	vs := md.Get(pushbackKey)
	switch len(vs) {
	case 0:
		return 0, false, false
	case 1:
		ms, err := strconv.ParseInt(vs[0], 10, 64)
		// ms <= limit/1ms exactly when ms × 1ms <= limit, and the product
		// then fits in a Duration.
		if err != nil || ms < 0 || ms > int64(limit/time.Millisecond) {
			return 0, false, true
		}
		return time.Duration(ms) * time.Millisecond, true, false
	}
	return 0, false, true
}

// fitsBefore reports whether a wait followed by an attempt of the given
// latency ends before a deadline remaining away, without overflow
// whatever the three values.
func fitsBefore(remaining, wait, latency time.Duration) bool {
	if wait < 0 {
		wait = 0
	}
	if latency < 0 {
		latency = 0
	}
	// remaining > wait >= 0, so remaining-wait cannot overflow.
	return wait < remaining && latency < remaining-wait
}
