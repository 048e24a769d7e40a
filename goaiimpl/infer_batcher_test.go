package goaiimpl

import (
	"context"
	"errors"
	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/internal/bridge"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The InferBatcher's tests serve ModelInfer in process, from a fake
// connection, so that they run in synctest bubbles: each call's timeout is
// then exact, on the bubble's clock.

// pairTensors is the one tensor, "x" in and "y" out, of the pair model:
// two FP32 values per item, held in InferTensorContents.fp32_contents.
var (
	pairIn  = []goai.TensorDesc{{Name: "x", Field: "fp32_contents", DType: tensor.FP32, Shape: []int64{2}}}
	pairOut = []goai.TensorDesc{{Name: "y", Field: "fp32_contents", DType: tensor.FP32, Shape: []int64{2}}}
)

func encodePair(e *Encoder, batch []*oippb.InferTensorContents) {
	for _, x := range batch {
		AppendTensor(e.Tensor(0), x.GetFp32Contents())
	}
}

func decodePair(d *Decoder, batch []*oippb.InferTensorContents) {
	for i := range batch {
		batch[i] = &oippb.InferTensorContents{Fp32Contents: DecodeTensor[float32](d.Tensor(0), i)}
	}
}

func pair(v float32) *oippb.InferTensorContents {
	return &oippb.InferTensorContents{Fp32Contents: []float32{v, -v}}
}

// pairDesc describes the pair model, batches of up to 8 items, with call
// policy p.
func pairDesc(p goai.CallPolicy, batching goai.BatchingPolicy) *goai.ModelDesc {
	return &goai.ModelDesc{
		Service:      "test.v1.Pair",
		Model:        goai.ModelRef{Name: "pair"},
		MaxBatchSize: 8,
		Batching:     batching,
		Methods: []goai.MethodDesc{{
			Name: "Echo", FullMethod: "/test.v1.Pair/Echo", Model: goai.ModelRef{Name: "pair"},
			Inputs: pairIn, Outputs: pairOut, Policy: p,
		}},
	}
}

// pairServer is a grpc.ClientConnInterface that serves ModelInfer of the
// pair model in process: it echoes each request, after waiting for
// release (nil: no wait) or until the request's context ends.
type pairServer struct {
	mu       sync.Mutex
	release  chan struct{}
	requests []int // items per request
}

func (s *pairServer) Invoke(ctx context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	req := args.(*oippb.ModelInferRequest)
	s.mu.Lock()
	s.requests = append(s.requests, int(req.GetInputs()[0].GetShape()[0]))
	release := s.release
	s.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	in := req.GetInputs()[0]
	proto.Merge(reply.(*oippb.ModelInferResponse), &oippb.ModelInferResponse{
		ModelName:         req.GetModelName(),
		Outputs:           []*oippb.ModelInferResponse_InferOutputTensor{{Name: "y", Datatype: in.GetDatatype(), Shape: in.GetShape()}},
		RawOutputContents: req.GetRawInputContents(),
	})
	return nil
}

func (s *pairServer) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, errors.New("pairServer: no streams")
}

func (s *pairServer) sent() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.requests...)
}

// newPairBatcher returns an InferBatcher of the pair model on srv, closed
// at the end of the test, and its Caller.
func newPairBatcher(t *testing.T, srv *pairServer, p goai.CallPolicy, batching goai.BatchingPolicy, opts ...goai.MicroBatchOption) (*InferBatcher[*oippb.InferTensorContents, *oippb.InferTensorContents], *goai.Client) {
	t.Helper()
	desc := pairDesc(p, batching)
	c := NewClientFromConn(srv, desc, goai.WithRetryBudget(nil))
	b := NewInferBatcher(c, &desc.Methods[0], encodePair, decodePair, opts...)
	t.Cleanup(func() { b.Close() })
	return b, c
}

type pairResult struct {
	out *oippb.InferTensorContents
	err error
	at  time.Duration // since the test's start, on the bubble's clock
}

// goPair calls b.Do(ctx, pair(v)) on a goroutine of its own.
func goPair(ctx context.Context, b *InferBatcher[*oippb.InferTensorContents, *oippb.InferTensorContents], v float32, start time.Time) <-chan pairResult {
	ch := make(chan pairResult, 1)
	go func() {
		out, err := b.Do(ctx, pair(v))
		ch <- pairResult{out, err, time.Since(start)}
	}()
	return ch
}

// wantPairTimeout checks that r is DEADLINE_EXCEEDED, at. (When the
// caller's deadline is also its batch's, which of the two errors it gets,
// its context's or the request's, is a race; both have the code.)
func wantPairTimeout(t *testing.T, what string, r pairResult, at time.Duration) {
	t.Helper()
	if status.Code(r.err) != codes.DeadlineExceeded || r.at != at {
		t.Errorf("%s: Do = %v, %v at %v; want DEADLINE_EXCEEDED at %v", what, r.out, r.err, r.at, at)
	}
}

func wantPair(t *testing.T, what string, r pairResult, v float32, at time.Duration) {
	t.Helper()
	if r.err != nil || len(r.out.GetFp32Contents()) != 2 || r.out.GetFp32Contents()[0] != v || r.at != at {
		t.Errorf("%s: Do = %v, %v at %v; want [%v %v] at %v", what, r.out, r.err, r.at, v, -v, at)
	}
}

