package goai

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
)

// BenchmarkMicroBatch measures single calls from 256 goroutines to a model
// that costs 1ms per request whatever its batch size, on one instance (a
// busy accelerator), over loopback TCP: each call its own ModelInfer
// (unbatched), or through a MicroBatcher of up to 64 items waiting up to
// 1ms (batched). It reports calls/s, the 50th and 99th percentile call
// latency, requests per call and, batched, the mean time of one batch's
// ModelInfer as the batch function saw it.
func BenchmarkMicroBatch(b *testing.B) {
	for _, batched := range []bool{false, true} {
		name := "unbatched"
		if batched {
			name = "batched"
		}
		b.Run(name, func(b *testing.B) { benchMicroBatch(b, batched) })
	}
}

func benchMicroBatch(b *testing.B, batched bool) {
	const (
		concurrency = 256
		cost        = time.Millisecond
		maxDelay    = time.Millisecond
		maxSize     = 64
	)
	srv, conn := echoServer(b, true)
	defer srv.Stop()
	defer conn.Close()
	client := oippb.NewClient(conn)
	ctx := context.Background()
	if _, err := inferEcho(ctx, client, [][]float32{{0, 0, 0, 0}}); err != nil { // connect
		b.Fatal(err)
	}
	srv.SetFaults(inferencetest.Faults{Cost: cost})
	before := srv.Stats().Calls["ModelInfer"]

	var batchNanos, batches atomic.Int64
	call := func(ctx context.Context, in []float32) ([]float32, error) {
		outs, err := inferEcho(ctx, client, [][]float32{in})
		if err != nil {
			return nil, err
		}
		return outs[0], nil
	}
	if batched {
		mb := NewMicroBatcher(BatchingPolicy{MaxSize: maxSize, MaxDelay: maxDelay}, maxSize,
			func(ctx context.Context, items [][]float32) ([][]float32, error) {
				start := time.Now()
				defer func() {
					batchNanos.Add(int64(time.Since(start)))
					batches.Add(1)
				}()
				return inferEcho(ctx, client, items)
			})
		defer mb.Close()
		call = mb.Do
	}

	latency := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g := range concurrency {
		wg.Go(func() {
			in := []float32{float32(g), 1, 2, 3}
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				out, err := call(ctx, in)
				latency[i] = time.Since(t0)
				if err != nil || !slices.Equal(out, in) {
					b.Errorf("call = %v, %v; want %v", out, err, in)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	slices.Sort(latency)
	pct := func(p int) float64 { return float64(latency[(len(latency)-1)*p/100]) / 1e6 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(pct(50), "p50-ms")
	b.ReportMetric(pct(99), "p99-ms")
	b.ReportMetric(float64(srv.Stats().Calls["ModelInfer"]-before)/float64(b.N), "reqs/call")
	if n := batches.Load(); n > 0 {
		b.ReportMetric(float64(batchNanos.Load())/float64(n)/1e6, "batch-ms")
	}
	if b.N >= 1000 {
		b.Log(fmt.Sprintf("%d calls in %v", b.N, elapsed.Round(time.Millisecond)))
	}
}
