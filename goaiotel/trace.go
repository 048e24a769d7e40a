package goaiotel

import (
	"context"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/internal/labelcache"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
)

// Span names.
const (
	CallSpan    = "goai.call"
	AttemptSpan = "goai.attempt"
)

// Attribute keys of the spans and metrics.
const (
	KeyModel        = attribute.Key("goai.model.name")
	KeyVersion      = attribute.Key("goai.model.version")
	KeyRPC          = attribute.Key("goai.rpc")
	KeyProtocol     = attribute.Key("goai.protocol")
	KeyTransport    = attribute.Key("goai.transport")
	KeyBatchSize    = attribute.Key("goai.batch.size")
	KeyAttempts     = attribute.Key("goai.attempts")
	KeyAttempt      = attribute.Key("goai.attempt")
	KeyFallback     = attribute.Key("goai.fallback")
	KeyServedModel  = attribute.Key("goai.served.model")
	KeyStatusCode   = attribute.Key("rpc.grpc.status_code")
	KeyCode         = attribute.Key("goai.code")
	KeyRetryReason  = attribute.Key("goai.retry.reason")
	KeyBackoff      = attribute.Key("goai.retry.backoff_ms")
	KeyLimit        = attribute.Key("goai.limit")
	KeyLimitWait    = attribute.Key("goai.limit.wait_ms")
	KeyLimitRefused = attribute.Key("goai.limit.refused")
	KeyFallbackTo   = attribute.Key("goai.fallback.model")
	KeyBreakerFrom  = attribute.Key("goai.breaker.from")
	KeyBreakerTo    = attribute.Key("goai.breaker.to")
)

// Options of the spans, made once: passed as made, they cost no
// allocation per span.
var (
	callStartOptions    = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	attemptStartOptions = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
)

func (t *Telemetry) callStart(ctx context.Context, e goai.CallStartEvent) context.Context {
	ctx, span := t.tracer.Start(ctx, CallSpan, callStartOptions...)
	if span.IsRecording() {
		span.SetAttributes(KeyModel.String(e.Model.Name), KeyVersion.String(e.Model.Version), KeyRPC.String(e.Method),
			KeyProtocol.String(e.Protocol.String()), KeyTransport.String(e.Transport), KeyBatchSize.Int(e.Items))
	}
	if !t.attemptSpans || !span.IsRecording() {
		// The call's context goes to the server. A call not recorded
		// (its trace not sampled) has no attempt spans: nothing would
		// record them, and the server needs only the trace and its
		// sampling decision.
		ctx = t.inject(ctx)
	}
	return ctx
}

func (t *Telemetry) attemptStart(ctx context.Context, e goai.AttemptEvent) context.Context {
	if !t.attemptSpans || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx
	}
	ctx, span := t.tracer.Start(ctx, AttemptSpan, attemptStartOptions...)
	if span.IsRecording() {
		span.SetAttributes(KeyAttempt.Int(e.Attempt), KeyFallback.Bool(e.Fallback),
			KeyModel.String(e.Model.Name), KeyVersion.String(e.Model.Version))
	}
	return t.inject(ctx)
}

func (t *Telemetry) attemptDone(ctx context.Context, e goai.AttemptEvent) {
	span := trace.SpanFromContext(ctx)
	if !t.attemptSpans {
		if span.IsRecording() {
			span.AddEvent(AttemptSpan, trace.WithAttributes(KeyAttempt.Int(e.Attempt), KeyFallback.Bool(e.Fallback),
				KeyModel.String(e.Model.Name), KeyVersion.String(e.Model.Version), KeyStatusCode.Int(int(e.Code)),
				attribute.Float64("goai.latency_ms", ms(e.Latency))))
		}
		return
	}
	if !span.IsRecording() {
		return // no attempt span: the call's, not recorded
	}
	span.SetAttributes(KeyStatusCode.Int(int(e.Code)))
	setStatus(span, e.Code)
	span.End()
}

func (t *Telemetry) retry(ctx context.Context, e goai.RetryEvent) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("goai.retry", trace.WithAttributes(KeyAttempt.Int(e.Attempt), KeyRetryReason.String(e.Reason.String()),
			KeyCode.String(codeName(e.Code)), KeyBackoff.Float64(ms(e.Backoff))))
	}
}

func (t *Telemetry) limit(ctx context.Context, e goai.LimitEvent) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("goai.limit", trace.WithAttributes(KeyLimit.String(e.Limit.String()),
			KeyLimitWait.Float64(ms(e.Wait)), KeyLimitRefused.Bool(e.Refused)))
	}
}

func (t *Telemetry) callDone(ctx context.Context, e goai.CallEvent) {
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		span.SetAttributes(KeyAttempts.Int(e.Info.Attempts), KeyFallback.Bool(e.Info.Fallback),
			KeyServedModel.String(e.Info.Model.String()), KeyStatusCode.Int(int(e.Code)))
		setStatus(span, e.Code)
	}
	span.End()
}

// setStatus marks span failed for a code other than OK, naming the code
// alone: a server's message is not the span's to carry.
func setStatus(span trace.Span, code codes.Code) {
	if code != codes.OK {
		span.SetStatus(otelcodes.Error, codeName(code))
	}
}

func codeName(c codes.Code) string { return labelcache.CodeNames[labelcache.Code(c)] }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// inject returns ctx with its trace context (and baggage) added to the
// outgoing gRPC metadata, which goai's transports send as the request's
// metadata or headers. A context with neither, such as under a no-op
// tracer, is returned as it is, at no cost.
func (t *Telemetry) inject(ctx context.Context) context.Context {
	if !trace.SpanContextFromContext(ctx).IsValid() && baggage.FromContext(ctx).Len() == 0 {
		return ctx
	}
	c := &carrier{}
	c.kv = c.buf[:0]
	t.prop.Inject(ctx, c)
	if len(c.kv) == 0 {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		// Replace, not add: a trace context the caller's metadata
		// already holds must not reach the server before this one.
		for i := 0; i < len(c.kv); i += 2 {
			md.Set(c.kv[i], c.kv[i+1])
		}
		return metadata.NewOutgoingContext(ctx, md)
	}
	return metadata.AppendToOutgoingContext(ctx, c.kv...)
}

// carrier collects what a propagator injects, as key/value pairs for
// metadata.AppendToOutgoingContext, in room of its own for W3C trace
// context and baggage.
type carrier struct {
	kv  []string
	buf [6]string
}

func (c *carrier) Get(string) string { return "" }
func (c *carrier) Set(k, v string)   { c.kv = append(c.kv, k, v) }
func (c *carrier) Keys() []string    { return nil }
