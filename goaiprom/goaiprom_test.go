package goaiprom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/goaiprom"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/obstest"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// The metrics count what the fault-injecting server saw: retries by
// reason, the breaker's cycle, fallbacks, batch calls and micro-batches,
// read back by scraping the registry over HTTP.
func TestMetricsThroughFaults(t *testing.T) {
	reg := prometheus.NewRegistry()
	var stats inferencetest.Stats
	synctest.Test(t, func(t *testing.T) {
		srv := obstest.StartServer(t, inferencetest.WithRecordLimit(0))
		client := obstest.NewClient(t, srv, goaiprom.WithMetrics(reg))
		ctx := context.Background()
		classify := func(what string) {
			t.Helper()
			if _, err := client.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
		classify("a retry for UNAVAILABLE")
		srv.Script(inferencetest.Pushback(codes.Unavailable, 5*time.Millisecond), inferencetest.Serve())
		classify("a retry after pushback")
		srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable),
			inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable))
		classify("four failures, the breaker opening, the fallback")
		classify("the breaker open, the fallback")
		time.Sleep(obstest.OpenTimeout + time.Millisecond) // gobreaker reopens the gate strictly after the timeout
		classify("a probe closing the breaker")
		if _, err := client.ClassifyBatch(ctx, []*visionv1.Image{obstest.Image(), obstest.Image(), obstest.Image()}, obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
		b := client.NewClassifyBatcher(goai.WithBatcherCallOptions(obstest.Untimed...))
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, err := b.Do(ctx, obstest.Image()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		_ = b.Close()
		stats = srv.Stats()
	})

	// What the server counted, as the attempts' metrics must show it.
	primary, fallback := stats.Models[obstest.Model.Name], stats.Models[obstest.Fallback.Name]
	if primary.Codes[codes.Unavailable] != 6 || primary.Codes[codes.OK] != 5 || fallback.Codes[codes.OK] != 2 {
		t.Fatalf("server stats: %+v / %+v; the scenario did not run as planned", primary, fallback)
	}
	web := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer web.Close()

	p, f := obstest.Model, obstest.Fallback
	want := fmt.Sprintf(`
# HELP goai_client_attempts_total Attempts of calls, by the model attempted and the code.
# TYPE goai_client_attempts_total counter
goai_client_attempts_total{code="OK",%[1]s} %[3]d
goai_client_attempts_total{code="UNAVAILABLE",%[1]s} %[4]d
goai_client_attempts_total{code="OK",%[2]s} %[5]d
# HELP goai_client_calls_total Calls of model clients, by the code they ended with.
# TYPE goai_client_calls_total counter
goai_client_calls_total{code="OK",%[1]s} 7
# HELP goai_client_retries_total Retries made, by reason and the failed attempt's code.
# TYPE goai_client_retries_total counter
goai_client_retries_total{code="UNAVAILABLE",%[6]s} 4
goai_client_retries_total{code="UNAVAILABLE",%[7]s} 1
# HELP goai_client_fallbacks_total Calls that fell back to the fallback model, by the call's code.
# TYPE goai_client_fallbacks_total counter
goai_client_fallbacks_total{code="OK",fallback="resnet-lite@1",%[1]s} 2
# HELP goai_client_breaker_state State of a model's circuit breaker: 0 closed, 1 half-open, 2 open.
# TYPE goai_client_breaker_state gauge
goai_client_breaker_state{model="resnet-lite",version="1"} 0
goai_client_breaker_state{model="resnet50",version="3"} 0
# HELP goai_client_breaker_transitions_total Changes of state of circuit breakers.
# TYPE goai_client_breaker_transitions_total counter
goai_client_breaker_transitions_total{from="closed",model="resnet50",to="open",version="3"} 1
goai_client_breaker_transitions_total{from="half-open",model="resnet50",to="closed",version="3"} 1
goai_client_breaker_transitions_total{from="open",model="resnet50",to="half-open",version="3"} 1
`, series(p, ""), series(f, ""), primary.Codes[codes.OK], primary.Codes[codes.Unavailable], fallback.Codes[codes.OK],
		reasonSeries(p, "code"), reasonSeries(p, "pushback"))
	if err := testutil.ScrapeAndCompare(web.URL, strings.NewReader(want),
		"goai_client_attempts_total", "goai_client_calls_total", "goai_client_retries_total", "goai_client_fallbacks_total",
		"goai_client_breaker_state", "goai_client_breaker_transitions_total"); err != nil {
		t.Error(err)
	}

	// The histograms, scraped in the protobuf format, which carries their
	// native form too.
	fams := scrapeProto(t, web.URL)
	for _, c := range []struct {
		name  string
		count uint64
		sum   float64
	}{
		{"goai_client_request_items", 7, 11},
		{"goai_client_request_bytes", 7, 11 * obstest.ImageBytes},
		{"goai_client_response_bytes", 7, 11 * obstest.ScoresBytes},
		{"goai_client_batch_size", 1, 3},
		{"goai_client_call_duration_seconds", 7, -1},
		{"goai_client_attempt_duration_seconds", uint64(primary.Calls), -1},
	} {
		h := histogram(t, fams, c.name, p.Name)
		if h.GetSampleCount() != c.count || (c.sum >= 0 && h.GetSampleSum() != c.sum) {
			t.Errorf("%s: count %d sum %v, want %d and %v", c.name, h.GetSampleCount(), h.GetSampleSum(), c.count, c.sum)
		}
		if h.Schema == nil || len(h.GetBucket()) == 0 {
			t.Errorf("%s: schema %v, %d classic buckets; want both forms", c.name, h.Schema, len(h.GetBucket()))
		}
	}
}

