// Package demo runs goai's generated example clients against the
// in-process model server: concurrent single calls, batch calls, streams
// of a language model's tokens and calls through injected faults,
// checking every answer against the model's computation and measuring
// latency and throughput. `make demo` runs it through examples/cmd/demo.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/goai-dev/goai"
	digitsv1 "github.com/goai-dev/goai/examples/gen/digits/v1"
	llmv1 "github.com/goai-dev/goai/examples/gen/llm/v1"
	tokenizerv1 "github.com/goai-dev/goai/examples/gen/tokenizer/v1"
	"github.com/goai-dev/goai/examples/models/digits"
	"github.com/goai-dev/goai/examples/models/tokenizer"
	"github.com/goai-dev/goai/examples/serve"
	"github.com/goai-dev/goai/inferencetest"
	"google.golang.org/grpc/codes"
)

// Config sizes a demo run. The zero value runs nothing; [DefaultConfig] is
// what `make demo` runs.
type Config struct {
	// Calls is the number of single calls per phase; the streaming
	// phases make a tenth as many streams (at least one).
	Calls int
	// Concurrency is the number of goroutines making them.
	Concurrency int
	// Batches is the number of batch calls, of BatchSize items each.
	Batches, BatchSize int
	// FaultRate is the fraction of ModelInfer calls the server fails with
	// UNAVAILABLE during the fault phase, and of the streams it resets,
	// before their first response, during the second streaming phase.
	FaultRate float64
	// Seed makes the glyphs and texts reproducible: each call's depend
	// on it and the call's index in its phase only.
	Seed uint64
	// CallOptions are added to every call, such as goai.WithTimeout(0)
	// and goai.WithIdleTimeout(0) for a test on a busy machine, which
	// must not fail for the annotations' deadlines, set for a model
	// server that answers in milliseconds.
	CallOptions []goai.CallOption
	// Batching overrides the model's batching policy in the micro-batched
	// phase, field by field ([goai.WithBatcherPolicy]).
	Batching goai.BatchingPolicy
	// MetricsAddr is where the clients' Prometheus metrics are served at
	// /metrics while the demo runs: 127.0.0.1 on a free port when empty.
	MetricsAddr string
}

// DefaultConfig is a few thousand concurrent calls in each phase.
var DefaultConfig = Config{Calls: 3000, Concurrency: 64, Batches: 40, BatchSize: 100, FaultRate: 0.1, Seed: 1}

// Phase is what one phase of the demo measured.
type Phase struct {
	Name       string
	Calls      int // items: single calls, items of batch calls, or tokens streamed
	Errors     int
	Wrong      int           // answers that did not match the model's computation
	Retries    int           // attempts beyond the first
	P50, P99   time.Duration // of each call, a stream's whole length
	Throughput float64       // items per second
	// Streams is the number of calls of a streaming phase, whose items
	// are the responses they got; 0 in the others.
	Streams int
	// FirstP50 and FirstP99 are, in a streaming phase, the latency of
	// each stream's first response (time to first token), among the
	// streams that got one.
	FirstP50, FirstP99 time.Duration
	// MaxErrors is how many calls may fail: none but in the phases with
	// faults, where it is what retries cannot save (see
	// [FaultTolerance]).
	MaxErrors int
	// FirstError is the first error a call of the phase returned.
	FirstError error
	// Requests is the number of ModelInfer calls the server received in
	// the phase, where the demo counts them.
	Requests int
}

// Report is the whole run.
type Report struct {
	Phases []Phase
	// Requests is the number of ModelInfer calls the server received.
	Requests int
	// Streams is the number of ModelStreamInfer streams it received:
	// one per attempt of a streaming call, each carrying its request.
	Streams int
	// Predicts is the number of TF Serving Predict calls it received.
	Predicts int
	// Scrape is what the clients' /metrics endpoint showed after the
	// phases.
	Scrape Scrape
}

