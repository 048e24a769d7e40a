package goai

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var small = ModelRef{Name: "small", Version: "1"}

func fallbackDesc(p CallPolicy) *ModelDesc {
	d := testDesc(p)
	d.Fallback = &small
	return d
}

func TestFallbackAfterRetriesExhausted(t *testing.T) {
	desc := fallbackDesc(retrying(2))
	c, _ := newTestCaller(t, desc)
	s := &script{steps: failN(2, errUnavailable)}
	var info CallInfo
	if err := c.invoke(context.Background(), &desc.Methods[0], s.fn, Report(&info)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if got, want := s.models(), []ModelRef{{Name: "m"}, {Name: "m"}, small}; !slices.Equal(got, want) {
		t.Errorf("models called = %v, want %v", got, want)
	}
	if !info.Fallback || info.Model != small || info.Attempts != 3 {
		t.Errorf("info = %+v, want the fallback's third attempt", info)
	}
	if a := s.attempts[2]; !a.fallback || a.number != 3 {
		t.Errorf("fallback attempt = %+v", a)
	}
}

func TestFallbackWhenBreakerOpen(t *testing.T) {
	no := false
	p := CallPolicy{Idempotent: &no, Breaker: BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}}
	desc := fallbackDesc(p)
	desc.Fallback = nil
	c, _ := newTestCaller(t, desc, WithFallback(small))
	m := &desc.Methods[0]
	// Not idempotent: a server failure does not fall back...
	s := &script{steps: failN(1, errUnavailable)}
	if err := c.invoke(context.Background(), m, s.fn); err != errUnavailable || s.n() != 1 {
		t.Fatalf("Invoke = %v after %d attempts, want UNAVAILABLE without fallback", err, s.n())
	}
	// ... but an open breaker, which sent nothing, does.
	var info CallInfo
	if err := c.invoke(context.Background(), m, s.fn, Report(&info)); err != nil {
		t.Fatalf("Invoke on an open breaker with fallback: %v", err)
	}
	if !info.Fallback || info.Model != small || info.Attempts != 1 || s.models()[1] != small {
		t.Errorf("info = %+v, models %v; want one attempt on the fallback", info, s.models())
	}
}

func TestNoFallback(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		opts []ClientOption
	}{
		{name: "client error", err: errInvalid},
		{name: "error without status", err: errors.New("encode")},
		{name: "fallback turned off", err: errUnavailable, opts: []ClientOption{WithFallback(ModelRef{})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desc := fallbackDesc(CallPolicy{})
			c, _ := newTestCaller(t, desc, tc.opts...)
			s := &script{steps: failN(1, tc.err)}
			var info CallInfo
			if err := c.invoke(context.Background(), &desc.Methods[0], s.fn, Report(&info)); err != tc.err {
				t.Errorf("Invoke = %v, want the attempt's error", err)
			}
			if s.n() != 1 || info.Fallback {
				t.Errorf("fallback called: %d attempts, info %+v", s.n(), info)
			}
		})
	}
}

func TestFallbackFails(t *testing.T) {
	desc := fallbackDesc(CallPolicy{})
	c, _ := newTestCaller(t, desc)
	fbErr := status.Error(codes.Internal, "small is broken")
	s := &script{steps: []func(context.Context, attemptArgs) error{fail(errUnavailable), fail(fbErr)}}
	err := c.invoke(context.Background(), &desc.Methods[0], s.fn)
	if !errors.Is(err, fbErr) || !errors.Is(err, errUnavailable) || status.Code(err) != codes.Internal {
		t.Errorf("Invoke = %v (code %v), want the fallback's INTERNAL wrapping both errors", err, status.Code(err))
	}
}

func TestFallbackBreakerOpen(t *testing.T) {
	desc := fallbackDesc(CallPolicy{Breaker: BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}})
	c, _ := newTestCaller(t, desc)
	s := &script{steps: failN(2, errUnavailable)}
	_ = c.invoke(context.Background(), &desc.Methods[0], s.fn) // m fails, small fails: both open
	var info CallInfo
	err := c.invoke(context.Background(), &desc.Methods[0], s.fn, Report(&info))
	if !errors.Is(err, ErrBreakerOpen) || s.n() != 2 || info.Fallback {
		t.Errorf("Invoke = %v after %d attempts (info %+v), want the first breaker's error, no attempt", err, s.n(), info)
	}
}