// series is the labels of a call's series of model, with extra after.
func series(model goai.ModelRef, extra string) string {
	return fmt.Sprintf(`model=%q,rpc=%q,transport="grpc",version=%q%s`, model.Name, obstest.Classify, model.Version, extra)
}

func reasonSeries(m goai.ModelRef, reason string) string {
	return fmt.Sprintf(`model=%q,reason=%q,rpc=%q,transport="grpc",version=%q`, m.Name, reason, obstest.Classify, m.Version)
}

// scrapeProto scrapes url in Prometheus's protobuf format.
func scrapeProto(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	fams := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			break
		}
		fams[mf.GetName()] = &mf
	}
	if len(fams) == 0 {
		t.Fatal("the scrape had no metrics")
	}
	return fams
}

// histogram returns the histogram of fams[name] whose model label is
// model, summed over its other labels.
func histogram(t *testing.T, fams map[string]*dto.MetricFamily, name, model string) *dto.Histogram {
	t.Helper()
	mf := fams[name]
	if mf == nil {
		t.Fatalf("no %s in the scrape", name)
	}
	var total *dto.Histogram
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() != "model" || l.GetValue() != model {
				continue
			}
			h := m.GetHistogram()
			if total == nil {
				total = h
				continue
			}
			n, s := total.GetSampleCount()+h.GetSampleCount(), total.GetSampleSum()+h.GetSampleSum()
			total.SampleCount, total.SampleSum = &n, &s
		}
	}
	if total == nil {
		t.Fatalf("no %s of model %s", name, model)
	}
	return total
}