// OK reports whether every answer was right and no phase failed more
// calls than it tolerates.
func (r Report) OK() bool {
	for _, p := range r.Phases {
		if p.Wrong > 0 || p.Errors > p.MaxErrors {
			return false
		}
	}
	return len(r.Phases) > 0
}

// Run starts an in-process model server on 127.0.0.1 serving the example
// models, checks the generated clients' contracts against it, runs the
// phases of cfg and writes a table of them to w, then an excerpt of the
// clients' metrics, scraped from the /metrics endpoint it serves while it
// runs. Every phase calls over gRPC but two: one makes the single Classify
// calls over REST, one over TF Serving's API; the streaming phases call
// over ModelStreamInfer.
func Run(ctx context.Context, w io.Writer, cfg Config) (report Report, err error) {
	metrics, err := startMetrics(cfg.MetricsAddr)
	if err != nil {
		return Report{}, err
	}
	defer func() { err = errors.Join(err, metrics.close()) }()
	observed := metrics.metrics.ClientOption()

	srv := inferencetest.New()
	if err := serve.Register(srv); err != nil {
		return Report{}, err
	}
	if err := srv.StartTCP(); err != nil {
		return Report{}, err
	}
	defer srv.Stop()

	glyphs, err := digitsv1.NewDigitClassifierModelClient(srv.Target(), goai.WithInsecure(), observed)
	if err != nil {
		return Report{}, err
	}
	defer glyphs.Close()
	words, err := tokenizerv1.NewTokenizerModelClient(srv.Target(), goai.WithInsecure(), observed)
	if err != nil {
		return Report{}, err
	}
	defer words.Close()
	tfGlyphs, err := digitsv1.NewTFDigitClassifierModelClient(srv.Target(), goai.WithInsecure(), observed)
	if err != nil {
		return Report{}, err
	}
	defer tfGlyphs.Close()
	// The same generated client over the Open Inference Protocol's REST
	// form: an http:// target is all it takes.
	restGlyphs, err := digitsv1.NewDigitClassifierModelClient(srv.HTTPURL(), goai.WithInsecure(), observed)
	if err != nil {
		return Report{}, err
	}
	defer restGlyphs.Close()
	texts, err := llmv1.NewTextGeneratorModelClient(srv.Target(), goai.WithInsecure(), observed)
	if err != nil {
		return Report{}, err
	}
	defer texts.Close()
	if err := errors.Join(glyphs.CheckModel(ctx), words.CheckModel(ctx), texts.CheckModel(ctx), tfGlyphs.CheckModel(ctx), restGlyphs.CheckModel(ctx)); err != nil {
		return Report{}, fmt.Errorf("contract check: %w", err)
	}
	fmt.Fprintf(w, "model server on %s (gRPC) and %s (REST); contracts of digits@1, tokenizer, textgen and TF Serving's digits@stable match; metrics at %s\n\n", srv.Addr(), srv.HTTPURL(), metrics.url)

	d := &driver{cfg: cfg, glyphs: glyphs, words: words, texts: texts}
	report.Phases = append(report.Phases,
		d.classify(ctx, "Classify, single calls", glyphs.Classify),
		d.classify(ctx, "Classify over REST, single calls", restGlyphs.Classify),
		d.classifyBatch(ctx, fmt.Sprintf("ClassifyBatch, %d glyphs a call", cfg.BatchSize)),
		d.tokenize(ctx, "Tokenize, single calls"),
		// The same digits model through TF Serving's Predict: a client
		// generated from a service annotated PROTOCOL_TF_SERVING, on the
		// same server, which speaks both protocols.
		d.classify(ctx, "Classify over TF Serving, single calls", tfGlyphs.Classify),
	)
	before := srv.Stats().Calls["ModelInfer"]
	batched := d.classifyBatched(ctx, "Classify, micro-batched")
	batched.Requests = srv.Stats().Calls["ModelInfer"] - before
	report.Phases = append(report.Phases, batched)
	srv.SetFaults(inferencetest.Faults{FailRate: cfg.FaultRate, FailWith: inferencetest.Fail(codes.Unavailable), Seed: cfg.Seed})
	faulty := d.classify(ctx, fmt.Sprintf("Classify, %.0f%% UNAVAILABLE", 100*cfg.FaultRate), glyphs.Classify)
	faulty.MaxErrors = FaultTolerance(cfg.FaultRate, digitsv1.DigitClassifierModel.Methods[0].Policy.Retry.MaxAttempts, cfg.Calls)
	report.Phases = append(report.Phases, faulty)
	srv.ClearFaults()

	report.Phases = append(report.Phases, d.generate(ctx, "Generate, streamed tokens"))
	// A stream the server resets before the request's first response
	// (a proxy dropping it, a server restarting) is retried; one reset
	// later would not be, its tokens being the caller's already, so the
	// phase resets only before.
	srv.SetFaults(inferencetest.Faults{Methods: []string{"ModelStreamInfer"}, FailRate: cfg.FaultRate,
		FailWith: inferencetest.ResetAfter(0, codes.Unavailable), Seed: cfg.Seed})
	reset := d.generate(ctx, fmt.Sprintf("Generate, %.0f%% of streams reset", 100*cfg.FaultRate))
	reset.MaxErrors = FaultTolerance(cfg.FaultRate, llmv1.TextGeneratorModel.Methods[0].Policy.Retry.MaxAttempts, reset.Streams)
	report.Phases = append(report.Phases, reset)
	srv.ClearFaults()

	stats := srv.Stats()
	report.Requests, report.Streams, report.Predicts = stats.Calls["ModelInfer"], stats.Calls["ModelStreamInfer"], stats.Calls["Predict"]

	writeTable(w, report)
	if report.Scrape, err = scrape(ctx, metrics.url); err != nil {
		return report, err
	}
	writeScrape(w, report.Scrape)
	return report, nil
}

