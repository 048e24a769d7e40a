// Package goaiotel traces goai's model clients and exports their metrics
// with OpenTelemetry: one span per call with the model, version and rpc
// that goai knows, a child span per attempt, the caller's trace carried to
// the model server, and the metrics of package goaiprom through the OTel
// metrics API, for teams on OTLP. It is a module of its own, so that
// goai's runtime does not depend on OpenTelemetry.
//
// Two lines instrument a client (or one, with either provider nil):
//
//	client, err := digitsv1.NewDigitClassifierModelClient(target, goai.WithInsecure(),
//		goaiotel.WithTelemetry(otel.GetTracerProvider(), otel.GetMeterProvider()))
//
// # Spans
//
// Each call is a span named "goai.call", of kind client, from the moment
// the call is made until it returns, waits on limits and backoffs
// included. Attributes: goai.model.name and goai.model.version (the model
// the call was sent to first), goai.rpc (the rpc's full method name),
// goai.protocol, goai.transport, goai.batch.size (items along the batch
// dimension), and at its end goai.attempts, goai.fallback (whether the
// fallback model was called), goai.served.model (the model that answered
// or failed last) and rpc.grpc.status_code; its status is an error for a
// code other than OK. Retries and limit waits are events on it.
//
// Each attempt is a child span named "goai.attempt" (attributes
// goai.attempt, goai.fallback, goai.model.name, goai.model.version,
// rpc.grpc.status_code) whose context goes to the server: the propagator
// ([WithPropagator]; W3C trace context by default) writes it into the
// attempt's outgoing gRPC metadata, which goai's transports send as gRPC
// metadata or HTTP headers alike. With [WithAttemptSpans](false) attempts
// are events on the call's span instead, and the call's context is the
// one sent.
//
// otelgrpc's client stats handler composes: its span of the RPC becomes a
// child of the attempt's span (it starts from the attempt's context and
// replaces the trace context in the metadata with its own), so the server
// sees it as its parent, and goai counts nothing otelgrpc counts under the
// same name.
//
// # Metrics
//
// The metrics are goaiprom's, named in OTel's way: goai.client.calls,
// goai.client.call.duration (s), goai.client.attempts,
// goai.client.attempt.duration (s), goai.client.retries,
// goai.client.retry_budget.exhausted, goai.client.breaker.state (gauge: 0
// closed, 1 half-open, 2 open), goai.client.breaker.transitions,
// goai.client.limit.wait.duration (s), goai.client.limit.refusals,
// goai.client.fallbacks, goai.client.routed_calls,
// goai.client.request.items, goai.client.request.size (By),
// goai.client.response.size (By), goai.client.batch.size,
// goai.client.batch.fill_wait.duration (s) and
// goai.client.batch.queue_depth, with the attributes goai.model.name,
// goai.model.version, goai.rpc, goai.transport and, where goaiprom has a
// label of that meaning, goai.code, goai.retry.reason, goai.limit,
// goai.fallback.model, goai.breaker.from and goai.breaker.to. Every value
// comes from the clients' configuration or a fixed set.
package goaiotel

import (
	"errors"

	"github.com/goai-dev/goai"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/goai-dev/goai/goaiotel"

// Option configures [New].
type Option func(*config)

type config struct {
	prop         propagation.TextMapPropagator
	attemptSpans bool
}

// WithPropagator sets the propagator that writes the trace context into
// each attempt's request, instead of W3C trace context and baggage.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) { c.prop = p }
}

// WithAttemptSpans makes each attempt a span of its own (on, the default)
// or an event on the call's span (off), which saves a span per attempt.
func WithAttemptSpans(on bool) Option {
	return func(c *config) { c.attemptSpans = on }
}

// Telemetry traces and measures goai clients. Give its [Telemetry.Hooks]
// to any number of clients; it is safe for concurrent use.
type Telemetry struct {
	tracer       trace.Tracer // nil: no tracing
	prop         propagation.TextMapPropagator
	attemptSpans bool
	metrics      *meters // nil: no metrics
}

// New returns the telemetry of goai clients: spans from tp and metrics
// from mp, either of which may be nil for none.
func New(tp trace.TracerProvider, mp metric.MeterProvider, opts ...Option) (*Telemetry, error) {
	cfg := config{prop: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}), attemptSpans: true}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.prop == nil {
		return nil, errors.New("goaiotel: nil propagator")
	}
	t := &Telemetry{prop: cfg.prop, attemptSpans: cfg.attemptSpans}
	if tp != nil {
		t.tracer = tp.Tracer(ScopeName)
	}
	if mp != nil {
		m, err := newMeters(mp.Meter(ScopeName))
		if err != nil {
			return nil, err
		}
		t.metrics = m
	}
	return t, nil
}

// WithTelemetry returns the option that makes a client report to tp and
// mp (either may be nil); it panics where [New] fails, which only an
// instrument the meter refuses makes it do.
func WithTelemetry(tp trace.TracerProvider, mp metric.MeterProvider, opts ...Option) goai.ClientOption {
	t, err := New(tp, mp, opts...)
	if err != nil {
		panic(err)
	}
	return t.ClientOption()
}

// ClientOption returns goai.WithHooks(t.Hooks()).
func (t *Telemetry) ClientOption() goai.ClientOption { return goai.WithHooks(t.Hooks()) }

// Hooks returns the hooks that trace and measure, for [goai.WithHooks].
func (t *Telemetry) Hooks() goai.Hooks {
	var h goai.Hooks
	if t.tracer != nil {
		h = goai.Hooks{
			CallStart:    t.callStart,
			AttemptStart: t.attemptStart,
			AttemptDone:  t.attemptDone,
			Retry:        t.retry,
			Limit:        t.limit,
			CallDone:     t.callDone,
		}
	}
	if m := t.metrics; m != nil {
		h = goai.ChainHooks(h, m.hooks())
	}
	return h
}
