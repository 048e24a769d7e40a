package goaiotel

import (
	"context"
	"errors"
	"sync"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/internal/labelcache"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc/codes"
)

// meters are goai's metrics through the OTel metrics API.
type meters struct {
	calls, attempts, retries, budget, transitions, refusals, fallbacks, routed metric.Int64Counter
	callTime, attemptTime, limitWait, batchFill                                metric.Float64Histogram
	items, reqBytes, respBytes, batchSize, batchQueue                          metric.Int64Histogram
	breaker                                                                    metric.Int64Gauge

	series  labelcache.Map[seriesKey, *series]
	batches labelcache.Map[batchKey, *batchSeries]
	mu      sync.Mutex
	known   map[goai.ModelRef]bool // models whose breaker gauge has a value
}

func newMeters(m metric.Meter) (*meters, error) {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	seconds := func(name, desc string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(labelcache.LatencyBuckets...))
		errs = append(errs, err)
		return h
	}
	ints := func(name, unit, desc string, bounds []float64) metric.Int64Histogram {
		h, err := m.Int64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(bounds...))
		errs = append(errs, err)
		return h
	}
	breaker, err := m.Int64Gauge("goai.client.breaker.state", metric.WithUnit("1"),
		metric.WithDescription("State of a model's circuit breaker: 0 closed, 1 half-open, 2 open."))
	errs = append(errs, err)
	ms := &meters{
		calls:       counter("goai.client.calls", "{call}", "Calls of model clients, by the code they ended with."),
		callTime:    seconds("goai.client.call.duration", "Duration of calls, limit waits, retries and fallback included."),
		attempts:    counter("goai.client.attempts", "{attempt}", "Attempts of calls, by the model attempted and the code."),
		attemptTime: seconds("goai.client.attempt.duration", "Duration of attempts."),
		retries:     counter("goai.client.retries", "{retry}", "Retries made, by reason and the failed attempt's code."),
		budget:      counter("goai.client.retry_budget.exhausted", "{retry}", "Retries the retry budget refused."),
		breaker:     breaker,
		transitions: counter("goai.client.breaker.transitions", "{transition}", "Changes of state of circuit breakers."),
		limitWait:   seconds("goai.client.limit.wait.duration", "Waits of calls for a rate-limit token or a bulkhead slot."),
		refusals:    counter("goai.client.limit.refusals", "{call}", "Calls a rate limit or bulkhead refused."),
		fallbacks:   counter("goai.client.fallbacks", "{call}", "Calls that fell back to the fallback model, by the call's code."),
		routed:      counter("goai.client.routed_calls", "{call}", "Calls whose version the routes drew."),
		items:       ints("goai.client.request.items", "{item}", "Items of requests along the batch dimension.", labelcache.ItemBuckets),
		reqBytes:    ints("goai.client.request.size", "By", "Tensor data of requests.", labelcache.ByteBuckets),
		respBytes:   ints("goai.client.response.size", "By", "Tensor data of responses to successful calls.", labelcache.ByteBuckets),
		batchSize:   ints("goai.client.batch.size", "{item}", "Items of micro-batches.", labelcache.ItemBuckets),
		batchFill:   seconds("goai.client.batch.fill_wait.duration", "Time micro-batches gathered calls, from the first call to the start."),
		batchQueue:  ints("goai.client.batch.queue_depth", "{call}", "Calls still queued in a micro-batcher as a batch starts.", labelcache.QueueBuckets),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ms.known = map[goai.ModelRef]bool{}
	return ms, nil
}

// opts are the measurement options of one attribute set, made once: the
// OTel API takes them as variadic arguments, which pass a slice already
// made without allocating.
type opts struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

func newOpts(kv ...attribute.KeyValue) opts {
	o := metric.WithAttributeSet(attribute.NewSet(kv...))
	return opts{add: []metric.AddOption{o}, record: []metric.RecordOption{o}}
}

type seriesKey struct {
	method    string
	model     goai.ModelRef
	transport string
}

// series are the options of one seriesKey; those with further
// attributes are made on first use.
type series struct {
	base      []attribute.KeyValue
	all       opts
	codes     labelcache.Slots[opts]    // by code
	retries   [3]labelcache.Slots[opts] // by RetryReason, then code
	limits    labelcache.Slots[opts]    // by LimitKind
	fallbacks sync.Map                  // fallbackKey → opts
}

type fallbackKey struct {
	fallback string
	code     int
}

func (m *meters) lookup(method string, model goai.ModelRef, transport string) *series {
	return m.series.Get(seriesKey{method, model, transport}, func() *series {
		m.mu.Lock()
		if !m.known[model] {
			// A model's breaker starts closed; a change reported since
			// records otherwise.
			m.known[model] = true
			m.breaker.Record(context.Background(), int64(goai.BreakerClosed), breakerAttrs(model))
		}
		m.mu.Unlock()
		base := []attribute.KeyValue{KeyModel.String(model.Name), KeyVersion.String(model.Version),
			KeyRPC.String(method), KeyTransport.String(transport)}
		return &series{base: base, all: newOpts(base...)}
	})
}