// TestInferBatcherTimeoutFromDo checks that the call's timeout bounds a
// call of Do from the moment it is made: a batching delay longer than the
// timeout fails the call at its timeout (the timeout once started with the
// batch's request, a second later), and so does a wait for a run slot
// behind a batch that hangs.
func TestInferBatcherTimeoutFromDo(t *testing.T) {
	const timeout = 200 * time.Millisecond
	t.Run("batching delay", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := &pairServer{}
			b, _ := newPairBatcher(t, srv, goai.CallPolicy{Timeout: timeout}, goai.BatchingPolicy{MaxDelay: time.Second})
			start := time.Now()
			ch := goPair(context.Background(), b, 1, start)
			time.Sleep(time.Second)
			wantPairTimeout(t, "call waiting for its batch", <-ch, timeout)
			if got := srv.sent(); len(got) != 0 {
				t.Errorf("requests %v sent for a batch whose caller had gone", got)
			}
		})
	})
	t.Run("queue", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := &pairServer{release: make(chan struct{})} // hangs until the request's deadline
			b, _ := newPairBatcher(t, srv, goai.CallPolicy{Timeout: timeout}, goai.BatchingPolicy{MaxSize: 1}, goai.WithBatcherInFlight(1))
			start := time.Now()
			first := goPair(context.Background(), b, 1, start)
			time.Sleep(timeout / 2)
			second := goPair(context.Background(), b, 2, start) // waits for the first's run slot
			time.Sleep(timeout)
			wantPairTimeout(t, "hung call", <-first, timeout)
			wantPairTimeout(t, "call queued behind it", <-second, timeout/2+timeout)
			if got := srv.sent(); len(got) != 2 {
				t.Errorf("requests %v, want two of one item", got)
			}
		})
	})
}

// TestInferBatcherDeadlines checks how a batch's deadline follows its
// callers': it runs until the latest of them, so that a caller's shorter
// deadline fails nobody else; its passing counts against the breaker when
// it is a caller's timeout, as a single call's timeout does, and not when
// it is a caller's own deadline.
func TestInferBatcherDeadlines(t *testing.T) {
	const timeout = 200 * time.Millisecond
	// Two failures trip it: one leaves its counts to read.
	p := goai.CallPolicy{Timeout: timeout, Breaker: goai.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour}}
	batching := goai.BatchingPolicy{MaxSize: 2, MaxDelay: time.Hour}
	counts := func(c *goai.Client) (failures, exclusions uint32) {
		_, failures, exclusions = breakerCounts(c, goai.ModelRef{Name: "pair"})
		return failures, exclusions
	}
	for _, tc := range []struct {
		name               string
		deadlines          [2]time.Duration // each caller's own; 0: none
		failures, excluded uint32
	}{
		{"timeouts", [2]time.Duration{0, 0}, 1, 0},
		{"callers' own deadlines", [2]time.Duration{50 * time.Millisecond, 80 * time.Millisecond}, 0, 1},
		{"a deadline and a timeout", [2]time.Duration{50 * time.Millisecond, 0}, 1, 0},
		{"a timeout and a longer deadline", [2]time.Duration{0, time.Hour}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &pairServer{release: make(chan struct{})} // hangs
				b, c := newPairBatcher(t, srv, p, batching)
				start := time.Now()
				var chans []<-chan pairResult
				var want [2]time.Duration
				for i, d := range tc.deadlines {
					ctx := context.Background()
					want[i] = timeout
					if d > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, d)
						defer cancel()
						want[i] = min(d, timeout)
					}
					chans = append(chans, goPair(ctx, b, float32(i), start))
				}
				time.Sleep(time.Second)
				for i, ch := range chans {
					wantPairTimeout(t, "caller "+string(rune('A'+i)), <-ch, want[i])
				}
				synctest.Wait()
				if f, x := counts(c); f != tc.failures || x != tc.excluded {
					t.Errorf("breaker counted %d failures, %d exclusions; want %d, %d", f, x, tc.failures, tc.excluded)
				}
				if got := srv.sent(); len(got) != 1 || got[0] != 2 {
					t.Errorf("requests %v, want one of 2 items", got)
				}
			})
		})
	}
	t.Run("a shorter deadline fails nobody else", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := &pairServer{release: make(chan struct{})}
			b, c := newPairBatcher(t, srv, p, batching)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			short, long := goPair(ctx, b, 1, start), goPair(context.Background(), b, 2, start)
			time.Sleep(100 * time.Millisecond)
			close(srv.release) // the server answers at 100ms
			wantPairTimeout(t, "50ms caller", <-short, 50*time.Millisecond)
			wantPair(t, "caller with the timeout", <-long, 2, 100*time.Millisecond)
			if f, x := counts(c); f != 0 || x != 0 {
				t.Errorf("breaker counted %d failures, %d exclusions of a success", f, x)
			}
		})
	})
}

// TestInferBatcherNoTimeout checks that without a timeout a batched call
// waits as long as its context lets it.
func TestInferBatcherNoTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := &pairServer{release: make(chan struct{})}
		b, _ := newPairBatcher(t, srv, goai.CallPolicy{}, goai.BatchingPolicy{MaxSize: 1})
		start := time.Now()
		ch := goPair(context.Background(), b, 3, start)
		time.Sleep(time.Hour)
		close(srv.release)
		wantPair(t, "call without a timeout", <-ch, 3, time.Hour)
	})
}

var breakerCounts = bridge.BreakerCounts.(func(*goai.Client, goai.ModelRef) (uint32, uint32, uint32))
