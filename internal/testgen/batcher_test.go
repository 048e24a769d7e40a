package testgen_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	embeddingv1 "github.com/goai-dev/goai/internal/testgen/embedding/v1"
	"github.com/goai-dev/goai/internal/testgen/embedding/v1/embeddingv1goaitest"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// End-to-end tests of the generated micro-batchers: EmbedderModelClient's
// NewEmbedBatcher against the generated fake on inferencetest. Embedder has
// a batch dimension of up to 64 items, a batching delay of 5ms and a
// dynamic dimension: the sentence's length in tokens.

// startEmbedder serves an echo-style fake of Embedder, whose sentence
// embedding is the sentence's token ids, over loopback TCP and returns a
// client of it. The test then checks that no goroutine leaked.
func startEmbedder(t *testing.T, tr transport) (*server, *embeddingv1.EmbedderModelClient) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	srv := startServer(t, tr)
	return srv, serveEmbedder(t, srv)
}

// serveEmbedder registers startEmbedder's fake on srv and returns a client
// of it.
func serveEmbedder(t *testing.T, srv *server) *embeddingv1.EmbedderModelClient {
	t.Helper()
	err := embeddingv1goaitest.RegisterEmbedderFake(srv.Server, embeddingv1goaitest.EmbedderFakeFunc(func(_ context.Context, in *embeddingv1.EmbedRequest) (*embeddingv1.Embedding, error) {
		out := &embeddingv1.Embedding{Tokens: make([]byte, len(in.GetInputIds())*384*2)}
		for _, id := range in.GetInputIds() {
			out.Sentence = append(out.Sentence, float32(id))
		}
		return out, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := embeddingv1.NewEmbedderModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	return c
}

// sentence returns a request for a sentence of n tokens numbered from
// first, exact in FP16 below 2048.
func sentence(first, n int) *embeddingv1.EmbedRequest {
	r := &embeddingv1.EmbedRequest{}
	for i := range n {
		r.InputIds = append(r.InputIds, int64(first+i))
		r.AttentionMask = append(r.AttentionMask, 1)
	}
	return r
}

// batcherOptions are the options of every batcher of these tests: the
// relaxed deadlines for each batch's call, then opts.
func batcherOptions(opts ...goai.MicroBatchOption) []goai.MicroBatchOption {
	return append([]goai.MicroBatchOption{goai.WithBatcherCallOptions(relaxed...)}, opts...)
}

// embedAll calls b.Do for every request at once, and checks that each
// caller gets the embedding of its own sentence.
func embedAll(t *testing.T, b goai.Batcher[*embeddingv1.EmbedRequest, *embeddingv1.Embedding], in []*embeddingv1.EmbedRequest) {
	t.Helper()
	errs := make([]error, len(in))
	var wg sync.WaitGroup
	for i, r := range in {
		wg.Go(func() {
			out, err := b.Do(t.Context(), r)
			switch {
			case err != nil:
				errs[i] = err
			case !slices.Equal(out.GetSentence(), floats(r.GetInputIds())):
				errs[i] = fmt.Errorf("sentence %v, want %v", out.GetSentence(), r.GetInputIds())
			case len(out.GetTokens()) != len(r.GetInputIds())*384*2:
				errs[i] = fmt.Errorf("%d bytes of tokens for %d tokens", len(out.GetTokens()), len(r.GetInputIds()))
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
}

func floats(ids []int64) []float32 {
	out := make([]float32, len(ids))
	for i, id := range ids {
		out[i] = float32(id)
	}
	return out
}

// batches returns the batch size and sentence length of every request srv
// received, sorted.
func batches(srv *server) []string {
	var out []string
	for _, r := range srv.Requests() {
		shape := r.Inputs[0].Shape
		out = append(out, fmt.Sprintf("%dx%d", shape[0], shape[1]))
	}
	slices.Sort(out)
	return out
}

func TestBatcherCoalesces(t *testing.T) { transports(t, testBatcherCoalesces) }

func testBatcherCoalesces(t *testing.T, tr transport) {
	srv, c := startEmbedder(t, tr)

	// The batcher's clock never moves, so no batch goes for its delay:
	// the 64 calls go as soon as they fill the model's 64 items.
	b := c.NewEmbedBatcher(batcherOptions(goai.WithBatcherClock(newManualClock()))...)
	var in []*embeddingv1.EmbedRequest
	for i := range 64 {
		in = append(in, sentence(i*4, 4))
	}
	embedAll(t, b, in)
	if got, want := batches(srv), []string{"64x4"}; !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestBatcherDelay runs the batcher on its real clock, the model's own
// delay of 5ms, in a synctest bubble: calls made at once there do arrive
// together, and the delay is exact.
func TestBatcherDelay(t *testing.T) { transports(t, testBatcherDelay) }

func testBatcherDelay(t *testing.T, tr transport) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMemServer(t, tr)
		c := serveEmbedder(t, srv)
		b := c.NewEmbedBatcher(batcherOptions()...)
		defer b.Close()

		// 64 calls fill the model's 64 items, and go at once.
		var in []*embeddingv1.EmbedRequest
		for i := range 64 {
			in = append(in, sentence(i*4, 4))
		}
		start := time.Now()
		embedAll(t, b, in)
		if got, want := batches(srv), []string{"64x4"}; !slices.Equal(got, want) || time.Since(start) != 0 {
			t.Errorf("requests %v after %v, want %v at once", got, time.Since(start), want)
		}

		// 3 calls wait for the delay, then go as one request.
		srv.ResetRecords()
		start = time.Now()
		embedAll(t, b, in[:3])
		if got, want := batches(srv), []string{"3x4"}; !slices.Equal(got, want) || time.Since(start) != 5*time.Millisecond {
			t.Errorf("requests %v after %v, want %v after the 5ms delay", got, time.Since(start), want)
		}
	})
}

// TestBatcherLimits checks that options override the model's batching
// policy, that a batch never holds more than MaxSize items or MaxBytes
// bytes, and that sentences of different lengths never share a request.
func TestBatcherLimits(t *testing.T) { transports(t, testBatcherLimits) }

func testBatcherLimits(t *testing.T, tr transport) {
	srv, c := startEmbedder(t, tr)
	clock := goai.WithBatcherClock(newManualClock())

	// 16 sentences of 3 tokens and 16 of 5, at most 8 items a request.
	b := c.NewEmbedBatcher(batcherOptions(clock, goai.WithBatcherPolicy(goai.BatchingPolicy{MaxSize: 8}))...)
	var in []*embeddingv1.EmbedRequest
	for i := range 32 {
		in = append(in, sentence(i*8, 3+2*(i%2)))
	}
	embedAll(t, b, in)
	if got, want := batches(srv), []string{"8x3", "8x3", "8x5", "8x5"}; !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	b.Close()

	// A sentence of 4 tokens is 64 bytes of int64 ids and mask: 256 bytes
	// hold 4 of them.
	srv.ResetRecords()
	b = c.NewEmbedBatcher(batcherOptions(clock, goai.WithBatcherPolicy(goai.BatchingPolicy{MaxBytes: 256}))...)
	in = in[:0]
	for i := range 16 {
		in = append(in, sentence(i*4, 4))
	}
	embedAll(t, b, in)
	if got, want := batches(srv), []string{"4x4", "4x4", "4x4", "4x4"}; !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	b.Close()
}

// TestBatcherCallers checks what callers get besides their outputs: the
// delay, a caller whose context ends, Close, bad data and a failing batch.
func TestBatcherCallers(t *testing.T) { transports(t, testBatcherCallers) }

func testBatcherCallers(t *testing.T, tr transport) {
	srv, c := startEmbedder(t, tr)
	clk := newManualClock()
	b := c.NewEmbedBatcher(batcherOptions(goai.WithBatcherClock(clk))...)
	t.Cleanup(func() { b.Close() })

	do := func(ctx context.Context, r *embeddingv1.EmbedRequest) <-chan error {
		done := make(chan error, 1)
		go func() {
			out, err := b.Do(ctx, r)
			if err == nil && !slices.Equal(out.GetSentence(), floats(r.GetInputIds())) {
				err = fmt.Errorf("sentence %v, want %v", out.GetSentence(), r.GetInputIds())
			}
			done <- err
		}()
		return done
	}

	// A waits alone for the 5ms delay, and B, of another length, in a
	// batch of its own. A's caller gives up: it gets its context's error,
	// and A is not sent. When the delay has passed, B is.
	ctxA, cancelA := context.WithCancel(t.Context())
	doneA := do(ctxA, sentence(1, 3))
	clk.waitTimers(t, 1)
	doneB := do(t.Context(), sentence(2, 5))
	clk.waitTimers(t, 2)
	cancelA()
	if err := wait(t, doneA); !errors.Is(err, context.Canceled) || status.Code(err) != codes.Canceled {
		t.Errorf("A: %v, want context.Canceled", err)
	}
	clk.Advance(4 * time.Millisecond)
	select {
	case err := <-doneB:
		t.Fatalf("B returned before the delay: %v", err)
	default:
	}
	clk.Advance(time.Millisecond)
	if err := wait(t, doneB); err != nil {
		t.Errorf("B: %v", err)
	}
	if got, want := batches(srv), []string{"1x5"}; !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}

	// A nil request is refused at once. So is data that does not fit its
	// tensor, such as an image of 5 pixels (any sentence fits Embed),
	// before it joins a batch whose other calls it would fail.
	if _, err := b.Do(t.Context(), nil); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Do(nil): %v, want InvalidArgument", err)
	}
	vision, err := visionv1.NewImageClassifierModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, vision)
	images := vision.NewClassifyBatcher()
	defer images.Close()
	_, err = images.Do(t.Context(), &visionv1.Image{Pixels: make([]float32, 5)})
	wantTensorError(t, err, "input__0", false, 0, codes.InvalidArgument)
	if n := srv.infers(); n != 1 {
		t.Errorf("%d requests, want B's alone", n)
	}

	// Close sends the waiting batches at once, and answers their callers.
	srv.ResetRecords()
	var dones []<-chan error
	for i := range 3 {
		dones = append(dones, do(t.Context(), sentence(i*10, i+1)))
		clk.waitTimers(t, 3+i)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for i, done := range dones {
		if err := wait(t, done); err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if got, want := batches(srv), []string{"1x1", "1x2", "1x3"}; !slices.Equal(got, want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	if _, err := b.Do(t.Context(), sentence(1, 1)); !errors.Is(err, goai.ErrBatcherClosed) {
		t.Errorf("Do after Close: %v, want ErrBatcherClosed", err)
	}
}

// TestBatcherCallOptions checks that the options of WithBatcherCallOptions
// reach each batch's call, and that a failed call fails each of its
// callers.
func TestBatcherCallOptions(t *testing.T) { transports(t, testBatcherCallOptions) }

func testBatcherCallOptions(t *testing.T, tr transport) {
	srv, c := startEmbedder(t, tr)
	var info goai.CallInfo
	// Version 9 does not exist. Report cannot say anything of a batcher's
	// many calls, and is ignored.
	b := c.NewEmbedBatcher(batcherOptions(
		goai.WithBatcherClock(newManualClock()),
		goai.WithBatcherPolicy(goai.BatchingPolicy{MaxSize: 2}),
		goai.WithBatcherCallOptions(goai.WithModelVersion("9"), goai.Report(&info)),
	)...)
	defer b.Close()
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := b.Do(t.Context(), sentence(i, 2))
			errs <- err
		}()
	}
	for range 2 {
		if err := wait(t, errs); status.Code(err) != codes.NotFound {
			t.Errorf("Do: %v, want the server's NotFound", err)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Version != "9" || reqs[0].Inputs[0].Shape[0] != 2 {
		t.Errorf("requests %v, want one of 2 items for version 9", summarize(reqs))
	}
	if info != (goai.CallInfo{}) {
		t.Errorf("Report filled: %+v", info)
	}
}

func summarize(reqs []*inferencetest.RecordedRequest) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, fmt.Sprintf("%s@%s %v", r.Model, r.Version, r.Inputs[0].Shape))
	}
	return out
}

// wait returns what done delivers, failing the test after a minute.
func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("no answer after a minute")
		return nil
	}
}

// manualClock is a goai.Clock for a MicroBatcher's delay that moves only
// when Advance moves it, and tells when a batch has started its timer.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
	timers  chan struct{} // a token per Sleep
	started int           // tokens taken by waitTimers
}

type clockWaiter struct {
	at   time.Time
	wake chan struct{}
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Now(), timers: make(chan struct{}, 1024)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c.mu.Lock()
	w := clockWaiter{at: c.now.Add(d), wake: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	c.timers <- struct{}{}
	select {
	case <-w.wake:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Advance moves the clock by d, ending the sleeps that are then over.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waiters = slices.DeleteFunc(c.waiters, func(w clockWaiter) bool {
		if w.at.After(c.now) {
			return false
		}
		close(w.wake)
		return true
	})
}

// waitTimers waits until n sleeps have begun in all: a batcher has opened
// n batches, each holding a call.
func (c *manualClock) waitTimers(t *testing.T, n int) {
	t.Helper()
	for c.started < n {
		select {
		case <-c.timers:
			c.started++
		case <-time.After(time.Minute):
			t.Fatalf("%d batches opened after a minute, want %d", c.started, n)
		}
	}
}
