package goai

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/goai-dev/goai/internal/oip"
	"github.com/goai-dev/goai/internal/tfs"
	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc"
)

// Client is the runtime half of every generated model client: the
// connection (or transport) its calls go through, and the policies that
// span calls: version routing, rate limit and bulkhead, per-call and
// per-attempt deadlines, retries with backoff under a shared
// [RetryBudget], a circuit breaker per model and version, and a fallback
// model. A generated <Service>ModelClient holds one and offers its methods
// as its own; code that is not generated never makes one. It is safe for
// concurrent use.
type Client struct {
	cc        grpc.ClientConnInterface // nil for a transport that is not gRPC
	transport wire.Transport           // the model protocol's; nil for a direct service
	owned     io.Closer                // what Close closes: the connections the client dialed
	desc      *ModelDesc
	clock     Clock
	hooks     Hooks
	// transportName is how the client reaches the server, for events:
	// TransportGRPC or TransportHTTP.
	transportName string
	log           *eventLog // nil without WithLogger
	budget        *RetryBudget
	limits        *limiter
	fallback      *ModelRef
	rand          *randSource
	routes        atomic.Pointer[routeTable]
	// msgOpts are the per-call message limits of a client on a connection
	// of the caller's, which must not depend on how that was dialed.
	msgOpts []grpc.CallOption

	plans map[*MethodDesc]*methodPlan

	// breakerPolicy holds each model name's breaker policy;
	// defaultBreaker is the policy of any other model (a fallback).
	breakerPolicy  map[string]BreakerPolicy
	defaultBreaker BreakerPolicy
	breakers       sync.Map // ModelRef → *breaker; a nil *breaker when disabled
	breakerMu      sync.Mutex

	closeOnce sync.Once
	closeErr  error
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

// newClient returns a Client for the model desc describes, whose calls go
// through cc (and, for a model protocol, the transport made on it), under
// the options cfg. desc must not change afterwards.
//
// Defaults: limits from desc.Limits; fallback desc.Fallback; the retry
// budget of cc if cc is a [*Pool], otherwise a budget of default
// [RetryBudgetPolicy] of its own; each model's breaker policy is that of
// the first method in desc.Methods that calls the model (by name), and a
// model no method calls, such as a fallback, takes the policy of the
// service's model.
func newClient(cc grpc.ClientConnInterface, desc *ModelDesc, cfg *clientConfig) *Client {
	c := &Client{cc: cc, desc: desc, clock: cfg.clock, hooks: cfg.hooks, fallback: desc.Fallback, transportName: TransportGRPC}
	if c.clock == nil {
		c.clock = SystemClock()
	}
	if cfg.logger != nil {
		// After the user's hooks, with the client's clock, whatever the
		// order of the options.
		c.log = newEventLog(cfg.logger, c.clock, cfg.logEvery)
		c.hooks = chainHooks(c.hooks, c.log.hooks())
	}
	pool, onPool := cc.(*Pool)
	switch {
	case cfg.budgetSet:
		c.budget = cfg.budget
	case onPool:
		c.budget = pool.RetryBudget()
	default:
		c.budget = NewRetryBudget(RetryBudgetPolicy{}, c.clock)
	}
	if !onPool && cc != nil {
		recv, send := cfg.msg.effective()
		c.msgOpts = []grpc.CallOption{grpc.MaxCallRecvMsgSize(recv), grpc.MaxCallSendMsgSize(send)}
		cc = &sizeChecked{ClientConnInterface: cc, maxSend: send}
		c.cc = cc
	}
	if cc != nil {
		switch desc.Protocol {
		case ProtocolOpenInference:
			c.transport = oip.New(cc)
		case ProtocolTFServing:
			recv, _ := cfg.msg.effective()
			c.transport = tfs.NewGRPC(cc, tfsOptions(desc, recv, c.clock))
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

// dialClient returns a Client of the model desc describes on connections
// to target that it dials and owns, under opts: over REST for an http://
// or https:// target (see rest.go), else over a gRPC [Pool].
func dialClient(target string, desc *ModelDesc, opts []Option) (*Client, error) {
	o := newOptions(opts)
	if u, ok, err := restURL(target); ok {
		if err != nil {
			return nil, fmt.Errorf("goai: %q: %w", target, err)
		}
		return dialREST(target, u, desc, o)
	}
	pool, err := dial(target, &o.pool)
	if err != nil {
		return nil, err
	}
	c := newClient(pool, desc, &o.client)
	c.owned = pool
	if o.streams > 0 {
		c.useStreamTransport(pool, o.streams)
	}
	return c, nil
}

// methodModel returns the model m calls: its own, or the service's.
func (c *Client) methodModel(m *MethodDesc) ModelRef {
	if m.Model.Name == "" {
		return c.desc.Model
	}
	return m.Model
}

func (c *Client) newPlan(m *MethodDesc) *methodPlan {
	p := &methodPlan{method: m, model: c.methodModel(m)}
	p.routed = p.model.Name == c.desc.Model.Name
	p.retry = m.Policy.Retry.withDefaults()
	p.retryable = newCodeSet(p.retry.RetryableCodes)
	p.defaults = callConfig{
		timeout:        max(m.Policy.Timeout, 0),
		attemptTimeout: max(m.Policy.AttemptTimeout, 0),
		idleTimeout:    max(m.Policy.IdleTimeout, 0),
		maxAttempts:    p.retry.MaxAttempts,
		idempotent:     m.Policy.idempotent(c.desc.Protocol),
		grpcOpts:       c.msgOpts,
	}
	return p
}

// plan returns m's plan, computing it if m is not one of the Client's
// ModelDesc.Methods.
func (c *Client) plan(m *MethodDesc) *methodPlan {
	if p, ok := c.plans[m]; ok {
		return p
	}
	return c.newPlan(m)
}

// Model returns the model the client's service calls, as annotated: its
// name and version.
func (c *Client) Model() ModelRef { return c.desc.Model }

// Close closes the connections the client dialed itself, ending their
// calls, and returns their errors. A client made on a connection of the
// caller's leaves it open and returns nil. Later calls return the same.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.owned != nil {
			c.closeErr = c.owned.Close()
		}
	})
	return c.closeErr
}

