package goai

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// tokenModel is a decoupled model "tokens": asked for N tokens (input
// COUNT, INT64 [1]), it sends tokens 0, 1, ..., N-1 (output TOKEN, INT64
// [1]), each after gap, the last marked final when markLast is set and
// otherwise followed by the end alone. N < 0 streams until canceled.
type tokenModel struct {
	gap      time.Duration
	markLast bool
	canceled atomic.Int32 // requests that saw their context end
	started  atomic.Int32
}

func (tm *tokenModel) model(name string) inferencetest.Model {
	return inferencetest.Model{
		Name:    name,
		Inputs:  []inferencetest.TensorSpec{{Name: "COUNT", DType: tensor.Int64, Shape: []int64{1}}},
		Outputs: []inferencetest.TensorSpec{{Name: "TOKEN", DType: tensor.Int64, Shape: []int64{1}}},
		Stream: func(ctx context.Context, req *inferencetest.Request, send func([]tensor.Tensor, bool) error) error {
			tm.started.Add(1)
			n, _ := tensor.DecodeInt64(nil, req.Inputs[0].Raw)
			for i := int64(0); n[0] < 0 || i < n[0]; i++ {
				if tm.gap > 0 {
					t := time.NewTimer(tm.gap)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						tm.canceled.Add(1)
						return ctx.Err()
					}
				}
				if ctx.Err() != nil {
					tm.canceled.Add(1)
					return ctx.Err()
				}
				last := tm.markLast && i == n[0]-1
				out := tensor.Tensor{Name: "TOKEN", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{i})}
				if err := send([]tensor.Tensor{out}, last); err != nil {
					if ctx.Err() != nil {
						tm.canceled.Add(1)
					}
					return err
				}
			}
			return nil
		},
	}
}

// tokenDesc describes a client of the streaming rpc Generate of model
// "tokens" under policy p.
func tokenDesc(p CallPolicy) *ModelDesc {
	return &ModelDesc{
		Service: "test.v1.Tokens",
		Model:   ModelRef{Name: "tokens"},
		Methods: []MethodDesc{{
			Name: "Generate", FullMethod: "/test.v1.Tokens/Generate", Model: ModelRef{Name: "tokens"},
			Inputs:  []TensorDesc{{Name: "COUNT", Field: "count", DType: tensor.Int64, Shape: []int64{1}}},
			Outputs: []TensorDesc{{Name: "TOKEN", Field: "token", DType: tensor.Int64, Shape: []int64{1}}},
			Policy:  p,
		}},
	}
}

// streamEnv is a client of model "tokens" on an in-memory server, in a
// synctest bubble.
type streamEnv struct {
	srv    *inferencetest.Server
	tm     *tokenModel
	client *Client
	calls  []CallEvent
	mu     sync.Mutex
}

func newStreamEnv(t *testing.T, tm *tokenModel, p CallPolicy, opts ...ClientOption) *streamEnv {
	t.Helper()
	srv := startMem(t, tm.model("tokens"), tm.model("tokens-small"))
	pool := dialOIP(t, srv)
	e := &streamEnv{srv: srv, tm: tm}
	opts = append([]ClientOption{WithRetryBudget(nil), WithHooks(Hooks{CallDone: func(_ context.Context, ev CallEvent) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.calls = append(e.calls, ev)
	}})}, opts...)
	e.client = testClient(pool, tokenDesc(p), opts...)
	return e
}

// generate asks for n tokens and returns those received, the call's error
// and its report; stop > 0 breaks out after that many tokens.
func (e *streamEnv) generate(ctx context.Context, n int64, stop int, opts ...CallOption) ([]int64, CallInfo, error) {
	var info CallInfo
	req := &wire.Request{Inputs: []tensor.Tensor{{Name: "COUNT", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{n})}}, Outputs: []string{"TOKEN"}}
	var got []int64
	err := e.client.inferStream(ctx, &e.client.desc.Methods[0], req, append(opts, Report(&info)), func(r *wire.Response) (bool, error) {
		if len(r.Outputs) != 1 || r.Outputs[0].Name != "TOKEN" {
			return false, errors.New("bad response")
		}
		v, err := tensor.DecodeInt64(nil, r.Outputs[0].Raw)
		if err != nil {
			return false, err
		}
		got = append(got, v...)
		return stop <= 0 || len(got) < stop, nil
	})
	return got, info, err
}

func (e *streamEnv) events() []CallEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

