package bench

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goai-dev/goai/bench/internal/benchserver"
)

// runConcurrent makes b.N calls of call from concurrency goroutines and
// reports throughput (calls/s), the median and 99th-percentile latency
// (p50-ms, p99-ms) and this process's CPU time per call (cpu-µs/call).
// With a server in a process of its own, it reports the server's CPU
// time per call too (server-cpu-µs/call). Every call must succeed.
func runConcurrent(b *testing.B, concurrency int, server *benchserver.Process, call func() error) {
	b.Helper()
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		failed    atomic.Value
		wg        sync.WaitGroup
	)
	var serverCPU time.Duration
	if server != nil {
		var err error
		if serverCPU, err = server.CPU(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu := benchserver.CPUTime()
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
	cpu = benchserver.CPUTime() - cpu
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	if server != nil {
		after, err := server.CPU()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(perCall(after-serverCPU, b.N), "server-cpu-µs/call")
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(ms(percentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 0.99)), "p99-ms")
	if cpu > 0 {
		b.ReportMetric(perCall(cpu, b.N), "cpu-µs/call")
	}
}

// perCall is d per call in microseconds.
func perCall(d time.Duration, calls int) float64 {
	return float64(d) / float64(time.Microsecond) / float64(calls)
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
