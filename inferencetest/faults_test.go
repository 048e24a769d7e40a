package inferencetest_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// sleeps records the waits a server asks for and returns at once, so that
// tests about latency and cost never wait.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	s.d = nil
	return d
}

func infer(c oippb.Client, ctx context.Context, id string, opts ...grpc.CallOption) error {
	req := rawFP32("double", "IN", []int64{1, 2}, 1, 2)
	req.Id = id
	_, err := c.ModelInfer(ctx, req, opts...)
	return err
}

func TestFaultFailRate(t *testing.T) {
	srv, c := start(t, false, []inferencetest.Model{doubler()})
	pattern := func() []bool {
		srv.SetFaults(inferencetest.Faults{FailRate: 0.3, Seed: 7, FailWith: inferencetest.Fail(codes.ResourceExhausted)})
		var failed []bool
		for range 100 {
			err := infer(c, ctxT(t), "")
			if err != nil {
				wantCode(t, err, codes.ResourceExhausted, "inferencetest: injected ResourceExhausted")
			}
			failed = append(failed, err != nil)
		}
		return failed
	}
	first := pattern()
	n := 0
	for _, f := range first {
		if f {
			n++
		}
	}
	if n < 15 || n > 45 {
		t.Errorf("%d of 100 calls failed at rate 0.3", n)
	}
	if second := pattern(); !equalBools(first, second) {
		t.Error("the same seed gave different failures")
	}
	if st := srv.Stats().Models["double"]; st.Injected != 2*n || st.Codes[codes.ResourceExhausted] != 2*n || st.Codes[codes.OK] != 200-2*n {
		t.Errorf("stats %+v, want %d injected failures", st, 2*n)
	}

	srv.SetFaults(inferencetest.Faults{FailRate: 1})
	wantCode(t, infer(c, ctxT(t), ""), codes.Unavailable) // the default code
	srv.SetFaults(inferencetest.Faults{})
	if err := infer(c, ctxT(t), ""); err != nil {
		t.Errorf("after clearing: %v", err)
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The tests that wait on time run in a testing/synctest bubble, with the
// server in memory: its timers, the clients' deadlines and gRPC's own
// timers all take the bubble's fake time, so the durations they check are
// exact, whatever the machine's load, and synctest.Wait waits for the
// server to finish with a call.

func TestFaultLatencyInjectedClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sl sleeps
		srv, c := start(t, false, []inferencetest.Model{doubler()}, inferencetest.WithSleep(sl.sleep))
		srv.SetFaults(inferencetest.Faults{
			Latency: 3 * time.Second,
			LatencyFunc: func(call inferencetest.Call) time.Duration {
				if call.Request.(*oippb.ModelInferRequest).Id == "slow" {
					return 2 * time.Second
				}
				return 0
			},
		})
		start := time.Now()
		if err := infer(c, ctxT(t), "fast"); err != nil {
			t.Fatal(err)
		}
		if err := infer(c, ctxT(t), "slow"); err != nil {
			t.Fatal(err)
		}
		if got := sl.take(); len(got) != 2 || got[0] != 3*time.Second || got[1] != 5*time.Second {
			t.Errorf("slept %v, want [3s 5s]", got)
		}
		// A timer would have moved the bubble's clock.
		if d := time.Since(start); d != 0 {
			t.Errorf("the calls took %v of the bubble's time: the server slept on a timer too", d)
		}
	})
}

func TestFaultLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := start(t, false, []inferencetest.Model{doubler()})
		if err := infer(c, ctxT(t), ""); err != nil { // connect first
			t.Fatal(err)
		}
		srv.SetFaults(inferencetest.Faults{Latency: 30 * time.Millisecond})
		start := time.Now()
		if err := infer(c, ctxT(t), ""); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 30*time.Millisecond {
			t.Errorf("call took %v, want the 30ms latency", d)
		}

		// Latency beyond the caller's deadline ends the call at the deadline.
		srv.SetFaults(inferencetest.Faults{Latency: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start = time.Now()
		wantCode(t, infer(c, ctx, ""), codes.DeadlineExceeded)
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("call took %v, want the 50ms deadline", d)
		}
		synctest.Wait() // for the handler to record the call
		if st := srv.Stats().Models["double"]; st.Injected != 1 || st.Codes[codes.OK] != 2 {
			t.Errorf("stats %+v, want 2 calls served and 1 cut by its latency", st)
		}
	})
}

func TestFaultHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := start(t, false, []inferencetest.Model{doubler()})
		srv.SetFaults(inferencetest.Faults{Hang: true})

		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		wantCode(t, infer(c, ctx, ""), codes.DeadlineExceeded)
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("hang ended after %v, want the 50ms deadline", d)
		}

		ctx, cancel = context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- infer(c, ctx, "") }()
		time.Sleep(time.Hour)
		if n := srv.Stats().Calls["ModelInfer"]; n != 2 {
			t.Fatalf("%d calls arrived, want 2", n)
		}
		select {
		case err := <-errc:
			t.Fatalf("a call without a deadline stopped hanging before its caller gave up: %v", err)
		default:
		}
		cancel()
		wantCode(t, <-errc, codes.Canceled)

		synctest.Wait()
		st := srv.Stats().Models["double"]
		// Server side, an expired deadline shows as DEADLINE_EXCEEDED or as
		// CANCELLED, whichever of its own timer and the client's RST_STREAM
		// comes first.
		if st.Injected != 2 || st.Codes[codes.DeadlineExceeded]+st.Codes[codes.Canceled] != 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestFaultScript(t *testing.T) {
	var sl sleeps
	srv, c := start(t, false, []inferencetest.Model{doubler()}, inferencetest.WithSleep(sl.sleep))
	srv.Script(
		inferencetest.Fail(codes.Unavailable),
		inferencetest.Outcome{Code: codes.Internal, Message: "scripted"},
		inferencetest.Outcome{Delay: time.Second},
		inferencetest.Serve(),
	)
	wantCode(t, infer(c, ctxT(t), ""), codes.Unavailable)
	wantCode(t, infer(c, ctxT(t), ""), codes.Internal, "scripted")
	for i := range 3 {
		if err := infer(c, ctxT(t), ""); err != nil {
			t.Errorf("call %d after the failures: %v", i+3, err)
		}
	}
	if got := sl.take(); len(got) != 1 || got[0] != time.Second {
		t.Errorf("slept %v, want the scripted 1s once", got)
	}

	// The script comes before the faults, then the faults take over.
	srv.SetFaults(inferencetest.Faults{FailRate: 1, FailWith: inferencetest.Fail(codes.Aborted)})
	srv.Script(inferencetest.Serve())
	if err := infer(c, ctxT(t), ""); err != nil {
		t.Errorf("scripted success: %v", err)
	}
	wantCode(t, infer(c, ctxT(t), ""), codes.Aborted)
	srv.Script(inferencetest.Fail(codes.DataLoss))
	srv.ClearFaults()
	if err := infer(c, ctxT(t), ""); err != nil {
		t.Errorf("ClearFaults left the script: %v", err)
	}
}

func TestFaultMethods(t *testing.T) {
	srv, c := start(t, false, []inferencetest.Model{doubler()})
	ctx := ctxT(t)

	// By default only ModelInfer is affected.
	srv.SetFaults(inferencetest.Faults{FailRate: 1})
	wantCode(t, infer(c, ctx, ""), codes.Unavailable)
	if _, err := c.ServerReady(ctx, &oippb.ServerReadyRequest{}); err != nil {
		t.Errorf("ServerReady: %v", err)
	}

	srv.SetFaults(inferencetest.Faults{FailRate: 1, Methods: []string{"ServerLive", "ModelMetadata"}})
	_, err := c.ServerLive(ctx, &oippb.ServerLiveRequest{})
	wantCode(t, err, codes.Unavailable)
	_, err = c.ModelMetadata(ctx, &oippb.ModelMetadataRequest{Name: "double"})
	wantCode(t, err, codes.Unavailable)
	if err := infer(c, ctx, ""); err != nil {
		t.Errorf("ModelInfer: %v", err)
	}

	// Scripts follow Methods too: a ServerReady call leaves them alone.
	srv.SetFaults(inferencetest.Faults{})
	srv.Script(inferencetest.Fail(codes.Unavailable))
	if _, err := c.ServerReady(ctx, &oippb.ServerReadyRequest{}); err != nil {
		t.Errorf("ServerReady: %v", err)
	}
	wantCode(t, infer(c, ctx, ""), codes.Unavailable)
}

func TestFaultPushback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := start(t, false, []inferencetest.Model{doubler()})
		// A retry policy whose own backoff is 10s: a retry sooner is the
		// client honouring the pushback.
		c := dial(t, srv, grpc.WithDefaultServiceConfig(`{"methodConfig": [{
			"name": [{"service": "inference.GRPCInferenceService"}],
			"retryPolicy": {"maxAttempts": 3, "initialBackoff": "10s", "maxBackoff": "10s",
				"backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`))
		if err := infer(c, ctxT(t), ""); err != nil { // connect first
			t.Fatal(err)
		}

		// RESOURCE_EXHAUSTED is not retryable under the policy, so the
		// trailer reaches the caller.
		srv.Script(inferencetest.Pushback(codes.ResourceExhausted, 250*time.Millisecond))
		var tr metadata.MD
		wantCode(t, infer(c, ctxT(t), "", grpc.Trailer(&tr)), codes.ResourceExhausted)
		if got := tr.Get(inferencetest.PushbackTrailer); len(got) != 1 || got[0] != "250" {
			t.Errorf("trailer %v, want %s: 250", tr, inferencetest.PushbackTrailer)
		}

		// A retryable failure with pushback is retried after the pushback.
		srv.ResetRecords()
		srv.Script(inferencetest.Pushback(codes.Unavailable, 40*time.Millisecond))
		start := time.Now()
		if err := infer(c, ctxT(t), ""); err != nil {
			t.Fatal(err)
		}
		if n, d := len(srv.Requests()), time.Since(start); n != 2 || d != 40*time.Millisecond {
			t.Errorf("%d attempts in %v, want 2, the retry after the 40ms pushback", n, d)
		}

		// Pushback -1 forbids retries.
		srv.ResetRecords()
		srv.Script(inferencetest.Pushback(codes.Unavailable, -1))
		wantCode(t, infer(c, ctxT(t), ""), codes.Unavailable)
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d attempts, want 1: pushback -1 forbids retries", n)
		}
	})
}

