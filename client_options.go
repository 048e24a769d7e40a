package goai

import "math/rand/v2"

// WithRetryBudget makes retries be paid from b, shared with everything
// else given b; nil turns the budget off. Given to a [Pool], it is the
// budget the clients built on the pool share; given to a client, it is
// that client's. Without it, a Pool holds its own budget of default
// [RetryBudgetPolicy], which the clients built on it share, and a client
// on any other connection holds its own.
func WithRetryBudget(b *RetryBudget) PoolClientOption {
	return bothOption{
		pool:   func(c *poolConfig) { c.budget, c.budgetSet = b, true },
		client: func(c *clientConfig) { c.budget, c.budgetSet = b, true },
	}
}

// WithMaxRecvMsgSize sets the largest response message, in bytes, instead
// of [DefaultMaxMsgSize]. A [Pool] applies it to every call on its
// connections; a client on a connection of the caller's (a
// *grpc.ClientConn, say) applies it to each of its own calls, so that it
// accepts the responses a dialing client accepts whatever limit the
// connection was made with. Over REST it limits a response's body.
func WithMaxRecvMsgSize(n int) PoolClientOption {
	return bothOption{
		pool:   func(c *poolConfig) { c.msg.recv = n },
		client: func(c *clientConfig) { c.msg.recv = n },
	}
}

// WithMaxSendMsgSize sets the largest request message, in bytes, instead
// of [DefaultMaxMsgSize], where [WithMaxRecvMsgSize] sets its receive
// limit. A client checks each request against it before grpc does,
// failing a larger one with [ErrMessageTooLarge] without sending it; set
// the limit here rather than through [WithDialOptions], which the check
// does not see. Over REST it limits a request's body, JSON header and
// binary chunks together.
func WithMaxSendMsgSize(n int) PoolClientOption {
	return bothOption{
		pool:   func(c *poolConfig) { c.msg.send = n },
		client: func(c *clientConfig) { c.msg.send = n },
	}
}

// WithClock makes a client read time from clk instead of [SystemClock]:
// backoff waits, timeouts, rate-limit waits and, for the retry budget the
// client creates itself, the budget's window.
func WithClock(clk Clock) ClientOption {
	return clientOption(func(c *clientConfig) { c.clock = clk })
}

// WithHooks makes a client report its calls, attempts, retries and breaker
// changes to h. Several WithHooks chain: each hook of a later one runs
// after the same hook of the earlier ones, and the context an AttemptStart
// returns is the next one's.
func WithHooks(h Hooks) ClientOption {
	return clientOption(func(c *clientConfig) { c.hooks = ChainHooks(c.hooks, h) })
}

// WithFallback makes a client call model m when a call's own model fails
// (see [Client]), instead of [ModelDesc.Fallback]. A zero ModelRef turns
// fallback off.
func WithFallback(m ModelRef) ClientOption {
	return clientOption(func(c *clientConfig) {
		c.fallbackSet = true
		c.fallback = nil
		if m != (ModelRef{}) {
			c.fallback = &m
		}
	})
}

// WithLimits makes a client apply p instead of [ModelDesc.Limits].
func WithLimits(p LimitPolicy) ClientOption {
	return clientOption(func(c *clientConfig) { c.limits = &p })
}

// WithBreakerPolicy makes a client give every model's breaker policy p,
// instead of the policy of the model's first method in
// [ModelDesc.Methods].
func WithBreakerPolicy(p BreakerPolicy) ClientOption {
	return clientOption(func(c *clientConfig) { c.breaker = &p })
}

// WithRandSource makes a client draw backoff jitter and version routes
// from src, under a lock, instead of math/rand/v2's global generator:
// seeded, it makes them reproducible in tests.
func WithRandSource(src rand.Source) ClientOption {
	return clientOption(func(c *clientConfig) { c.rand = src })
}