// with returns s's options with kv added, made on first use in slot i of
// l.
func (s *series) with(l *labelcache.Slots[opts], i int, kv ...attribute.KeyValue) opts {
	return l.Get(i, func() opts { return newOpts(append(append([]attribute.KeyValue(nil), s.base...), kv...)...) })
}

func (s *series) code(c codes.Code) opts {
	i := labelcache.Code(c)
	return s.with(&s.codes, i, KeyCode.String(labelcache.CodeNames[i]))
}

type batchKey struct{ method, model string }

type batchSeries struct{ all opts }

func (m *meters) hooks() goai.Hooks {
	return goai.Hooks{
		AttemptDone:        m.attemptDone,
		Retry:              m.retry,
		Limit:              m.limit,
		BreakerStateChange: m.breakerChange,
		Batch:              m.batch,
		CallDone:           m.callDone,
	}
}

func (m *meters) callDone(ctx context.Context, e goai.CallEvent) {
	s := m.lookup(e.Method, e.Target, e.Transport)
	m.calls.Add(ctx, 1, s.code(e.Code).add...)
	m.callTime.Record(ctx, e.Info.Latency.Seconds(), s.all.record...)
	if e.Items > 0 {
		m.items.Record(ctx, int64(e.Items), s.all.record...)
	}
	if e.RequestBytes > 0 {
		m.reqBytes.Record(ctx, e.RequestBytes, s.all.record...)
	}
	if e.Code == codes.OK && e.ResponseBytes > 0 {
		m.respBytes.Record(ctx, e.ResponseBytes, s.all.record...)
	}
	if e.BudgetExhausted {
		m.budget.Add(ctx, 1, s.all.add...)
	}
	if e.Routed {
		m.routed.Add(ctx, 1, s.all.add...)
	}
	if e.Info.Fallback {
		k := fallbackKey{e.Info.Model.String(), labelcache.Code(e.Code)}
		o, ok := s.fallbacks.Load(k)
		if !ok {
			o, _ = s.fallbacks.LoadOrStore(k, newOpts(append(append([]attribute.KeyValue(nil), s.base...),
				KeyFallbackTo.String(k.fallback), KeyCode.String(labelcache.CodeNames[k.code]))...))
		}
		m.fallbacks.Add(ctx, 1, o.(opts).add...)
	}
}

func (m *meters) attemptDone(ctx context.Context, e goai.AttemptEvent) {
	s := m.lookup(e.Method, e.Model, e.Transport)
	m.attempts.Add(ctx, 1, s.code(e.Code).add...)
	m.attemptTime.Record(ctx, e.Latency.Seconds(), s.all.record...)
}

func (m *meters) retry(ctx context.Context, e goai.RetryEvent) {
	r := int(e.Reason)
	if r >= len(series{}.retries) {
		r = int(goai.RetryCode)
	}
	s := m.lookup(e.Method, e.Model, e.Transport)
	i := labelcache.Code(e.Code)
	o := s.with(&s.retries[r], i, KeyRetryReason.String(goai.RetryReason(r).String()), KeyCode.String(labelcache.CodeNames[i]))
	m.retries.Add(ctx, 1, o.add...)
}

func (m *meters) limit(ctx context.Context, e goai.LimitEvent) {
	s := m.lookup(e.Method, e.Model, e.Transport)
	k := min(int(e.Limit), int(goai.LimitBulkhead))
	o := s.with(&s.limits, k, KeyLimit.String(goai.LimitKind(k).String()))
	if e.Wait > 0 {
		m.limitWait.Record(ctx, e.Wait.Seconds(), o.record...)
	}
	if e.Refused {
		m.refusals.Add(ctx, 1, o.add...)
	}
}

func (m *meters) breakerChange(e goai.BreakerEvent) {
	ctx := context.Background()
	m.mu.Lock()
	m.known[e.Model] = true
	m.breaker.Record(ctx, int64(e.To), breakerAttrs(e.Model))
	m.mu.Unlock()
	m.transitions.Add(ctx, 1, metric.WithAttributes(KeyModel.String(e.Model.Name), KeyVersion.String(e.Model.Version),
		KeyBreakerFrom.String(e.From.String()), KeyBreakerTo.String(e.To.String())))
}

func breakerAttrs(m goai.ModelRef) metric.MeasurementOption {
	return metric.WithAttributes(KeyModel.String(m.Name), KeyVersion.String(m.Version))
}

func (m *meters) batch(e goai.BatchEvent) {
	s := m.batches.Get(batchKey{e.Method, e.Model.Name}, func() *batchSeries {
		return &batchSeries{all: newOpts(KeyModel.String(e.Model.Name), KeyRPC.String(e.Method))}
	})
	ctx := context.Background()
	m.batchSize.Record(ctx, int64(e.Items), s.all.record...)
	m.batchFill.Record(ctx, e.FillWait.Seconds(), s.all.record...)
	m.batchQueue.Record(ctx, int64(e.Queued), s.all.record...)
}
