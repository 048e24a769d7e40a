package goai

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/sony/gobreaker/v2"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// gobreaker reads time.Now itself, so the tests that wait for an open
// timeout run in a synctest bubble, where time.Now is the bubble's fake
// clock and time.Sleep moves it exactly, without waiting.

// breakerLog records breaker state changes.
type breakerLog struct {
	mu     sync.Mutex
	events []BreakerEvent
}

func (l *breakerLog) hook(e BreakerEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *breakerLog) states() []BreakerState {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s []BreakerState
	for _, e := range l.events {
		s = append(s, e.To)
	}
	return s
}

func breakerDesc(p BreakerPolicy) *ModelDesc {
	return testDesc(CallPolicy{Breaker: p})
}

func TestBreakerTripsFailsFastAndRecovers(t *testing.T) {
	synctest.Test(t, testBreakerTripsFailsFastAndRecovers)
}

func testBreakerTripsFailsFastAndRecovers(t *testing.T) {
	const openTimeout = 5 * time.Second
	desc := breakerDesc(BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: openTimeout})
	log := &breakerLog{}
	c, _ := newTestCaller(t, desc, WithHooks(Hooks{BreakerStateChange: log.hook}))
	m, ctx := &desc.Methods[0], context.Background()
	model := ModelRef{Name: "m"}

	s := &script{steps: failN(3, errUnavailable)}
	for range 3 {
		_ = c.invoke(ctx, m, s.fn)
	}
	if st := c.BreakerState(model); st != BreakerOpen {
		t.Fatalf("after 3 failures the breaker is %v, want open", st)
	}
	var info CallInfo
	err := c.invoke(ctx, m, s.fn, Report(&info))
	if !errors.Is(err, ErrBreakerOpen) || !errors.Is(err, gobreaker.ErrOpenState) || status.Code(err) != codes.Unavailable {
		t.Errorf("call on an open breaker = %v (code %v), want ErrBreakerOpen, gobreaker.ErrOpenState, UNAVAILABLE", err, status.Code(err))
	}
	if st, ok := status.FromError(err); !ok || st.Code() != codes.Unavailable {
		t.Errorf("status.FromError(%v) = %v, %v", err, st, ok)
	}
	if s.n() != 3 || info.Attempts != 0 {
		t.Errorf("the open breaker let an attempt through: %d attempts, info %+v", s.n(), info)
	}

	// Still open for the whole timeout (gobreaker half-opens once it is
	// past)...
	time.Sleep(openTimeout)
	if st := c.BreakerState(model); st != BreakerOpen {
		t.Fatalf("breaker %v at its open timeout, want open", st)
	}
	// ... half-open after it: a failed probe opens it again...
	time.Sleep(time.Nanosecond)
	if st := c.BreakerState(model); st != BreakerHalfOpen {
		t.Fatalf("breaker %v after its open timeout, want half-open", st)
	}
	s.steps = failN(1, errUnavailable)
	_ = c.invoke(ctx, m, s.fn)
	if st := c.BreakerState(model); st != BreakerOpen || s.n() != 4 {
		t.Fatalf("after a failed probe the breaker is %v (%d attempts), want open", st, s.n())
	}
	// ... and a successful one closes it.
	time.Sleep(openTimeout + time.Nanosecond)
	if err := c.invoke(ctx, m, s.fn); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if st := c.BreakerState(model); st != BreakerClosed {
		t.Errorf("after a successful probe the breaker is %v, want closed", st)
	}
	want := []BreakerState{BreakerOpen, BreakerHalfOpen, BreakerOpen, BreakerHalfOpen, BreakerClosed}
	if got := log.states(); !equalStates(got, want) {
		t.Errorf("state changes = %v, want %v", got, want)
	}
	if log.events[0].Model != model || log.events[0].From != BreakerClosed {
		t.Errorf("first event = %+v", log.events[0])
	}
}

