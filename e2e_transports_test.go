package goai

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// End-to-end tests of the call path on both transports: a client made as
// a generated client's constructor makes it (dialClient), calling through
// its transport (Client.infer), against inferencetest's server in memory
// in a synctest bubble, over gRPC at its Target and over REST at its
// HTTPURL. Each scenario writes a trace of what every call did (its code,
// attempts, fallback, the bubble's time it took, the breaker's state and
// the attempts the server saw), and the trace must be the one the test
// expects, on each transport alike. The faults are scripted, or drawn
// from a seeded generator by calls made one after another, so a trace is
// exact.

// e2eTransports are the transports a scenario runs on.
var e2eTransports = []string{"grpc", "rest"}

// dialOver returns a client of desc on srv over transport tr, with opts.
func dialOver(t *testing.T, tr string, srv *inferencetest.Server, desc *ModelDesc, opts ...Option) *Client {
	t.Helper()
	target, own := srv.Target(), []Option{WithDialOptions(srv.DialOptions()...)}
	if tr == "rest" {
		target, own = srv.HTTPURL(), []Option{WithInsecure(), WithHTTPClient(srv.HTTPClient())}
	}
	c, err := dialClient(target, desc, append(own, opts...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if (tr == "rest") != (c.cc == nil) {
		t.Fatalf("client over %s has gRPC connection %v", tr, c.cc)
	}
	return c
}

// echoRequest is a request of the [4]float32 identity model.
func echoRequest() *wire.Request {
	return &wire.Request{
		Inputs:  []tensor.Tensor{{Name: "INPUT0", DType: tensor.FP32, Shape: []int64{4}, Raw: tensor.AppendFloat32(nil, []float32{1, 2, 3, 4})}},
		Outputs: []string{"OUTPUT0"},
	}
}

// exact is a retry policy of exact backoffs: 10ms, 20ms, 40ms.
var exact = RetryPolicy{MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, Jitter: -1}

// tracer makes calls and writes their trace.
type tracer struct {
	t     *testing.T
	c     *Client
	srv   *inferencetest.Server
	desc  *ModelDesc
	trace []string
}

// call makes one call and traces it under label.
func (tc *tracer) call(label string, opts ...CallOption) {
	var info CallInfo
	start := time.Now()
	resp, err := tc.c.infer(context.Background(), &tc.desc.Methods[0], echoRequest(), append(opts, Report(&info)))
	elapsed := time.Since(start)
	if err == nil && (len(resp.Outputs) != 1 || len(resp.Outputs[0].Raw) != 16) {
		err = fmt.Errorf("bad response %+v", resp)
	}
	var marks string
	for _, s := range []struct {
		err  error
		mark string
	}{{ErrBreakerOpen, " breaker-open"}, {ErrRetryBudgetExhausted, " budget"}, {ErrMessageTooLarge, " too-large"}} {
		if errors.Is(err, s.err) {
			marks += s.mark
		}
	}
	tc.trace = append(tc.trace, fmt.Sprintf("%s: %v%s, %d attempts, fallback %v on %v, %v, breaker %v, server %d",
		label, status.Code(err), marks, info.Attempts, info.Fallback, info.Model, elapsed, tc.c.BreakerState(tc.desc.Model), tc.infers()))
}

// infers returns the ModelInfer calls the server received.
func (tc *tracer) infers() int { return tc.srv.Stats().Calls["ModelInfer"] }

func TestE2ETransportsBehaveAlike(t *testing.T) {
	echo := ModelRef{Name: "echo"}
	broken := inferencetest.Identity("broken", tensor.FP32, 4)
	broken.Infer = func(context.Context, *inferencetest.Request) ([]tensor.Tensor, error) {
		return nil, status.Error(codes.Unavailable, "broken model")
	}
	for _, sc := range []struct {
		name   string
		policy CallPolicy
		opts   func() []Option // made in the bubble, on its clock
		// primary names the method's model when it is not echo, with
		// echo as its fallback.
		primary string
		run     func(tc *tracer)
		want    []string
	}{{
		name:   "retries with exponential backoff",
		policy: CallPolicy{Retry: exact},
		run: func(tc *tracer) {
			tc.srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
			tc.call("two failures")
			tc.srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable))
			tc.call("four failures")
			tc.srv.Script(inferencetest.Fail(codes.InvalidArgument))
			tc.call("a client error")
			tc.srv.Script(inferencetest.Fail(codes.Internal))
			tc.call("a failure not retryable")
		},
		want: []string{
			"two failures: OK, 3 attempts, fallback false on echo, 30ms, breaker closed, server 3",
			"four failures: Unavailable, 4 attempts, fallback false on echo, 70ms, breaker closed, server 7",
			"a client error: InvalidArgument, 1 attempts, fallback false on echo, 0s, breaker closed, server 8",
			"a failure not retryable: Internal, 1 attempts, fallback false on echo, 0s, breaker closed, server 9",
		},
	}, {
		// Retry-After carries whole seconds, so the pushbacks here are.
		name:   "server pushback",
		policy: CallPolicy{Retry: exact},
		run: func(tc *tracer) {
			tc.srv.Script(inferencetest.Pushback(codes.Unavailable, 2*time.Second), inferencetest.Serve())
			tc.call("pushback 2s")
			tc.srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Pushback(codes.Unavailable, time.Second), inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
			tc.call("backoff, pushback, backoff afresh")
			tc.srv.Script(inferencetest.Pushback(codes.Unavailable, -1))
			tc.call("negative pushback")
			tc.srv.Script(inferencetest.Pushback(codes.Unavailable, 2*time.Minute))
			tc.call("pushback beyond MaxPushback")
		},
		want: []string{
			"pushback 2s: OK, 2 attempts, fallback false on echo, 2s, breaker closed, server 2",
			"backoff, pushback, backoff afresh: OK, 4 attempts, fallback false on echo, 1.02s, breaker closed, server 6",
			"negative pushback: Unavailable, 1 attempts, fallback false on echo, 0s, breaker closed, server 7",
			"pushback beyond MaxPushback: Unavailable, 1 attempts, fallback false on echo, 0s, breaker closed, server 8",
		},
	}, {
		name:   "attempt timeouts and call deadlines",
		policy: CallPolicy{Retry: exact, AttemptTimeout: 100 * time.Millisecond},
		run: func(tc *tracer) {
			tc.srv.Script(inferencetest.Hang(), inferencetest.Serve())
			tc.call("hang, then served")
			tc.srv.SetFaults(inferencetest.Faults{Latency: 150 * time.Millisecond})
			tc.call("every attempt too slow")
			tc.call("a call timeout within the first attempt", WithTimeout(50*time.Millisecond))
			tc.srv.ClearFaults()
		},
		want: []string{
			"hang, then served: OK, 2 attempts, fallback false on echo, 110ms, breaker closed, server 2",
			"every attempt too slow: DeadlineExceeded, 4 attempts, fallback false on echo, 470ms, breaker closed, server 6",
			"a call timeout within the first attempt: DeadlineExceeded, 1 attempts, fallback false on echo, 50ms, breaker closed, server 7",
		},
	}, {
		name:   "retry budget",
		policy: CallPolicy{Retry: exact},
		opts: func() []Option {
			return []Option{WithRetryBudget(NewRetryBudget(RetryBudgetPolicy{Ratio: -1, MinPerSecond: 0.1, TTL: 10 * time.Second}, nil))}
		},
		run: func(tc *tracer) {
			tc.srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable))
			tc.call("one retry in the budget")
		},
		want: []string{
			"one retry in the budget: Unavailable budget, 2 attempts, fallback false on echo, 10ms, breaker closed, server 2",
		},
	}, {
		name:   "breaker",
		policy: CallPolicy{Breaker: BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Minute}},
		run: func(tc *tracer) {
			tc.srv.SetFaults(inferencetest.Faults{FailRate: 1, FailWith: inferencetest.Fail(codes.Internal)})
			for i := range 5 {
				tc.call(fmt.Sprint("failing ", i))
			}
			time.Sleep(time.Minute + time.Millisecond)
			tc.call("probe of the failing server")
			tc.srv.ClearFaults()
			tc.call("while open again")
			time.Sleep(time.Minute + time.Millisecond)
			tc.call("probe of the healed server")
		},
		want: []string{
			"failing 0: Internal, 1 attempts, fallback false on echo, 0s, breaker closed, server 1",
			"failing 1: Internal, 1 attempts, fallback false on echo, 0s, breaker closed, server 2",
			"failing 2: Internal, 1 attempts, fallback false on echo, 0s, breaker open, server 3",
			"failing 3: Unavailable breaker-open, 0 attempts, fallback false on echo, 0s, breaker open, server 3",
			"failing 4: Unavailable breaker-open, 0 attempts, fallback false on echo, 0s, breaker open, server 3",
			"probe of the failing server: Internal, 1 attempts, fallback false on echo, 0s, breaker open, server 4",
			"while open again: Unavailable breaker-open, 0 attempts, fallback false on echo, 0s, breaker open, server 4",
			"probe of the healed server: OK, 1 attempts, fallback false on echo, 0s, breaker closed, server 5",
		},
	}, {
		name:    "fallback",
		policy:  CallPolicy{Retry: exact, Breaker: BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}},
		primary: "broken",
		run: func(tc *tracer) {
			tc.call("the model fails, the fallback answers")
			tc.call("its breaker open, the fallback at once")
			tc.srv.Script(inferencetest.Fail(codes.Unavailable))
			tc.call("the fallback fails too")
		},
		want: []string{
			"the model fails, the fallback answers: OK, 5 attempts, fallback true on echo, 70ms, breaker open, server 5",
			"its breaker open, the fallback at once: OK, 1 attempts, fallback true on echo, 0s, breaker open, server 6",
			"the fallback fails too: Unavailable breaker-open, 1 attempts, fallback true on echo, 0s, breaker open, server 7",
		},
	}, {
		// 16 bytes of input; the response over REST is a JSON header and
		// 16 bytes, over gRPC a message of about 40.
		name:   "size limits of the client's own",
		policy: CallPolicy{Retry: RetryPolicy{MaxAttempts: 4, RetryableCodes: []codes.Code{codes.Unavailable, codes.ResourceExhausted}}, Breaker: BreakerPolicy{ConsecutiveFailures: 1}},
		run: func(tc *tracer) {
			tc.call("request over the send limit", WithGRPCCallOptions(grpc.MaxCallSendMsgSize(8)))
			tc.call("response over the receive limit", WithGRPCCallOptions(grpc.MaxCallRecvMsgSize(12)))
			tc.call("within the limits")
		},
		want: []string{
			"request over the send limit: ResourceExhausted too-large, 1 attempts, fallback false on echo, 0s, breaker closed, server 0",
			"response over the receive limit: ResourceExhausted, 1 attempts, fallback false on echo, 0s, breaker closed, server 1",
			"within the limits: OK, 1 attempts, fallback false on echo, 0s, breaker closed, server 2",
		},
	}} {
		t.Run(sc.name, func(t *testing.T) {
			traces := map[string][]string{}
			for _, tr := range e2eTransports {
				t.Run(tr, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						srv := startMem(t, broken)
						desc := echoDesc(sc.policy)
						if sc.primary != "" {
							desc.Model = ModelRef{Name: sc.primary}
							desc.Methods[0].Model = desc.Model
							desc.Fallback = &echo
						}
						var opts []Option
						if sc.opts != nil {
							opts = sc.opts()
						}
						tc := &tracer{t: t, c: dialOver(t, tr, srv, desc, opts...), srv: srv, desc: desc}
						sc.run(tc)
						traces[tr] = tc.trace
						if diff := cmp.Diff(sc.want, tc.trace); diff != "" {
							t.Errorf("trace over %s (-want +got):\n%s", tr, diff)
						}
					})
				})
			}
			if diff := cmp.Diff(traces["grpc"], traces["rest"]); diff != "" {
				t.Errorf("the transports differ (-grpc +rest):\n%s", diff)
			}
		})
	}
}
