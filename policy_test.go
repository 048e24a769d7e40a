package goai

import (
	"math"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

func TestRetryPolicyDefaults(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	want := RetryPolicy{MaxAttempts: 1, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 2 * time.Second,
		Multiplier: 2, Jitter: 0.2, RetryableCodes: []codes.Code{codes.Unavailable}}
	if p.MaxAttempts != want.MaxAttempts || p.InitialBackoff != want.InitialBackoff || p.MaxBackoff != want.MaxBackoff ||
		p.Multiplier != want.Multiplier || p.Jitter != want.Jitter || !slices.Equal(p.RetryableCodes, want.RetryableCodes) {
		t.Errorf("RetryPolicy{}.withDefaults() = %+v, want %+v", p, want)
	}
	p = RetryPolicy{Jitter: -1, Multiplier: 0.5, InitialBackoff: 3 * time.Second, RetryableCodes: []codes.Code{}}.withDefaults()
	if p.Jitter != 0 || p.Multiplier != 1 || p.MaxBackoff != 3*time.Second || len(p.RetryableCodes) != 0 {
		t.Errorf("out-of-range fields not brought into range: %+v", p)
	}
}

func TestBreakerPolicyDefaults(t *testing.T) {
	want := BreakerPolicy{FailureRatio: 0.5, MinRequests: 20, Interval: 10 * time.Second, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}
	if p := (BreakerPolicy{}).withDefaults(); p != want {
		t.Errorf("BreakerPolicy{}.withDefaults() = %+v, want %+v", p, want)
	}
	want = BreakerPolicy{FailureRatio: 0.8, MinRequests: 20, Interval: 10 * time.Second, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}
	if p := (BreakerPolicy{FailureRatio: 0.8}).withDefaults(); p != want {
		t.Errorf("ratio policy defaults = %+v, want %+v", p, want)
	}
	// A consecutive-failure rule alone gets no ratio and no window.
	want = BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}
	if p := (BreakerPolicy{ConsecutiveFailures: 3}).withDefaults(); p != want {
		t.Errorf("consecutive policy defaults = %+v, want %+v", p, want)
	}
}

func TestBackoffSequenceAndCap(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2, Jitter: -1}.withDefaults()
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, p.backoff(n, 0.5))
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !slices.Equal(got, want) {
		t.Errorf("backoffs = %v, want %v", got, want)
	}
	// A huge retry count neither overflows nor passes the cap.
	if d := p.backoff(10_000, 0.99); d != time.Second {
		t.Errorf("backoff(10000) = %v, want the 1s cap", d)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Jitter: 0.2}.withDefaults()
	for _, u := range []float64{0, 0.25, 0.5, 0.75, 0.999999} {
		for n := 1; n <= 6; n++ {
			base := min(100*time.Millisecond<<(n-1), time.Second)
			d := p.backoff(n, u)
			lo, hi := time.Duration(float64(base)*0.8), min(time.Duration(float64(base)*1.2), time.Second)
			if d < lo || d > hi {
				t.Errorf("backoff(%d, u=%v) = %v, want within [%v, %v]", n, u, d, lo, hi)
			}
		}
	}
	if d := p.backoff(1, 0); d != 80*time.Millisecond {
		t.Errorf("lowest jitter = %v, want 80ms", d)
	}
	if d := p.backoff(1, 0.5); d != 100*time.Millisecond {
		t.Errorf("middle jitter = %v, want 100ms", d)
	}
}

