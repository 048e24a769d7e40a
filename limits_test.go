package goai

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRateLimitFailFast(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(LimitPolicy{RatePerSecond: 10, Burst: 2, FailFast: true}, clk)
	ctx := context.Background()
	for i := range 2 {
		if err := acquireErr(l, ctx); err != nil {
			t.Fatalf("call %d within burst: %v", i, err)
		}
		l.release()
	}
	err := acquireErr(l, ctx)
	if !errors.Is(err, ErrRateLimited) || status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("call over the rate = %v (code %v), want ErrRateLimited with RESOURCE_EXHAUSTED", err, status.Code(err))
	}
	clk.Advance(100 * time.Millisecond) // one token back
	if err := acquireErr(l, ctx); err != nil {
		t.Fatalf("call after a token came back: %v", err)
	}
	if len(clk.Sleeps()) != 0 {
		t.Errorf("fail-fast limiter slept: %v", clk.Sleeps())
	}
}

func TestRateLimitWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		l := newLimiter(LimitPolicy{RatePerSecond: 10}, clk) // burst max(1, 10) = 10
		ctx := context.Background()
		for range 10 {
			if err := acquireErr(l, ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := acquireErr(l, ctx); err != nil {
			t.Fatalf("waiting call: %v", err)
		}
		if s := clk.Sleeps(); len(s) != 1 || s[0] != 100*time.Millisecond {
			t.Errorf("sleeps = %v, want one of 100ms", s)
		}

		// A wait that would pass the deadline fails at once.
		dctx, cancel := context.WithDeadline(ctx, clk.Now().Add(50*time.Millisecond))
		defer cancel()
		err := acquireErr(l, dctx)
		if !errors.Is(err, ErrRateLimited) || status.Code(err) != codes.ResourceExhausted {
			t.Errorf("wait past the deadline = %v, want ErrRateLimited", err)
		}
		if len(clk.Sleeps()) != 1 {
			t.Errorf("slept for a wait past the deadline: %v", clk.Sleeps())
		}
		// ... and gave its reservation back: the next token is still 100ms away.
		if err := acquireErr(l, ctx); err != nil {
			t.Fatal(err)
		}
		if s := clk.Sleeps(); s[len(s)-1] != 100*time.Millisecond {
			t.Errorf("wait after a cancelled reservation = %v, want 100ms", s[len(s)-1])
		}

		// A cancelled context ends the wait with its own code.
		cctx, cancel2 := context.WithCancel(ctx)
		cancel2()
		err = acquireErr(l, cctx)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrRateLimited) || status.Code(err) != codes.Canceled {
			t.Errorf("cancelled wait = %v (code %v), want context.Canceled and ErrRateLimited, code CANCELED", err, status.Code(err))
		}
	})
}

func TestBulkhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock()
		ctx := context.Background()

		ff := newLimiter(LimitPolicy{MaxConcurrent: 2, FailFast: true}, clk)
		for range 2 {
			if err := acquireErr(ff, ctx); err != nil {
				t.Fatal(err)
			}
		}
		err := acquireErr(ff, ctx)
		if !errors.Is(err, ErrBulkheadFull) || status.Code(err) != codes.ResourceExhausted {
			t.Errorf("third call = %v, want ErrBulkheadFull with RESOURCE_EXHAUSTED", err)
		}
		ff.release()
		if err := acquireErr(ff, ctx); err != nil {
			t.Errorf("call after a release: %v", err)
		}

		w := newLimiter(LimitPolicy{MaxConcurrent: 1}, clk)
		if err := acquireErr(w, ctx); err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		go func() { got <- acquireErr(w, ctx) }()
		synctest.Wait()
		select {
		case err := <-got:
			t.Fatalf("second call did not wait: %v", err)
		default:
		}
		w.release()
		if err := <-got; err != nil {
			t.Fatalf("waiting call after a release: %v", err)
		}
		dctx, cancel := context.WithTimeout(ctx, time.Millisecond)
		defer cancel()
		err = acquireErr(w, dctx)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrBulkheadFull) || status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("wait past the deadline = %v (code %v)", err, status.Code(err))
		}
	})
}

func TestNoLimits(t *testing.T) {
	for _, p := range []LimitPolicy{
		{FailFast: true, Burst: 3},
		{RatePerSecond: math.NaN()},
		{RatePerSecond: math.Inf(1), Burst: -1},
		{RatePerSecond: -5, MaxConcurrent: -1},
	} {
		if l := newLimiter(p, newFakeClock()); l != nil {
			t.Errorf("%+v, which sets no rate and no cap, made a limiter", p)
		}
	}
}

