package goaiotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/goaiotel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// report runs the hooks of one call of one attempt, as goai does.
func report(h goai.Hooks) {
	ctx := context.Background()
	model := goai.ModelRef{Name: "m", Version: "1"}
	if h.CallStart != nil {
		ctx = h.CallStart(ctx, goai.CallStartEvent{Method: "/m/M", Model: model, Transport: goai.TransportGRPC, Items: 1, RequestBytes: 3136})
	}
	a := goai.AttemptEvent{Method: "/m/M", Model: model, Attempt: 1, Transport: goai.TransportGRPC}
	actx := ctx
	if h.AttemptStart != nil {
		actx = h.AttemptStart(ctx, a)
	}
	a.Latency = 75 * time.Microsecond
	h.AttemptDone(actx, a)
	h.CallDone(ctx, goai.CallEvent{Method: "/m/M", Target: model, Transport: goai.TransportGRPC, Items: 1, RequestBytes: 3136, ResponseBytes: 40,
		Info: goai.CallInfo{Model: model, Attempts: 1, Latency: 80 * time.Microsecond}})
}

// The metrics cost no allocation per call; tracing through a no-op
// provider one per span (its context). A trace the SDK does not sample
// still costs its span and the trace context sent to the server (the
// header's text and the outgoing metadata), once per call.
func TestHooksAllocations(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	for _, c := range []struct {
		name string
		tp   trace.TracerProvider
		max  float64
	}{
		{"metrics", nil, 0},
		{"metrics+noop tracing", noop.NewTracerProvider(), 2},
		{"metrics+unsampled tracing", sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())), 8},
	} {
		tel, err := goaiotel.New(c.tp, mp)
		if err != nil {
			t.Fatal(err)
		}
		h := tel.Hooks()
		report(h)
		if n := testing.AllocsPerRun(1000, func() { report(h) }); n > c.max {
			t.Errorf("%s: %v allocations per call, want at most %v", c.name, n, c.max)
		}
	}
}
