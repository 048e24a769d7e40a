package goai

import (
	"errors"
	"strconv"

	"github.com/sony/gobreaker/v2"
	"google.golang.org/grpc/codes"
)

// Outcomes as reported to a breaker. gobreaker sees them as errors and sorts
// them with Settings.IsSuccessful and Settings.IsExcluded.
var (
	// errOutcomeFailure is a server failure: counted against the model.
	errOutcomeFailure = errors.New("server failure")
	// errOutcomeClient is a client error the server answered: it shows the
	// server alive, so it counts as a success.
	errOutcomeClient = errors.New("client error")
	// errOutcomeIgnored is neither: the caller's own cancellation or
	// deadline, or an attempt that never reached the server.
	errOutcomeIgnored = errors.New("ignored")
)

// BreakerState is the state of a model's circuit breaker.
type BreakerState int

const (
	// BreakerClosed lets calls through and counts their outcomes.
	BreakerClosed BreakerState = iota
	// BreakerHalfOpen lets a few probe calls through, after the breaker
	// has been open for its open timeout; their outcomes close or reopen
	// it.
	BreakerHalfOpen
	// BreakerOpen fails calls at once, with [ErrBreakerOpen].
	BreakerOpen
)

// String returns "closed", "half-open" or "open".
func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "BreakerState(" + strconv.Itoa(int(s)) + ")"
}

// breakerState converts gobreaker's state, which goai does not expose so
// that its API does not change with gobreaker's.
func breakerState(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateHalfOpen:
		return BreakerHalfOpen
	case gobreaker.StateOpen:
		return BreakerOpen
	}
	return BreakerClosed
}

// breaker is the circuit breaker of one model (name and version).
type breaker struct {
	model ModelRef
	cb    *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// newBreaker returns a breaker for model with policy p (defaults applied),
// reporting state changes to onChange if it is not nil.
func newBreaker(model ModelRef, p BreakerPolicy, onChange func(BreakerEvent)) *breaker {
	p = p.withDefaults()
	st := gobreaker.Settings{
		Name:        model.String(),
		MaxRequests: p.HalfOpenProbes,
		Interval:    p.Interval,
		Timeout:     p.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			if p.ConsecutiveFailures > 0 && c.ConsecutiveFailures >= p.ConsecutiveFailures {
				return true
			}
			if p.FailureRatio > 0 {
				// In 64 bits: the uint32 counts of a long interval could
				// wrap their sum.
				n := uint64(c.TotalSuccesses) + uint64(c.TotalFailures)
				return n >= uint64(p.MinRequests) && n > 0 && float64(c.TotalFailures)/float64(n) >= p.FailureRatio
			}
			return false
		},
		IsSuccessful: func(err error) bool { return err == nil || err == errOutcomeClient },
		IsExcluded:   func(err error) bool { return err == errOutcomeIgnored },
	}
	if onChange != nil {
		st.OnStateChange = func(_ string, from, to gobreaker.State) {
			onChange(BreakerEvent{Model: model, From: breakerState(from), To: breakerState(to)})
		}
	}
	return &breaker{model: model, cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](st)}
}

// allow asks the breaker for one attempt. On success, done must be called
// exactly once with the attempt's outcome as outcome.breakerErr gives it. A
// nil breaker allows everything.
func (b *breaker) allow() (done func(error), err error) {
	if b == nil {
		return noBreaker, nil
	}
	return b.cb.Allow()
}

func noBreaker(error) {}

// state returns the breaker's state; closed for a nil breaker.
func (b *breaker) state() BreakerState {
	if b == nil {
		return BreakerClosed
	}
	return breakerState(b.cb.State())
}

// breakerOpenError is the error of a call that model's breaker refused:
// UNAVAILABLE, matching ErrBreakerOpen, gobreaker's own error, and the last
// attempt's error if there was one.
func breakerOpenError(model ModelRef, gerr, last error) error {
	msg := "goai: circuit breaker of model " + model.String() + " is open"
	if errors.Is(gerr, gobreaker.ErrTooManyRequests) {
		msg = "goai: circuit breaker of model " + model.String() + " is half-open and every probe is taken"
	}
	if last != nil {
		msg += "; last error: " + last.Error()
	}
	return newCallError(codes.Unavailable, msg, ErrBreakerOpen, gerr, last)
}
