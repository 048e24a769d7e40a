package goai

import (
	"math"
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

// TestRetryBudgetPolicyOutOfRange checks that NewRetryBudget brings every
// field into range: a tiny Ratio once overflowed its cost per retry into a
// negative one and allowed every retry.
func TestRetryBudgetPolicyOutOfRange(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name  string
		p     RetryBudgetPolicy
		calls int
		want  int // retries allowed after calls, at once
	}{
		{"tiny ratio", RetryBudgetPolicy{Ratio: 1e-15, MinPerSecond: -1}, 1000, 0},
		{"smallest ratio", RetryBudgetPolicy{Ratio: 1e-6, MinPerSecond: -1}, 2_000_000, 2},
		{"ratio below a millionth", RetryBudgetPolicy{Ratio: 4e-7, MinPerSecond: -1}, 2_000_000, 0},
		{"NaN ratio", RetryBudgetPolicy{Ratio: nan, MinPerSecond: -1}, 10, 2},
		{"infinite ratio", RetryBudgetPolicy{Ratio: inf, MinPerSecond: -1}, 3, 3 * MaxRetryBudgetRatio},
		{"huge ratio", RetryBudgetPolicy{Ratio: math.MaxFloat64, MinPerSecond: -1}, 1, MaxRetryBudgetRatio},
		{"no ratio", RetryBudgetPolicy{Ratio: math.Inf(-1), MinPerSecond: -1}, 100, 0},
		{"NaN floor", RetryBudgetPolicy{Ratio: -1, MinPerSecond: nan}, 0, 100},
		{"infinite floor", RetryBudgetPolicy{Ratio: -1, MinPerSecond: inf}, 0, MaxRetryBudgetFloor},
		{"floor of a huge TTL", RetryBudgetPolicy{Ratio: -1, MinPerSecond: 1e9, TTL: math.MaxInt64}, 0, MaxRetryBudgetFloor},
		{"tiny floor", RetryBudgetPolicy{Ratio: -1, MinPerSecond: 1e-300}, 0, 0},
		{"negative TTL", RetryBudgetPolicy{Ratio: -1, MinPerSecond: 1, TTL: -time.Second}, 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewRetryBudget(tc.p, newFakeClock())
			for range tc.calls {
				b.onCall()
			}
			if got := b.Available(); got != tc.want {
				t.Errorf("Available() = %d, want %d", got, tc.want)
			}
			// Spend them, up to a thousand: each spent is one fewer.
			spend := min(tc.want, 1000)
			if got := retries(b, spend); got != spend {
				t.Errorf("%d retries allowed, want %d", got, spend)
			}
			if got := b.Available(); got != tc.want-spend {
				t.Errorf("Available() = %d after %d retries, want %d", got, spend, tc.want-spend)
			}
			if tc.want == spend && b.tryRetry() {
				t.Errorf("a retry allowed past the budget")
			}
			checkBudget(t, b)
		})
	}
}

// TestRetryBudgetSaturates checks that balances stop at their cap instead
// of overflowing, however long a window fills, and that spending from a
// full window and the largest floor stays exact.
func TestRetryBudgetSaturates(t *testing.T) {
	clk := newFakeClock()
	b := NewRetryBudget(RetryBudgetPolicy{Ratio: MaxRetryBudgetRatio, MinPerSecond: math.Inf(1), TTL: math.MaxInt64}, clk)
	// Reaching the cap by calls would take 7e7 of them: start the slot
	// just below it.
	b.buckets[0], b.sum = budgetMaxBucket-1, budgetMaxBucket-1
	for range 3 {
		b.onCall()
	}
	if b.buckets[0] != budgetMaxBucket || b.sum != budgetMaxBucket {
		t.Errorf("slot %d, sum %d after deposits past the cap; want both at the cap %d", b.buckets[0], b.sum, int64(budgetMaxBucket))
	}
	// Fill every slot to the cap.
	for i := 1; i < budgetBuckets; i++ {
		clk.Advance(b.slot)
		b.mu.Lock()
		b.advance()
		b.buckets[b.cur%budgetBuckets] = budgetMaxBucket
		b.sum += budgetMaxBucket
		b.mu.Unlock()
	}
	want := (budgetBuckets*budgetMaxBucket + b.reserve) / budgetScale
	if got := b.Available(); int64(got) != want {
		t.Errorf("Available() = %d, want %d", got, want)
	}
	checkBudget(t, b)
	// Spend a window's worth from the current slot: it may go far below
	// zero, and sums still hold.
	b.mu.Lock()
	n := (b.sum + b.reserve) / budgetScale
	b.buckets[b.cur%budgetBuckets] -= n * budgetScale
	b.sum -= n * budgetScale
	b.mu.Unlock()
	if b.tryRetry() {
		t.Errorf("a retry allowed past the balance")
	}
	checkBudget(t, b)
	clk.Advance(time.Duration(budgetBuckets-1) * b.slot) // every full slot but the spent one expires
	if got := b.Available(); got != 0 {
		t.Errorf("Available() = %d once the deposits expired, want 0", got)
	}
	checkBudget(t, b)
}

// checkBudget fails t if b's sum is not the sum of its slots.
func checkBudget(t *testing.T, b *RetryBudget) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var sum int64
	for _, v := range b.buckets {
		sum += v
	}
	if sum != b.sum {
		t.Errorf("budget sum %d, slots add up to %d", b.sum, sum)
	}
}