func TestFaultCost(t *testing.T) {
	var sl sleeps
	srv, c := start(t, false, []inferencetest.Model{doubler()}, inferencetest.WithSleep(sl.sleep))
	srv.SetFaults(inferencetest.Faults{Cost: 7 * time.Millisecond})
	for _, batch := range []int{1, 8} {
		v := make([]float32, batch*3)
		if _, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{int64(batch), 3}, v...)); err != nil {
			t.Fatal(err)
		}
		if got := sl.take(); len(got) != 1 || got[0] != 7*time.Millisecond {
			t.Errorf("batch %d: slept %v, want [7ms]", batch, got)
		}
	}
	// A rejected request costs nothing.
	_, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{9, 1}, make([]float32, 9)...))
	wantCode(t, err, codes.InvalidArgument)
	if got := sl.take(); len(got) != 0 {
		t.Errorf("rejected request slept %v", got)
	}
}

func TestInstancesQueueCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cur, peak atomic.Int32
		release := make(chan struct{})
		m := doubler()
		m.Instances = 1
		next := m.Infer
		m.Infer = func(ctx context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			n := cur.Add(1)
			defer cur.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return next(ctx, req)
		}
		srv, c := start(t, false, []inferencetest.Model{m})

		const calls = 5
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		for range calls {
			wg.Go(func() { errs <- infer(c, ctxT(t), "") })
		}
		synctest.Wait()
		if n := srv.Stats().Calls["ModelInfer"]; n != calls {
			t.Fatalf("%d calls arrived, want %d", n, calls)
		}
		// A queued call gives up at its deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		wantCode(t, infer(c, ctx, ""), codes.DeadlineExceeded)
		for range calls {
			release <- struct{}{}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if p := peak.Load(); p != 1 {
			t.Errorf("%d calls ran the model at once, want 1", p)
		}
	})
}

func TestMaxConcurrentStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := start(t, false, []inferencetest.Model{doubler()}, inferencetest.WithMaxConcurrentStreams(1))
		// One call first, so the client has the server's SETTINGS.
		if _, err := c.ServerLive(ctxT(t), &oippb.ServerLiveRequest{}); err != nil {
			t.Fatal(err)
		}
		srv.Script(inferencetest.Hang())
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- infer(c, ctx, "") }()
		synctest.Wait()
		if n := srv.Stats().Calls["ModelInfer"]; n != 1 {
			t.Fatalf("%d calls arrived, want 1", n)
		}

		// The only stream is taken: a second call waits on the client side,
		// never reaching the server, until its deadline.
		short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancelShort()
		wantCode(t, infer(c, short, ""), codes.DeadlineExceeded)
		if n := srv.Stats().Calls["ModelInfer"]; n != 1 {
			t.Errorf("server saw %d calls, want 1", n)
		}

		cancel()
		wantCode(t, <-errc, codes.Canceled)
		if err := infer(c, ctxT(t), ""); err != nil {
			t.Errorf("after the stream was freed: %v", err)
		}
	})
}

// Faults, scripts, records and calls from many goroutines at once, for the
// race detector.
func TestConcurrentUse(t *testing.T) {
	srv, c := start(t, false, []inferencetest.Model{doubler()}, inferencetest.WithRecordLimit(16))
	const workers, perWorker = 8, 25
	stop := make(chan struct{})
	var fiddler sync.WaitGroup
	fiddler.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			switch i % 4 {
			case 0:
				srv.SetFaults(inferencetest.Faults{FailRate: 0.5, Seed: uint64(i)})
			case 1:
				srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
			case 2:
				_ = srv.Stats()
				_ = srv.Requests()
			case 3:
				srv.ClearFaults()
				_ = srv.Register(doubler()) // a reload under load
			}
		}
	})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range perWorker {
				resp, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{1, 2}, 1, 2))
				if err != nil {
					if status.Code(err) != codes.Unavailable {
						t.Error(err)
					}
					continue
				}
				if v := decodeFP32(t, resp.RawOutputContents[0]); v[0] != 2 || v[1] != 4 {
					t.Errorf("got %v", v)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	fiddler.Wait()
	st := srv.Stats()
	if got := st.Models["double"].Calls; got != workers*perWorker {
		t.Errorf("%d calls counted, want %d", got, workers*perWorker)
	}
	if got := len(srv.Requests()); got != 16 || st.Dropped != workers*perWorker-16 {
		t.Errorf("%d requests kept, %d dropped", got, st.Dropped)
	}
}
