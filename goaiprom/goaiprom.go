// Package goaiprom exports the metrics of goai's model clients to
// Prometheus: calls, attempts, retries, breakers, limits, micro-batches,
// fallbacks, routes and tensor bytes, labelled by the model, version and
// rpc that goai knows and a gRPC interceptor does not (to one of those,
// every model is ModelInfer). It is a module of its own, so that goai's
// runtime does not depend on client_golang.
//
// Two lines instrument a client:
//
//	reg := prometheus.NewRegistry() // or prometheus.DefaultRegisterer
//	client, err := digitsv1.NewDigitClassifierModelClient(target, goai.WithInsecure(),
//		goaiprom.WithMetrics(reg))
//
// The metrics are reported through [goai.Hooks], which chain with any
// other hooks (tracing, say). Several clients may report to one registry:
// they share its metrics. Every label's values come from the clients'
// configuration (models, versions, rpcs, the fallback) or from fixed sets
// (gRPC codes, retry reasons, limits, transports), never from requests or
// servers, so the number of series is bounded by the configuration.
//
// # Metrics
//
// Labels: model and version name the model a call was sent to first (the
// routed version, before any fallback); rpc is the rpc's full method name;
// transport is "grpc" or "http"; code is the gRPC code's name ("OK",
// "UNAVAILABLE", ...).
//
//	goai_client_calls_total{model,version,rpc,transport,code}                counter
//	goai_client_call_duration_seconds{model,version,rpc,transport}           histogram
//	goai_client_attempts_total{model,version,rpc,transport,code}             counter (model: the attempt's)
//	goai_client_attempt_duration_seconds{model,version,rpc,transport}        histogram
//	goai_client_retries_total{model,version,rpc,transport,reason,code}       counter (reason: code, pushback, attempt_timeout)
//	goai_client_retry_budget_exhausted_total{model,version,rpc,transport}    counter
//	goai_client_breaker_state{model,version}                                 gauge (0 closed, 1 half-open, 2 open)
//	goai_client_breaker_transitions_total{model,version,from,to}             counter
//	goai_client_limit_wait_seconds{model,version,rpc,transport,limit}        histogram (limit: rate, bulkhead)
//	goai_client_limit_refusals_total{model,version,rpc,transport,limit}      counter
//	goai_client_fallbacks_total{model,version,rpc,transport,fallback,code}   counter (fallback: the fallback model; code: the call's)
//	goai_client_routed_calls_total{model,version,rpc,transport}              counter
//	goai_client_request_items{model,version,rpc,transport}                   histogram (items along the batch dimension)
//	goai_client_request_bytes{model,version,rpc,transport}                   histogram (tensor data)
//	goai_client_response_bytes{model,version,rpc,transport}                  histogram (tensor data, successful calls)
//	goai_client_batch_size{model,rpc}                                        histogram (items per micro-batch)
//	goai_client_batch_fill_wait_seconds{model,rpc}                           histogram
//	goai_client_batch_queue_depth{model,rpc}                                 histogram (calls still queued as a batch starts)
//
// Histograms have classic buckets (latencies from 100 µs to 10 s) and are
// native histograms too, which a registry scraped in the protobuf format
// exposes alongside.
package goaiprom

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/internal/labelcache"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
)

// LatencyBuckets are the classic buckets of the duration histograms, in
// seconds: 100 µs to 10 s, a model server's range from a small model on
// the same host to a large one behind a queue. Byte histograms have
// buckets from 256 B to 64 MiB by fours, item counts from 1 to 1024 by
// twos, queue depths 0 and 1 to 4096 by twos.
var LatencyBuckets = labelcache.LatencyBuckets

// Option configures [New].
type Option func(*config)

type config struct {
	latency []float64
	native  bool
}

// WithLatencyBuckets sets the classic buckets, in seconds, of the duration
// histograms, instead of [LatencyBuckets].
func WithLatencyBuckets(b []float64) Option {
	return func(c *config) { c.latency = append([]float64(nil), b...) }
}

