package goai

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/sony/gobreaker/v2"
	"google.golang.org/grpc"
)

// Caller runs the calls of one generated client through the runtime's
// policies: version routing, rate limit and bulkhead, per-call and
// per-attempt deadlines, retries with backoff under a shared
// [RetryBudget], a circuit breaker per model and version, and a fallback
// model. Create one per client with [NewCaller]; it is safe for concurrent
// use.
type Caller struct {
	cc       grpc.ClientConnInterface
	desc     *ModelDesc
	clock    Clock
	hooks    Hooks
	budget   *RetryBudget
	limits   *limiter
	fallback *ModelRef
	rand     *randSource
	routes   atomic.Pointer[routeTable]

	plans map[*MethodDesc]*methodPlan

	// breakerPolicy holds each model name's breaker policy;
	// defaultBreaker is the policy of any other model (a fallback).
	breakerPolicy  map[string]BreakerPolicy
	defaultBreaker BreakerPolicy
	breakers       sync.Map // ModelRef → *breaker; a nil *breaker when disabled
	breakerMu      sync.Mutex
}

// methodPlan is a method's policy with its defaults applied, computed once.
type methodPlan struct {
	method    *MethodDesc
	model     ModelRef
	routed    bool // the method calls the service's model, so routes apply
	retry     RetryPolicy
	retryable codeSet
	defaults  callConfig
}

// retryBudgetHolder is implemented by a connection that owns a retry
// budget for the Callers built on it, such as [*Pool].
type retryBudgetHolder interface{ RetryBudget() *RetryBudget }

// NewCaller returns a Caller for the model desc describes, whose calls go
// through cc (kept for [Caller.Conn]; the attempts themselves use whatever
// connection the [AttemptFunc] uses). desc must not change afterwards. It
// reads these options: [WithClock], [WithHooks], [WithRetryBudget],
// [WithFallback], [WithLimits], [WithBreakerPolicy], [WithRandSource];
// it ignores the [Pool]'s.
//
// Defaults: limits from desc.Limits; fallback desc.Fallback; the retry
// budget of cc if cc is a [*Pool], otherwise a budget of default
// [RetryBudgetPolicy] of its own; each model's breaker policy is that of
// the first method in desc.Methods that calls the model (by name), and a
// model no method calls, such as a fallback, takes the policy of the
// service's model.
func NewCaller(cc grpc.ClientConnInterface, desc *ModelDesc, opts ...Option) *Caller {
	cfg := newConfig(opts)
	c := &Caller{cc: cc, desc: desc, clock: cfg.clock, hooks: cfg.hooks, fallback: desc.Fallback}
	if c.clock == nil {
		c.clock = SystemClock()
	}
	switch {
	case cfg.budgetSet:
		c.budget = cfg.budget
	default:
		if h, ok := cc.(retryBudgetHolder); ok {
			c.budget = h.RetryBudget()
		} else {
			c.budget = NewRetryBudget(RetryBudgetPolicy{}, c.clock)
		}
	}
	if cfg.fallbackSet {
		c.fallback = cfg.fallback
	}
	limits := desc.Limits
	if cfg.limits != nil {
		limits = *cfg.limits
	}
	c.limits = newLimiter(limits, c.clock)
	if cfg.rand != nil {
		c.rand = &randSource{r: rand.New(cfg.rand)}
	}

	c.breakerPolicy = make(map[string]BreakerPolicy)
	for i := range desc.Methods {
		m := &desc.Methods[i]
		name := c.methodModel(m).Name
		if _, ok := c.breakerPolicy[name]; !ok {
			c.breakerPolicy[name] = m.Policy.Breaker
		}
	}
	if p, ok := c.breakerPolicy[desc.Model.Name]; ok {
		c.defaultBreaker = p
	} else if len(desc.Methods) > 0 {
		c.defaultBreaker = desc.Methods[0].Policy.Breaker
	}
	if cfg.breaker != nil {
		c.defaultBreaker = *cfg.breaker
		clear(c.breakerPolicy)
	}

	c.plans = make(map[*MethodDesc]*methodPlan, len(desc.Methods))
	for i := range desc.Methods {
		m := &desc.Methods[i]
		c.plans[m] = c.newPlan(m)
	}
	return c
}

