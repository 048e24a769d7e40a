package goai

import (
	"context"
	"sync"
	"time"

	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// attemptFunc makes one attempt of a call: it builds the request for
// model a.model, sends it with a.callOptions (or, through a Transport,
// with a.wire), and decodes the response. ctx carries the attempt's
// deadline. Its error decides what happens next, by its gRPC code (see
// [status.FromError]); an error without one counts as a client error and
// ends the call.
type attemptFunc func(ctx context.Context, a attemptArgs) error

// attempt makes f an attempter.
func (f attemptFunc) attempt(ctx context.Context, a attemptArgs) error { return f(ctx, a) }

// attempter makes the attempts of a call, as an attemptFunc does. A call
// path that keeps per-call state makes its state one (see
// [Client.infer]): the state and the attempts then cost one allocation,
// not a closure and each variable it captures.
type attempter interface {
	attempt(ctx context.Context, a attemptArgs) error
}

// attemptArgs describes one attempt to an attemptFunc.
type attemptArgs struct {
	// model is the model to call: the method's, the routed version, or
	// the fallback.
	model ModelRef
	// number is the attempt's number in its call, from 1.
	number int
	// fallback is true for the attempt on the fallback model.
	fallback bool
	// callOptions must be passed to the attempt's RPC: they hold the
	// call's [WithGRPCCallOptions] and the client's message limits, and
	// capture the trailer, which may carry the server's retry pushback
	// and tells the server's statuses from grpc's own (see
	// [ErrMessageTooLarge]). They are valid only until the attemptFunc
	// returns: the RPC must have finished by then.
	callOptions []grpc.CallOption
	// wire is what a Transport gets: callOptions, and room for its report
	// of the server's pushback.
	wire *wire.Attempt
	// stream is the state of a streaming call, which the attempt reports
	// to; nil for a unary call.
	stream *streamState
}

// invoke runs one call of method, one of the Client's ModelDesc.Methods,
// making attempts with fn. In order:
//
//   - the model: the call's [WithModelVersion], else a version drawn from
//     the routes ([Client.SetRoutes]), else the method's model;
//   - the call's timeout (CallPolicy.Timeout, [WithTimeout]), on top of
//     ctx's deadline, counted from the moment Invoke is called: it bounds
//     the whole call as the caller sees it, waits on limits included;
//   - the limits: a rate token and a bulkhead slot, taken once per call,
//     failing fast with [ErrRateLimited] or [ErrBulkheadFull] (code
//     RESOURCE_EXHAUSTED) or waiting within ctx and the call's timeout;
//   - each attempt's timeout (CallPolicy.AttemptTimeout,
//     [WithAttemptTimeout]);
//   - the model's breaker, asked once per call (see [BreakerPolicy]): while
//     it is open the call fails at once with [ErrBreakerOpen], code
//     UNAVAILABLE; otherwise the call makes its attempts, and the breaker
//     counts the outcome of the last. It counts server failures (UNAVAILABLE, DEADLINE_EXCEEDED other
//     than the caller's own, RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN, and any
//     code outside gRPC's range, as UNKNOWN); it ignores the caller's
//     cancellation and deadline and a message over a size limit of this
//     client's (see [ErrMessageTooLarge]), and counts client errors
//     (INVALID_ARGUMENT, NOT_FOUND, ...) as the server being healthy;
//   - retries, for an idempotent call only, of an attempt that failed
//     with a retryable code (RetryPolicy.RetryableCodes) or was cut by the
//     attempt timeout, never of a message over a size limit of this
//     client's: after the server's pushback (grpc-retry-pushback-ms, or
//     HTTP's Retry-After over REST; a
//     negative or malformed one, or one longer than both [MaxPushback] and
//     RetryPolicy.MaxBackoff, stops retrying) or else an exponential
//     backoff with jitter;
//     never past the deadline: a retry is made only if, after its wait,
//     at least as much time remains as the failed attempt took; each retry
//     is paid from the [RetryBudget], and without budget the call ends
//     with the last error, also matching [ErrRetryBudgetExhausted];
//   - the fallback model ([ModelDesc.Fallback], [WithFallback]), tried
//     once, through its own breaker, when the model's breaker refused the
//     call, or when an idempotent call's last attempt failed on the
//     server's side, and time remains. The fallback is not charged to the
//     retry budget. If it fails, the error is the fallback's, also matching
//     the first model's.
//
// invoke returns nil, or the error of the last attempt unchanged when no
// policy of the runtime ended the call, so errors of fn keep their types
// and gRPC codes. [Report] tells what happened.
func (c *Client) invoke(ctx context.Context, method *MethodDesc, fn attemptFunc, opts ...CallOption) error {
	return c.invokeWith(ctx, method, fn, nil, opts)
}

// callSize is what a call's request carries, and its response, for its
// events ([CallEvent]): an attempter sets response before it returns
// nil.
type callSize struct {
	items             int
	request, response int64
}

// invokeWith is invoke with the attempts made by fn, of a call whose size
// the caller knows, nil if it does not; a streaming call's fn is a
// [streamer] (see inferStream for how its policies differ).
func (c *Client) invokeWith(ctx context.Context, method *MethodDesc, fn attempter, size *callSize, opts []CallOption) error {
	start := c.clock.Now()
	p := c.plan(method)
	cfg := &p.defaults // read-only; copied only when options change it
	if len(opts) > 0 {
		own := p.defaults
		for _, o := range opts {
			if o != nil {
				o.applyCall(&own)
			}
		}
		cfg = &own
	}
	target, routed := c.route(p, cfg)
	if size == nil {
		size = &callSize{}
	}
	if h := c.hooks.CallStart; h != nil {
		if hc := h(ctx, CallStartEvent{Method: method.FullMethod, Model: target, Protocol: c.desc.Protocol,
			Transport: c.transportName, Items: size.items, RequestBytes: size.request}); hc != nil {
			ctx = hc
		}
	}
	r := callRun{c: c, plan: p, cfg: cfg, fn: fn, callerCtx: ctx}
	stream := streamOf(fn)
	if stream != nil {
		r.stream = stream
		stream.attemptTimeout, stream.idleTimeout = cfg.attemptTimeout, cfg.idleTimeout
	}
	r.info.Model = target
	err := r.run(ctx, start)
	if err != nil {
		err = withContextCode(err)
	}
	r.info.Latency = c.clock.Now().Sub(start)
	if stream != nil {
		r.info.Responses = stream.delivered
	}
	if cfg.report != nil {
		*cfg.report = r.info
	}
	if h := c.hooks.CallDone; h != nil {
		e := CallEvent{Method: method.FullMethod, Info: r.info, Code: status.Code(err), Err: err,
			Target: target, Routed: routed, Protocol: c.desc.Protocol, Transport: c.transportName,
			Items: size.items, RequestBytes: size.request, BudgetExhausted: r.budgetExhausted}
		if err == nil {
			e.ResponseBytes = size.response
		}
		h(ctx, e)
	}
	return err
}

// callRun is the state of one call.
type callRun struct {
	c         *Client
	plan      *methodPlan
	cfg       *callConfig
	fn        attempter
	callerCtx context.Context // the caller's context, without the runtime's timeouts
	info      CallInfo
	stream    *streamState // nil for a unary call
	// budgetExhausted: the retry budget refused a retry.
	budgetExhausted bool
}

// attemptResult is how an attempt ended.
type attemptResult struct {
	err      error
	outcome  outcome
	timedOut bool // the attempt timeout cut it
	trailer  metadata.MD
	latency  time.Duration
	// pushback, hasPushback and noRetry are a non-gRPC Transport's report
	// of what the server said of retrying (gRPC's is in trailer).
	pushback    time.Duration
	hasPushback bool
	noRetry     bool
}

// run runs the call that Invoke started at start.
func (r *callRun) run(ctx context.Context, start time.Time) error {
	c := r.c
	if err := ctx.Err(); err != nil {
		return contextError(err)
	}
	// The timeout comes first, so that it bounds the waits on limits too.
	if d := r.cfg.timeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(d))
		defer cancel()
	}
	if c.limits != nil {
		w, err := c.limits.acquire(ctx)
		if h := c.hooks.Limit; h != nil && w.waited() {
			r.reportLimits(ctx, h, w)
		}
		if err != nil {
			return err
		}
		defer c.limits.release()
	}
	if c.budget != nil {
		c.budget.onCall()
	}
	fallback, err := r.primary(ctx)
	if err == nil || !fallback || c.fallback == nil || ctx.Err() != nil {
		return err
	}
	return r.fallback(ctx, err)
}

