package testgen_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goai-dev/goai"
	modelsyncv1 "github.com/goai-dev/goai/internal/testgen/modelsync/v1"
	"github.com/goai-dev/goai/tensor"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
)

// End-to-end tests of the client generated for a PROTOCOL_DIRECT service:
// ModelSyncModelClient calls a real gRPC server implementing the
// ModelSyncServer that protoc-gen-go-grpc generated, over loopback TCP.

// syncServer implements ModelSync, counting calls and failing them as a
// test says: fail gets each rpc's name and its call number, from 1.
type syncServer struct {
	modelsyncv1.UnimplementedModelSyncServer
	fail func(rpc string, n int32) error

	mu       sync.Mutex
	pushes   []*modelsyncv1.SyncRequest
	applies  []*modelsyncv1.GradientUpdate
	nPush    atomic.Int32
	nApply   atomic.Int32
	received atomic.Int32 // calls of every rpc
}

func (s *syncServer) PushParams(_ context.Context, in *modelsyncv1.SyncRequest) (*modelsyncv1.ModelAck, error) {
	s.received.Add(1)
	if err := s.failure("PushParams", s.nPush.Add(1)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.pushes = append(s.pushes, in)
	s.mu.Unlock()
	return &modelsyncv1.ModelAck{Accepted: true, Step: in.GetStep()}, nil
}

func (s *syncServer) ApplyGradients(_ context.Context, in *modelsyncv1.GradientUpdate) (*modelsyncv1.ModelAck, error) {
	s.received.Add(1)
	if err := s.failure("ApplyGradients", s.nApply.Add(1)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.applies = append(s.applies, in)
	s.mu.Unlock()
	return &modelsyncv1.ModelAck{Accepted: true, Step: in.GetStep()}, nil
}

func (s *syncServer) WatchParams(_ *modelsyncv1.WatchRequest, stream grpc.ServerStreamingServer[modelsyncv1.ModelParams]) error {
	s.received.Add(1)
	return stream.Send(&modelsyncv1.ModelParams{LayerCount: 1})
}

func (s *syncServer) failure(rpc string, n int32) error {
	if s.fail == nil {
		return nil
	}
	return s.fail(rpc, n)
}

// startSync serves impl on 127.0.0.1 and returns a client of it and the
// server's address; the client's retries do not wait (instantClock); opts
// add to the client's options.
// Both stop when the test ends, and the test then checks that no
// goroutine leaked.
func startSync(t *testing.T, impl *syncServer, opts ...goai.Option) (*modelsyncv1.ModelSyncModelClient, string) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	modelsyncv1.RegisterModelSyncServer(srv, impl)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	opts = append([]goai.Option{goai.WithInsecure(), goai.WithClock(instantClock{})}, opts...)
	c, err := modelsyncv1.NewModelSyncModelClient("dns:///"+lis.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	return c, lis.Addr().String()
}

// instantClock is the real clock whose waits end at once: retries go
// without their backoff.
type instantClock struct{}

func (instantClock) Now() time.Time { return time.Now() }

func (instantClock) Sleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// syncRequest returns a push of layers 4×4 layers whose parameters all fit
// their tensors.
func syncRequest(step int64, layers int) *modelsyncv1.SyncRequest {
	p := &modelsyncv1.ModelParams{
		LayerCount:   int32(layers),
		Bias:         []float32{0.1, 0.2, 0.3, 0.4},
		Scales:       tensor.AppendFP16(nil, []float32{1, 0.5, 0.25, 2}),
		LearningRate: 0.01,
	}
	for i := range 16 * layers {
		p.Weights = append(p.Weights, float32(i))
	}
	return &modelsyncv1.SyncRequest{ModelId: "m", Step: step, Params: p}
}

func TestDirectPushParams(t *testing.T) {
	impl := &syncServer{}
	c, addr := startSync(t, impl)

	in := syncRequest(7, 2)
	var info goai.CallInfo
	ack, err := c.PushParams(t.Context(), in, goai.Report(&info))
	if err != nil {
		t.Fatal(err)
	}
	if !ack.GetAccepted() || ack.GetStep() != 7 {
		t.Errorf("ack = %v", ack)
	}
	if info.Attempts != 1 {
		t.Errorf("Report: %+v, want 1 attempt", info)
	}
	impl.mu.Lock()
	pushes := impl.pushes
	impl.mu.Unlock()
	if diff := cmp.Diff([]*modelsyncv1.SyncRequest{in}, pushes, protocmp.Transform()); diff != "" {
		t.Errorf("the server received (-sent +got):\n%s", diff)
	}

	// A request without params has no tensors to check; gradients of no
	// layer are zero 4×4 layers, which fit.
	if _, err := c.PushParams(t.Context(), &modelsyncv1.SyncRequest{ModelId: "m"}); err != nil {
		t.Errorf("push without params: %v", err)
	}
	if _, err := c.ApplyGradients(t.Context(), &modelsyncv1.GradientUpdate{ModelId: "m"}); err != nil {
		t.Errorf("no gradients: %v", err)
	}

	// The streaming rpc has no method; the protoc-gen-go-grpc client
	// calls it, on a pool of the caller's the typed client can share.
	pool, err := goai.Dial("dns:///"+addr, goai.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	stream, err := modelsyncv1.NewModelSyncClient(pool).WatchParams(t.Context(), &modelsyncv1.WatchRequest{ModelId: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := stream.Recv(); err != nil || p.GetLayerCount() != 1 {
		t.Errorf("WatchParams: %v, %v", p, err)
	}
}

func TestDirectBadTensorSendsNothing(t *testing.T) {
	impl := &syncServer{}
	c, _ := startSync(t, impl)
	ctx := t.Context()

	for _, tt := range []struct {
		name   string
		change func(*modelsyncv1.ModelParams)
		tensor string
		is     error
	}{
		{"weights not whole layers", func(p *modelsyncv1.ModelParams) { p.Weights = p.Weights[:31] }, "weights", tensor.ErrShape},
		{"too few biases", func(p *modelsyncv1.ModelParams) { p.Bias = p.Bias[:3] }, "bias", tensor.ErrShape},
		{"no biases", func(p *modelsyncv1.ModelParams) { p.Bias = nil }, "bias", tensor.ErrShape},
		{"scales not whole FP16 values", func(p *modelsyncv1.ModelParams) { p.Scales = p.Scales[:7] }, "scales", tensor.ErrLength},
		{"too few scales", func(p *modelsyncv1.ModelParams) { p.Scales = p.Scales[:6] }, "scales", tensor.ErrShape},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := syncRequest(1, 2)
			tt.change(in.Params)
			_, err := c.PushParams(ctx, in)
			wantTensorError(t, err, tt.tensor, false, -1, codes.InvalidArgument)
			if !errors.Is(err, tt.is) {
				t.Errorf("err = %v, want it to match %v", err, tt.is)
			}
		})
	}
	_, err := c.ApplyGradients(ctx, &modelsyncv1.GradientUpdate{Gradients: make([]float32, 17)})
	wantTensorError(t, err, "gradients", false, -1, codes.InvalidArgument)

	if _, err := c.PushParams(ctx, nil); status.Code(err) != codes.InvalidArgument {
		t.Errorf("PushParams(nil): %v, want InvalidArgument", err)
	}
	if n := impl.received.Load(); n != 0 {
		t.Errorf("the server received %d calls, want none", n)
	}
	// Refused requests are the caller's mistakes: the breaker, which
	// opens after 3 failures, stays closed.
	if st := c.BreakerState(goai.ModelRef{}); st != goai.BreakerClosed {
		t.Errorf("breaker %v, want closed", st)
	}
}

// TestDirectRetries checks that the idempotent PushParams is retried on
// UNAVAILABLE, as its policy says, and the non-idempotent ApplyGradients
// is not, though its policy allows 5 attempts.
func TestDirectRetries(t *testing.T) {
	impl := &syncServer{fail: func(rpc string, n int32) error {
		if n <= 2 {
			return status.Errorf(codes.Unavailable, "%s: warming up", rpc)
		}
		return nil
	}}
	c, _ := startSync(t, impl)

	var info goai.CallInfo
	ack, err := c.PushParams(t.Context(), syncRequest(3, 1), goai.Report(&info))
	if err != nil || !ack.GetAccepted() {
		t.Fatalf("PushParams: %v, %v", ack, err)
	}
	if n := impl.nPush.Load(); n != 3 || info.Attempts != 3 {
		t.Errorf("the server saw %d pushes and the caller %d attempts, want 3 of each", n, info.Attempts)
	}

	_, err = c.ApplyGradients(t.Context(), &modelsyncv1.GradientUpdate{Gradients: make([]float32, 16)}, goai.Report(&info))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("ApplyGradients: %v, want the server's UNAVAILABLE", err)
	}
	if n := impl.nApply.Load(); n != 1 || info.Attempts != 1 {
		t.Errorf("the server saw %d applies and the caller %d attempts, want 1 of each: the rpc is not idempotent", n, info.Attempts)
	}

	// A caller who knows better may say the call is idempotent.
	if _, err := c.ApplyGradients(t.Context(), &modelsyncv1.GradientUpdate{}, goai.WithIdempotent(true)); err != nil {
		t.Errorf("ApplyGradients, idempotent: %v", err)
	}
	if n := impl.nApply.Load(); n != 3 {
		t.Errorf("the server saw %d applies, want 3", n)
	}
}

// TestDirectBreaker checks that the breaker opens after the 3 failures in
// a row that default_call allows, and then fails every rpc of the service
// fast, without a call.
func TestDirectBreaker(t *testing.T) {
	impl := &syncServer{fail: func(rpc string, _ int32) error {
		return status.Errorf(codes.Unavailable, "%s: down", rpc)
	}}
	c, _ := startSync(t, impl)
	ctx := t.Context()

	for i := range 3 {
		if _, err := c.ApplyGradients(ctx, &modelsyncv1.GradientUpdate{}); status.Code(err) != codes.Unavailable || errors.Is(err, goai.ErrBreakerOpen) {
			t.Fatalf("call %d: %v, want the server's UNAVAILABLE", i+1, err)
		}
	}
	if st := c.BreakerState(goai.ModelRef{}); st != goai.BreakerOpen {
		t.Fatalf("after 3 failures the breaker is %v, want open", st)
	}
	_, err := c.ApplyGradients(ctx, &modelsyncv1.GradientUpdate{})
	if !errors.Is(err, goai.ErrBreakerOpen) || status.Code(err) != codes.Unavailable {
		t.Errorf("ApplyGradients: %v, want ErrBreakerOpen with UNAVAILABLE", err)
	}
	_, err = c.PushParams(ctx, syncRequest(1, 1))
	if !errors.Is(err, goai.ErrBreakerOpen) {
		t.Errorf("PushParams: %v, want ErrBreakerOpen: the service's rpcs share a breaker", err)
	}
	if n := impl.received.Load(); n != 3 {
		t.Errorf("the server received %d calls, want 3", n)
	}
}
