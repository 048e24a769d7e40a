package goai

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
//
// [NewRetryBudget] cannot fail, so it brings every field into range rather
// than rejecting it, as documented on each: NaN counts as 0 (the default),
// and values too small or too large to count with are clamped, so that no
// policy makes the budget's arithmetic overflow or lets every retry
// through.
type RetryBudgetPolicy struct {
	// Ratio is the retries each call earns. 0 or NaN: 0.2; negative: none,
	// so only the MinPerSecond floor allows retries. It is counted in
	// millionths of a retry: a Ratio below 0.0000005 earns nothing, and
	// one above [MaxRetryBudgetRatio] (+Inf included) counts as that.
	Ratio float64
	// MinPerSecond is the floor of retries per second allowed whatever the
	// traffic, so that a little-used client can still retry. 0 or NaN: 10;
	// negative: no floor. The floor, MinPerSecond × TTL retries, is capped
	// at [MaxRetryBudgetFloor] (+Inf included).
	MinPerSecond float64
	// TTL is how long a call's earned retries, and a retry's cost, count;
	// the window moves in steps of a tenth of it. 0 or negative: 10s;
	// below 10ns: 10ns.
	TTL time.Duration
}

// Bounds of a [RetryBudgetPolicy]'s fields.
const (
	// MaxRetryBudgetRatio is the largest Ratio counted: a call earns at
	// most a thousand retries, Finagle's bound on its percentCanRetry.
	MaxRetryBudgetRatio = 1000
	// MaxRetryBudgetFloor is the most retries the MinPerSecond floor
	// allows in one TTL window.
	MaxRetryBudgetFloor = 1 << 36
)

// budgetScale is the fixed-point scale of budget balances: a retry costs
// budgetScale and a call earns Ratio × budgetScale, rounded, so the
// arithmetic stays in exact integers.
const budgetScale = 1_000_000

// budgetBuckets is how many slices of TTL the window is kept in.
const budgetBuckets = 10

// budgetMaxBucket caps what one slot holds. With every slot at most this,
// the floor (at most MaxRetryBudgetFloor × budgetScale, below it too) and
// withdrawals allowed only while the balance covers them, each slot stays
// within [-floor - 9 × cap, cap], so sums of slots and the floor stay
// within about 101 × 2^56 < 2^63: no sum in the budget can overflow.
const budgetMaxBucket = 1 << 56

// RetryBudget caps retries relative to calls, in the manner of Finagle's
// RetryBudget and gRPC's retryThrottling: each call deposits into a window
// that forgets entries older than TTL, each retry withdraws, and a retry is
// allowed only while the window's balance plus a fixed reserve covers it.
// When a server fails everything, retries add at most Ratio × calls +
// MinPerSecond × TTL attempts instead of multiplying the load.
//
// A RetryBudget is safe for concurrent use. Share one between clients
// (through [WithRetryBudget]) to bound their retries together; a [Pool]
// holds one that the Callers built on it share by default.
type RetryBudget struct {
	clock   Clock
	deposit int64 // added per call, at most MaxRetryBudgetRatio × budgetScale
	reserve int64 // always available, never spent for good
	slot    time.Duration
	start   time.Time

	mu      sync.Mutex
	buckets [budgetBuckets]int64
	cur     int64 // index of the current slot since start
	sum     int64 // sum of buckets
}

// NewRetryBudget returns a budget set by p, its fields brought into range
// as [RetryBudgetPolicy] says, that reads time from clock; a nil clock
// means [SystemClock].
func NewRetryBudget(p RetryBudgetPolicy, clock Clock) *RetryBudget {
	if clock == nil {
		clock = SystemClock()
	}
	if p.Ratio == 0 || math.IsNaN(p.Ratio) {
		p.Ratio = DefaultRetryBudgetRatio
	}
	if p.MinPerSecond == 0 || math.IsNaN(p.MinPerSecond) {
		p.MinPerSecond = DefaultRetryBudgetMinPerSecond
	}
	if p.TTL <= 0 {
		p.TTL = DefaultRetryBudgetTTL
	}
	b := &RetryBudget{clock: clock, start: clock.Now()}
	b.slot = max(p.TTL/budgetBuckets, time.Nanosecond)
	if p.Ratio > 0 {
		b.deposit = int64(math.Round(min(p.Ratio, MaxRetryBudgetRatio) * budgetScale))
	}
	if p.MinPerSecond > 0 {
		floor := min(p.MinPerSecond*p.TTL.Seconds(), MaxRetryBudgetFloor)
		b.reserve = int64(math.Round(floor * budgetScale))
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
	slot := &b.buckets[b.cur%budgetBuckets]
	add := min(b.deposit, budgetMaxBucket-*slot) // the slot is at most the cap
	if add > 0 {
		*slot += add
		b.sum += add
	}
	b.mu.Unlock()
}

// tryRetry spends one retry and reports true, or reports false if the
// budget has none left.
func (b *RetryBudget) tryRetry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	if b.sum+b.reserve < budgetScale {
		return false
	}
	b.buckets[b.cur%budgetBuckets] -= budgetScale
	b.sum -= budgetScale
	return true
}

// Available returns how many retries the budget would allow now.
func (b *RetryBudget) Available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	n := (b.sum + b.reserve) / budgetScale
	if n < 0 {
		return 0
	}
	return int(min(n, math.MaxInt))
}