type driver struct {
	cfg    Config
	glyphs *digitsv1.DigitClassifierModelClient
	words  *tokenizerv1.TokenizerModelClient
	texts  *llmv1.TextGeneratorModelClient
}

// classifier is the Classify method of a generated digits client: over
// the Open Inference Protocol's gRPC or REST, or TF Serving's Predict.
type classifier func(context.Context, *digitsv1.Glyph, ...goai.CallOption) (*digitsv1.Prediction, error)

// callOptions returns cfg.CallOptions followed by extra, in a slice of
// its own.
func (d *driver) callOptions(extra ...goai.CallOption) []goai.CallOption {
	return append(slices.Clip(d.cfg.CallOptions), extra...)
}

// result is one call's outcome.
type result struct {
	latency  time.Duration
	err      error
	wrong    bool
	attempts int
	items    int // what the call was worth: 1, a batch's size, or the responses of a stream
	// streamed marks a streaming call, whose first response came after
	// firstResponse (0 for none).
	streamed      bool
	firstResponse time.Duration
}

// classify makes cfg.Calls single calls of classify with noisy glyphs and
// counts a wrong answer when the probabilities differ from the model's own
// computation.
func (d *driver) classify(ctx context.Context, name string, classify classifier) Phase {
	net, _ := digits.Trained()
	return d.run(name, d.cfg.Calls, func(i int, rng *rand.Rand) result {
		img := digits.Noisy(rng, i%digits.Classes, 0.6)
		want, _ := net.Forward(img)
		var info goai.CallInfo
		start := time.Now()
		got, err := classify(ctx, &digitsv1.Glyph{Pixels: img}, d.callOptions(goai.Report(&info))...)
		r := result{latency: time.Since(start), err: err, attempts: info.Attempts, items: 1}
		if err == nil {
			r.wrong = !slices.Equal(got.GetProbs(), want)
		}
		return r
	})
}

