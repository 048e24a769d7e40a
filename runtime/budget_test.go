package runtime

import (
	"testing"
	"time"
)

// retries counts how many retries b allows now, spending them.
func retries(b *RetryBudget, limit int) int {
	n := 0
	for n < limit && b.tryRetry() {
		n++
	}
	return n
}

func TestRetryBudgetFloor(t *testing.T) {
	clk := newFakeClock()
	b := NewRetryBudget(RetryBudgetPolicy{}, clk)
	// No calls: only the floor, MinPerSecond × TTL = 10 × 10s.
	if got := b.Available(); got != 100 {
		t.Errorf("Available() = %d, want 100", got)
	}
	if got := retries(b, 1000); got != 100 {
		t.Errorf("retries allowed by the floor = %d, want 100", got)
	}
	// Spent retries count for TTL, then are forgotten.
	clk.Advance(9 * time.Second)
	if got := retries(b, 1000); got != 0 {
		t.Errorf("retries within TTL of spending the floor = %d, want 0", got)
	}
	clk.Advance(1100 * time.Millisecond)
	if got := retries(b, 1000); got != 100 {
		t.Errorf("retries after TTL = %d, want 100", got)
	}
}

func TestRetryBudgetRatio(t *testing.T) {
	clk := newFakeClock()
	b := NewRetryBudget(RetryBudgetPolicy{Ratio: 0.1, MinPerSecond: -1}, clk)
	if got := retries(b, 1000); got != 0 {
		t.Fatalf("retries with no calls and no floor = %d, want 0", got)
	}
	for range 1000 {
		b.onCall()
	}
	if got := b.Available(); got != 100 {
		t.Errorf("Available() after 1000 calls = %d, want 100", got)
	}
	if got := retries(b, 1000); got != 100 {
		t.Errorf("retries after 1000 calls = %d, want 100", got)
	}
	// Deposits expire after TTL, with the withdrawals: nothing is left.
	clk.Advance(11 * time.Second)
	if got := retries(b, 1000); got != 0 {
		t.Errorf("retries after TTL = %d, want 0", got)
	}
}

func TestRetryBudgetSlidingWindow(t *testing.T) {
	clk := newFakeClock()
	b := NewRetryBudget(RetryBudgetPolicy{Ratio: 0.5, MinPerSecond: -1, TTL: 10 * time.Second}, clk)
	for range 10 {
		b.onCall() // t=0: earns 5 retries
	}
	clk.Advance(5 * time.Second)
	for range 10 {
		b.onCall() // t=5s: earns 5 more
	}
	if got := b.Available(); got != 10 {
		t.Errorf("Available() at 5s = %d, want 10", got)
	}
	clk.Advance(5500 * time.Millisecond) // t=10.5s: the first 10 calls expired
	if got := b.Available(); got != 5 {
		t.Errorf("Available() at 10.5s = %d, want 5", got)
	}
	clk.Advance(time.Hour)
	if got := b.Available(); got != 0 {
		t.Errorf("Available() an hour later = %d, want 0", got)
	}
}

func TestRetryBudgetBoundsRetriesUnderTotalFailure(t *testing.T) {
	// Calls spread over 30s, each wanting to retry without limit: the
	// retries in any TTL window stay within Ratio × calls + floor.
	clk := newFakeClock()
	b := NewRetryBudget(RetryBudgetPolicy{}, clk)
	total := 0
	for i := range 3000 {
		b.onCall()
		total += retries(b, 10)
		if i%100 == 99 {
			clk.Advance(time.Second)
		}
	}
	// 3 windows of 1000 calls: at most 3 × (ratio × 1000 + floor × 10s),
	// and at least what the ratio alone earns.
	earned := int(3 * DefaultRetryBudgetRatio * 1000)
	floor := int(3 * DefaultRetryBudgetMinPerSecond * DefaultRetryBudgetTTL.Seconds())
	if total > earned+floor || total < earned {
		t.Errorf("retries over 3 windows = %d, want within [%d, %d]", total, earned, earned+floor)
	}
}
