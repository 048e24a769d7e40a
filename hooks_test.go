package goai

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type ctxKey struct{}

func TestHooks(t *testing.T) {
	desc := fallbackDesc(retrying(2))
	var starts, dones []AttemptEvent
	var retries []RetryEvent
	var calls []CallEvent
	h := Hooks{
		AttemptStart: func(ctx context.Context, e AttemptEvent) context.Context {
			starts = append(starts, e)
			return context.WithValue(ctx, ctxKey{}, e.Attempt)
		},
		AttemptDone: func(ctx context.Context, e AttemptEvent) {
			if ctx.Value(ctxKey{}) != e.Attempt {
				t.Errorf("AttemptDone did not get AttemptStart's context")
			}
			dones = append(dones, e)
		},
		Retry:    func(_ context.Context, e RetryEvent) { retries = append(retries, e) },
		CallDone: func(_ context.Context, e CallEvent) { calls = append(calls, e) },
	}
	c, _ := newTestCaller(t, desc, WithHooks(h))
	fn := func(ctx context.Context, a attemptArgs) error {
		if ctx.Value(ctxKey{}) != a.number {
			t.Errorf("attempt %d did not get AttemptStart's context", a.number)
		}
		if a.fallback {
			return nil
		}
		return errUnavailable
	}
	if err := c.invoke(context.Background(), &desc.Methods[0], fn); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 3 || len(dones) != 3 || !starts[2].Fallback || starts[2].Model != small {
		t.Fatalf("attempt events: starts %+v, dones %+v", starts, dones)
	}
	if dones[0].Code != codes.Unavailable || dones[0].Err != errUnavailable || dones[2].Code != codes.OK || dones[0].Method != "/test.v1.M/Do" {
		t.Errorf("done events = %+v", dones)
	}
	if len(retries) != 1 || retries[0].Attempt != 1 || retries[0].Backoff != 100*time.Millisecond || retries[0].Code != codes.Unavailable {
		t.Errorf("retry events = %+v", retries)
	}
	if len(calls) != 1 || calls[0].Code != codes.OK || !calls[0].Info.Fallback || calls[0].Info.Attempts != 3 || calls[0].Info.Latency != 100*time.Millisecond {
		t.Errorf("call events = %+v", calls)
	}
}

func TestCallerLimits(t *testing.T) {
	desc := testDesc(CallPolicy{})
	desc.Limits = LimitPolicy{MaxConcurrent: 1, FailFast: true}
	var calls []CallEvent
	c, _ := newTestCaller(t, desc, WithHooks(Hooks{CallDone: func(_ context.Context, e CallEvent) { calls = append(calls, e) }}))
	inside := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- c.invoke(context.Background(), &desc.Methods[0], func(context.Context, attemptArgs) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	var info CallInfo
	err := c.invoke(context.Background(), &desc.Methods[0], fail(nil), Report(&info))
	if !errors.Is(err, ErrBulkheadFull) || status.Code(err) != codes.ResourceExhausted || info.Attempts != 0 {
		t.Errorf("second call = %v, info %+v; want ErrBulkheadFull without an attempt", err, info)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.invoke(context.Background(), &desc.Methods[0], fail(nil)); err != nil {
		t.Errorf("call after the slot came back: %v", err)
	}
	if len(calls) != 3 || calls[0].Code != codes.ResourceExhausted {
		t.Errorf("call events = %+v", calls)
	}

	// WithLimits replaces the descriptor's limits.
	o := testClient(nil, desc, WithLimits(LimitPolicy{RatePerSecond: 1, Burst: 1, FailFast: true}), WithClock(newFakeClock()))
	_ = o.invoke(context.Background(), &desc.Methods[0], fail(nil))
	if err := o.invoke(context.Background(), &desc.Methods[0], fail(nil)); !errors.Is(err, ErrRateLimited) {
		t.Errorf("call over WithLimits' rate = %v, want ErrRateLimited", err)
	}
}