// WithNativeHistograms turns the native form of the histograms on (the
// default) or off.
func WithNativeHistograms(on bool) Option {
	return func(c *config) { c.native = on }
}

// Metrics are the metrics of goai clients, registered on one registry.
// Give its [Metrics.Hooks] to any number of clients; it is safe for
// concurrent use.
type Metrics struct {
	calls, attempts, retries, budget, transitions, refusals, fallbacks, routed *prometheus.CounterVec
	callTime, attemptTime, limitWait, items, reqBytes, respBytes               *prometheus.HistogramVec
	batchSize, batchFill, batchQueue                                           *prometheus.HistogramVec
	breaker                                                                    *prometheus.GaugeVec

	// series and batches hold the metrics of label values already seen.
	series  labelcache.Map[seriesKey, *series]
	batches labelcache.Map[batchKey, *batchSeries]
	mu      sync.Mutex
	known   map[goai.ModelRef]bool // models whose breaker gauge is set
}

// Names of the label sets.
var (
	callLabels   = []string{"model", "version", "rpc", "transport"}
	batchLabels  = []string{"model", "rpc"}
	modelLabels  = []string{"model", "version"}
	nativeFactor = 1.1
)

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// New returns the metrics, registered on reg. A metric reg already holds
// from an earlier New (another client's, say) is shared rather than
// refused; any other registration error is returned.
func New(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("goaiprom: nil Registerer")
	}
	cfg := config{latency: append([]float64(nil), LatencyBuckets...), native: true}
	for _, o := range opts {
		o(&cfg)
	}
	var errs []error
	counter := func(name, help string, labels []string) *prometheus.CounterVec {
		return register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels), &errs)
	}
	histogram := func(name, help string, buckets []float64, labels []string) *prometheus.HistogramVec {
		o := prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}
		if cfg.native {
			o.NativeHistogramBucketFactor = nativeFactor
			o.NativeHistogramMaxBucketNumber = 100
			o.NativeHistogramMinResetDuration = time.Hour
		}
		return register(reg, prometheus.NewHistogramVec(o, labels), &errs)
	}
	bytes, items, queue := labelcache.ByteBuckets, labelcache.ItemBuckets, labelcache.QueueBuckets
	m := &Metrics{
		calls:       counter("goai_client_calls_total", "Calls of model clients, by the code they ended with.", with(callLabels, "code")),
		callTime:    histogram("goai_client_call_duration_seconds", "Duration of calls, limit waits, retries and fallback included.", cfg.latency, callLabels),
		attempts:    counter("goai_client_attempts_total", "Attempts of calls, by the model attempted and the code.", with(callLabels, "code")),
		attemptTime: histogram("goai_client_attempt_duration_seconds", "Duration of attempts.", cfg.latency, callLabels),
		retries:     counter("goai_client_retries_total", "Retries made, by reason and the failed attempt's code.", with(callLabels, "reason", "code")),
		budget:      counter("goai_client_retry_budget_exhausted_total", "Retries the retry budget refused.", callLabels),
		breaker: register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "goai_client_breaker_state",
			Help: "State of a model's circuit breaker: 0 closed, 1 half-open, 2 open."}, modelLabels), &errs),
		transitions: counter("goai_client_breaker_transitions_total", "Changes of state of circuit breakers.", with(modelLabels, "from", "to")),
		limitWait:   histogram("goai_client_limit_wait_seconds", "Waits of calls for a rate-limit token or a bulkhead slot.", cfg.latency, with(callLabels, "limit")),
		refusals:    counter("goai_client_limit_refusals_total", "Calls a rate limit or bulkhead refused.", with(callLabels, "limit")),
		fallbacks:   counter("goai_client_fallbacks_total", "Calls that fell back to the fallback model, by the call's code.", with(callLabels, "fallback", "code")),
		routed:      counter("goai_client_routed_calls_total", "Calls whose version the routes drew.", callLabels),
		items:       histogram("goai_client_request_items", "Items of requests along the batch dimension.", items, callLabels),
		reqBytes:    histogram("goai_client_request_bytes", "Tensor data of requests, in bytes.", bytes, callLabels),
		respBytes:   histogram("goai_client_response_bytes", "Tensor data of responses to successful calls, in bytes.", bytes, callLabels),
		batchSize:   histogram("goai_client_batch_size", "Items of micro-batches.", items, batchLabels),
		batchFill:   histogram("goai_client_batch_fill_wait_seconds", "Time micro-batches gathered calls, from the first call to the start.", cfg.latency, batchLabels),
		batchQueue:  histogram("goai_client_batch_queue_depth", "Calls still queued in a micro-batcher as a batch starts.", queue, batchLabels),
		known:       map[goai.ModelRef]bool{},
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// WithMetrics returns the option that makes a client report to reg's
// metrics, registering them on first use; it panics if reg refuses them,
// as [prometheus.MustRegister] does. Use [New] to handle the error.
func WithMetrics(reg prometheus.Registerer, opts ...Option) goai.ClientOption {
	m, err := New(reg, opts...)
	if err != nil {
		panic(err)
	}
	return m.ClientOption()
}

