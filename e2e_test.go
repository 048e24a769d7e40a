package goai

import (
	"context"
	"errors"
	"github.com/goai-dev/goai/internal/wire"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"github.com/sony/gobreaker/v2"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// End-to-end tests: a Pool and a Client against inferencetest's Open
// Inference Protocol server.
//
// A test whose outcome rests on time (deadlines, backoffs, pushback, the
// retry budget's window, the breaker's open period, fault latencies,
// reconnection) runs in a testing/synctest bubble against a server in
// memory (startMem): there every timer, gRPC's own and the clock gobreaker
// reads included, is the bubble's fake clock, which moves only when every
// goroutine of the bubble waits. Durations are then exact, and no count
// depends on how fast a loaded machine runs the test. The other tests call
// over loopback TCP (startOIP), which cannot run in a bubble.

// startOIP starts a server on loopback TCP serving an FP32 [4] identity
// model "echo" and whatever else models holds.
func startOIP(t *testing.T, models ...inferencetest.Model) *inferencetest.Server {
	t.Helper()
	return startOn(t, (*inferencetest.Server).StartTCP, models...)
}

// startMem is startOIP in memory, for tests in a synctest bubble.
func startMem(t *testing.T, models ...inferencetest.Model) *inferencetest.Server {
	t.Helper()
	return startOn(t, (*inferencetest.Server).StartBufconn, models...)
}

func startOn(t *testing.T, start func(*inferencetest.Server) error, models ...inferencetest.Model) *inferencetest.Server {
	t.Helper()
	srv := inferencetest.New(inferencetest.WithRecordLimit(0))
	for _, m := range append([]inferencetest.Model{inferencetest.Identity("echo", tensor.FP32, 4)}, models...) {
		if err := srv.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := start(srv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// dialOIP returns a pool to srv; the server's dial options bring its
// insecure credentials and fast reconnection.
func dialOIP(t *testing.T, srv *inferencetest.Server, opts ...PoolOption) *Pool {
	t.Helper()
	opts = append([]PoolOption{WithDialOptions(srv.DialOptions()...)}, opts...)
	p, err := Dial(srv.Target(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// echoDesc describes a client of model "echo" with policy p.
func echoDesc(p CallPolicy) *ModelDesc {
	return &ModelDesc{
		Service: "test.v1.Echo",
		Model:   ModelRef{Name: "echo"},
		Methods: []MethodDesc{{
			Name: "Echo", FullMethod: "/test.v1.Echo/Echo", Model: ModelRef{Name: "echo"}, Policy: p,
		}},
	}
}

// infer returns the attempt of a generated OIP client: one ModelInfer of a
// [4]float32 on the attempt's model.
func infer(cc grpc.ClientConnInterface) attemptFunc {
	client := oippb.NewClient(cc)
	raw := tensor.AppendFloat32(nil, []float32{1, 2, 3, 4})
	return func(ctx context.Context, a attemptArgs) error {
		req := &oippb.ModelInferRequest{
			ModelName:        a.model.Name,
			ModelVersion:     a.model.Version,
			Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "INPUT0", Datatype: "FP32", Shape: []int64{4}}},
			RawInputContents: [][]byte{raw},
		}
		resp, err := client.ModelInfer(ctx, req, a.callOptions...)
		if err != nil {
			return err
		}
		if len(resp.RawOutputContents) != 1 || len(resp.RawOutputContents[0]) != 16 {
			return status.Errorf(codes.Internal, "bad response %v", resp)
		}
		return nil
	}
}

func fast(attempts int) RetryPolicy {
	return RetryPolicy{MaxAttempts: attempts, InitialBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}
}

// hammer makes n calls from conc goroutines and returns how many failed.
func hammer(n, conc int, call func(i int) error) (failed int) {
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if call(i) != nil {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(bad.Load())
}

func TestE2ERetriesMaskUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMem(t)
		srv.SetFaults(inferencetest.Faults{FailRate: 0.3, Seed: 7})
		// Enough budget for a 30% failure rate: this test is about retries.
		pool := dialOIP(t, srv, WithRetryBudget(NewRetryBudget(RetryBudgetPolicy{Ratio: 1}, nil)))
		desc := echoDesc(CallPolicy{Retry: fast(8), Breaker: BreakerPolicy{Disabled: true}})
		c := testClient(pool, desc)
		fn := infer(pool)
		const n = 2000
		var attempts atomic.Int64
		failed := hammer(n, 16, func(int) error {
			var info CallInfo
			err := c.invoke(context.Background(), &desc.Methods[0], fn, Report(&info))
			attempts.Add(int64(info.Attempts))
			return err
		})
		// The server draws each attempt's fault in arrival order, and which
		// call arrives next does not depend on the draws still to come: each
		// attempt fails with probability 0.3 whatever became of its call's
		// earlier ones. A call fails when all its 8 attempts do, with
		// probability 0.3^8 = 6.6e-5 (the budget, earning a retry per call,
		// never runs out: a call retries 0.43 times on average). Failed calls
		// are thus binomial, of mean 0.13 in 2000; more than 6 of them has a
		// probability below 2e-10, while a client that gave up after 4
		// attempts would fail 16 on average, and one that never retried
		// 600.
		if failed > 6 {
			t.Errorf("%d of %d calls failed, want at most 6", failed, n)
		}
		got := srv.Stats().Models["echo"]
		if got.Calls != int(attempts.Load()) || got.Codes[codes.Unavailable] < n/5 {
			t.Errorf("server saw %d calls (%v), client made %d attempts", got.Calls, got.Codes, attempts.Load())
		}
		t.Logf("%d calls, %d attempts, %d failed", n, attempts.Load(), failed)
	})
}

func TestE2ERetryBudgetBoundsLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMem(t)
		srv.SetFaults(inferencetest.Faults{FailRate: 1})
		pool := dialOIP(t, srv) // the pool's default budget: ratio 0.2, floor 10/s over 10s
		desc := echoDesc(CallPolicy{Retry: fast(5), Breaker: BreakerPolicy{Disabled: true}})
		c := testClient(pool, desc)
		fn := infer(pool)
		const n = 1000
		var exhausted atomic.Int64
		start := time.Now()
		failed := hammer(n, 8, func(int) error {
			err := c.invoke(context.Background(), &desc.Methods[0], fn)
			if errors.Is(err, ErrRetryBudgetExhausted) && status.Code(err) == codes.Unavailable {
				exhausted.Add(1)
			}
			return err
		})
		if failed != n {
			t.Fatalf("%d of %d calls failed against a server failing everything", failed, n)
		}
		// The calls take only their backoffs of the bubble's time, a
		// fraction of the budget's 10s window, so no retry it paid for
		// leaves the window and the bound is exact.
		if d := time.Since(start); d >= DefaultRetryBudgetTTL {
			t.Fatalf("the calls took %v, more than the budget's window", d)
		}
		bound := n + int(DefaultRetryBudgetRatio*n) + int(DefaultRetryBudgetMinPerSecond*DefaultRetryBudgetTTL.Seconds())
		if got := srv.Stats().Models["echo"].Calls; got > bound || got <= n {
			t.Errorf("server received %d attempts for %d calls, want in (%d, %d]", got, n, n, bound)
		} else {
			t.Logf("server received %d attempts for %d calls (bound %d) in %v; %d calls ended on the budget", got, n, bound, time.Since(start), exhausted.Load())
		}
		if exhausted.Load() == 0 {
			t.Errorf("no call ended with ErrRetryBudgetExhausted")
		}
	})
}

