package runtime

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
// ±p.Jitter. The result never exceeds p.MaxBackoff.
func (p RetryPolicy) backoff(n int, u float64) time.Duration {
	d := float64(p.InitialBackoff) * math.Pow(p.Multiplier, float64(n-1))
	maxD := float64(p.MaxBackoff)
	if d > maxD || math.IsInf(d, 0) || math.IsNaN(d) {
		d = maxD
	}
	d *= 1 + p.Jitter*(2*u-1)
	if d > maxD {
		d = maxD
	}
	if d < 0 {
		d = 0
	}
	return time.Duration(d)
}

// pushback reads the server's retry pushback from trailer md, as gRFC A6
// defines it: absent (has false), a delay in milliseconds (has true), or
// anything else (stop true): a negative, malformed or repeated value asks
// the client not to retry.
func pushback(md metadata.MD) (d time.Duration, has, stop bool) {
	vs := md.Get(pushbackKey)
	switch len(vs) {
	case 0:
		return 0, false, false
	case 1:
		ms, err := strconv.Atoi(vs[0])
		if err != nil || ms < 0 {
			return 0, false, true
		}
		return time.Duration(ms) * time.Millisecond, true, false
	}
	return 0, false, true
}
