package goai

import (
	"crypto/tls"
	"math/rand/v2"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// Option configures a [Pool] at [Dial] or a [Caller] at [NewCaller]. A
// generated client passes the same options to both, so each option says
// which it concerns; the other ignores it.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds every option; Dial reads the pool part, NewCaller the caller
// part.
type config struct {
	// Pool.
	poolSize  int
	pick      PickPolicy
	keepalive *keepalive.ClientParameters
	maxRecv   int
	maxSend   int
	creds     credentials.TransportCredentials
	tls       *tls.Config
	insecure  bool
	perRPC    []credentials.PerRPCCredentials
	dialOpts  []grpc.DialOption

	// Both.
	budget    *RetryBudget
	budgetSet bool

	// Caller.
	clock       Clock
	hooks       Hooks
	fallback    *ModelRef
	fallbackSet bool
	limits      *LimitPolicy
	breaker     *BreakerPolicy
	rand        rand.Source
}

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	return c
}

// WithRetryBudget makes a [Pool] or a [Caller] use b to bound retries,
// shared with everything else given b; nil turns the budget off. Without
// it, a Pool holds its own budget of default [RetryBudgetPolicy], which the
// Callers built on the Pool share, and a Caller built on any other
// connection holds its own.
func WithRetryBudget(b *RetryBudget) Option {
	return optionFunc(func(c *config) { c.budget, c.budgetSet = b, true })
}

// WithClock makes a [Caller] read time from clk instead of [SystemClock]:
// backoff waits, timeouts, rate-limit waits and, for the budget the Caller
// creates itself, the budget's window.
func WithClock(clk Clock) Option {
	return optionFunc(func(c *config) { c.clock = clk })
}

// WithHooks makes a [Caller] report its calls, attempts, retries and
// breaker changes to h. A later WithHooks replaces an earlier one.
func WithHooks(h Hooks) Option {
	return optionFunc(func(c *config) { c.hooks = h })
}

// WithFallback makes a [Caller] call model m when a call's own model fails
// (see [Caller.Invoke]), instead of [ModelDesc.Fallback]. A zero ModelRef
// turns fallback off.
func WithFallback(m ModelRef) Option {
	return optionFunc(func(c *config) {
		c.fallbackSet = true
		c.fallback = nil
		if m != (ModelRef{}) {
			c.fallback = &m
		}
	})
}

// WithLimits makes a [Caller] apply p instead of [ModelDesc.Limits].
func WithLimits(p LimitPolicy) Option {
	return optionFunc(func(c *config) { c.limits = &p })
}

// WithBreakerPolicy makes a [Caller] give every model's breaker policy p,
// instead of the policy of the model's first method in [ModelDesc.Methods].
func WithBreakerPolicy(p BreakerPolicy) Option {
	return optionFunc(func(c *config) { c.breaker = &p })
}

// WithRandSource makes a [Caller] draw backoff jitter and version routes
// from src, under a lock, instead of math/rand/v2's global generator:
// seeded, it makes them reproducible in tests.
func WithRandSource(src rand.Source) Option {
	return optionFunc(func(c *config) { c.rand = src })
}