// TestE2EBreakerFailsFast trips the breaker, then lets its open period
// pass on the bubble's clock, which is the clock gobreaker reads: a probe
// finds the server still failing, the next one finds it healthy.
func TestE2EBreakerFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMem(t)
		srv.SetFaults(inferencetest.Faults{FailRate: 1, FailWith: inferencetest.Fail(codes.Internal)})
		pool := dialOIP(t, srv)
		var changes []BreakerState
		desc := echoDesc(CallPolicy{Breaker: BreakerPolicy{ConsecutiveFailures: 5, OpenTimeout: time.Hour}})
		c := testClient(pool, desc, WithHooks(Hooks{
			BreakerStateChange: func(e BreakerEvent) { changes = append(changes, e.To) },
		}))
		fn := infer(pool)
		call := func() error { return c.invoke(context.Background(), &desc.Methods[0], fn) }
		var open int
		for range 50 {
			err := call()
			if errors.Is(err, ErrBreakerOpen) && errors.Is(err, gobreaker.ErrOpenState) && status.Code(err) == codes.Unavailable {
				open++
			}
		}
		if got := srv.Stats().Models["echo"].Calls; got != 5 || open != 45 {
			t.Errorf("server saw %d calls and %d calls failed fast, want 5 and 45", got, open)
		}
		if len(changes) != 1 || changes[0] != BreakerOpen || c.BreakerState(ModelRef{Name: "echo"}) != BreakerOpen {
			t.Errorf("breaker changes = %v", changes)
		}

		// The calls took none of the bubble's time. The breaker stays open
		// for the whole of its hour, and lets a probe through after it.
		time.Sleep(time.Hour)
		if err := call(); !errors.Is(err, ErrBreakerOpen) {
			t.Errorf("at the end of the open period: %v, want ErrBreakerOpen", err)
		}
		time.Sleep(time.Millisecond)
		if err := call(); status.Code(err) != codes.Internal || errors.Is(err, ErrBreakerOpen) {
			t.Errorf("probe: %v, want the server's INTERNAL", err)
		}
		srv.ClearFaults()
		if err := call(); !errors.Is(err, ErrBreakerOpen) {
			t.Errorf("after the failed probe: %v, want ErrBreakerOpen", err)
		}
		time.Sleep(time.Hour + time.Millisecond)
		if err := call(); err != nil {
			t.Errorf("probe of the healed server: %v", err)
		}
		want := []BreakerState{BreakerOpen, BreakerHalfOpen, BreakerOpen, BreakerHalfOpen, BreakerClosed}
		if !slices.Equal(changes, want) {
			t.Errorf("breaker changes = %v, want %v", changes, want)
		}
		if got := srv.Stats().Models["echo"].Calls; got != 7 {
			t.Errorf("server saw %d calls, want 7: 5 before the breaker opened and 2 probes", got)
		}
	})
}

