package goai

import (
	"context"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// limiter applies a [LimitPolicy] to the calls of a [Client]: a token-bucket
// rate limit, then a concurrency bulkhead. Both are taken once per call,
// retries included, before the first attempt.
type limiter struct {
	rate     *rate.Limiter // nil: no rate limit
	slots    chan struct{} // nil: no bulkhead
	failFast bool
	clock    Clock
}

// newLimiter returns the limiter of p, or nil if p sets no limit.
func newLimiter(p LimitPolicy, clock Clock) *limiter {
	if !p.limitRate() && p.MaxConcurrent <= 0 {
		return nil
	}
	l := &limiter{failFast: p.FailFast, clock: clock}
	if p.limitRate() {
		l.rate = rate.NewLimiter(rate.Limit(p.RatePerSecond), p.limitBurst())
	}
	if p.MaxConcurrent > 0 {
		l.slots = make(chan struct{}, p.MaxConcurrent)
	}
	return l
}

// limitWaits is what a call's acquire waited, for [Hooks.Limit].
type limitWaits struct {
	rate, slot time.Duration
	refused    refusal
}

// refusal is the limit that refused a call, if any.
type refusal uint8

const (
	refusedNone refusal = iota
	refusedRate
	refusedBulkhead
)

// waited reports whether there is anything to report.
func (w limitWaits) waited() bool { return w.rate > 0 || w.slot > 0 || w.refused != refusedNone }

// acquire takes a rate token and a bulkhead slot, failing fast or waiting
// as the policy says, and tells how long it waited. After a nil error the
// caller must call release.
func (l *limiter) acquire(ctx context.Context) (w limitWaits, err error) {
	if l.rate != nil {
		if w.rate, err = l.takeToken(ctx); err != nil {
			w.refused = refusedRate
			return w, err
		}
	}
	if l.slots == nil {
		return w, nil
	}
	select {
	case l.slots <- struct{}{}:
		return w, nil
	default:
	}
	w.refused = refusedBulkhead
	if l.failFast {
		return w, newCallError(codes.ResourceExhausted, ErrBulkheadFull.Error(), ErrBulkheadFull)
	}
	start := l.clock.Now()
	select {
	case l.slots <- struct{}{}:
		w.refused = refusedNone
		err = nil
	case <-ctx.Done():
		err = waitError(ctx, ErrBulkheadFull)
	}
	w.slot = max(l.clock.Now().Sub(start), 0)
	return w, err
}

// takeToken takes one token from the rate limiter, or fails: at once in
// fail-fast mode, at once too if the wait would pass ctx's deadline, and
// when ctx ends the wait. wait is how long it waited.
func (l *limiter) takeToken(ctx context.Context) (wait time.Duration, err error) {
	now := l.clock.Now()
	if l.failFast {
		if l.rate.AllowN(now, 1) {
			return 0, nil
		}
		return 0, newCallError(codes.ResourceExhausted, ErrRateLimited.Error(), ErrRateLimited)
	}
	r := l.rate.ReserveN(now, 1)
	if !r.OK() {
		return 0, newCallError(codes.ResourceExhausted, ErrRateLimited.Error(), ErrRateLimited)
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return 0, nil
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		r.CancelAt(now)
		return 0, newCallError(codes.ResourceExhausted,
			ErrRateLimited.Error()+": the wait for a token would pass the deadline", ErrRateLimited)
	}
	if err := l.clock.Sleep(ctx, d); err != nil {
		end := l.clock.Now()
		r.CancelAt(end)
		return max(end.Sub(now), 0), waitError(ctx, ErrRateLimited)
	}
	return d, nil
}

// release gives back the bulkhead slot taken by acquire.
func (l *limiter) release() {
	if l.slots != nil {
		<-l.slots
	}
}

// waitError is the error of a call whose context ended while it waited on
// a limit: it has the context's code and matches both ctx.Err() and the
// limit's sentinel.
func waitError(ctx context.Context, sentinel error) error {
	cerr := ctx.Err()
	return newCallError(status.FromContextError(cerr).Code(),
		"goai: waiting on a limit ("+sentinel.Error()+"): "+cerr.Error(), cerr, sentinel)
}
