package goai

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

var (
	errUnavailable = status.Error(codes.Unavailable, "server down")
	errInvalid     = status.Error(codes.InvalidArgument, "bad input")
)

// testDesc returns a one-method Open Inference model "m" with policy p.
func testDesc(p CallPolicy) *ModelDesc {
	return &ModelDesc{
		Service: "test.v1.M",
		Model:   ModelRef{Name: "m"},
		Methods: []MethodDesc{{Name: "Do", FullMethod: "/test.v1.M/Do", Model: ModelRef{Name: "m"}, Policy: p}},
	}
}

// retrying returns a policy of n attempts with fixed, jitter-free backoff
// starting at 100ms and doubling.
func retrying(n int) CallPolicy {
	return CallPolicy{Retry: RetryPolicy{MaxAttempts: n, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second, Jitter: -1}}
}

// testClient returns a Client on cc (nil for none) for desc, under opts.
func testClient(cc grpc.ClientConnInterface, desc *ModelDesc, opts ...ClientOption) *Client {
	return newClient(cc, desc, newClientConfig(opts))
}

// newTestCaller returns a Client on a fake clock, without retry budget
// unless opts give one, with a seeded generator.
func newTestCaller(t *testing.T, desc *ModelDesc, opts ...ClientOption) (*Client, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	base := []ClientOption{WithClock(clk), WithRetryBudget(nil), WithRandSource(rand.NewPCG(1, 2))}
	return testClient(nil, desc, append(base, opts...)...), clk
}

// script is an attemptFunc that answers each attempt with the next of its
// steps and records the attempts; after its steps it succeeds.
type script struct {
	mu       sync.Mutex
	steps    []func(ctx context.Context, a attemptArgs) error
	attempts []attemptArgs
}

func (s *script) fn(ctx context.Context, a attemptArgs) error {
	s.mu.Lock()
	s.attempts = append(s.attempts, a)
	var step func(context.Context, attemptArgs) error
	if len(s.steps) > 0 {
		step, s.steps = s.steps[0], s.steps[1:]
	}
	s.mu.Unlock()
	if step == nil {
		return nil
	}
	return step(ctx, a)
}

func (s *script) n() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.attempts)
}

func (s *script) models() []ModelRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ms []ModelRef
	for _, a := range s.attempts {
		ms = append(ms, a.model)
	}
	return ms
}

// fail returns a step that fails with err.
func fail(err error) func(context.Context, attemptArgs) error {
	return func(context.Context, attemptArgs) error { return err }
}

// failN returns n steps failing with err.
func failN(n int, err error) []func(context.Context, attemptArgs) error {
	var s []func(context.Context, attemptArgs) error
	for range n {
		s = append(s, fail(err))
	}
	return s
}

// withPushback returns a step that fails with err and trailer pushback ms.
func withPushback(err error, ms string) func(context.Context, attemptArgs) error {
	return func(_ context.Context, a attemptArgs) error {
		for _, o := range a.callOptions {
			if t, ok := o.(grpc.TrailerCallOption); ok {
				*t.TrailerAddr = metadata.Pairs(pushbackKey, ms)
			}
		}
		return err
	}
}

func ms(ds ...int) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = time.Duration(d) * time.Millisecond
	}
	return out
}
