package goai

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
)

type callKey struct{}

// recorder keeps every event of every hook.
type recorder struct {
	mu       sync.Mutex
	starts   []CallStartEvent
	attempts []AttemptEvent
	retries  []RetryEvent
	limits   []LimitEvent
	batches  []BatchEvent
	calls    []CallEvent
	breakers []BreakerEvent
}

func (r *recorder) hooks() Hooks {
	return Hooks{
		CallStart: func(ctx context.Context, e CallStartEvent) context.Context {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.starts = append(r.starts, e)
			return context.WithValue(ctx, callKey{}, e.Method)
		},
		AttemptDone: func(_ context.Context, e AttemptEvent) {
			r.mu.Lock()
			r.attempts = append(r.attempts, e)
			r.mu.Unlock()
		},
		Retry:    func(_ context.Context, e RetryEvent) { r.mu.Lock(); r.retries = append(r.retries, e); r.mu.Unlock() },
		Limit:    func(_ context.Context, e LimitEvent) { r.mu.Lock(); r.limits = append(r.limits, e); r.mu.Unlock() },
		Batch:    func(e BatchEvent) { r.mu.Lock(); r.batches = append(r.batches, e); r.mu.Unlock() },
		CallDone: func(_ context.Context, e CallEvent) { r.mu.Lock(); r.calls = append(r.calls, e); r.mu.Unlock() },
		BreakerStateChange: func(e BreakerEvent) {
			r.mu.Lock()
			r.breakers = append(r.breakers, e)
			r.mu.Unlock()
		},
	}
}

// The context CallStart returns is the one every later hook and every
// attempt of the call gets.
func TestHooksCallStartContext(t *testing.T) {
	desc := testDesc(retrying(2))
	var seen []string
	check := func(where string, ctx context.Context) {
		if ctx.Value(callKey{}) != "/test.v1.M/Do" {
			seen = append(seen, where)
		}
	}
	var rec recorder
	c, _ := newTestCaller(t, desc, WithHooks(rec.hooks()), WithHooks(Hooks{
		AttemptStart: func(ctx context.Context, _ AttemptEvent) context.Context { check("AttemptStart", ctx); return ctx },
		AttemptDone:  func(ctx context.Context, _ AttemptEvent) { check("AttemptDone", ctx) },
		Retry:        func(ctx context.Context, _ RetryEvent) { check("Retry", ctx) },
		CallDone:     func(ctx context.Context, _ CallEvent) { check("CallDone", ctx) },
	}))
	s := &script{steps: failN(1, errUnavailable)}
	fn := func(ctx context.Context, a attemptArgs) error { check("attempt", ctx); return s.fn(ctx, a) }
	if err := c.invoke(context.Background(), &desc.Methods[0], fn); err != nil {
		t.Fatal(err)
	}
	if len(seen) > 0 {
		t.Errorf("these did not get CallStart's context: %v", seen)
	}
	if len(rec.starts) != 1 || rec.starts[0].Model != (ModelRef{Name: "m"}) || rec.starts[0].Transport != TransportGRPC ||
		rec.starts[0].Protocol != ProtocolOpenInference {
		t.Errorf("call starts = %+v", rec.starts)
	}
	if len(rec.calls) != 1 || rec.calls[0].Target != (ModelRef{Name: "m"}) || rec.calls[0].Routed || rec.calls[0].Items != 0 {
		t.Errorf("call events = %+v", rec.calls)
	}
}

func TestHooksRetryReasons(t *testing.T) {
	desc := testDesc(retrying(4))
	desc.Methods[0].Policy.AttemptTimeout = time.Millisecond
	var rec recorder
	c, _ := newTestCaller(t, desc, WithHooks(rec.hooks()))
	hang := func(ctx context.Context, _ attemptArgs) error { <-ctx.Done(); return ctx.Err() }
	s := &script{steps: append(failN(1, errUnavailable), withPushback(errUnavailable, "7"), hang)}
	if err := c.invoke(context.Background(), &desc.Methods[0], s.fn); err != nil {
		t.Fatal(err)
	}
	want := []RetryReason{RetryCode, RetryPushback, RetryAttemptTimeout}
	if len(rec.retries) != len(want) {
		t.Fatalf("retries = %+v, want %v", rec.retries, want)
	}
	for i, w := range want {
		if rec.retries[i].Reason != w {
			t.Errorf("retry %d: reason %v, want %v", i+1, rec.retries[i].Reason, w)
		}
	}
	if rec.retries[1].Backoff != 7*time.Millisecond || rec.retries[2].Code != codes.DeadlineExceeded {
		t.Errorf("retries = %+v", rec.retries)
	}
	if got := []string{RetryCode.String(), RetryPushback.String(), RetryAttemptTimeout.String()}; strings.Join(got, ",") != "code,pushback,attempt_timeout" {
		t.Errorf("reason names = %v", got)
	}
}

