package bench

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runConcurrent makes b.N calls of call from concurrency goroutines and
// reports throughput (calls/s) and the median and 99th-percentile latency
// (p50-ms, p99-ms). Every call must succeed.
func runConcurrent(b *testing.B, concurrency int, call func() error) {
	b.Helper()
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		failed    atomic.Value
		wg        sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, b.N/concurrency+1)
			for next.Add(1) <= int64(b.N) {
				t := time.Now()
				if err := call(); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				local = append(local, time.Since(t))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(ms(percentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 0.99)), "p99-ms")
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