func equalStates(a, b []BreakerState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestBreakerIgnoresCallerAndClientErrors(t *testing.T) {
	synctest.Test(t, testBreakerIgnoresCallerAndClientErrors)
}

func testBreakerIgnoresCallerAndClientErrors(t *testing.T) {
	desc := breakerDesc(BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour})
	c, _ := newTestCaller(t, desc)
	m, model := &desc.Methods[0], ModelRef{Name: "m"}

	cancelling := func(ctx context.Context, _ attemptArgs) error { return status.Error(codes.Canceled, "canceled") }
	for range 10 {
		ctx, cancel := context.WithCancel(context.Background())
		_ = c.invoke(ctx, m, func(ctx context.Context, a attemptArgs) error {
			cancel()
			return cancelling(ctx, a)
		})
		// The caller's own deadline passing mid-attempt.
		dctx, dcancel := context.WithTimeout(context.Background(), time.Millisecond)
		_ = c.invoke(dctx, m, func(ctx context.Context, _ attemptArgs) error {
			<-ctx.Done()
			return status.Error(codes.DeadlineExceeded, "deadline exceeded")
		})
		dcancel()
		_ = c.invoke(context.Background(), m, fail(errInvalid))
		_ = c.invoke(context.Background(), m, fail(status.Error(codes.NotFound, "no such model")))
		_ = c.invoke(context.Background(), m, fail(newCallError(codes.ResourceExhausted, "too large", ErrMessageTooLarge)))
	}
	if st := c.BreakerState(model); st != BreakerClosed {
		t.Fatalf("breaker %v after caller cancellations and client errors, want closed", st)
	}
	// Client errors show the server alive: they break a run of failures.
	for _, err := range []error{errUnavailable, errUnavailable, errInvalid, errUnavailable, errUnavailable} {
		_ = c.invoke(context.Background(), m, fail(err))
	}
	if st := c.BreakerState(model); st != BreakerClosed {
		t.Fatalf("breaker %v after failures split by a client error, want closed", st)
	}
	// Every server-side failure counts.
	for _, code := range []codes.Code{codes.DeadlineExceeded, codes.ResourceExhausted, codes.Internal} {
		_ = c.invoke(context.Background(), m, fail(status.Error(code, "server side")))
	}
	if st := c.BreakerState(model); st != BreakerOpen {
		t.Errorf("breaker %v after 2+3 server failures in a row, want open", st)
	}
}

// TestBreakerCountsWhatServersSend checks that the breaker sorts errors by
// where they came from: codes outside gRPC's range count as UNKNOWN, and
// a RESOURCE_EXHAUSTED counts whatever its text says, unless it is a
// size limit of the client's own (see TestMessageSizeOrigin for grpc's).
func TestBreakerCountsWhatServersSend(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		count bool
	}{
		{"code 99", status.Error(99, "from a newer server"), true},
		{"code 17", status.Error(17, "just past UNAUTHENTICATED"), true},
		{"server's size error", status.Error(codes.ResourceExhausted, "grpc: received message larger than max (9 vs. 1)"), true},
		{"server's send limit", status.Error(codes.ResourceExhausted, "grpc: trying to send message larger than max (9 vs. 1)"), true},
		{"client's own size limit", newCallError(codes.ResourceExhausted, "goai: trying to send message larger than max (9 vs. 1)", ErrMessageTooLarge), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desc := breakerDesc(BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour})
			c, _ := newTestCaller(t, desc)
			for range 2 {
				_ = c.invoke(context.Background(), &desc.Methods[0], fail(tc.err))
			}
			want := BreakerClosed
			if tc.count {
				want = BreakerOpen
			}
			if st := c.BreakerState(ModelRef{Name: "m"}); st != want {
				t.Errorf("breaker %v after 2 of %v, want %v", st, tc.err, want)
			}
		})
	}
}