func TestPushbackParse(t *testing.T) {
	for _, tc := range []struct {
		md        metadata.MD
		d         time.Duration
		has, stop bool
	}{
		{nil, 0, false, false},
		{metadata.Pairs("other", "1"), 0, false, false},
		{metadata.Pairs(pushbackKey, "0"), 0, true, false},
		{metadata.Pairs(pushbackKey, "250"), 250 * time.Millisecond, true, false},
		{metadata.Pairs(pushbackKey, "-1"), 0, false, true},
		{metadata.Pairs(pushbackKey, "soon"), 0, false, true},
		{metadata.Pairs(pushbackKey, "1", pushbackKey, "2"), 0, false, true},
		{metadata.Pairs(pushbackKey, "3600000"), time.Hour, true, false},
		{metadata.Pairs(pushbackKey, "3600001"), 0, false, true},
		{metadata.Pairs(pushbackKey, "9223372036854775807"), 0, false, true},
		{metadata.Pairs(pushbackKey, "99999999999999999999"), 0, false, true},
	} {
		d, has, stop := pushback(tc.md, time.Hour)
		if d != tc.d || has != tc.has || stop != tc.stop {
			t.Errorf("pushback(%v) = %v, %v, %v; want %v, %v, %v", tc.md, d, has, stop, tc.d, tc.has, tc.stop)
		}
	}
}

func TestIdempotentByProtocol(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		p     CallPolicy
		proto Protocol
		want  bool
	}{
		{CallPolicy{}, ProtocolOpenInference, true},
		{CallPolicy{}, ProtocolDirect, false},
		{CallPolicy{}, ProtocolTFServing, true},
		{CallPolicy{Idempotent: &no}, ProtocolOpenInference, false},
		{CallPolicy{Idempotent: &no}, ProtocolTFServing, false},
		{CallPolicy{Idempotent: &yes}, ProtocolDirect, true},
	} {
		if got := tc.p.idempotent(tc.proto); got != tc.want {
			t.Errorf("idempotent(%v, %v) = %v, want %v", tc.p.Idempotent, tc.proto, got, tc.want)
		}
	}
}

// TestBackoffExtremes checks that no policy, however extreme, gives a wait
// outside [0, MaxBackoff]: float64(math.MaxInt64) rounds up to 2^63, which
// does not convert back.
func TestBackoffExtremes(t *testing.T) {
	for _, p := range []RetryPolicy{
		{InitialBackoff: math.MaxInt64, MaxBackoff: math.MaxInt64},
		{InitialBackoff: math.MaxInt64 - 1, MaxBackoff: math.MaxInt64 - 1, Jitter: 1},
		{InitialBackoff: time.Millisecond, MaxBackoff: math.MaxInt64, Multiplier: math.Inf(1)},
		{InitialBackoff: time.Millisecond, MaxBackoff: math.MaxInt64, Multiplier: math.MaxFloat64, Jitter: 1},
		{InitialBackoff: time.Second, Multiplier: math.NaN(), Jitter: math.NaN()},
		{InitialBackoff: math.MaxInt64 / 3, MaxBackoff: math.MaxInt64 / 2, Multiplier: 1.5},
	} {
		p := p.withDefaults()
		for _, n := range []int{1, 2, 3, 64, 1 << 20, math.MaxInt32} {
			for _, u := range []float64{0, 0.5, 0.999999} {
				if d := p.backoff(n, u); d < 0 || d > p.MaxBackoff {
					t.Errorf("%+v: backoff(%d, %v) = %v, want within [0, %v]", p, n, u, d, p.MaxBackoff)
				}
			}
		}
	}
	p := RetryPolicy{InitialBackoff: math.MaxInt64, MaxBackoff: math.MaxInt64, Jitter: -1}.withDefaults()
	if d := p.backoff(1, 0.5); d != math.MaxInt64 {
		t.Errorf("backoff at the largest MaxBackoff = %v, want it exactly", d)
	}
}

