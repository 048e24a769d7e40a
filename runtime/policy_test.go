package runtime

import (
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
	} {
		d, has, stop := pushback(tc.md)
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
		{CallPolicy{Idempotent: &no}, ProtocolOpenInference, false},
		{CallPolicy{Idempotent: &yes}, ProtocolDirect, true},
	} {
		if got := tc.p.idempotent(tc.proto); got != tc.want {
			t.Errorf("idempotent(%v, %v) = %v, want %v", tc.p.Idempotent, tc.proto, got, tc.want)
		}
	}
}