// classifyBatched makes cfg.Calls single calls through the client's
// micro-batcher, which coalesces concurrent calls into batch requests.
func (d *driver) classifyBatched(ctx context.Context, name string) Phase {
	net, _ := digits.Trained()
	batcher := d.glyphs.NewClassifyBatcher(goai.WithBatcherPolicy(d.cfg.Batching), goai.WithBatcherCallOptions(d.cfg.CallOptions...))
	defer batcher.Close()
	return d.run(name, d.cfg.Calls, func(i int, rng *rand.Rand) result {
		img := digits.Noisy(rng, i%digits.Classes, 0.6)
		want, _ := net.Forward(img)
		start := time.Now()
		got, err := batcher.Do(ctx, &digitsv1.Glyph{Pixels: img})
		r := result{latency: time.Since(start), err: err, attempts: 1, items: 1}
		if err == nil {
			r.wrong = !slices.Equal(got.GetProbs(), want)
		}
		return r
	})
}

// classifyBatch makes cfg.Batches batch calls of cfg.BatchSize glyphs.
func (d *driver) classifyBatch(ctx context.Context, name string) Phase {
	net, _ := digits.Trained()
	return d.run(name, d.cfg.Batches, func(i int, rng *rand.Rand) result {
		in := make([]*digitsv1.Glyph, d.cfg.BatchSize)
		var pixels []float32
		for j := range in {
			img := digits.Noisy(rng, j%digits.Classes, 0.6)
			in[j] = &digitsv1.Glyph{Pixels: img}
			pixels = append(pixels, img...)
		}
		want, _ := net.Forward(pixels)
		start := time.Now()
		out, err := d.glyphs.ClassifyBatch(ctx, in, d.cfg.CallOptions...)
		r := result{latency: time.Since(start), err: err, attempts: 1, items: d.cfg.BatchSize}
		if err == nil {
			for j, p := range out {
				if !slices.Equal(p.GetProbs(), want[j*digits.Classes:(j+1)*digits.Classes]) {
					r.wrong = true
				}
			}
		}
		return r
	})
}

var vocabulary = []string{"the", "model", "server", "answers", "every", "call", "with", "tensors", "in", "order", "fast"}

// sentence returns 1 to n random words of vocabulary.
func sentence(rng *rand.Rand, n int) string {
	words := make([]string, 1+rng.IntN(n))
	for j := range words {
		words[j] = vocabulary[rng.IntN(len(vocabulary))]
	}
	return strings.Join(words, " ")
}

// tokenize makes cfg.Calls single Tokenize calls of random sentences.
func (d *driver) tokenize(ctx context.Context, name string) Phase {
	return d.run(name, d.cfg.Calls, func(i int, rng *rand.Rand) result {
		text := sentence(rng, 20)
		wantIDs, wantMask := tokenizer.Tokenize(text)
		start := time.Now()
		got, err := d.words.Tokenize(ctx, &tokenizerv1.Sentence{Text: text}, d.cfg.CallOptions...)
		r := result{latency: time.Since(start), err: err, attempts: 1, items: 1}
		if err == nil {
			r.wrong = !slices.Equal(got.GetIds(), wantIDs) || !slices.Equal(got.GetMask(), wantMask)
		}
		return r
	})
}