func TestHooksBudgetExhausted(t *testing.T) {
	desc := testDesc(retrying(3))
	var rec recorder
	none := NewRetryBudget(RetryBudgetPolicy{Ratio: -1, MinPerSecond: -1}, nil)
	c, _ := newTestCaller(t, desc, WithRetryBudget(none), WithHooks(rec.hooks()))
	err := c.invoke(context.Background(), &desc.Methods[0], fail(errUnavailable))
	if !errors.Is(err, ErrRetryBudgetExhausted) {
		t.Fatalf("err = %v, want ErrRetryBudgetExhausted", err)
	}
	if len(rec.calls) != 1 || !rec.calls[0].BudgetExhausted || len(rec.retries) != 0 {
		t.Errorf("calls %+v, retries %+v: want one call, budget exhausted, no retry", rec.calls, rec.retries)
	}
	// A call the budget did not refuse says so.
	if err := c.invoke(context.Background(), &desc.Methods[0], fail(nil)); err != nil {
		t.Fatal(err)
	}
	if rec.calls[1].BudgetExhausted {
		t.Errorf("second call: BudgetExhausted set")
	}
}

func TestHooksRouted(t *testing.T) {
	desc := testDesc(CallPolicy{})
	var rec recorder
	c, _ := newTestCaller(t, desc, WithHooks(rec.hooks()))
	if err := c.SetRoutes([]Route{{Version: "7", Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	_ = c.invoke(context.Background(), &desc.Methods[0], fail(nil))
	_ = c.invoke(context.Background(), &desc.Methods[0], fail(nil), WithModelVersion("3"))
	if len(rec.calls) != 2 || !rec.calls[0].Routed || rec.calls[0].Target.Version != "7" ||
		rec.calls[1].Routed || rec.calls[1].Target.Version != "3" {
		t.Errorf("call events = %+v", rec.calls)
	}
	if rec.starts[0].Model.Version != "7" {
		t.Errorf("call start = %+v, want version 7", rec.starts[0])
	}
}

func TestHooksLimits(t *testing.T) {
	t.Run("rate wait", func(t *testing.T) {
		desc := testDesc(CallPolicy{})
		desc.Limits = LimitPolicy{RatePerSecond: 10, Burst: 1}
		var rec recorder
		c, clk := newTestCaller(t, desc, WithHooks(rec.hooks()))
		for range 2 {
			if err := c.invoke(context.Background(), &desc.Methods[0], fail(nil)); err != nil {
				t.Fatal(err)
			}
		}
		want := []LimitEvent{{Method: "/test.v1.M/Do", Model: ModelRef{Name: "m"}, Transport: TransportGRPC, Limit: LimitRate, Wait: 100 * time.Millisecond}}
		if len(rec.limits) != 1 || rec.limits[0] != want[0] {
			t.Errorf("limit events = %+v, want %+v (sleeps %v)", rec.limits, want, clk.Sleeps())
		}
	})
	t.Run("refusals", func(t *testing.T) {
		desc := testDesc(CallPolicy{})
		desc.Limits = LimitPolicy{RatePerSecond: 1, Burst: 1, FailFast: true}
		var rec recorder
		c, _ := newTestCaller(t, desc, WithHooks(rec.hooks()))
		_ = c.invoke(context.Background(), &desc.Methods[0], fail(nil))
		if err := c.invoke(context.Background(), &desc.Methods[0], fail(nil)); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("err = %v, want ErrRateLimited", err)
		}
		if len(rec.limits) != 1 || rec.limits[0].Limit != LimitRate || !rec.limits[0].Refused {
			t.Errorf("limit events = %+v", rec.limits)
		}

		desc.Limits = LimitPolicy{MaxConcurrent: 1, FailFast: true}
		rec = recorder{}
		c, _ = newTestCaller(t, desc, WithHooks(rec.hooks()))
		inside, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
		go func() {
			done <- c.invoke(context.Background(), &desc.Methods[0], func(context.Context, attemptArgs) error {
				close(inside)
				<-release
				return nil
			})
		}()
		<-inside
		if err := c.invoke(context.Background(), &desc.Methods[0], fail(nil)); !errors.Is(err, ErrBulkheadFull) {
			t.Errorf("err = %v, want ErrBulkheadFull", err)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.limits) != 1 || rec.limits[0].Limit != LimitBulkhead || !rec.limits[0].Refused || rec.limits[0].Limit.String() != "bulkhead" {
			t.Errorf("limit events = %+v", rec.limits)
		}
	})
}

// A call through the model protocol reports its items and tensor bytes.
func TestHooksInferSize(t *testing.T) {
	srv := startOIP(t)
	desc := echoDesc(CallPolicy{})
	var rec recorder
	c := testClient(dialOIP(t, srv), desc, WithHooks(rec.hooks()))
	raw := tensor.AppendFloat32(nil, []float32{1, 2, 3, 4})
	req := &wire.Request{Inputs: []tensor.Tensor{{Name: "INPUT0", DType: tensor.FP32, Shape: []int64{4}, Raw: raw}}}
	if _, err := c.infer(context.Background(), &desc.Methods[0], req, nil); err != nil {
		t.Fatal(err)
	}
	if len(rec.calls) != 1 {
		t.Fatalf("call events = %+v", rec.calls)
	}
	e := rec.calls[0]
	if e.Items != 1 || e.RequestBytes != 16 || e.ResponseBytes != 16 || e.Transport != TransportGRPC || rec.starts[0].RequestBytes != 16 {
		t.Errorf("call event = %+v, start %+v; want 1 item, 16 bytes each way over grpc", e, rec.starts[0])
	}
	if len(rec.attempts) != 1 || rec.attempts[0].Transport != TransportGRPC {
		t.Errorf("attempt events = %+v", rec.attempts)
	}

	// A batched model's items are the batch dimension.
	batch := &wire.Request{Inputs: []tensor.Tensor{{Shape: []int64{3, 4}, Raw: make([]byte, 48)}, {Shape: []int64{3}, Raw: make([]byte, 3)}}}
	if got := requestSize(batch, true); got != (callSize{items: 3, request: 51}) {
		t.Errorf("requestSize(batched) = %+v", got)
	}
	if got := requestSize(batch, false); got.items != 1 {
		t.Errorf("requestSize(unbatched) = %+v, want 1 item", got)
	}
	resp := &wire.Response{Outputs: []tensor.Tensor{{Raw: make([]byte, 8)}, {}}, Elements: [][][]byte{nil, {[]byte("ab"), []byte("c")}}}
	if got := responseBytes(resp); got != 11 {
		t.Errorf("responseBytes = %d, want 11", got)
	}
}

// A generated micro-batcher's batches reach Hooks.Batch with their size,
// fill wait and the queue behind them.
func TestHooksBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := testDesc(CallPolicy{})
		desc.Batching = BatchingPolicy{MaxDelay: 5 * time.Millisecond, MaxSize: 2}
		var rec recorder
		c := testClient(nil, desc, WithHooks(rec.hooks()))
		policy, _, _, _, rest := c.batcher(&desc.Methods[0], nil)
		release := make(chan struct{})
		b := NewMicroBatcher(policy, 0, func(_ context.Context, items []int) ([]int, error) {
			<-release
			return items, nil
		}, append(rest, WithBatcherInFlight(1), WithItemBytes(func(int) int { return 4 }))...)
		defer b.Close()
		var wg sync.WaitGroup
		do := func(items ...int) {
			for _, i := range items {
				wg.Go(func() { _, _ = b.Do(context.Background(), i) })
			}
			synctest.Wait()
		}
		do(0, 1) // batch A: full at once, runs and holds the one run slot
		do(2, 3) // batch B: full, waits for the slot
		do(4)    // batch C: opens, and waits for its delay and the slot
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		close(release)
		wg.Wait()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		want := []BatchEvent{
			{Items: 2, Bytes: 8, FillWait: 0, Queued: 0},
			{Items: 2, Bytes: 8, FillWait: 10 * time.Millisecond, Queued: 1},
			{Items: 1, Bytes: 4, FillWait: 10 * time.Millisecond, Queued: 0},
		}
		if len(rec.batches) != len(want) {
			t.Fatalf("batch events = %+v, want %d", rec.batches, len(want))
		}
		for i, w := range want {
			w.Method, w.Model = "/test.v1.M/Do", ModelRef{Name: "m"}
			if rec.batches[i] != w {
				t.Errorf("batch %d = %+v, want %+v", i, rec.batches[i], w)
			}
		}
	})
}

