package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
)

// BenchmarkPool measures what a pool of connections buys against a server
// that caps concurrent streams per connection (here 100, as many HTTP/2
// servers and proxies do) and spends a fixed time per call: with 512 calls
// in flight, one connection queues all but 100 of them on the client,
// while four connections carry 400 at once. At 2 ms per call the stream
// cap allows 50,000 calls/s on one connection, more than two cores can
// push through loopback gRPC, so the pool cannot help there; at 20 ms the
// cap (5,000 calls/s per connection) is the bottleneck and the pool lifts
// it. That is why the pool's default size is 1.
func BenchmarkPool(b *testing.B) {
	srv := inferencetest.New(inferencetest.WithMaxConcurrentStreams(100))
	model := inferencetest.Identity("identity", tensor.FP32, 16)
	if err := srv.Register(model); err != nil {
		b.Fatal(err)
	}
	if err := srv.StartTCP(); err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()

	req := &oippb.ModelInferRequest{
		ModelName: "identity",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{
			{Name: "INPUT0", Datatype: "FP32", Shape: []int64{16}},
		},
		RawInputContents: [][]byte{tensor.AppendFloat32(nil, make([]float32, 16))},
	}
	for _, cost := range []time.Duration{2 * time.Millisecond, 20 * time.Millisecond} {
		for _, conns := range []int{1, 4} {
			b.Run(fmt.Sprintf("cost=%s/conns=%d", cost, conns), func(b *testing.B) {
				srv.SetFaults(inferencetest.Faults{Cost: cost})
				benchmarkPool(b, srv.Target(), conns, req)
			})
		}
	}
}

func benchmarkPool(b *testing.B, target string, conns int, req *oippb.ModelInferRequest) {
	pool, err := goai.Dial(target, goai.WithInsecure(), goai.WithPoolSize(conns))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	client := oippb.NewClient(pool)
	ctx := context.Background()
	// Connect every connection before measuring.
	for range 2 * conns {
		if _, err := client.ModelInfer(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	runConcurrent(b, 512, nil, func() error {
		_, err := client.ModelInfer(ctx, req)
		return err
	})
}
