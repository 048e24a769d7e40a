package goai

import (
	"context"

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

// acquire takes a rate token and a bulkhead slot, failing fast or waiting
// as the policy says. After a nil error the caller must call release.
func (l *limiter) acquire(ctx context.Context) error {
	if l.rate != nil {
		if err := l.takeToken(ctx); err != nil {
			return err
		}
	}
	if l.slots == nil {
		return nil
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	if l.failFast {
		return newCallError(codes.ResourceExhausted, ErrBulkheadFull.Error(), ErrBulkheadFull)
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return waitError(ctx, ErrBulkheadFull)
	}
}

// takeToken takes one token from the rate limiter, or fails: at once in
// fail-fast mode, at once too if the wait would pass ctx's deadline, and
// when ctx ends the wait.
func (l *limiter) takeToken(ctx context.Context) error {
	now := l.clock.Now()
	if l.failFast {
		if l.rate.AllowN(now, 1) {
			return nil
		}
		return newCallError(codes.ResourceExhausted, ErrRateLimited.Error(), ErrRateLimited)
	}
	r := l.rate.ReserveN(now, 1)
	if !r.OK() {
		return newCallError(codes.ResourceExhausted, ErrRateLimited.Error(), ErrRateLimited)
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		r.CancelAt(now)
		return newCallError(codes.ResourceExhausted,
			ErrRateLimited.Error()+": the wait for a token would pass the deadline", ErrRateLimited)
	}
	if err := l.clock.Sleep(ctx, d); err != nil {
		r.CancelAt(l.clock.Now())
		return waitError(ctx, ErrRateLimited)
	}
	return nil
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