// reportLimits reports the waits and refusal of w to h.
func (r *callRun) reportLimits(ctx context.Context, h func(context.Context, LimitEvent), w limitWaits) {
	e := LimitEvent{Method: r.plan.method.FullMethod, Model: r.info.Model, Transport: r.c.transportName}
	if w.rate > 0 || w.refused == refusedRate {
		e.Limit, e.Wait, e.Refused = LimitRate, w.rate, w.refused == refusedRate
		h(ctx, e)
	}
	if w.slot > 0 || w.refused == refusedBulkhead {
		e.Limit, e.Wait, e.Refused = LimitBulkhead, w.slot, w.refused == refusedBulkhead
		h(ctx, e)
	}
}

// primary makes the attempts on the call's model. fallback reports whether
// its error allows calling the fallback model.
func (r *callRun) primary(ctx context.Context) (fallback bool, err error) {
	c, cfg := r.c, r.cfg
	model := r.info.Model
	br := c.breakerFor(model)
	done, berr := br.allow()
	if berr != nil {
		return true, breakerOpenError(model, berr, nil)
	}
	// The breaker counts the call by its last attempt; an attempt that
	// panicked counts as nothing.
	last := outcomeIgnored
	defer func() { done(last.breakerErr()) }()
	backoffs := 0 // retries since the start or the last pushback
	for n := 1; ; n++ {
		last = outcomeIgnored
		res := r.attempt(ctx, model, n, false, br != nil)
		last = res.outcome
		if res.err == nil {
			return false, nil
		}
		if r.callerGone(nil) {
			return false, res.err
		}
		if r.stream != nil && r.stream.delivered > 0 {
			// The caller has part of the answer: nothing may run again.
			return false, res.err
		}
		// Only server failures of a call that may run again fall back: a
		// client error would fail there too.
		fb := res.outcome == outcomeServerFailure && cfg.idempotent
		if !r.retryable(res) || n >= cfg.maxAttempts || deadlinePassed(ctx) {
			return fb, res.err
		}
		wait, pushed, stop := res.pushback, res.hasPushback, res.noRetry
		if !pushed && !stop {
			wait, pushed, stop = pushback(res.trailer, max(r.plan.retry.MaxBackoff, MaxPushback))
		} else if pushed && wait > max(r.plan.retry.MaxBackoff, MaxPushback) {
			stop = true
		}
		if stop {
			return fb, res.err
		}
		if pushed {
			backoffs = 0
		} else {
			backoffs++
			wait = r.plan.retry.backoff(backoffs, c.rand.float64())
		}
		if dl, ok := ctx.Deadline(); ok && !fitsBefore(dl.Sub(c.clock.Now()), wait, res.latency) {
			return fb, res.err
		}
		if c.budget != nil && !c.budget.tryRetry() {
			r.budgetExhausted = true
			return fb, newCallError(status.Code(res.err), ErrRetryBudgetExhausted.Error()+": "+res.err.Error(),
				ErrRetryBudgetExhausted, res.err)
		}
		if h := c.hooks.Retry; h != nil {
			e := RetryEvent{Method: r.plan.method.FullMethod, Model: model, Attempt: n, Transport: c.transportName,
				Code: status.Code(res.err), Reason: RetryCode, Backoff: wait, Pushback: pushed}
			switch {
			case res.timedOut:
				e.Reason = RetryAttemptTimeout
				if e.Code == codes.Unknown {
					e.Code = codes.DeadlineExceeded
				}
			case pushed:
				e.Reason = RetryPushback
			}
			h(ctx, e)
		}
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return false, newCallError(status.FromContextError(err).Code(),
				"goai: call ended while waiting to retry: "+err.Error()+"; last error: "+res.err.Error(),
				err, res.err)
		}
	}
}