// methodModel returns the model m calls: its own, or the service's.
func (c *Caller) methodModel(m *MethodDesc) ModelRef {
	if m.Model.Name == "" {
		return c.desc.Model
	}
	return m.Model
}

func (c *Caller) newPlan(m *MethodDesc) *methodPlan {
	p := &methodPlan{method: m, model: c.methodModel(m)}
	p.routed = p.model.Name == c.desc.Model.Name
	p.retry = m.Policy.Retry.withDefaults()
	p.retryable = newCodeSet(p.retry.RetryableCodes)
	p.defaults = callConfig{
		timeout:        max(m.Policy.Timeout, 0),
		attemptTimeout: max(m.Policy.AttemptTimeout, 0),
		maxAttempts:    p.retry.MaxAttempts,
		idempotent:     m.Policy.idempotent(c.desc.Protocol),
	}
	return p
}

// plan returns m's plan, computing it if m is not one of the Caller's
// ModelDesc.Methods.
func (c *Caller) plan(m *MethodDesc) *methodPlan {
	if p, ok := c.plans[m]; ok {
		return p
	}
	return c.newPlan(m)
}

// Conn returns the connection the Caller was created with.
func (c *Caller) Conn() grpc.ClientConnInterface { return c.cc }

// Desc returns the model descriptor the Caller was created with.
func (c *Caller) Desc() *ModelDesc { return c.desc }

// SetRoutes splits the calls of the service's model (methods that call
// another model are not routed) between its versions by weight, replacing
// the routes before; no routes send every call to the method's own version.
// It is safe to call at any time, concurrently with calls; each call picks
// its version once, and its retries stay on it. It returns an error, and
// keeps the routes before, if a weight is negative or all are zero.
func (c *Caller) SetRoutes(routes []Route) error {
	t, err := newRouteTable(routes)
	if err != nil {
		return err
	}
	c.routes.Store(t)
	return nil
}

// Routes returns the routes set by [Caller.SetRoutes], nil for none.
func (c *Caller) Routes() []Route {
	t := c.routes.Load()
	if t == nil {
		return nil
	}
	return append([]Route(nil), t.routes...)
}

// BreakerState returns the state of model m's circuit breaker: closed for a
// model not called yet or whose breaker is disabled.
func (c *Caller) BreakerState(m ModelRef) gobreaker.State {
	if b, ok := c.breakers.Load(m); ok {
		return b.(*breaker).state()
	}
	return gobreaker.StateClosed
}

// breakerFor returns model m's breaker, creating it on first use; nil if
// the model's policy disables it.
func (c *Caller) breakerFor(m ModelRef) *breaker {
	if b, ok := c.breakers.Load(m); ok {
		return b.(*breaker)
	}
	c.breakerMu.Lock()
	defer c.breakerMu.Unlock()
	if b, ok := c.breakers.Load(m); ok {
		return b.(*breaker)
	}
	p, ok := c.breakerPolicy[m.Name]
	if !ok {
		p = c.defaultBreaker
	}
	var b *breaker
	if !p.Disabled {
		b = newBreaker(m, p, c.hooks.BreakerStateChange)
	}
	c.breakers.Store(m, b)
	return b
}

// route returns the model a call of plan p with options cfg goes to.
func (c *Caller) route(p *methodPlan, cfg *callConfig) ModelRef {
	m := p.model
	if cfg.versionSet {
		m.Version = cfg.version
		return m
	}
	if p.routed {
		if t := c.routes.Load(); t != nil {
			m.Version = t.pick(c.rand.intN(t.total()))
		}
	}
	return m
}