// run makes calls calls of call from cfg.Concurrency goroutines and
// summarises them. Call i draws its inputs from rng, seeded with cfg.Seed
// and i, so that they do not depend on which goroutine makes it.
func (d *driver) run(name string, calls int, call func(i int, rng *rand.Rand) result) Phase {
	var (
		next    atomic.Int64
		mu      sync.Mutex
		results = make([]result, 0, calls)
		wg      sync.WaitGroup
	)
	start := time.Now()
	for range max(1, min(d.cfg.Concurrency, calls)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := rand.NewPCG(0, 0)
			rng := rand.New(src)
			for {
				i := int(next.Add(1)) - 1
				if i >= calls {
					return
				}
				src.Seed(d.cfg.Seed, uint64(i))
				r := call(i, rng)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	p := Phase{Name: name}
	var latencies, firsts []time.Duration
	for _, r := range results {
		p.Calls += r.items
		latencies = append(latencies, r.latency)
		if r.streamed {
			p.Streams++
			if r.firstResponse > 0 {
				firsts = append(firsts, r.firstResponse)
			}
		}
		if r.err != nil {
			p.Errors++
			if p.FirstError == nil {
				p.FirstError = fmt.Errorf("after %d attempts in %s: %w", r.attempts, r.latency, r.err)
			}
		}
		if r.wrong {
			p.Wrong++
		}
		if r.attempts > 1 {
			p.Retries += r.attempts - 1
		}
	}
	p.Throughput = float64(p.Calls) / elapsed.Seconds()
	p.P50, p.P99 = percentiles(latencies)
	p.FirstP50, p.FirstP99 = percentiles(firsts)
	return p
}

// percentiles returns the median and 99th percentile of ds, which it
// sorts; zeros for none.
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(ds)
	n := len(ds)
	if n == 0 {
		return 0, 0
	}
	return ds[n/2], ds[min(n-1, n*99/100)]
}

// FaultTolerance returns how many of calls calls, each allowed attempts
// attempts, may fail against a server failing a fraction rate of them: the
// calls that retries cannot save, as many as chance makes with
// probability at least 1e-9.
//
// The server draws each attempt's fault in arrival order, and which call
// arrives next does not depend on the draws still to come, so each attempt
// fails with probability rate whatever became of its call's earlier ones:
// a call fails when all its attempts do, with probability q =
// rate^attempts, and the failed calls are binomial (calls, q). Nothing else
// fails them while the retry budget (0.2 retries a call) covers the
// retries a call takes, rate/(1-rate) on average, the breaker sees no run
// of 20 failures, and no deadline cuts them (see [Config.CallOptions]).
// For 2000 calls at 10% and 4 attempts, q is 1e-4 and FaultTolerance 7,
// where a client that gave up after 2 attempts would fail 20 calls on
// average, and one that never retried 200.
func FaultTolerance(rate float64, attempts, calls int) int {
	q := math.Pow(rate, float64(max(attempts, 1)))
	for k := 0; k < calls; k++ {
		if binomialTail(calls, q, k) < 1e-9 {
			return k
		}
	}
	return calls
}

// binomialTail returns P(X > k) for X binomial (n, q).
func binomialTail(n int, q float64, k int) float64 {
	switch {
	case k >= n || q <= 0:
		return 0
	case q >= 1:
		return 1
	}
	ln := func(x float64) float64 { v, _ := math.Lgamma(x); return v }
	var sum float64
	for i := k + 1; i <= n; i++ {
		term := math.Exp(ln(float64(n+1)) - ln(float64(i+1)) - ln(float64(n-i+1)) +
			float64(i)*math.Log(q) + float64(n-i)*math.Log1p(-q))
		sum += term
		if i > int(float64(n)*q)+1 && term < sum*1e-12 {
			break // past the mode, the terms only shrink
		}
	}
	return sum
}

func writeTable(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\titems\terrors\twrong\tretries\tp50\tp99\titems/s\t")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%.0f\t\n", p.Name, p.Calls, p.Errors, p.Wrong, p.Retries,
			p.P50.Round(time.Microsecond), p.P99.Round(time.Microsecond), p.Throughput)
	}
	tw.Flush()
	for _, p := range r.Phases {
		if p.Requests > 0 {
			fmt.Fprintf(w, "\n%s: %d calls went as %d ModelInfer requests", p.Name, p.Calls, p.Requests)
		}
		if p.Streams > 0 {
			fmt.Fprintf(w, "\n%s: %d streams of %.1f tokens on average, first token p50 %s, p99 %s", p.Name, p.Streams,
				float64(p.Calls)/float64(p.Streams), p.FirstP50.Round(time.Microsecond), p.FirstP99.Round(time.Microsecond))
		}
	}
	tw.Flush()
	for _, p := range r.Phases {
		if p.FirstError != nil {
			fmt.Fprintf(w, "\n%s, first error: %v", p.Name, p.FirstError)
		}
	}
	fmt.Fprintf(w, "\nModelInfer requests received by the server: %d, ModelStreamInfer streams: %d, TF Serving Predict requests: %d\n", r.Requests, r.Streams, r.Predicts)
}
