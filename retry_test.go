package goai

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRetriesUntilSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := testDesc(retrying(4))
		c, clk := newTestCaller(t, desc)
		s := &script{steps: failN(2, errUnavailable)}
		var info CallInfo
		if err := c.invoke(context.Background(), &desc.Methods[0], s.fn, Report(&info)); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if s.n() != 3 || info.Attempts != 3 || info.Fallback || info.Model != (ModelRef{Name: "m"}) {
			t.Errorf("attempts = %d, info = %+v; want 3 attempts on m", s.n(), info)
		}
		if got := clk.Sleeps(); !slices.Equal(got, ms(100, 200)) {
			t.Errorf("backoffs = %v, want [100ms 200ms]", got)
		}
		if info.Latency != 300*time.Millisecond {
			t.Errorf("latency = %v, want the 300ms of backoff", info.Latency)
		}
		for i, a := range s.attempts {
			if a.number != i+1 {
				t.Errorf("attempt %d numbered %d", i+1, a.number)
			}
		}
	})
}

func TestRetriesExhaustedReturnLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := testDesc(retrying(3))
		c, _ := newTestCaller(t, desc)
		last := status.Error(codes.Unavailable, "third")
		s := &script{steps: append(failN(2, errUnavailable), fail(last))}
		err := c.invoke(context.Background(), &desc.Methods[0], s.fn)
		if err != last || s.n() != 3 {
			t.Errorf("Invoke = %v after %d attempts, want the third error unchanged after 3", err, s.n())
		}
	})
}

func TestNotRetried(t *testing.T) {
	no := false
	for _, tc := range []struct {
		name   string
		desc   func(*ModelDesc)
		err    error
		opts   []CallOption
		single bool
	}{
		{name: "client error", err: errInvalid, single: true},
		{name: "code not retryable", err: status.Error(codes.Internal, "boom"), single: true},
		{name: "error without status", err: errors.New("cannot encode"), single: true},
		{name: "message too large to send", err: status.Error(codes.ResourceExhausted, "grpc: trying to send message larger than max (100 vs. 10)"), single: true},
		{name: "message too large received", err: status.Error(codes.ResourceExhausted, "grpc: received message larger than max (100 vs. 10)"), single: true},
		{name: "direct protocol", desc: func(d *ModelDesc) { d.Protocol = ProtocolDirect }, err: errUnavailable, single: true},
		{name: "not idempotent", desc: func(d *ModelDesc) { d.Methods[0].Policy.Idempotent = &no }, err: errUnavailable, single: true},
		{name: "call not idempotent", err: errUnavailable, opts: []CallOption{WithIdempotent(false)}, single: true},
		{name: "WithoutRetries", err: errUnavailable, opts: []CallOption{WithoutRetries()}, single: true},
		{name: "direct made idempotent", desc: func(d *ModelDesc) { d.Protocol = ProtocolDirect }, err: errUnavailable, opts: []CallOption{WithIdempotent(true)}},
		{name: "retryable code listed", desc: func(d *ModelDesc) { d.Methods[0].Policy.Retry.RetryableCodes = []codes.Code{codes.Internal} }, err: status.Error(codes.Internal, "boom")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				desc := testDesc(retrying(3))
				if tc.desc != nil {
					tc.desc(desc)
				}
				c, clk := newTestCaller(t, desc)
				s := &script{steps: failN(3, tc.err)}
				err := c.invoke(context.Background(), &desc.Methods[0], s.fn, tc.opts...)
				if err != tc.err {
					t.Errorf("Invoke = %v, want the attempt's error unchanged", err)
				}
				want := 3
				if tc.single {
					want = 1
				}
				if s.n() != want {
					t.Errorf("%d attempts, want %d", s.n(), want)
				}
				if tc.single && len(clk.Sleeps()) != 0 {
					t.Errorf("slept %v without retrying", clk.Sleeps())
				}
			})
		})
	}
}