// Limits, the retry budget and routes, through a real client.
func TestMetricsLimitsBudgetRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := goaiprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		srv := obstest.StartServer(t)
		ctx := context.Background()
		waiting := obstest.NewClient(t, srv, m.ClientOption(), goai.WithLimits(goai.LimitPolicy{RatePerSecond: 10, Burst: 1}))
		for range 2 {
			if _, err := waiting.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
				t.Fatal(err)
			}
		}
		refusing := obstest.NewClient(t, srv, m.ClientOption(), goai.WithLimits(goai.LimitPolicy{MaxConcurrent: 1, RatePerSecond: 1, Burst: 1, FailFast: true}))
		_, _ = refusing.Classify(ctx, obstest.Image(), obstest.Untimed...)
		if _, err := refusing.Classify(ctx, obstest.Image(), obstest.Untimed...); status(err) != codes.ResourceExhausted {
			t.Fatalf("call over the rate = %v", err)
		}
		broke := obstest.NewClient(t, srv, m.ClientOption(), goai.WithFallback(goai.ModelRef{}),
			goai.WithRetryBudget(goai.NewRetryBudget(goai.RetryBudgetPolicy{Ratio: -1, MinPerSecond: -1}, nil)))
		srv.Script(inferencetest.Fail(codes.Unavailable))
		if _, err := broke.Classify(ctx, obstest.Image(), obstest.Untimed...); status(err) != codes.Unavailable {
			t.Fatalf("call without budget = %v", err)
		}
		routed := obstest.NewClient(t, srv, m.ClientOption())
		if err := routed.SetRoutes([]goai.Route{{Version: "3", Weight: 1}}); err != nil {
			t.Fatal(err)
		}
		if _, err := routed.Classify(ctx, obstest.Image(), obstest.Untimed...); err != nil {
			t.Fatal(err)
		}
	})
	s := series(obstest.Model, "")
	want := fmt.Sprintf(`
# HELP goai_client_limit_refusals_total Calls a rate limit or bulkhead refused.
# TYPE goai_client_limit_refusals_total counter
goai_client_limit_refusals_total{limit="rate",%[1]s} 1
# HELP goai_client_retry_budget_exhausted_total Retries the retry budget refused.
# TYPE goai_client_retry_budget_exhausted_total counter
goai_client_retry_budget_exhausted_total{%[1]s} 1
# HELP goai_client_routed_calls_total Calls whose version the routes drew.
# TYPE goai_client_routed_calls_total counter
goai_client_routed_calls_total{%[1]s} 1
`, s)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"goai_client_limit_refusals_total", "goai_client_retry_budget_exhausted_total", "goai_client_routed_calls_total"); err != nil {
		t.Error(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	if h := histogram(t, byName, "goai_client_limit_wait_seconds", obstest.Model.Name); h.GetSampleCount() != 1 || h.GetSampleSum() != 0.1 {
		t.Errorf("limit waits: %d, %v s; want one of 0.1 s", h.GetSampleCount(), h.GetSampleSum())
	}
}

func status(err error) codes.Code {
	type grpcStatus interface{ GRPCStatus() *grpcstatus.Status }
	if s, ok := err.(grpcStatus); ok {
		return s.GRPCStatus().Code()
	}
	return grpcstatus.Code(err)
}

// Clients sharing a registry share its metrics; a registry that holds a
// metric of the same name and another kind refuses them.
func TestNewOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := goaiprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := goaiprom.New(reg)
	if err != nil {
		t.Fatalf("second New on one registry: %v", err)
	}
	e := goai.CallEvent{Method: "/m/M", Target: goai.ModelRef{Name: "x"}, Transport: goai.TransportHTTP, Code: codes.Code(99)}
	a.Hooks().CallDone(context.Background(), e)
	b.Hooks().CallDone(context.Background(), e)
	want := `
# HELP goai_client_calls_total Calls of model clients, by the code they ended with.
# TYPE goai_client_calls_total counter
goai_client_calls_total{code="UNKNOWN",model="x",rpc="/m/M",transport="http",version=""} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "goai_client_calls_total"); err != nil {
		t.Error(err)
	}
	if goaiprom.CodeName(codes.Unavailable) != "UNAVAILABLE" || goaiprom.CodeName(99) != "UNKNOWN" {
		t.Error("CodeName")
	}

	other := prometheus.NewRegistry()
	other.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "goai_client_calls_total", Help: "not ours"}))
	if _, err := goaiprom.New(other); err == nil {
		t.Error("New on a registry holding a gauge of the calls' name succeeded")
	}
	if _, err := goaiprom.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("WithMetrics on a conflicting registry did not panic")
		}
	}()
	goaiprom.WithMetrics(other)
}

// Reporting a call of a series already seen allocates nothing, native
// histograms included.
func TestReportingAllocatesNothing(t *testing.T) {
	m, err := goaiprom.New(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	h := m.Hooks()
	ctx := context.Background()
	model := goai.ModelRef{Name: "m", Version: "1"}
	call := goai.CallEvent{Method: "/m/M", Target: model, Transport: goai.TransportGRPC, Items: 1, RequestBytes: 3136, ResponseBytes: 40,
		Info: goai.CallInfo{Model: model, Attempts: 1, Latency: 80 * time.Microsecond}}
	attempt := goai.AttemptEvent{Method: "/m/M", Model: model, Attempt: 1, Transport: goai.TransportGRPC, Latency: 75 * time.Microsecond}
	retry := goai.RetryEvent{Method: "/m/M", Model: model, Attempt: 1, Transport: goai.TransportGRPC, Code: codes.Unavailable}
	report := func() {
		h.AttemptDone(ctx, attempt)
		h.Retry(ctx, retry)
		h.CallDone(ctx, call)
	}
	report()
	if n := testing.AllocsPerRun(1000, report); n != 0 {
		t.Errorf("reporting a call allocates %v times", n)
	}
}
