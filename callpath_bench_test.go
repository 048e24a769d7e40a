package goai

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wirecodec"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// BenchmarkCallPath measures what the runtime's call path costs on top of
// a bare generated gRPC stub, against one inferencetest server on
// 127.0.0.1 serving an FP32 [784] identity model (an MNIST image), with
// the same request on both sides:
//
//   - bare: inferencepb's ModelInfer on a plain grpc.ClientConn;
//   - goai: the same stub on a [Pool], called through a
//     [Client] as generated code calls it (an attempt closure that
//     captures the response), with a breaker, 3 attempts, the pool's retry
//     budget, and a rate limit and a bulkhead configured but never
//     reached.
//
// c is the number of goroutines making calls. allocs/op counts the
// server's allocations too, the same on both sides; compare the
// difference. calls/s is the throughput.
func BenchmarkCallPath(b *testing.B) {
	const elems = 784
	srv := inferencetest.New(inferencetest.WithRecordLimit(0))
	if err := srv.Register(inferencetest.Identity("echo", tensor.FP32, elems)); err != nil {
		b.Fatal(err)
	}
	if err := srv.StartTCP(); err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()

	px := make([]float32, elems)
	for i := range px {
		px[i] = float32(i%256) / 255
	}
	req := &oippb.ModelInferRequest{
		ModelName:        "echo",
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "INPUT0", Datatype: "FP32", Shape: []int64{elems}}},
		RawInputContents: [][]byte{tensor.AppendFloat32(nil, px)},
	}
	check := func(resp *oippb.ModelInferResponse) error {
		if len(resp.GetRawOutputContents()) != 1 || len(resp.GetRawOutputContents()[0]) != 4*elems {
			return status.Errorf(codes.Internal, "bad response: %d outputs", len(resp.GetRawOutputContents()))
		}
		return nil
	}

	// The bare connection uses the wire codec that the pool uses, so that
	// the comparison isolates the call path; bench/ compares codecs.
	conn, err := grpc.NewClient(srv.Target(), append(srv.DialOptions(), wirecodec.DialOption())...)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	bareStub := oippb.NewClient(conn)
	bare := func(ctx context.Context) error {
		resp, err := bareStub.ModelInfer(ctx, req)
		if err != nil {
			return err
		}
		return check(resp)
	}

	// As a user dials it: the pool's own options (its default call
	// options raise the message limits, as the server's DialOptions do
	// for the bare connection).
	pool, err := Dial(srv.Target(), WithInsecure())
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	desc := echoDesc(CallPolicy{Retry: RetryPolicy{MaxAttempts: 3}})
	desc.Limits = LimitPolicy{RatePerSecond: 1e9, MaxConcurrent: 1 << 16}
	caller := testClient(pool, desc)
	method := &desc.Methods[0]
	goaiStub := oippb.NewClient(pool)
	goai := func(ctx context.Context) error {
		var resp *oippb.ModelInferResponse
		err := caller.invoke(ctx, method, func(ctx context.Context, a attemptArgs) error {
			r, err := goaiStub.ModelInfer(ctx, req, a.callOptions...)
			if err != nil {
				return err
			}
			resp = r
			return nil
		})
		if err != nil {
			return err
		}
		return check(resp)
	}

	for _, side := range []struct {
		name string
		call func(context.Context) error
	}{{"bare", bare}, {"goai", goai}} {
		// Connect, and fail early if the path is broken.
		if err := side.call(context.Background()); err != nil {
			b.Fatalf("%s: %v", side.name, err)
		}
		for _, conc := range []int{1, 64} {
			b.Run(side.name+"/c="+strconv.Itoa(conc), func(b *testing.B) {
				runCalls(b, conc, side.call)
			})
		}
	}
}

// runCalls makes b.N calls from conc goroutines and reports calls/s.
func runCalls(b *testing.B, conc int, call func(context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	if conc == 1 {
		for range b.N {
			if err := call(ctx); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					if err := call(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