func TestE2EPushbackAndHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMem(t)
		pool := dialOIP(t, srv)
		// fast(3) waits 1ms ±20% before the first retry, 2ms ±20% before
		// the second.
		p := CallPolicy{Retry: fast(3), AttemptTimeout: 100 * time.Millisecond}
		desc := echoDesc(p)
		c := testClient(pool, desc)
		fn := infer(pool)
		m := &desc.Methods[0]
		var info CallInfo
		call := func() (time.Duration, error) {
			start := time.Now()
			err := c.invoke(context.Background(), m, fn, Report(&info))
			return time.Since(start), err
		}

		srv.Script(inferencetest.Pushback(codes.Unavailable, 40*time.Millisecond), inferencetest.Serve())
		if d, err := call(); err != nil || info.Attempts != 2 || d != 40*time.Millisecond {
			t.Errorf("pushback then serve: %v after %d attempts in %v, want success after 2, the retry after the 40ms pushback", err, info.Attempts, d)
		}

		srv.Script(inferencetest.Pushback(codes.Unavailable, -1))
		if _, err := call(); status.Code(err) != codes.Unavailable || info.Attempts != 1 {
			t.Errorf("negative pushback: %v after %d attempts, want UNAVAILABLE after 1", err, info.Attempts)
		}

		srv.Script(inferencetest.Hang(), inferencetest.Serve())
		if d, err := call(); err != nil || info.Attempts != 2 || d < 100*time.Millisecond+800*time.Microsecond || d > 100*time.Millisecond+1200*time.Microsecond {
			t.Errorf("hang then serve: %v after %d attempts in %v, want success after 2, the retry 1ms after the 100ms attempt timeout", err, info.Attempts, d)
		}

		// Latency beyond the attempt timeout cuts every attempt; between
		// them, the backoffs wait 1ms and 2ms, ±20%.
		srv.SetFaults(inferencetest.Faults{Latency: 150 * time.Millisecond})
		if d, err := call(); status.Code(err) != codes.DeadlineExceeded || info.Attempts != 3 || d < 302400*time.Microsecond || d > 303600*time.Microsecond {
			t.Errorf("slow server: %v after %d attempts in %v, want DEADLINE_EXCEEDED after 3 attempts of 100ms and 3ms of backoff", err, info.Attempts, d)
		}
		// Just within it, the first attempt is served.
		srv.SetFaults(inferencetest.Faults{Latency: 99 * time.Millisecond})
		if d, err := call(); err != nil || info.Attempts != 1 || d != 99*time.Millisecond {
			t.Errorf("server just in time: %v after %d attempts in %v, want success in 99ms", err, info.Attempts, d)
		}
	})
}