func TestPushback(t *testing.T) {
	t.Run("delay replaces backoff and resets it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			desc := testDesc(retrying(6))
			c, clk := newTestCaller(t, desc)
			s := &script{steps: append(failN(2, errUnavailable), withPushback(errUnavailable, "50"), fail(errUnavailable))}
			if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != nil {
				t.Fatal(err)
			}
			if got := clk.Sleeps(); !slices.Equal(got, ms(100, 200, 50, 100)) {
				t.Errorf("waits = %v, want [100ms 200ms 50ms 100ms]", got)
			}
		})
	})
	t.Run("zero retries at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			desc := testDesc(retrying(2))
			c, clk := newTestCaller(t, desc)
			s := &script{steps: failN(1, nil)}
			s.steps[0] = withPushback(errUnavailable, "0")
			if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != nil {
				t.Fatal(err)
			}
			if got := clk.Sleeps(); !slices.Equal(got, ms(0)) || s.n() != 2 {
				t.Errorf("waits = %v after %d attempts, want [0s] and 2", got, s.n())
			}
		})
	})
	for _, v := range []string{"-1", "later"} {
		t.Run("stop on "+v, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				desc := testDesc(retrying(5))
				c, clk := newTestCaller(t, desc)
				s := &script{steps: []func(context.Context, attemptArgs) error{withPushback(errUnavailable, v)}}
				if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != errUnavailable {
					t.Errorf("Invoke = %v, want the attempt's error", err)
				}
				if s.n() != 1 || len(clk.Sleeps()) != 0 {
					t.Errorf("%d attempts, waits %v; want 1 attempt, no wait", s.n(), clk.Sleeps())
				}
			})
		})
	}
	t.Run("code not retryable", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			desc := testDesc(retrying(5))
			c, _ := newTestCaller(t, desc)
			s := &script{steps: []func(context.Context, attemptArgs) error{withPushback(errInvalid, "10")}}
			if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != errInvalid || s.n() != 1 {
				t.Errorf("Invoke = %v after %d attempts, want INVALID_ARGUMENT after 1", err, s.n())
			}
		})
	})
	t.Run("pushback past the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			desc := testDesc(retrying(5))
			c, clk := newTestCaller(t, desc)
			ctx, cancel := context.WithDeadline(context.Background(), clk.Now().Add(time.Second))
			defer cancel()
			s := &script{steps: []func(context.Context, attemptArgs) error{withPushback(errUnavailable, "5000")}}
			if err := c.invoke(ctx, &desc.Methods[0], s.fn); err != errUnavailable || s.n() != 1 || len(clk.Sleeps()) != 0 {
				t.Errorf("Invoke = %v after %d attempts and waits %v; want 1 attempt, no wait", err, s.n(), clk.Sleeps())
			}
		})
	})
}

func TestRetriesRespectDeadlines(t *testing.T) {
	for _, tc := range []struct {
		name    string
		latency time.Duration // each attempt's, on the fake clock
		useCtx  bool          // the caller's deadline, else the call's timeout
		waits   []time.Duration
	}{
		// Deadline 250ms: the 100ms wait fits; the 200ms one would end at 300ms.
		{name: "context deadline", useCtx: true, waits: ms(100)},
		{name: "call timeout", waits: ms(100)},
		// Attempts of 60ms: 60+100+60 < 250 fits; 220+200 does not.
		{name: "slow attempts", latency: 60 * time.Millisecond, useCtx: true, waits: ms(100)},
		// Attempts of 80ms: 80+100+80 > 250: no retry would finish.
		{name: "too slow to retry", latency: 80 * time.Millisecond, useCtx: true, waits: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				desc := testDesc(retrying(10))
				c, clk := newTestCaller(t, desc)
				start := clk.Now()
				ctx := context.Background()
				var opts []CallOption
				if tc.useCtx {
					var cancel context.CancelFunc
					ctx, cancel = context.WithDeadline(ctx, start.Add(250*time.Millisecond))
					defer cancel()
				} else {
					opts = append(opts, WithTimeout(250*time.Millisecond))
				}
				fn := func(context.Context, attemptArgs) error {
					clk.Advance(tc.latency)
					return errUnavailable
				}
				if err := c.invoke(ctx, &desc.Methods[0], fn, opts...); err != errUnavailable {
					t.Errorf("Invoke = %v, want the last attempt's error", err)
				}
				if got := clk.Sleeps(); !slices.Equal(got, tc.waits) {
					t.Errorf("waits = %v, want %v", got, tc.waits)
				}
				if end := clk.Now().Sub(start); end > 250*time.Millisecond {
					t.Errorf("the call ran %v on the clock, past its 250ms deadline", end)
				}
			})
		})
	}
}