func TestBreakerFailureRatio(t *testing.T) {
	desc := breakerDesc(BreakerPolicy{FailureRatio: 0.5, MinRequests: 10, OpenTimeout: time.Hour})
	c, _ := newTestCaller(t, desc)
	m, model := &desc.Methods[0], ModelRef{Name: "m"}
	for _, err := range []error{errUnavailable, nil, errUnavailable, nil, errUnavailable, nil, errUnavailable, nil, errUnavailable} {
		_ = c.invoke(context.Background(), m, fail(err))
	}
	if st := c.BreakerState(model); st != BreakerClosed {
		t.Fatalf("breaker %v after 9 calls (under MinRequests), want closed", st)
	}
	_ = c.invoke(context.Background(), m, fail(nil)) // 5 of 10 failed, but the last succeeded
	if st := c.BreakerState(model); st != BreakerClosed {
		t.Fatalf("breaker %v: ratio is checked on failures only", st)
	}
	_ = c.invoke(context.Background(), m, fail(errUnavailable)) // 6 of 11
	if st := c.BreakerState(model); st != BreakerOpen {
		t.Errorf("breaker %v at 6/11 failures, want open", st)
	}
}

// TestBreakerCountsCalls checks what the breaker counts: one outcome per
// call, its last attempt's, so that retries that end in a success leave
// the breaker closed, and a call whose every attempt fails counts once.
// This is the README's configuration of three attempts against a model
// that fails two of every three.
func TestBreakerCountsCalls(t *testing.T) {
	desc := testDesc(retrying(3))
	desc.Methods[0].Policy.Breaker = BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour}
	c, _ := newTestCaller(t, desc)
	model := ModelRef{Name: "m"}
	for i := range 30 {
		s := &script{steps: []func(context.Context, attemptArgs) error{fail(errUnavailable), fail(errUnavailable)}}
		if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != nil {
			t.Fatalf("call %d: %v, want success on its third attempt", i, err)
		}
	}
	if got := c.breakerFor(model).cb.Counts(); got.TotalSuccesses != 30 || got.TotalFailures != 0 {
		t.Errorf("breaker counts %+v after 30 calls that succeeded on their third attempt, want 30 successes", got)
	}
	// Calls whose every attempt fails count once each: the third opens it.
	for i := range 3 {
		if st := c.BreakerState(model); st != BreakerClosed {
			t.Fatalf("breaker %v after %d failed calls, want closed", st, i)
		}
		s := &script{steps: []func(context.Context, attemptArgs) error{fail(errUnavailable), fail(errUnavailable), fail(errUnavailable)}}
		if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); status.Code(err) != codes.Unavailable || s.n() != 3 {
			t.Fatalf("failing call %d = %v after %d attempts, want UNAVAILABLE after 3", i, err, s.n())
		}
	}
	if st := c.BreakerState(model); st != BreakerOpen {
		t.Fatalf("breaker %v after 3 failed calls, want open", st)
	}
	s := &script{}
	var info CallInfo
	err := c.invoke(context.Background(), &desc.Methods[0], s.fn, Report(&info))
	if !errors.Is(err, ErrBreakerOpen) || status.Code(err) != codes.Unavailable || s.n() != 0 || info.Attempts != 0 {
		t.Errorf("call on the open breaker = %v after %d attempts, want ErrBreakerOpen and none", err, s.n())
	}
}

func TestBreakerDisabled(t *testing.T) {
	desc := breakerDesc(BreakerPolicy{Disabled: true, ConsecutiveFailures: 1})
	c, _ := newTestCaller(t, desc)
	s := &script{steps: failN(20, errUnavailable)}
	for range 20 {
		_ = c.invoke(context.Background(), &desc.Methods[0], s.fn)
	}
	if s.n() != 20 {
		t.Errorf("a disabled breaker stopped calls: %d attempts of 20", s.n())
	}
}

func TestBreakerProbeSlotFreedOnPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := breakerDesc(BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: 5 * time.Millisecond})
		c, _ := newTestCaller(t, desc)
		m := &desc.Methods[0]
		_ = c.invoke(context.Background(), m, fail(errUnavailable))
		time.Sleep(5*time.Millisecond + time.Nanosecond)
		func() {
			defer func() { _ = recover() }()
			_ = c.invoke(context.Background(), m, func(context.Context, attemptArgs) error { panic("boom") })
		}()
		if err := c.invoke(context.Background(), m, fail(nil)); err != nil {
			t.Errorf("probe after a panicking probe: %v", err)
		}
	})
}

// TestBreakerOutOfRangePolicy checks breakers of policies out of range: a
// NaN ratio takes the default one instead of never tripping, a ratio
// above 1 trips when everything fails, and a negative window resets after
// the default 10s instead of never.
func TestBreakerOutOfRangePolicy(t *testing.T) {
	trips := func(t *testing.T, p BreakerPolicy, failures int) bool {
		t.Helper()
		desc := breakerDesc(p)
		c, _ := newTestCaller(t, desc)
		for range failures {
			_ = c.invoke(context.Background(), &desc.Methods[0], fail(errUnavailable))
		}
		return c.BreakerState(ModelRef{Name: "m"}) == BreakerOpen
	}
	if !trips(t, BreakerPolicy{FailureRatio: math.NaN(), OpenTimeout: time.Hour}, DefaultRatioMinRequests) {
		t.Errorf("a NaN ratio never trips")
	}
	if !trips(t, BreakerPolicy{FailureRatio: 2, MinRequests: 5, OpenTimeout: time.Hour}, 5) {
		t.Errorf("a ratio of 2 never trips")
	}
	synctest.Test(t, func(t *testing.T) {
		desc := breakerDesc(BreakerPolicy{FailureRatio: 0.5, MinRequests: 4, Interval: -time.Second, OpenTimeout: time.Hour})
		c, _ := newTestCaller(t, desc)
		m := &desc.Methods[0]
		for range 3 {
			_ = c.invoke(context.Background(), m, fail(errUnavailable))
		}
		time.Sleep(DefaultRatioInterval + time.Second) // the counts reset
		_ = c.invoke(context.Background(), m, fail(errUnavailable))
		if st := c.BreakerState(ModelRef{Name: "m"}); st != BreakerClosed {
			t.Errorf("breaker %v: failures of a past window counted, want closed", st)
		}
	})
}

func TestBreakerPolicyPerModel(t *testing.T) {
	desc := &ModelDesc{
		Model: ModelRef{Name: "a"},
		Methods: []MethodDesc{
			{FullMethod: "/s/A1", Model: ModelRef{Name: "a"}, Policy: CallPolicy{Breaker: BreakerPolicy{ConsecutiveFailures: 1}}},
			{FullMethod: "/s/A2", Model: ModelRef{Name: "a"}, Policy: CallPolicy{Breaker: BreakerPolicy{ConsecutiveFailures: 9}}},
			{FullMethod: "/s/B", Model: ModelRef{Name: "b"}, Policy: CallPolicy{Breaker: BreakerPolicy{Disabled: true}}},
		},
	}
	c, _ := newTestCaller(t, desc)
	_ = c.invoke(context.Background(), &desc.Methods[1], fail(errUnavailable))
	if st := c.BreakerState(ModelRef{Name: "a"}); st != BreakerOpen {
		t.Errorf("model a's breaker, from its first method (1 failure trips), is %v", st)
	}
	for range 5 {
		_ = c.invoke(context.Background(), &desc.Methods[2], fail(errUnavailable))
	}
	if c.breakerFor(ModelRef{Name: "b"}) != nil {
		t.Errorf("model b's breaker is not disabled")
	}
	if c.breakerFor(ModelRef{Name: "fallback"}).cb.Name() != "fallback" {
		t.Errorf("a model no method calls has no breaker")
	}
	o := testClient(nil, desc, WithBreakerPolicy(BreakerPolicy{Disabled: true}), WithRetryBudget(nil))
	if o.breakerFor(ModelRef{Name: "a"}) != nil {
		t.Errorf("WithBreakerPolicy did not override the methods' policy")
	}
}
