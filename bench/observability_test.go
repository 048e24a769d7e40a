package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goai-dev/goai"
	benchv1 "github.com/goai-dev/goai/bench/gen/bench/v1"
	"github.com/goai-dev/goai/bench/internal/benchserver"
	"github.com/goai-dev/goai/goaiotel"
	"github.com/goai-dev/goai/goaiprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/trace/noop"
)

// observabilityVariants are the generated client's call path without
// observability (off), and with the two lines the README tells a user to
// add (observed): Prometheus metrics (goaiprom, on a registry of their
// own) and OpenTelemetry tracing through a no-op tracer provider, which
// stands for a provider whose exporter sends nowhere.
var observabilityVariants = []struct {
	name string
	opts func() []goai.Option
}{
	{"off", func() []goai.Option { return nil }},
	{"observed", func() []goai.Option {
		return []goai.Option{
			goaiprom.WithMetrics(prometheus.NewRegistry()),
			goaiotel.WithTelemetry(noop.NewTracerProvider(), nil),
		}
	}},
}

// observedClient returns the generated client of the 784-float model at
// target with opts, closed at tb's end.
func observedClient(tb testing.TB, target string, opts []goai.Option) *benchv1.SmallIdentityModelClient {
	tb.Helper()
	client, err := benchv1.NewSmallIdentityModelClient(target, append([]goai.Option{goai.WithInsecure()}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { client.Close() })
	return client
}

// TestObservedClientCounts checks that the observed variant does the
// benchmark's work and reports it: the echo is exact and the calls show
// in the metrics.
func TestObservedClientCounts(t *testing.T) {
	target := benchServer(t).Target()
	reg := prometheus.NewRegistry()
	client := observedClient(t, target, []goai.Option{goaiprom.WithMetrics(reg), goaiotel.WithTelemetry(noop.NewTracerProvider(), nil)})
	values := ramp(784)
	for range 3 {
		out, err := client.Echo(context.Background(), &benchv1.Small{Values: values})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.GetValues(), values) {
			t.Fatal("echo differs from the input")
		}
	}
	if n := testutil.CollectAndCount(reg, "goai_client_calls_total"); n != 1 {
		t.Errorf("%d call series, want 1", n)
	}
	calls, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range calls {
		if f.GetName() == "goai_client_calls_total" {
			if v := f.GetMetric()[0].GetCounter().GetValue(); v != 3 {
				t.Errorf("goai_client_calls_total = %v, want 3", v)
			}
		}
	}
}

// BenchmarkObservability is the cost of metrics and tracing on the call
// path: the generated client of BenchmarkClient (784 floats, the server in
// a separate process on 127.0.0.1) without observability (off) and with
// it (observed), at one caller and at 64. The two clients take turns in
// blocks of calls (which goes first alternates), so that both see the same
// machine: on a shared machine whose load drifts by more than the few
// percent measured, sequential runs would compare the drift. Each b.N is
// one call of each client. It reports each client's throughput and CPU
// per call (getrusage of this process, which holds no server) and
// allocations per call (the runtime's count over its blocks), and the
// ratios, each the median over the pairs of blocks, which a burst of load
// on one block of a pair cannot move: throughput-ratio is observed's
// calls/s over off's, cpu-ratio observed's CPU per call over off's;
// extra-allocs/call is the difference of the allocations.
func BenchmarkObservability(b *testing.B) {
	server := benchServer(b)
	ctx := context.Background()
	values := ramp(784)
	for _, concurrency := range []int{1, 64} {
		b.Run(fmt.Sprintf("c=%d", concurrency), func(b *testing.B) {
			var calls [2]func() error
			for i, v := range observabilityVariants {
				client := observedClient(b, server.Target(), v.opts())
				calls[i] = func() error {
					_, err := client.Echo(ctx, &benchv1.Small{Values: values})
					return err
				}
				if err := calls[i](); err != nil { // connect first
					b.Fatalf("%s: %v", v.name, err)
				}
			}
			block := 64 * max(1, concurrency/4)
			var sides [2]blockTotals
			var wallRatios, cpuRatios []float64
			b.ResetTimer()
			for done, turn := 0, 0; done < b.N; turn++ {
				n := min(block, b.N-done)
				var pair [2]blockTotals
				for j := range 2 {
					i := (turn + j) % 2
					if err := pair[i].run(n, concurrency, calls[i]); err != nil {
						b.Fatalf("%s: %v", observabilityVariants[i].name, err)
					}
					sides[i].add(pair[i])
				}
				wallRatios = append(wallRatios, float64(pair[0].wall)/float64(pair[1].wall))
				if pair[0].cpu > 0 {
					cpuRatios = append(cpuRatios, float64(pair[1].cpu)/float64(pair[0].cpu))
				}
				done += n
			}
			b.StopTimer()
			off, on := sides[0], sides[1]
			b.ReportMetric(off.callsPerSecond(), "off-calls/s")
			b.ReportMetric(on.callsPerSecond(), "observed-calls/s")
			b.ReportMetric(medianOf(wallRatios), "throughput-ratio")
			if off.cpu > 0 {
				b.ReportMetric(off.cpuPerCall(), "off-cpu-µs/call")
				b.ReportMetric(on.cpuPerCall(), "observed-cpu-µs/call")
				b.ReportMetric(medianOf(cpuRatios), "cpu-ratio")
			}
			b.ReportMetric(off.allocsPerCall(), "off-allocs/call")
			b.ReportMetric(on.allocsPerCall()-off.allocsPerCall(), "extra-allocs/call")
		})
	}
}

// blockTotals sums one client's blocks of a paired run.
type blockTotals struct {
	calls   int
	wall    time.Duration
	cpu     time.Duration
	mallocs uint64
}

// run makes n calls of call from concurrency goroutines and adds their
// wall time, this process's CPU time and its allocations to t.
func (t *blockTotals) run(n, concurrency int, call func() error) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	cpu := benchserver.CPUTime()
	start := time.Now()
	var (
		next   atomic.Int64
		failed atomic.Value
		wg     sync.WaitGroup
	)
	for range min(concurrency, n) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := call(); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.wall += time.Since(start)
	t.cpu += benchserver.CPUTime() - cpu
	runtime.ReadMemStats(&ms)
	t.mallocs += ms.Mallocs - mallocs
	t.calls += n
	if err, _ := failed.Load().(error); err != nil {
		return err
	}
	return nil
}

// add adds the totals of o to t.
func (t *blockTotals) add(o blockTotals) {
	t.calls += o.calls
	t.wall += o.wall
	t.cpu += o.cpu
	t.mallocs += o.mallocs
}

// medianOf returns the median of v (0 for none).
func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (t *blockTotals) callsPerSecond() float64 { return float64(t.calls) / t.wall.Seconds() }
func (t *blockTotals) cpuPerCall() float64     { return perCall(t.cpu, t.calls) }
func (t *blockTotals) allocsPerCall() float64  { return float64(t.mallocs) / float64(t.calls) }