func TestE2EFallbackAndRouting(t *testing.T) {
	var mu sync.Mutex
	versions := map[string]int{}
	broken := inferencetest.Identity("broken", tensor.FP32, 4)
	broken.Infer = func(context.Context, *inferencetest.Request) ([]tensor.Tensor, error) {
		return nil, status.Error(codes.Unavailable, "broken model")
	}
	canary := inferencetest.Identity("canary", tensor.FP32, 4)
	canary.Versions = []string{"1", "2"}
	identity := canary.Infer
	canary.Infer = func(ctx context.Context, r *inferencetest.Request) ([]tensor.Tensor, error) {
		mu.Lock()
		versions[r.Version]++
		mu.Unlock()
		return identity(ctx, r)
	}
	srv := startOIP(t, broken, canary)
	pool := dialOIP(t, srv)

	desc := echoDesc(CallPolicy{Retry: fast(2)})
	desc.Model = ModelRef{Name: "broken"}
	desc.Methods[0].Model = desc.Model
	desc.Fallback = &ModelRef{Name: "echo"}
	c := testClient(pool, desc)
	var info CallInfo
	if err := c.invoke(context.Background(), &desc.Methods[0], infer(pool), Report(&info)); err != nil {
		t.Fatalf("call with fallback: %v", err)
	}
	if !info.Fallback || info.Model.Name != "echo" || info.Attempts != 3 {
		t.Errorf("info = %+v, want the fallback on echo after 2 attempts", info)
	}

	desc = echoDesc(CallPolicy{})
	desc.Model = ModelRef{Name: "canary"}
	desc.Methods[0].Model = desc.Model
	c = testClient(pool, desc, WithRandSource(rand.NewPCG(5, 6)))
	if err := c.SetRoutes([]Route{{Version: "1", Weight: 3}, {Version: "2", Weight: 1}}); err != nil {
		t.Fatal(err)
	}
	if failed := hammer(400, 4, func(int) error { return c.invoke(context.Background(), &desc.Methods[0], infer(pool)) }); failed != 0 {
		t.Fatalf("%d routed calls failed", failed)
	}
	mu.Lock()
	defer mu.Unlock()
	if versions["1"]+versions["2"] != 400 || versions["2"] < 60 || versions["2"] > 140 {
		t.Errorf("versions served = %v, want about 300 / 100", versions)
	}
}

// TestE2ESoak runs many concurrent calls against a server with mixed faults
// whose listener restarts mid-run: every call must return exactly once,
// and nothing may leak. It runs in a synctest bubble, so the breaker's
// open periods, the reconnections and the callers giving up take the
// bubble's time, not the machine's: how many calls fail fast does not
// depend on its load.
func TestE2ESoak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	n, conc := 20_000, 128
	if testing.Short() || raceEnabled {
		n = 5_000
	}
	synctest.Test(t, func(t *testing.T) { soak(t, n, conc) })
}