// SetRoutes splits the calls of the service's model (methods that call
// another model are not routed) between its versions by weight, replacing
// the routes before; no routes send every call to the method's own version.
// It is safe to call at any time, concurrently with calls; each call picks
// its version once, and its retries stay on it. It returns an error, and
// keeps the routes before, if a weight is negative or all are zero.
func (c *Client) SetRoutes(routes []Route) error {
	t, err := newRouteTable(routes)
	if err != nil {
		return err
	}
	c.routes.Store(t)
	return nil
}

// Routes returns the routes set by [Client.SetRoutes], nil for none.
func (c *Client) Routes() []Route {
	t := c.routes.Load()
	if t == nil {
		return nil
	}
	return append([]Route(nil), t.routes...)
}

// BreakerState returns the state of model m's circuit breaker: closed for a
// model not called yet or whose breaker is disabled.
func (c *Client) BreakerState(m ModelRef) BreakerState {
	if b, ok := c.breakers.Load(m); ok {
		return b.(*breaker).state()
	}
	return BreakerClosed
}

// breakerFor returns model m's breaker, creating it on first use; nil if
// the model's policy disables it.
func (c *Client) breakerFor(m ModelRef) *breaker {
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

// route returns the model a call of plan p with options cfg goes to, and
// whether the routes drew its version.
func (c *Client) route(p *methodPlan, cfg *callConfig) (m ModelRef, routed bool) {
	m = p.model
	if cfg.versionSet {
		m.Version = cfg.version
		return m, false
	}
	if p.routed {
		if t := c.routes.Load(); t != nil {
			m.Version = t.pick(c.rand.intN(t.total()))
			return m, true
		}
	}
	return m, false
}