// ClientOption returns goai.WithHooks(m.Hooks()).
func (m *Metrics) ClientOption() goai.ClientOption { return goai.WithHooks(m.Hooks()) }

// register registers c on reg, or returns the collector of the same
// description reg already holds.
func register[C prometheus.Collector](reg prometheus.Registerer, c C, errs *[]error) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old
		}
	}
	*errs = append(*errs, err)
	return c
}

// CodeName returns the name of code as the code label spells it, such as
// "UNAVAILABLE"; a code outside gRPC's is "UNKNOWN".
func CodeName(code codes.Code) string { return labelcache.CodeNames[labelcache.Code(code)] }

// seriesKey identifies the label values of a call's metrics.
type seriesKey struct {
	method    string
	model     goai.ModelRef
	transport string
}

// series are the metrics of one seriesKey, resolved once; those labelled
// further (by code, reason, limit, fallback) are resolved on first use.
type series struct {
	labels                                            []string // model, version, rpc, transport
	callTime, attemptTime, items, reqBytes, respBytes prometheus.Observer
	budget, routed                                    prometheus.Counter

	calls, attempts labelcache.Slots[prometheus.Counter]    // by code
	retries         [3]labelcache.Slots[prometheus.Counter] // by RetryReason, then code
	waits           labelcache.Slots[prometheus.Observer]   // by LimitKind
	refusals        labelcache.Slots[prometheus.Counter]    // by LimitKind
	fallbacks       sync.Map                                // fallbackKey → prometheus.Counter
}

type fallbackKey struct {
	fallback string
	code     int
}

// lookup returns the series of a call's labels, making it on first use.
func (m *Metrics) lookup(method string, model goai.ModelRef, transport string) *series {
	return m.series.Get(seriesKey{method, model, transport}, func() *series {
		lv := []string{model.Name, model.Version, method, transport}
		m.mu.Lock()
		defer m.mu.Unlock()
		if !m.known[model] {
			// A model's breaker starts closed; a change reported since
			// sets it otherwise.
			m.known[model] = true
			m.breaker.WithLabelValues(model.Name, model.Version).Set(float64(goai.BreakerClosed))
		}
		return &series{
			labels:      lv,
			callTime:    m.callTime.WithLabelValues(lv...),
			attemptTime: m.attemptTime.WithLabelValues(lv...),
			items:       m.items.WithLabelValues(lv...),
			reqBytes:    m.reqBytes.WithLabelValues(lv...),
			respBytes:   m.respBytes.WithLabelValues(lv...),
			budget:      m.budget.WithLabelValues(lv...),
			routed:      m.routed.WithLabelValues(lv...),
		}
	})
}

func (s *series) code(vec *prometheus.CounterVec, l *labelcache.Slots[prometheus.Counter], code codes.Code) prometheus.Counter {
	i := labelcache.Code(code)
	return l.Get(i, func() prometheus.Counter { return vec.WithLabelValues(with(s.labels, labelcache.CodeNames[i])...) })
}

// batchKey identifies the label values of a micro-batcher's metrics.
type batchKey struct {
	method string
	model  string
}

