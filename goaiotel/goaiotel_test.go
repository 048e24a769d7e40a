package goaiotel_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/goaiotel"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/obstest"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// parents records the span context each ModelInfer request carried to
// the server, extracted from its metadata as a traced server would.
type parents struct {
	mu  sync.Mutex
	got []trace.SpanContext
}

func (p *parents) option() inferencetest.Option {
	return inferencetest.WithGRPCServerOptions(grpc.ChainUnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if info.FullMethod == "/inference.GRPCInferenceService/ModelInfer" {
				md, _ := metadata.FromIncomingContext(ctx)
				sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), mdCarrier(md)))
				p.mu.Lock()
				p.got = append(p.got, sc)
				p.mu.Unlock()
			}
			return h(ctx, req)
		}))
}

// mdCarrier reads a trace context from incoming metadata.
type mdCarrier metadata.MD

func (c mdCarrier) Get(k string) string {
	if v := metadata.MD(c).Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}
func (c mdCarrier) Set(string, string) {}
func (c mdCarrier) Keys() []string     { return nil }

func (p *parents) all() []trace.SpanContext {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func named(spans []sdktrace.ReadOnlySpan, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// Spans of calls through the fault-injecting server: one per call, a
// child per attempt, retries as events, the fallback and the final code,
// and each attempt's span as the parent the server received.
func TestTracesThroughFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		var seen parents
		srv := obstest.StartServer(t, seen.option())
		client := obstest.NewClient(t, srv, goaiotel.WithTelemetry(tp, nil))

		ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
		srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
		if _, err := client.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		srv.Script(inferencetest.Fail(codes.InvalidArgument))
		if _, err := client.Classify(ctx, obstest.Image(), obstest.Untimed...); err == nil {
			t.Fatal("a call the server refused as invalid succeeded")
		}
		srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable),
			inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable))
		if _, err := client.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		caller.End()

		spans := rec.Ended()
		calls, attempts := named(spans, goaiotel.CallSpan), named(spans, goaiotel.AttemptSpan)
		if len(calls) != 3 || len(attempts) != 2+1+5 {
			t.Fatalf("%d call spans and %d attempt spans, want 3 and 8", len(calls), len(attempts))
		}
		for i, c := range calls {
			if c.Parent().SpanID() != caller.SpanContext().SpanID() || c.SpanKind() != trace.SpanKindClient {
				t.Errorf("call %d: parent %v kind %v, want the caller's span, client", i, c.Parent().SpanID(), c.SpanKind())
			}
			a := attrs(c)
			if a[goaiotel.KeyModel].AsString() != "resnet50" || a[goaiotel.KeyVersion].AsString() != "3" ||
				a[goaiotel.KeyRPC].AsString() != obstest.Classify || a[goaiotel.KeyTransport].AsString() != "grpc" ||
				a[goaiotel.KeyProtocol].AsString() != "OPEN_INFERENCE" || a[goaiotel.KeyBatchSize].AsInt64() != 1 {
				t.Errorf("call %d: attributes %v", i, a)
			}
		}
		want := []struct {
			attempts int64
			fallback bool
			served   string
			code     codes.Code
		}{{2, false, "resnet50@3", codes.OK}, {1, false, "resnet50@3", codes.InvalidArgument}, {5, true, "resnet-lite@1", codes.OK}}
		for i, w := range want {
			a := attrs(calls[i])
			if a[goaiotel.KeyAttempts].AsInt64() != w.attempts || a[goaiotel.KeyFallback].AsBool() != w.fallback ||
				a[goaiotel.KeyServedModel].AsString() != w.served || a[goaiotel.KeyStatusCode].AsInt64() != int64(w.code) {
				t.Errorf("call %d: attributes %v, want %+v", i, a, w)
			}
			wantStatus := otelcodes.Unset
			if w.code != codes.OK {
				wantStatus = otelcodes.Error
			}
			if st := calls[i].Status(); st.Code != wantStatus || (w.code != codes.OK && st.Description != "INVALID_ARGUMENT") {
				t.Errorf("call %d: status %+v", i, st)
			}
		}
		if ev := calls[0].Events(); len(ev) != 1 || ev[0].Name != "goai.retry" {
			t.Errorf("first call's events = %+v, want one retry", ev)
		}

		// Every attempt is a child of its call, and the parent of what the
		// server received.
		server := seen.all()
		if len(server) != len(attempts) {
			t.Fatalf("the server saw %d requests, there are %d attempt spans", len(server), len(attempts))
		}
		for i, a := range attempts {
			if a.Parent().TraceID() != caller.SpanContext().TraceID() {
				t.Errorf("attempt %d is in another trace", i)
			}
			if !slices.ContainsFunc(calls, func(c sdktrace.ReadOnlySpan) bool { return c.SpanContext().SpanID() == a.Parent().SpanID() }) {
				t.Errorf("attempt %d's parent is no call span", i)
			}
			if server[i].SpanID() != a.SpanContext().SpanID() || server[i].TraceID() != caller.SpanContext().TraceID() {
				t.Errorf("request %d carried span %v, want attempt span %v", i, server[i].SpanID(), a.SpanContext().SpanID())
			}
		}
		last := attrs(attempts[len(attempts)-1])
		if !last[goaiotel.KeyFallback].AsBool() || last[goaiotel.KeyModel].AsString() != "resnet-lite" || attempts[0].Status().Code != otelcodes.Error {
			t.Errorf("attempts: first status %v, last attributes %v", attempts[0].Status(), last)
		}
	})
}