func seq(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func TestStreamResponses(t *testing.T) {
	for _, markLast := range []bool{false, true} {
		name := map[bool]string{false: "empty final", true: "final on the last"}[markLast]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newStreamEnv(t, &tokenModel{gap: time.Millisecond, markLast: markLast}, CallPolicy{})
				got, info, err := e.generate(t.Context(), 5, 0)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, seq(5)) {
					t.Errorf("tokens %v, want %v", got, seq(5))
				}
				if info.Responses != 5 || info.Attempts != 1 || info.Fallback {
					t.Errorf("report %+v, want 5 responses in 1 attempt", info)
				}
				if ev := e.events(); len(ev) != 1 || ev[0].Code != codes.OK || ev[0].Info.Responses != 5 {
					t.Errorf("CallDone events %+v, want one OK call of 5 responses", ev)
				}
				// None: a request that asks for nothing is complete at once.
				got, info, err = e.generate(t.Context(), 0, 0)
				if err != nil || len(got) != 0 || info.Responses != 0 {
					t.Errorf("0 tokens: got %v, %+v, %v", got, info, err)
				}
			})
		})
	}
}

func TestStreamErrorAfterResponses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{}, CallPolicy{Retry: fast(3), Breaker: BreakerPolicy{ConsecutiveFailures: 1}})
		e.srv.Script(inferencetest.FailAfter(3, codes.Internal))
		got, info, err := e.generate(t.Context(), 10, 0)
		if !slices.Equal(got, seq(3)) {
			t.Errorf("tokens %v, want the 3 before the failure", got)
		}
		var re *ResponseError
		if !errors.As(err, &re) || status.Code(err) != codes.Unknown || !strings.Contains(re.Message, "injected Internal") {
			t.Fatalf("error %v (%T), want a *ResponseError of code UNKNOWN", err, err)
		}
		if info.Attempts != 1 {
			t.Errorf("%d attempts: a failure after the first response must not be retried", info.Attempts)
		}
		if s := e.client.BreakerState(ModelRef{Name: "tokens"}); s != BreakerOpen {
			t.Errorf("breaker %v, want open: the failure counts", s)
		}
	})
}

func TestStreamRetriedBeforeFirstResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{}, CallPolicy{Retry: fast(3)})
		e.srv.Script(inferencetest.ResetAfter(0, codes.Unavailable), inferencetest.ResetAfter(0, codes.Unavailable))
		got, info, err := e.generate(t.Context(), 4, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, seq(4)) || info.Attempts != 3 || info.Responses != 4 {
			t.Errorf("tokens %v in %d attempts (report %+v), want %v in 3", got, info.Attempts, info, seq(4))
		}
	})
}

func TestStreamResetMidStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{}, CallPolicy{Retry: fast(3)})
		e.srv.Script(inferencetest.ResetAfter(2, codes.Unavailable))
		got, info, err := e.generate(t.Context(), 6, 0)
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("error %v, want UNAVAILABLE", err)
		}
		if !slices.Equal(got, seq(2)) || info.Attempts != 1 {
			t.Errorf("tokens %v in %d attempts, want 2 in 1", got, info.Attempts)
		}
	})
}

func TestStreamIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{}, CallPolicy{Retry: fast(3)})
		e.srv.Script(inferencetest.HangAfter(2))
		got, info, err := e.generate(t.Context(), 6, 0, WithIdleTimeout(time.Second))
		if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "idle timeout 1s") {
			t.Fatalf("error %v, want DEADLINE_EXCEEDED of the idle timeout", err)
		}
		if !slices.Equal(got, seq(2)) || info.Attempts != 1 {
			t.Errorf("tokens %v in %d attempts, want 2 in 1", got, info.Attempts)
		}
		synctest.Wait()
		if n := e.tm.canceled.Load(); n != 1 {
			t.Errorf("the model saw %d cancellations, want 1: the stalled request is canceled on the server", n)
		}
	})
}

func TestStreamIdleTimeoutExcludesCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{gap: 100 * time.Millisecond}, CallPolicy{})
		var got []int64
		req := &wire.Request{Inputs: []tensor.Tensor{{Name: "COUNT", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{3})}}}
		err := e.client.inferStream(t.Context(), &e.client.desc.Methods[0], req, []CallOption{WithIdleTimeout(time.Second)}, func(r *wire.Response) (bool, error) {
			v, _ := tensor.DecodeInt64(nil, r.Outputs[0].Raw)
			got = append(got, v...)
			time.Sleep(5 * time.Second) // a slow caller, well over the idle timeout
			return true, nil
		})
		if err != nil || !slices.Equal(got, seq(3)) {
			t.Errorf("got %v, %v; the caller's own time must not count as idle", got, err)
		}
	})
}

func TestStreamAttemptTimeoutBeforeFirstResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The attempt timeout bounds the wait for the first response
		// only: the stream then outlives it.
		e := newStreamEnv(t, &tokenModel{gap: 400 * time.Millisecond}, CallPolicy{AttemptTimeout: time.Second, Retry: fast(2)})
		e.srv.Script(inferencetest.Hang())
		got, info, err := e.generate(t.Context(), 5, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, seq(5)) || info.Attempts != 2 {
			t.Errorf("tokens %v in %d attempts, want %v in 2", got, info.Attempts, seq(5))
		}
	})
}

func TestStreamTimeoutBoundsWholeStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{gap: time.Second}, CallPolicy{Timeout: 3500 * time.Millisecond})
		got, _, err := e.generate(t.Context(), 10, 0)
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("error %v, want DEADLINE_EXCEEDED", err)
		}
		if !slices.Equal(got, seq(3)) {
			t.Errorf("tokens %v, want the 3 sent within the timeout", got)
		}
	})
}

func TestStreamStopCancelsOnServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{gap: time.Millisecond}, CallPolicy{Breaker: BreakerPolicy{ConsecutiveFailures: 1}})
		got, info, err := e.generate(t.Context(), -1, 3)
		if err != nil || !slices.Equal(got, seq(3)) || info.Responses != 3 {
			t.Fatalf("got %v, %+v, %v; want 3 tokens and no error", got, info, err)
		}
		synctest.Wait()
		if n := e.tm.canceled.Load(); n != 1 {
			t.Errorf("the model saw %d cancellations, want 1", n)
		}
		if ev := e.events(); len(ev) != 1 || ev[0].Code != codes.OK {
			t.Errorf("CallDone %+v, want one OK call", ev)
		}
		if s := e.client.BreakerState(ModelRef{Name: "tokens"}); s != BreakerClosed {
			t.Errorf("breaker %v after the caller stopped, want closed", s)
		}

		// The caller's cancellation does the same, and reports it.
		ctx, cancel := context.WithCancel(t.Context())
		req := &wire.Request{Inputs: []tensor.Tensor{{Name: "COUNT", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{-1})}}}
		n := 0
		err = e.client.inferStream(ctx, &e.client.desc.Methods[0], req, nil, func(*wire.Response) (bool, error) {
			if n++; n == 2 {
				cancel()
			}
			return true, nil
		})
		if status.Code(err) != codes.Canceled {
			t.Errorf("error %v, want CANCELED", err)
		}
		synctest.Wait()
		if n := e.tm.canceled.Load(); n != 2 {
			t.Errorf("the model saw %d cancellations, want 2", n)
		}
		if s := e.client.BreakerState(ModelRef{Name: "tokens"}); s != BreakerClosed {
			t.Errorf("breaker %v after the caller canceled, want closed", s)
		}
	})
}

func TestStreamHoldsLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{gap: time.Second}, CallPolicy{}, WithLimits(LimitPolicy{MaxConcurrent: 1, FailFast: true}))
		first := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			req := &wire.Request{Inputs: []tensor.Tensor{{Name: "COUNT", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{3})}}}
			n := 0
			done <- e.client.inferStream(t.Context(), &e.client.desc.Methods[0], req, nil, func(*wire.Response) (bool, error) {
				if n++; n == 1 {
					close(first)
				}
				return true, nil
			})
		}()
		<-first
		if _, _, err := e.generate(t.Context(), 1, 0); !errors.Is(err, ErrBulkheadFull) {
			t.Errorf("a second stream while the first is open: %v, want ErrBulkheadFull", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got, _, err := e.generate(t.Context(), 1, 0); err != nil || len(got) != 1 {
			t.Errorf("after the first stream: %v, %v", got, err)
		}
	})
}

func TestStreamFallbackBeforeFirstResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{}, CallPolicy{Retry: fast(2)}, WithFallback(ModelRef{Name: "tokens-small"}))
		e.srv.Script(inferencetest.ResetAfter(0, codes.Unavailable), inferencetest.ResetAfter(0, codes.Unavailable))
		got, info, err := e.generate(t.Context(), 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, seq(3)) || !info.Fallback || info.Model.Name != "tokens-small" || info.Attempts != 3 {
			t.Errorf("tokens %v, report %+v; want 3 from the fallback after 2 attempts", got, info)
		}
	})
}

func TestStreamCallerError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newStreamEnv(t, &tokenModel{}, CallPolicy{Retry: fast(3), Breaker: BreakerPolicy{ConsecutiveFailures: 1}})
		bad := errors.New("cannot take it")
		req := &wire.Request{Inputs: []tensor.Tensor{{Name: "COUNT", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{-1})}}}
		var info CallInfo
		err := e.client.inferStream(t.Context(), &e.client.desc.Methods[0], req, []CallOption{Report(&info)}, func(*wire.Response) (bool, error) {
			return false, bad
		})
		if !errors.Is(err, bad) || info.Attempts != 1 {
			t.Errorf("error %v after %d attempts, want the caller's, unretried", err, info.Attempts)
		}
		if s := e.client.BreakerState(ModelRef{Name: "tokens"}); s != BreakerClosed {
			t.Errorf("breaker %v, want closed: the server answered", s)
		}
	})
}

func TestStreamUnaryTransport(t *testing.T) {
	c := testClient(nil, tokenDesc(CallPolicy{}))
	err := c.inferStream(t.Context(), &c.desc.Methods[0], &wire.Request{}, nil, func(*wire.Response) (bool, error) { return true, nil })
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("a client without a streaming transport: %v, want UNIMPLEMENTED", err)
	}
}