type batchSeries struct{ size, fill, queue prometheus.Observer }

func (m *Metrics) batchLookup(method, model string) *batchSeries {
	return m.batches.Get(batchKey{method, model}, func() *batchSeries {
		return &batchSeries{
			size:  m.batchSize.WithLabelValues(model, method),
			fill:  m.batchFill.WithLabelValues(model, method),
			queue: m.batchQueue.WithLabelValues(model, method),
		}
	})
}

// Hooks returns the hooks that report to m, for [goai.WithHooks].
func (m *Metrics) Hooks() goai.Hooks {
	return goai.Hooks{
		AttemptDone:        m.attemptDone,
		Retry:              m.retry,
		Limit:              m.limit,
		BreakerStateChange: m.breakerChange,
		Batch:              m.batch,
		CallDone:           m.callDone,
	}
}

func (m *Metrics) callDone(_ context.Context, e goai.CallEvent) {
	s := m.lookup(e.Method, e.Target, e.Transport)
	s.code(m.calls, &s.calls, e.Code).Inc()
	s.callTime.Observe(e.Info.Latency.Seconds())
	if e.Items > 0 {
		s.items.Observe(float64(e.Items))
	}
	if e.RequestBytes > 0 {
		s.reqBytes.Observe(float64(e.RequestBytes))
	}
	if e.Code == codes.OK && e.ResponseBytes > 0 {
		s.respBytes.Observe(float64(e.ResponseBytes))
	}
	if e.BudgetExhausted {
		s.budget.Inc()
	}
	if e.Routed {
		s.routed.Inc()
	}
	if e.Info.Fallback {
		k := fallbackKey{e.Info.Model.String(), labelcache.Code(e.Code)}
		c, ok := s.fallbacks.Load(k)
		if !ok {
			c, _ = s.fallbacks.LoadOrStore(k, m.fallbacks.WithLabelValues(with(s.labels, k.fallback, labelcache.CodeNames[k.code])...))
		}
		c.(prometheus.Counter).Inc()
	}
}

func (m *Metrics) attemptDone(_ context.Context, e goai.AttemptEvent) {
	s := m.lookup(e.Method, e.Model, e.Transport)
	s.code(m.attempts, &s.attempts, e.Code).Inc()
	s.attemptTime.Observe(e.Latency.Seconds())
}

func (m *Metrics) retry(_ context.Context, e goai.RetryEvent) {
	r := int(e.Reason)
	if r >= len(series{}.retries) {
		r = int(goai.RetryCode)
	}
	s := m.lookup(e.Method, e.Model, e.Transport)
	i := labelcache.Code(e.Code)
	s.retries[r].Get(i, func() prometheus.Counter {
		return m.retries.WithLabelValues(with(s.labels, goai.RetryReason(r).String(), labelcache.CodeNames[i])...)
	}).Inc()
}

func (m *Metrics) limit(_ context.Context, e goai.LimitEvent) {
	s := m.lookup(e.Method, e.Model, e.Transport)
	k := min(int(e.Limit), int(goai.LimitBulkhead))
	name := goai.LimitKind(k).String()
	if e.Wait > 0 {
		s.waits.Get(k, func() prometheus.Observer { return m.limitWait.WithLabelValues(with(s.labels, name)...) }).Observe(e.Wait.Seconds())
	}
	if e.Refused {
		s.refusals.Get(k, func() prometheus.Counter { return m.refusals.WithLabelValues(with(s.labels, name)...) }).Inc()
	}
}

func (m *Metrics) breakerChange(e goai.BreakerEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.known[e.Model] = true
	m.breaker.WithLabelValues(e.Model.Name, e.Model.Version).Set(float64(e.To))
	m.transitions.WithLabelValues(e.Model.Name, e.Model.Version, e.From.String(), e.To.String()).Inc()
}

func (m *Metrics) batch(e goai.BatchEvent) {
	s := m.batchLookup(e.Method, e.Model.Name)
	s.size.Observe(float64(e.Items))
	s.fill.Observe(e.FillWait.Seconds())
	s.queue.Observe(float64(e.Queued))
}
