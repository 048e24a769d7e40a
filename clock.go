package goai

import (
	"context"
	"time"
)

// Clock is the time source of a [Client] and a [RetryBudget]: backoff
// waits, deadlines, rate-limit waits and budget windows all read it, so
// tests can run them without sleeping. The breaker's open timeout is the
// exception: gobreaker reads time.Now itself. The deadlines a Client
// computes from Now end up on contexts, which expire by the real clock, so
// a fake Clock should start at time.Now() and only move forward.
//
// Tests can instead run the [SystemClock] in a testing/synctest bubble,
// whose fake time moves only when every goroutine of the test waits: then
// contexts' deadlines and gobreaker's time.Now follow the same clock, and
// every wait is exact.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx is done, whichever is first. It
	// returns ctx.Err() if ctx ended the wait and nil otherwise; with
	// d <= 0 it returns ctx.Err() at once.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock returns the real clock: time.Now and timers.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