// The log reports each kind of event once per interval and model, counting
// the rest, by the client's clock.
func TestWithLoggerRateLimited(t *testing.T) {
	desc := fallbackDesc(CallPolicy{Retry: RetryPolicy{MaxAttempts: 1}, Breaker: BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}})
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	c, clk := newTestCaller(t, desc, WithLogger(logger), WithLogInterval(time.Minute))
	failPrimary := func(_ context.Context, a attemptArgs) error {
		if a.fallback {
			return nil
		}
		return errUnavailable
	}
	for range 5 {
		if err := c.invoke(context.Background(), &desc.Methods[0], failPrimary); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// The first call opens the breaker and falls back; the next four fall
	// back at once, within the minute.
	if len(lines) != 2 || !strings.Contains(lines[0], "circuit breaker opened") || !strings.Contains(lines[1], "fell back") ||
		!strings.Contains(lines[1], "fallback=small@1") {
		t.Fatalf("log =\n%s", buf.String())
	}
	clk.Advance(time.Minute)
	if err := c.invoke(context.Background(), &desc.Methods[0], failPrimary); err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], "fell back") || !strings.Contains(lines[2], "suppressed=4") {
		t.Errorf("log after a minute =\n%s", buf.String())
	}
}

func TestEventLogBudgetAndContract(t *testing.T) {
	var buf bytes.Buffer
	clk := newFakeClock()
	g := newEventLog(slog.New(slog.NewTextHandler(&buf, nil)), clk, 0)
	if g.every != DefaultLogInterval {
		t.Errorf("default interval = %v", g.every)
	}
	h := g.hooks()
	m := ModelRef{Name: "m", Version: "2"}
	for range 3 {
		h.CallDone(context.Background(), CallEvent{Method: "/x/Y", Target: m, BudgetExhausted: true})
	}
	g.contractMismatch(context.Background(), m, errors.New("output probs: FP16, want FP32"))
	h.BreakerStateChange(BreakerEvent{Model: m, From: BreakerHalfOpen, To: BreakerClosed})
	h.BreakerStateChange(BreakerEvent{Model: m, From: BreakerOpen, To: BreakerHalfOpen})
	out := buf.String()
	for _, want := range []string{"retry budget exhausted", "model=m@2", "rpc=/x/Y", "contract mismatch", "FP16", "circuit breaker closed"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 3 {
		t.Errorf("log has %d lines, want 3 (one per kind, half-open not logged):\n%s", n, out)
	}
}

func TestChainHooks(t *testing.T) {
	var order []string
	mk := func(name string) Hooks {
		return Hooks{
			CallStart: func(ctx context.Context, _ CallStartEvent) context.Context {
				order = append(order, name+".start")
				return nil // keeps the context
			},
			Limit:              func(context.Context, LimitEvent) { order = append(order, name+".limit") },
			Batch:              func(BatchEvent) { order = append(order, name+".batch") },
			BreakerStateChange: func(BreakerEvent) { order = append(order, name+".breaker") },
		}
	}
	h := ChainHooks(Hooks{}, mk("a"), mk("b"))
	if ctx := h.CallStart(context.Background(), CallStartEvent{}); ctx == nil {
		t.Error("chained CallStart returned nil")
	}
	h.Limit(context.Background(), LimitEvent{})
	h.Batch(BatchEvent{})
	h.BreakerStateChange(BreakerEvent{})
	if got := strings.Join(order, " "); got != "a.start b.start a.limit b.limit a.batch b.batch a.breaker b.breaker" {
		t.Errorf("order = %s", got)
	}
}