// retryable reports whether a failed attempt may be retried, attempts and
// time permitting.
func (r *callRun) retryable(res attemptResult) bool {
	if !r.cfg.idempotent {
		return false
	}
	if res.timedOut {
		return true
	}
	st, ok := status.FromError(res.err)
	if !ok || localTooLarge(res.err, st, res.trailer) {
		return false
	}
	return r.plan.retryable.has(knownCode(st.Code()))
}

// callerGone reports whether the caller's own cancellation or deadline
// has ended the call, rather than the runtime's timeouts: then an
// attempt's failure says nothing of the server. err is the attempt's
// error, nil to ask about the caller's context alone; a DEADLINE_EXCEEDED
// from a server that got the caller's deadline counts when it arrives
// just before the client's own timer fires. When the context's deadline
// is the call's timeout (an [InferBatcher]'s batch), only its
// cancellation is the caller's.
func (r *callRun) callerGone(err error) bool {
	ctx := r.callerCtx
	if r.cfg.timeoutInContext {
		return ctx.Err() == context.Canceled
	}
	if err == nil {
		return deadlinePassed(ctx)
	}
	return ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded && deadlinePassed(ctx)
}

// fallback makes the one attempt on the fallback model after the call's
// model failed with primaryErr.
func (r *callRun) fallback(ctx context.Context, primaryErr error) error {
	model := *r.c.fallback
	br := r.c.breakerFor(model)
	done, berr := br.allow()
	if berr != nil {
		return primaryErr
	}
	r.info.Fallback = true
	last := outcomeIgnored
	defer func() { done(last.breakerErr()) }()
	res := r.attempt(ctx, model, r.info.Attempts+1, true, br != nil)
	last = res.outcome
	if res.err == nil {
		return nil
	}
	return newCallError(status.Code(res.err),
		"goai: fallback model "+model.String()+" failed: "+res.err.Error()+"; after: "+primaryErr.Error(),
		res.err, primaryErr)
}