// With otelgrpc's client stats handler on the connection, its span of
// each RPC is a child of goai's attempt span and is what the server sees
// as its parent: no sibling spans, no second trace context.
func TestTracesComposeWithOtelgrpc(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		var seen parents
		srv := obstest.StartServer(t, seen.option())
		handler := otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{}))
		client := obstest.NewClient(t, srv, goaiotel.WithTelemetry(tp, nil), goai.WithDialOptions(grpc.WithStatsHandler(handler)))
		srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
		if _, err := client.Classify(context.Background(), obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		spans := rec.Ended()
		attempts := named(spans, goaiotel.AttemptSpan)
		var rpcs []sdktrace.ReadOnlySpan
		for _, s := range spans {
			if s.Name() != goaiotel.AttemptSpan && s.Name() != goaiotel.CallSpan {
				rpcs = append(rpcs, s)
			}
		}
		server := seen.all()
		if len(attempts) != 2 || len(rpcs) != 2 || len(server) != 2 {
			t.Fatalf("%d attempt spans, %d otelgrpc spans (%v), %d requests; want 2 of each", len(attempts), len(rpcs), rpcs, len(server))
		}
		for i := range attempts {
			if rpcs[i].Parent().SpanID() != attempts[i].SpanContext().SpanID() {
				t.Errorf("otelgrpc span %d (%s): parent %v, want attempt span %v", i, rpcs[i].Name(), rpcs[i].Parent().SpanID(), attempts[i].SpanContext().SpanID())
			}
			if server[i].SpanID() != rpcs[i].SpanContext().SpanID() {
				t.Errorf("request %d carried span %v, want otelgrpc's %v", i, server[i].SpanID(), rpcs[i].SpanContext().SpanID())
			}
		}
	})
}

// Without attempt spans, attempts are events on the call's span, and the
// call's span is the server's parent.
func TestTracesWithoutAttemptSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		var seen parents
		srv := obstest.StartServer(t, seen.option())
		client := obstest.NewClient(t, srv, goaiotel.WithTelemetry(tp, nil, goaiotel.WithAttemptSpans(false)))
		srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
		if _, err := client.Classify(context.Background(), obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		spans := rec.Ended()
		if len(spans) != 1 || spans[0].Name() != goaiotel.CallSpan {
			t.Fatalf("spans = %v, want the call's alone", spans)
		}
		var names []string
		for _, e := range spans[0].Events() {
			names = append(names, e.Name)
		}
		if !slices.Equal(names, []string{"goai.attempt", "goai.retry", "goai.attempt"}) {
			t.Errorf("events = %v", names)
		}
		for i, sc := range seen.all() {
			if sc.SpanID() != spans[0].SpanContext().SpanID() {
				t.Errorf("request %d carried span %v, want the call's", i, sc.SpanID())
			}
		}
	})
}