func soak(t *testing.T, n, conc int) {
	srv := inferencetest.New(inferencetest.WithRecordLimit(0))
	if err := srv.Register(inferencetest.Identity("echo", tensor.FP32, 4)); err != nil {
		t.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	srv.SetFaults(inferencetest.Faults{
		FailRate: 0.1, Seed: 3,
		LatencyFunc: func(inferencetest.Call) time.Duration { return time.Duration(rand.IntN(500)) * time.Microsecond },
	})
	pool, err := Dial(srv.Target(), WithPoolSize(2), WithDialOptions(srv.DialOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	p := CallPolicy{
		Retry:          RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		Timeout:        2 * time.Second,
		AttemptTimeout: 500 * time.Millisecond,
		Breaker:        BreakerPolicy{ConsecutiveFailures: 50, OpenTimeout: 20 * time.Millisecond, HalfOpenProbes: 4},
	}
	desc := echoDesc(p)
	desc.Limits = LimitPolicy{MaxConcurrent: 96}
	var callDone, started atomic.Int64
	c := testClient(pool, desc, WithHooks(Hooks{
		CallDone: func(context.Context, CallEvent) { callDone.Add(1) },
	}))
	fn := infer(pool)

	returned := make([]atomic.Int32, n)
	codesSeen, kinds := sync.Map{}, sync.Map{}
	restarts := make(chan struct{})
	go func() {
		defer close(restarts)
		for _, at := range []int64{int64(n) / 3, 2 * int64(n) / 3} {
			for started.Load() < at {
				time.Sleep(time.Millisecond)
			}
			if err := srv.Restart(); err != nil {
				t.Error(err)
			}
			srv.Script(inferencetest.Hang(), inferencetest.Fail(codes.ResourceExhausted), inferencetest.Hang())
		}
	}()
	start := time.Now()
	failed := hammer(n, conc, func(i int) error {
		started.Add(1)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if i%97 == 0 {
			// Some callers give up early.
			time.AfterFunc(time.Duration(rand.IntN(2000))*time.Microsecond, cancel)
		}
		err := c.invoke(ctx, &desc.Methods[0], fn)
		returned[i].Add(1)
		kind := "other"
		switch {
		case err == nil:
			kind = "ok"
		case errors.Is(err, ErrBreakerOpen):
			kind = "breaker"
			// A real client loop backs off too, for about the breaker's
			// open period; without it, the calls failing fast would use
			// up the run while a probe hangs.
			time.Sleep(20 * time.Millisecond)
		case errors.Is(err, ErrRetryBudgetExhausted):
			kind = "budget"
		case errors.Is(err, ErrBulkheadFull):
			kind = "bulkhead"
		}
		kinds.LoadOrStore(kind, new(atomic.Int64))
		v0, _ := kinds.Load(kind)
		v0.(*atomic.Int64).Add(1)
		code := status.Code(err)
		v, _ := codesSeen.LoadOrStore(code, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		return err
	})
	<-restarts
	elapsed := time.Since(start)
	for i := range returned {
		if got := returned[i].Load(); got != 1 {
			t.Fatalf("call %d returned %d times", i, got)
		}
	}
	if got := callDone.Load(); got != int64(n) {
		t.Errorf("CallDone ran %d times for %d calls", got, n)
	}
	summary := map[codes.Code]int64{}
	codesSeen.Range(func(k, v any) bool { summary[k.(codes.Code)] = v.(*atomic.Int64).Load(); return true })
	kindSummary := map[string]int64{}
	kinds.Range(func(k, v any) bool { kindSummary[k.(string)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("%d calls, %d concurrent, in %v of the bubble's time: %d failed, codes %v, kinds %v", n, conc, elapsed, failed, summary, kindSummary)
	for code := range summary {
		switch code {
		case codes.OK, codes.Unavailable, codes.Canceled, codes.DeadlineExceeded, codes.ResourceExhausted:
		default:
			t.Errorf("unexpected code %v in %v", code, summary)
		}
	}
	// At least the calls that ended before the first restart succeeded,
	// but for those whose callers gave up (1 in 97): the faults until then
	// fail one attempt in ten, of which 4 attempts leave 1e-4, and nothing
	// before it waits near a timeout, so the breaker stays closed and the
	// budget (0.2 retries a call) covers the 0.11 retries a call takes.
	// The restart comes once n/3 calls have started, when at most conc of
	// them are still running: about 0.32n calls succeed before it. After
	// it, a probe that hangs until the attempt timeout can keep the
	// breaker from closing for 500ms, in which the calls failing fast
	// take a share of the run that depends on how the goroutines are
	// scheduled.
	if summary[codes.OK] < int64(n)/10 {
		t.Errorf("only %d of %d calls succeeded", summary[codes.OK], n)
	}

	// Once the faults stop, the breaker's open period (20ms) and the
	// longest reconnection backoff (250ms, +20% jitter) pass, and every
	// call succeeds: no probe slot or bulkhead slot leaked.
	srv.ClearFaults()
	time.Sleep(time.Second)
	for i := range 200 {
		if err := c.invoke(context.Background(), &desc.Methods[0], fn); err != nil {
			t.Fatalf("call %d after the faults stopped: %v", i, err)
		}
	}
	_ = pool.Close()
	srv.Stop()
}

// TestFromConnSetsItsOwnMessageLimits calls through a *grpc.ClientConn
// dialed with grpc-go's defaults, whose receive limit is 4 MiB: the
// client's own per-call limits (DefaultMaxMsgSize, 64 MiB) let an 8 MiB
// response through, as a client that dials its own connections does, and
// WithMaxRecvMsgSize lowers them for that client alone.
func TestFromConnSetsItsOwnMessageLimits(t *testing.T) {
	const n = 2 << 20 // 8 MiB of FP32 each way
	srv := startMem(t, inferencetest.Identity("big", tensor.FP32, -1))
	// A connection with grpc-go's default limits, as a user dials it.
	conn, err := grpc.NewClient("passthrough:///bufconn", grpc.WithContextDialer(srv.DialContext),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	desc := &ModelDesc{
		Service: "test.v1.Big",
		Model:   ModelRef{Name: "big"},
		Methods: []MethodDesc{{Name: "Echo", FullMethod: "/test.v1.Big/Echo", Model: ModelRef{Name: "big"}}},
	}
	req := func() *wire.Request {
		return &wire.Request{Inputs: []tensor.Tensor{{Name: "INPUT0", DType: tensor.FP32, Shape: []int64{n}, Raw: make([]byte, 4*n)}}}
	}
	c := testClient(conn, desc, WithRetryBudget(nil))
	resp, err := c.infer(t.Context(), &desc.Methods[0], req(), nil)
	if err != nil {
		t.Fatalf("an 8 MiB response through a connection of grpc's defaults: %v", err)
	}
	if len(resp.Outputs) != 1 || len(resp.Outputs[0].Raw) != 4*n {
		t.Fatalf("response %d outputs", len(resp.Outputs))
	}
	small := testClient(conn, desc, WithRetryBudget(nil), WithMaxRecvMsgSize(1<<20), WithMaxSendMsgSize(16<<20))
	if _, err := small.infer(t.Context(), &desc.Methods[0], req(), nil); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("with a 1 MiB receive limit: %v, want RESOURCE_EXHAUSTED", err)
	}
	tiny := testClient(conn, desc, WithRetryBudget(nil), WithMaxSendMsgSize(1<<20))
	if _, err := tiny.infer(t.Context(), &desc.Methods[0], req(), nil); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("with a 1 MiB send limit: %v, want ErrMessageTooLarge, sent by nothing", err)
	}
}