// attempt makes one attempt on model; counted says whether a breaker
// counts the call.
func (r *callRun) attempt(ctx context.Context, model ModelRef, n int, fallback, counted bool) (res attemptResult) {
	c, cfg := r.c, r.cfg

	actx := ctx
	// A streaming attempt bounds its wait for the first response itself
	// (see streamAttempt), not the whole stream.
	if d := cfg.attemptTimeout; d > 0 && r.stream == nil {
		var cancel context.CancelFunc
		actx, cancel = context.WithDeadline(ctx, c.clock.Now().Add(d))
		defer cancel()
	}
	a := attemptArgs{model: model, number: n, fallback: fallback, callOptions: cfg.grpcOpts}
	// Scratch space reused across attempts holds the Transport's
	// wire.Attempt (in the call's state it would make the state escape,
	// an allocation per call) and the captured trailer: callOptions and
	// wire are valid only until the attemptFunc returns.
	scratch := scratchPool.Get().(*attemptScratch)
	if counted || !fallback && cfg.maxAttempts > 1 && cfg.idempotent {
		// Capture the trailer, for the server's pushback and to tell the
		// server's statuses from grpc's own (see localTooLarge): grpc
		// writes it before the RPC returns.
		if len(cfg.grpcOpts) == 0 {
			a.callOptions = scratch.opt[:]
		} else {
			a.callOptions = make([]grpc.CallOption, len(cfg.grpcOpts), len(cfg.grpcOpts)+1)
			copy(a.callOptions, cfg.grpcOpts)
			a.callOptions = append(a.callOptions, scratch.opt[0])
		}
	}
	scratch.wire = wire.Attempt{GRPC: a.callOptions}
	a.wire = &scratch.wire
	a.stream = r.stream
	ev := AttemptEvent{Method: r.plan.method.FullMethod, Model: model, Attempt: n, Fallback: fallback, Transport: c.transportName}
	hctx := actx
	if h := c.hooks.AttemptStart; h != nil {
		if hc := h(actx, ev); hc != nil {
			hctx = hc
		}
	}

	t0 := c.clock.Now()
	res.err = r.fn.attempt(hctx, a)
	res.latency = c.clock.Now().Sub(t0)
	res.trailer = scratch.trailer
	res.pushback, res.hasPushback, res.noRetry = scratch.wire.Pushback, scratch.wire.HasPushback, scratch.wire.NoRetry
	scratch.trailer, scratch.wire = nil, wire.Attempt{}
	scratchPool.Put(scratch)
	// The attempt's own timeout cut it if its context expired, or the
	// server answered DEADLINE_EXCEEDED at that deadline, while the
	// call's deadline had not come.
	res.timedOut = res.err != nil && cfg.attemptTimeout > 0 && !deadlinePassed(ctx) &&
		(actx.Err() == context.DeadlineExceeded || status.Code(res.err) == codes.DeadlineExceeded && deadlinePassed(actx))
	if r.stream != nil {
		res.timedOut = res.err != nil && r.stream.timedOut && !deadlinePassed(ctx)
		r.stream.timedOut = false
	}
	res.outcome = classify(res.err, res.err != nil && r.callerGone(res.err), res.timedOut, res.trailer)

	r.info.Attempts = n
	r.info.Model = model
	if h := c.hooks.AttemptDone; h != nil {
		ev.Code, ev.Err, ev.Latency = status.Code(res.err), res.err, res.latency
		if res.timedOut && ev.Code == codes.Unknown {
			ev.Code = codes.DeadlineExceeded
		}
		h(hctx, ev)
	}
	return res
}

// attemptScratch holds an attempt's captured trailer, the call option
// that captures it, and the attempt's wire.Attempt.
type attemptScratch struct {
	trailer metadata.MD
	opt     [1]grpc.CallOption
	wire    wire.Attempt
}

// scratchPool keeps attemptScratch values, each with its option pointing
// at its own trailer, so that capturing the trailer costs no allocation.
var scratchPool = sync.Pool{New: func() any {
	s := new(attemptScratch)
	s.opt[0] = grpc.Trailer(&s.trailer)
	return s
}}
