package goai

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeClock is a Clock whose time moves only when told or when something
// sleeps on it, so tests of waits never really wait.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep records d and moves the clock by it at once.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

func TestSystemClockSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := SystemClock()
		start := time.Now()
		if err := clk.Sleep(context.Background(), 2*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 2*time.Millisecond {
			t.Errorf("Sleep(2ms) slept %v", d)
		}
		if now := clk.Now(); !now.Equal(start.Add(2 * time.Millisecond)) {
			t.Errorf("Now() = %v, want %v", now, start.Add(2*time.Millisecond))
		}
		// A context ending first ends the wait.
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		start = time.Now()
		if err := clk.Sleep(ctx, time.Hour); err != context.DeadlineExceeded || time.Since(start) != time.Millisecond {
			t.Errorf("Sleep(1h) with a 1ms deadline = %v after %v, want DeadlineExceeded after 1ms", err, time.Since(start))
		}
		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		if err := clk.Sleep(ctx, time.Hour); err != context.Canceled {
			t.Errorf("Sleep on a canceled context = %v, want context.Canceled", err)
		}
		if err := clk.Sleep(ctx, 0); err != context.Canceled {
			t.Errorf("Sleep(0) on a canceled context = %v, want context.Canceled", err)
		}
		if err := clk.Sleep(context.Background(), -time.Hour); err != nil || time.Since(start) != time.Millisecond {
			t.Errorf("Sleep(-1h) = %v, or slept", err)
		}
	})
}
