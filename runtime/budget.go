package runtime

import (
	"math"
	"sync"
	"time"
)

// Defaults of [RetryBudgetPolicy]: Finagle's RetryBudget defaults
// (percentCanRetry 0.2, minRetriesPerSec 10, ttl 10s). A ratio of 0.2 lets
// retries absorb a server failing up to about a fifth of calls; gRPC's
// retryThrottling examples use 0.1, which starves retries as soon as a
// tenth of calls fail.
const (
	// DefaultRetryBudgetRatio is [RetryBudgetPolicy.Ratio]'s default.
	DefaultRetryBudgetRatio = 0.2
	// DefaultRetryBudgetMinPerSecond is [RetryBudgetPolicy.MinPerSecond]'s
	// default.
	DefaultRetryBudgetMinPerSecond = 10
	// DefaultRetryBudgetTTL is [RetryBudgetPolicy.TTL]'s default.
	DefaultRetryBudgetTTL = 10 * time.Second
)

// RetryBudgetPolicy sets a [RetryBudget]: within any TTL window, at most
// Ratio × calls + MinPerSecond × TTL retries. Zero fields take the defaults
// named on each.
type RetryBudgetPolicy struct {
	// Ratio is the retries each call earns. 0: 0.2; negative: none, so
	// only the MinPerSecond floor allows retries.
	Ratio float64
	// MinPerSecond is the floor of retries per second allowed whatever the
	// traffic, so that a little-used client can still retry. 0: 10;
	// negative: no floor.
	MinPerSecond float64
	// TTL is how long a call's earned retries, and a retry's cost, count.
	// 0: 10s.
	TTL time.Duration
}

// budgetScale is the fixed-point scale of budget balances: a call deposits
// budgetScale and a retry withdraws budgetScale / Ratio (Finagle's scheme),
// so the arithmetic stays in exact integers.
const budgetScale = 1_000_000

// budgetBuckets is how many slices of TTL the window is kept in.
const budgetBuckets = 10

// RetryBudget caps retries relative to calls, in the manner of Finagle's
// RetryBudget and gRPC's retryThrottling: each call deposits into a window
// that forgets entries older than TTL, each retry withdraws, and a retry is
// allowed only while the window's balance plus a fixed reserve covers it.
// When a server fails everything, retries add at most Ratio × calls +
// MinPerSecond × TTL attempts instead of multiplying the load.
//
// A RetryBudget is safe for concurrent use. Share one between [Caller]s
// (through [WithRetryBudget]) to bound their retries together; a [Pool]
// holds one that the Callers built on it share by default.
type RetryBudget struct {
	clock    Clock
	deposit  int64 // added per call
	withdraw int64 // taken per retry
	reserve  int64 // always available, never spent for good
	slot     time.Duration
	start    time.Time

	mu      sync.Mutex
	buckets [budgetBuckets]int64
	cur     int64 // index of the current slot since start
	sum     int64 // sum of buckets
}

// NewRetryBudget returns a budget set by p that reads time from clock; a nil
// clock means [SystemClock].
func NewRetryBudget(p RetryBudgetPolicy, clock Clock) *RetryBudget {
	if clock == nil {
		clock = SystemClock()
	}
	if p.Ratio == 0 {
		p.Ratio = DefaultRetryBudgetRatio
	}
	if p.MinPerSecond == 0 {
		p.MinPerSecond = DefaultRetryBudgetMinPerSecond
	}
	if p.TTL <= 0 {
		p.TTL = DefaultRetryBudgetTTL
	}
	b := &RetryBudget{clock: clock, start: clock.Now()}
	b.slot = max(p.TTL/budgetBuckets, time.Nanosecond)
	if p.Ratio > 0 {
		b.deposit = budgetScale
		b.withdraw = int64(math.Ceil(budgetScale / p.Ratio))
	} else {
		b.withdraw = budgetScale
	}
	if p.MinPerSecond > 0 {
		b.reserve = int64(p.MinPerSecond * p.TTL.Seconds() * float64(b.withdraw))
	}
	return b
}

// advance moves the window to now, forgetting slots older than TTL. b.mu
// must be held.
func (b *RetryBudget) advance() {
	now := int64(b.clock.Now().Sub(b.start) / b.slot)
	if now <= b.cur {
		return
	}
	if now-b.cur >= budgetBuckets {
		b.buckets = [budgetBuckets]int64{}
		b.sum = 0
	} else {
		for i := b.cur + 1; i <= now; i++ {
			j := i % budgetBuckets
			b.sum -= b.buckets[j]
			b.buckets[j] = 0
		}
	}
	b.cur = now
}

// onCall records a call, earning its share of retries.
func (b *RetryBudget) onCall() {
	if b.deposit == 0 {
		return
	}
	b.mu.Lock()
	b.advance()
	b.buckets[b.cur%budgetBuckets] += b.deposit
	b.sum += b.deposit
	b.mu.Unlock()
}

// tryRetry spends one retry and reports true, or reports false if the
// budget has none left.
func (b *RetryBudget) tryRetry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	if b.sum+b.reserve < b.withdraw {
		return false
	}
	b.buckets[b.cur%budgetBuckets] -= b.withdraw
	b.sum -= b.withdraw
	return true
}

// Available returns how many retries the budget would allow now.
func (b *RetryBudget) Available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	n := (b.sum + b.reserve) / b.withdraw
	if n < 0 {
		return 0
	}
	return int(n)
}