// TestRateLimitExtremes checks rates at the ends of float64: a huge rate
// lets calls through, a tiny one fails a call that cannot wait long
// enough, and waits, for its context, without a deadline.
func TestRateLimitExtremes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		huge := newLimiter(LimitPolicy{RatePerSecond: 1e300, FailFast: true}, SystemClock())
		for i := range 100 {
			if err := acquireErr(huge, ctx); err != nil {
				t.Fatalf("call %d at a rate of 1e300/s: %v", i, err)
			}
		}
		tiny := newLimiter(LimitPolicy{RatePerSecond: 1e-300}, SystemClock())
		if err := acquireErr(tiny, ctx); err != nil {
			t.Fatalf("first call at a rate of 1e-300/s: %v", err)
		}
		dctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		if err := acquireErr(tiny, dctx); !errors.Is(err, ErrRateLimited) || status.Code(err) != codes.ResourceExhausted {
			t.Errorf("second call at a rate of 1e-300/s = %v, want ErrRateLimited at once", err)
		}
		// Without a deadline it waits, for its context.
		cctx, cancel2 := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- acquireErr(tiny, cctx) }()
		time.Sleep(24 * time.Hour)
		cancel2()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled wait = %v, want context.Canceled", err)
		}
	})
}

// TestCallTimeoutBoundsLimitWaits checks that the call's timeout, from the
// moment Invoke is called, bounds its waits on limits: behind a hung call,
// a call waits for the bulkhead slot only until its own timeout, and a
// call that cannot get a rate token within it fails at once.
func TestCallTimeoutBoundsLimitWaits(t *testing.T) {
	const timeout = 200 * time.Millisecond
	newCaller := func(limits LimitPolicy) (*Client, *MethodDesc) {
		desc := testDesc(CallPolicy{Timeout: timeout})
		desc.Limits = limits
		return testClient(nil, desc, WithRetryBudget(nil), WithRandSource(rand.NewPCG(1, 2))), &desc.Methods[0]
	}
	t.Run("bulkhead", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, m := newCaller(LimitPolicy{MaxConcurrent: 1})
			release := make(chan struct{})
			hung := make(chan error, 1)
			go func() {
				hung <- c.invoke(context.Background(), m, func(context.Context, attemptArgs) error {
					<-release // hung, and deaf to its context
					return nil
				})
			}()
			synctest.Wait()
			start := time.Now()
			err := c.invoke(context.Background(), m, fail(nil))
			if !errors.Is(err, ErrBulkheadFull) || !errors.Is(err, context.DeadlineExceeded) || status.Code(err) != codes.DeadlineExceeded {
				t.Errorf("call behind a hung one = %v (code %v), want DEADLINE_EXCEEDED matching ErrBulkheadFull", err, status.Code(err))
			}
			if d := time.Since(start); d != timeout {
				t.Errorf("call behind a hung one returned after %v, want its %v timeout", d, timeout)
			}
			close(release)
			<-hung
		})
	})
	t.Run("rate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, m := newCaller(LimitPolicy{RatePerSecond: 1, Burst: 1})
			if err := c.invoke(context.Background(), m, fail(nil)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			calls := 0
			err := c.invoke(context.Background(), m, func(context.Context, attemptArgs) error { calls++; return nil })
			if !errors.Is(err, ErrRateLimited) || status.Code(err) != codes.ResourceExhausted || calls != 0 {
				t.Errorf("call a second from its token = %v (code %v) after %d attempts, want ErrRateLimited without one", err, status.Code(err), calls)
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("call that cannot get a token in time waited %v, want none", d)
			}
			// A token within the timeout is waited for.
			time.Sleep(time.Second - timeout/2)
			start = time.Now()
			if err := c.invoke(context.Background(), m, fail(nil)); err != nil {
				t.Errorf("call %v from its token: %v", timeout/2, err)
			}
			// (x/time/rate counts tokens in float64: the wait may be a
			// nanosecond short.)
			if d := time.Since(start); d <= 0 || d > timeout/2 {
				t.Errorf("call waited %v for a token, want %v", d, timeout/2)
			}
		})
	})
}

// acquireErr is l.acquire's error alone.
func acquireErr(l *limiter, ctx context.Context) error {
	_, err := l.acquire(ctx)
	return err
}