// The metrics through the OTel SDK count what the server counted.
func TestMetricsThroughFaults(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	var stats inferencetest.Stats
	synctest.Test(t, func(t *testing.T) {
		srv := obstest.StartServer(t, inferencetest.WithRecordLimit(0))
		client := obstest.NewClient(t, srv, goaiotel.WithTelemetry(nil, mp))
		ctx := context.Background()
		srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
		if _, err := client.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable),
			inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable))
		if _, err := client.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(obstest.OpenTimeout + time.Millisecond)
		if _, err := client.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		b := client.NewClassifyBatcher(goai.WithBatcherCallOptions(obstest.Untimed...))
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { _, _ = b.Do(ctx, obstest.Image()) })
		}
		wg.Wait()
		_ = b.Close()
		stats = srv.Stats()
	})
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	primary, fallback := stats.Models["resnet50"], stats.Models["resnet-lite"]
	sum := func(name string, match map[attribute.Key]string) int64 {
		var n int64
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if m.Name != name {
					continue
				}
				points := func(set attribute.Set) bool {
					for k, v := range match {
						if got, ok := set.Value(k); !ok || got.Emit() != v {
							return false
						}
					}
					return true
				}
				switch d := m.Data.(type) {
				case metricdata.Sum[int64]:
					for _, p := range d.DataPoints {
						if points(p.Attributes) {
							n += p.Value
						}
					}
				case metricdata.Gauge[int64]:
					for _, p := range d.DataPoints {
						if points(p.Attributes) {
							n += p.Value
						}
					}
				case metricdata.Histogram[int64]:
					for _, p := range d.DataPoints {
						if points(p.Attributes) {
							n += p.Sum
						}
					}
				}
			}
		}
		return n
	}
	checks := []struct {
		name  string
		match map[attribute.Key]string
		want  int64
	}{
		{"goai.client.attempts", map[attribute.Key]string{goaiotel.KeyModel: "resnet50", goaiotel.KeyCode: "UNAVAILABLE"}, int64(primary.Codes[codes.Unavailable])},
		{"goai.client.attempts", map[attribute.Key]string{goaiotel.KeyModel: "resnet50", goaiotel.KeyCode: "OK"}, int64(primary.Codes[codes.OK])},
		{"goai.client.attempts", map[attribute.Key]string{goaiotel.KeyModel: "resnet-lite", goaiotel.KeyCode: "OK"}, int64(fallback.Codes[codes.OK])},
		{"goai.client.calls", map[attribute.Key]string{goaiotel.KeyModel: "resnet50", goaiotel.KeyCode: "OK"}, 4},
		{"goai.client.retries", map[attribute.Key]string{goaiotel.KeyRetryReason: "code"}, 4},
		{"goai.client.fallbacks", map[attribute.Key]string{goaiotel.KeyFallbackTo: "resnet-lite@1"}, 1},
		{"goai.client.breaker.transitions", map[attribute.Key]string{goaiotel.KeyModel: "resnet50"}, 3},
		{"goai.client.breaker.state", map[attribute.Key]string{goaiotel.KeyModel: "resnet50"}, 0},
		{"goai.client.request.items", map[attribute.Key]string{goaiotel.KeyModel: "resnet50"}, 7},
		{"goai.client.request.size", map[attribute.Key]string{goaiotel.KeyModel: "resnet50"}, 7 * obstest.ImageBytes},
		{"goai.client.batch.size", map[attribute.Key]string{goaiotel.KeyModel: "resnet50"}, 4},
	}
	if primary.Codes[codes.Unavailable] != 5 || primary.Codes[codes.OK] != 3 || fallback.Codes[codes.OK] != 1 {
		t.Fatalf("server stats %+v / %+v: the scenario did not run as planned", primary, fallback)
	}
	for _, c := range checks {
		if got := sum(c.name, c.match); got != c.want {
			t.Errorf("%s%v = %d, want %d", c.name, c.match, got, c.want)
		}
	}
}

// A trace the sampler drops still reaches the server, unsampled, so the
// server drops it too; a trace context the caller's own outgoing metadata
// held is replaced, not sent twice.
func TestTracesPropagateUnsampledAndReplace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sdktrace.NeverSample()))
		var seen parents
		var raw [][]string
		var mu sync.Mutex
		srv := obstest.StartServer(t, seen.option(), inferencetest.WithGRPCServerOptions(grpc.ChainUnaryInterceptor(
			func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				md, _ := metadata.FromIncomingContext(ctx)
				mu.Lock()
				raw = append(raw, md.Get("traceparent"))
				mu.Unlock()
				return h(ctx, req)
			})))
		client := obstest.NewClient(t, srv, goaiotel.WithTelemetry(tp, nil))
		stale := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", stale, "x-keep", "1")
		if _, err := client.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		if n := len(rec.Ended()); n != 0 {
			t.Errorf("%d spans recorded under NeverSample", n)
		}
		got := seen.all()
		if len(got) != 1 || !got[0].IsValid() || got[0].IsSampled() || got[0].TraceID().String() == "0af7651916cd43dd8448eb211c80319c" {
			t.Errorf("the server got %v, want a new, valid, unsampled trace context", got)
		}
		if len(raw) != 1 || len(raw[0]) != 1 || raw[0][0] == stale {
			t.Errorf("traceparent values at the server = %q, want one, goai's", raw)
		}
	})
}