func TestFitsBefore(t *testing.T) {
	for _, tc := range []struct {
		remaining, wait, latency time.Duration
		want                     bool
	}{
		{100, 30, 60, true},
		{100, 40, 60, false},
		{100, math.MaxInt64, 1, false},
		{math.MaxInt64, math.MaxInt64 - 1, 1, false},
		{math.MaxInt64, math.MaxInt64 - 2, 1, true},
		{math.MaxInt64, 1, math.MaxInt64, false},
		{math.MinInt64, 0, 0, false},
		{100, -5, 99, true},
		{100, 0, math.MinInt64, true},
	} {
		if got := fitsBefore(tc.remaining, tc.wait, tc.latency); got != tc.want {
			t.Errorf("fitsBefore(%d, %d, %d) = %v, want %v", tc.remaining, tc.wait, tc.latency, got, tc.want)
		}
	}
}

func TestBreakerPolicyOutOfRange(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		in, want BreakerPolicy
	}{
		// NaN or negative: not used, so the default ratio applies.
		{BreakerPolicy{FailureRatio: nan}, BreakerPolicy{FailureRatio: 0.5, MinRequests: 20, Interval: 10 * time.Second, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}},
		{BreakerPolicy{FailureRatio: math.Inf(-1)}, BreakerPolicy{FailureRatio: 0.5, MinRequests: 20, Interval: 10 * time.Second, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}},
		{BreakerPolicy{FailureRatio: nan, ConsecutiveFailures: 2}, BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}},
		// Above 1: trips when every call fails.
		{BreakerPolicy{FailureRatio: 2}, BreakerPolicy{FailureRatio: 1, MinRequests: 20, Interval: 10 * time.Second, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}},
		{BreakerPolicy{FailureRatio: math.Inf(1)}, BreakerPolicy{FailureRatio: 1, MinRequests: 20, Interval: 10 * time.Second, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}},
		// A negative window is none: the default applies.
		{BreakerPolicy{FailureRatio: 0.3, Interval: -time.Second, OpenTimeout: -1}, BreakerPolicy{FailureRatio: 0.3, MinRequests: 20, Interval: 10 * time.Second, OpenTimeout: 5 * time.Second, HalfOpenProbes: 1}},
	} {
		if got := tc.in.withDefaults(); got != tc.want {
			t.Errorf("%+v.withDefaults() = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestLimitPolicyOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		p     LimitPolicy
		rate  bool
		burst int
	}{
		{LimitPolicy{RatePerSecond: 2.5}, true, 3},
		{LimitPolicy{RatePerSecond: 1e-300}, true, 1},
		{LimitPolicy{RatePerSecond: 1e300}, true, math.MaxInt},
		{LimitPolicy{RatePerSecond: float64(math.MaxInt)}, true, math.MaxInt},
		{LimitPolicy{RatePerSecond: 5, Burst: -3}, true, 5},
		{LimitPolicy{RatePerSecond: math.Inf(1)}, false, 0},
		{LimitPolicy{RatePerSecond: math.NaN()}, false, 0},
		{LimitPolicy{RatePerSecond: -1}, false, 0},
	} {
		if got := tc.p.limitRate(); got != tc.rate {
			t.Errorf("%+v.limitRate() = %v, want %v", tc.p, got, tc.rate)
		}
		if tc.rate {
			if got := tc.p.limitBurst(); got != tc.burst {
				t.Errorf("%+v.limitBurst() = %d, want %d", tc.p, got, tc.burst)
			}
		}
	}
}

func TestCodeSet(t *testing.T) {
	s := newCodeSet([]codes.Code{codes.OK, codes.Unknown, codes.Unavailable, 17, 63, 99})
	for c, want := range map[codes.Code]bool{codes.OK: false, codes.Unknown: true, codes.Unavailable: true, codes.Internal: false, 17: false, 63: false, 64: false, 99: false} {
		if got := s.has(c); got != want {
			t.Errorf("has(%d) = %v, want %v", c, got, want)
		}
	}
	if knownCode(99) != codes.Unknown || knownCode(codes.Unauthenticated) != codes.Unauthenticated || knownCode(17) != codes.Unknown {
		t.Errorf("knownCode does not map codes outside gRPC's range to UNKNOWN")
	}
}