func TestRetryBudgetExhausted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := testDesc(retrying(5))
		clk := newFakeClock()
		// No earned retries and a floor of 0.2/s over 10s: two retries.
		b := NewRetryBudget(RetryBudgetPolicy{Ratio: -1, MinPerSecond: 0.2}, clk)
		c := testClient(nil, desc, WithClock(clk), WithRetryBudget(b))
		last := status.Error(codes.Unavailable, "still down")
		s := &script{steps: append(failN(2, errUnavailable), failN(3, last)...)}
		var info CallInfo
		err := c.invoke(context.Background(), &desc.Methods[0], s.fn, Report(&info))
		if !errors.Is(err, ErrRetryBudgetExhausted) || !errors.Is(err, last) || status.Code(err) != codes.Unavailable {
			t.Errorf("Invoke = %v (code %v), want ErrRetryBudgetExhausted wrapping the last error, UNAVAILABLE", err, status.Code(err))
		}
		if s.n() != 3 || info.Attempts != 3 {
			t.Errorf("%d attempts, want 3 (1 + the 2 retries of the budget)", s.n())
		}
		// A Client on a Pool shares the pool's budget.
		if got := testClient(&Pool{budget: b}, desc).budget; got != b {
			t.Errorf("a Client on a Pool did not take its budget")
		}
	})
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retrying(3)
		p.AttemptTimeout = 5 * time.Millisecond
		desc := testDesc(p)
		var done []AttemptEvent
		c, _ := newTestCaller(t, desc, WithHooks(Hooks{AttemptDone: func(_ context.Context, e AttemptEvent) { done = append(done, e) }}))
		hang := func(ctx context.Context, _ attemptArgs) error {
			<-ctx.Done()
			return status.FromContextError(ctx.Err()).Err()
		}
		s := &script{steps: []func(context.Context, attemptArgs) error{hang}}
		if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != nil {
			t.Fatalf("Invoke: %v", err)
		}
		if s.n() != 2 || len(done) != 2 || done[0].Code != codes.DeadlineExceeded || done[1].Code != codes.OK {
			t.Errorf("%d attempts, events %+v; want a timed-out attempt then a success", s.n(), done)
		}
		// The breaker counts the call by its last attempt, a success.
		if got := c.breakerFor(ModelRef{Name: "m"}).cb.Counts(); got.TotalSuccesses != 1 || got.TotalFailures != 0 {
			t.Errorf("breaker counts = %+v, want the call counted as a success", got)
		}
	})
}

func TestCallerCancellationEndsRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := testDesc(retrying(5))
		c, _ := newTestCaller(t, desc)
		ctx, cancel := context.WithCancel(context.Background())
		s := &script{steps: []func(context.Context, attemptArgs) error{func(context.Context, attemptArgs) error {
			cancel()
			return status.Error(codes.Canceled, "context canceled")
		}}}
		err := c.invoke(ctx, &desc.Methods[0], s.fn)
		if status.Code(err) != codes.Canceled || s.n() != 1 {
			t.Errorf("Invoke = %v after %d attempts, want CANCELED after 1", err, s.n())
		}
		err = c.invoke(ctx, &desc.Methods[0], s.fn)
		if !errors.Is(err, context.Canceled) || status.Code(err) != codes.Canceled || s.n() != 1 {
			t.Errorf("Invoke on a done context = %v, attempts %d; want context.Canceled without an attempt", err, s.n())
		}
	})
}

func TestCallOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := testDesc(retrying(5))
		c, clk := newTestCaller(t, desc)
		s := &script{steps: failN(10, errUnavailable)}
		marker := grpc.WaitForReady(true)
		_ = c.invoke(context.Background(), &desc.Methods[0], s.fn, WithMaxAttempts(2), WithGRPCCallOptions(marker))
		if s.n() != 2 {
			t.Errorf("WithMaxAttempts(2): %d attempts", s.n())
		}
		for _, a := range s.attempts {
			if len(a.callOptions) != 2 || a.callOptions[0] != marker {
				t.Errorf("attempt %d call options = %v, want the marker then the trailer capture", a.number, a.callOptions)
			}
			if _, ok := a.callOptions[1].(grpc.TrailerCallOption); !ok {
				t.Errorf("attempt %d does not capture the trailer", a.number)
			}
		}
		// A call that cannot retry still captures the trailer for its
		// breaker, which must tell the server's statuses from grpc's own.
		s = &script{}
		_ = c.invoke(context.Background(), &desc.Methods[0], s.fn, WithoutRetries())
		if opts := s.attempts[0].callOptions; len(opts) != 1 {
			t.Errorf("single attempt call options = %v, want the trailer capture", opts)
		} else if _, ok := opts[0].(grpc.TrailerCallOption); !ok {
			t.Errorf("single attempt call option %T, want the trailer capture", opts[0])
		}
		// Without a breaker, nor retries, it needs none.
		nb := testDesc(CallPolicy{Breaker: BreakerPolicy{Disabled: true}})
		c2, _ := newTestCaller(t, nb)
		s = &script{}
		_ = c2.invoke(context.Background(), &nb.Methods[0], s.fn)
		if opts := s.attempts[0].callOptions; len(opts) != 0 {
			t.Errorf("call options without a breaker or retries = %v, want none", opts)
		}
		// WithAttemptTimeout sets the attempt's deadline.
		var dl time.Time
		_ = c.invoke(context.Background(), &desc.Methods[0], func(ctx context.Context, _ attemptArgs) error {
			dl, _ = ctx.Deadline()
			return nil
		}, WithAttemptTimeout(time.Hour))
		if got := dl.Sub(clk.Now()); got != time.Hour {
			t.Errorf("attempt deadline %v away, want an hour", got)
		}
	})
}

// earlyDeadline is an attempt that answers DEADLINE_EXCEEDED just before
// its context's deadline, as a server enforcing a propagated grpc-timeout
// can.
func earlyDeadline(ctx context.Context, _ attemptArgs) error {
	dl, _ := ctx.Deadline()
	time.Sleep(time.Until(dl) - 300*time.Microsecond)
	return status.Error(codes.DeadlineExceeded, "deadline exceeded (server)")
}

func TestServerDeadlineAtAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := retrying(2)
		p.AttemptTimeout = 5 * time.Millisecond
		desc := testDesc(p)
		c, _ := newTestCaller(t, desc)
		s := &script{steps: []func(context.Context, attemptArgs) error{earlyDeadline}}
		if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != nil || s.n() != 2 {
			t.Errorf("Invoke = %v after %d attempts, want the attempt timeout retried", err, s.n())
		}
	})
}

func TestServerDeadlineAtCallerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := testDesc(retrying(3))
		desc.Methods[0].Policy.Retry.RetryableCodes = []codes.Code{codes.DeadlineExceeded}
		c, _ := newTestCaller(t, desc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		s := &script{steps: []func(context.Context, attemptArgs) error{earlyDeadline}}
		if err := c.invoke(ctx, &desc.Methods[0], s.fn); status.Code(err) != codes.DeadlineExceeded || s.n() != 1 {
			t.Errorf("Invoke = %v after %d attempts, want DEADLINE_EXCEEDED after 1", err, s.n())
		}
		if got := c.breakerFor(ModelRef{Name: "m"}).cb.Counts(); got.TotalFailures != 0 || got.TotalExclusions != 1 {
			t.Errorf("breaker counts = %+v: the caller's own deadline was counted", got)
		}
	})
}

