package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRateLimitFailFast(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(LimitPolicy{RatePerSecond: 10, Burst: 2, FailFast: true}, clk)
	ctx := context.Background()
	for i := range 2 {
		if err := l.acquire(ctx); err != nil {
			t.Fatalf("call %d within burst: %v", i, err)
		}
		l.release()
	}
	err := l.acquire(ctx)
	if !errors.Is(err, ErrRateLimited) || status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("call over the rate = %v (code %v), want ErrRateLimited with RESOURCE_EXHAUSTED", err, status.Code(err))
	}
	clk.Advance(100 * time.Millisecond) // one token back
	if err := l.acquire(ctx); err != nil {
		t.Fatalf("call after a token came back: %v", err)
	}
	if len(clk.Sleeps()) != 0 {
		t.Errorf("fail-fast limiter slept: %v", clk.Sleeps())
	}
}

func TestRateLimitWaits(t *testing.T) {
	clk := newFakeClock()
	l := newLimiter(LimitPolicy{RatePerSecond: 10}, clk) // burst max(1, 10) = 10
	ctx := context.Background()
	for range 10 {
		if err := l.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.acquire(ctx); err != nil {
		t.Fatalf("waiting call: %v", err)
	}
	if s := clk.Sleeps(); len(s) != 1 || s[0] != 100*time.Millisecond {
		t.Errorf("sleeps = %v, want one of 100ms", s)
	}

	// A wait that would pass the deadline fails at once.
	dctx, cancel := context.WithDeadline(ctx, clk.Now().Add(50*time.Millisecond))
	defer cancel()
	err := l.acquire(dctx)
	if !errors.Is(err, ErrRateLimited) || status.Code(err) != codes.ResourceExhausted {
		t.Errorf("wait past the deadline = %v, want ErrRateLimited", err)
	}
	if len(clk.Sleeps()) != 1 {
		t.Errorf("slept for a wait past the deadline: %v", clk.Sleeps())
	}
	// ... and gave its reservation back: the next token is still 100ms away.
	if err := l.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	if s := clk.Sleeps(); s[len(s)-1] != 100*time.Millisecond {
		t.Errorf("wait after a cancelled reservation = %v, want 100ms", s[len(s)-1])
	}

	// A cancelled context ends the wait with its own code.
	cctx, cancel2 := context.WithCancel(ctx)
	cancel2()
	err = l.acquire(cctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrRateLimited) || status.Code(err) != codes.Canceled {
		t.Errorf("cancelled wait = %v (code %v), want context.Canceled and ErrRateLimited, code CANCELED", err, status.Code(err))
	}
}

func TestBulkhead(t *testing.T) {
	clk := newFakeClock()
	ctx := context.Background()

	ff := newLimiter(LimitPolicy{MaxConcurrent: 2, FailFast: true}, clk)
	for range 2 {
		if err := ff.acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	err := ff.acquire(ctx)
	if !errors.Is(err, ErrBulkheadFull) || status.Code(err) != codes.ResourceExhausted {
		t.Errorf("third call = %v, want ErrBulkheadFull with RESOURCE_EXHAUSTED", err)
	}
	ff.release()
	if err := ff.acquire(ctx); err != nil {
		t.Errorf("call after a release: %v", err)
	}

	w := newLimiter(LimitPolicy{MaxConcurrent: 1}, clk)
	if err := w.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- w.acquire(ctx) }()
	select {
	case err := <-got:
		t.Fatalf("second call did not wait: %v", err)
	case <-time.After(5 * time.Millisecond):
	}
	w.release()
	if err := <-got; err != nil {
		t.Fatalf("waiting call after a release: %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	err = w.acquire(dctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrBulkheadFull) || status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("wait past the deadline = %v (code %v)", err, status.Code(err))
	}
}

func TestNoLimits(t *testing.T) {
	if l := newLimiter(LimitPolicy{FailFast: true, Burst: 3}, newFakeClock()); l != nil {
		t.Errorf("a policy with no rate and no cap made a limiter")
	}
}