// TestPushbackOutOfRange checks that a pushback too large for a Duration,
// or longer than the client waits, stops retrying instead of wrapping into
// an immediate retry.
func TestPushbackOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		name, ms string
		waits    []time.Duration // nil: no retry
	}{
		{"max int64", "9223372036854775807", nil},
		{"past int64", "9223372036854775808", nil},
		{"wraps to negative ns", "9223372036854776", nil},
		{"above MaxPushback", strconv.FormatInt(MaxPushback.Milliseconds()+1, 10), nil},
		{"at MaxPushback", strconv.FormatInt(MaxPushback.Milliseconds(), 10), []time.Duration{MaxPushback}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				desc := testDesc(retrying(3))
				c, clk := newTestCaller(t, desc)
				s := &script{steps: []func(context.Context, attemptArgs) error{withPushback(errUnavailable, tc.ms)}}
				err := c.invoke(context.Background(), &desc.Methods[0], s.fn)
				if got := clk.Sleeps(); !slices.Equal(got, tc.waits) {
					t.Errorf("waits = %v, want %v", got, tc.waits)
				}
				if want := 1 + len(tc.waits); s.n() != want {
					t.Errorf("%d attempts, want %d", s.n(), want)
				}
				if tc.waits == nil && err != errUnavailable {
					t.Errorf("Invoke = %v, want the attempt's error", err)
				}
			})
		})
	}
	// A longer MaxBackoff raises the bound.
	synctest.Test(t, func(t *testing.T) {
		p := retrying(2)
		p.Retry.MaxBackoff = 2 * MaxPushback
		desc := testDesc(p)
		c, clk := newTestCaller(t, desc)
		ms := strconv.FormatInt(p.Retry.MaxBackoff.Milliseconds(), 10)
		s := &script{steps: []func(context.Context, attemptArgs) error{withPushback(errUnavailable, ms)}}
		if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != nil {
			t.Fatal(err)
		}
		if got := clk.Sleeps(); !slices.Equal(got, []time.Duration{2 * MaxPushback}) {
			t.Errorf("waits = %v, want the pushback of MaxBackoff", got)
		}
	})
}

// TestRetryWaitsNeverOverflow checks that extreme backoff settings give
// waits within [0, MaxBackoff] and that a wait too long for the deadline,
// by any margin, stops retrying.
func TestRetryWaitsNeverOverflow(t *testing.T) {
	for _, maxBackoff := range []time.Duration{math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 / 2} {
		t.Run(maxBackoff.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := retrying(4)
				p.Retry.InitialBackoff, p.Retry.MaxBackoff = maxBackoff, maxBackoff
				desc := testDesc(p)
				c, clk := newTestCaller(t, desc)
				// Without a deadline the call waits as long as it is told
				// (on the fake clock).
				s := &script{steps: failN(3, errUnavailable)}
				if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != nil {
					t.Fatal(err)
				}
				if got, want := clk.Sleeps(), []time.Duration{maxBackoff, maxBackoff, maxBackoff}; !slices.Equal(got, want) {
					t.Errorf("waits = %v, want %v", got, want)
				}
				// With one, a wait that cannot fit stops at once.
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				s = &script{steps: []func(context.Context, attemptArgs) error{func(context.Context, attemptArgs) error {
					clk.Advance(time.Millisecond) // the attempt's latency
					return errUnavailable
				}}}
				before := len(clk.Sleeps())
				if err := c.invoke(ctx, &desc.Methods[0], s.fn); err != errUnavailable || s.n() != 1 {
					t.Errorf("Invoke = %v after %d attempts, want the attempt's error after 1", err, s.n())
				}
				if got := clk.Sleeps()[before:]; len(got) != 0 {
					t.Errorf("waited %v for a retry past the deadline", got)
				}
			})
		})
	}
}
