package testgen_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	textgenv1 "github.com/goai-dev/goai/internal/testgen/textgen/v1"
	"github.com/goai-dev/goai/internal/testgen/textgen/v1/textgenv1goaitest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Tests of the generated streaming methods: rpcs that return a stream
// call a decoupled model over ModelStreamInfer, and the generated fake
// serves one, with inferencetest's mid-stream faults. They run over gRPC
// in a synctest bubble, where the policies' timers and the fake's waits
// share the bubble's clock; REST has no stream (TestGenerateOverREST).

// words is a fake LLM: it answers a prompt with each of its words, the
// word's index in Completion.text_output, as a decoupled model streams
// tokens, one response each. A prompt "hang" makes it wait an hour
// between words. canceled counts the requests whose context ended before
// their last word.
type words struct {
	canceled atomic.Int32
	// pause is waited before each word after the first.
	pause time.Duration
}

func (w *words) Generate(ctx context.Context, in *textgenv1.Prompt, send func(*textgenv1.Completion) error) error {
	for i, word := range strings.Fields(in.GetTextInput()) {
		if i > 0 && w.pause > 0 {
			select {
			case <-time.After(w.pause):
			case <-ctx.Done():
				w.canceled.Add(1)
				return ctx.Err()
			}
		}
		if err := send(&textgenv1.Completion{TextOutput: word}); err != nil {
			if ctx.Err() != nil {
				w.canceled.Add(1)
			}
			return err
		}
	}
	return nil
}

func (w *words) CountTokens(_ context.Context, in *textgenv1.CountRequest) (*textgenv1.CountResponse, error) {
	return &textgenv1.CountResponse{Count: int64(len(strings.Fields(in.GetText())))}, nil
}

// startTextGenerator serves w on an in-memory server, for a test in a
// synctest bubble, and returns a client of it.
func startTextGenerator(t *testing.T, w *words, opts ...goai.ClientOption) (*server, *textgenv1.TextGeneratorModelClient) {
	t.Helper()
	srv := startMemServer(t, overGRPC)
	if err := textgenv1goaitest.RegisterTextGeneratorFake(srv.Server, w); err != nil {
		t.Fatal(err)
	}
	return srv, textgenv1.NewTextGeneratorModelClientFromConn(dialServer(t, srv), opts...)
}

// generated is what one range over a streaming method gave: the text of
// each response, and the error that ended it. A sequence that breaks its
// contract (an element after the error, an error with a response) gives
// errBrokenSequence, which no test wants.
type generated struct {
	texts []string
	err   error
}

var errBrokenSequence = errors.New("the sequence went on after its error, or yielded a response with one")

func generate(seq iter.Seq2[*textgenv1.Completion, error]) generated {
	var g generated
	for out, err := range seq {
		switch {
		case g.err != nil || err != nil && out != nil:
			g.err = errBrokenSequence
		case err != nil:
			g.err = err
		default:
			g.texts = append(g.texts, out.GetTextOutput())
		}
	}
	return g
}

func prompt(text string) *textgenv1.Prompt {
	return &textgenv1.Prompt{TextInput: text, Stream: true, SamplingParameters: `{"max_tokens": 16}`}
}

// TestGenerateStreams checks the generated method and fake of a decoupled
// model: every response, in order, each decoded by the generated mappers,
// on one ModelStreamInfer request carrying the request's tensors; the
// unary rpc of the same service, which calls another model, beside it;
// and CheckModel on the fake's models.
func TestGenerateStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := startTextGenerator(t, &words{})
		var info goai.CallInfo
		g := generate(c.Generate(t.Context(), prompt("the quick brown fox"), goai.Report(&info)))
		if g.err != nil || !slices.Equal(g.texts, []string{"the", "quick", "brown", "fox"}) {
			t.Fatalf("Generate: %q, %v; want the prompt's four words", g.texts, g.err)
		}
		if info.Responses != 4 || info.Attempts != 1 || info.Model.Name != "vllm_model" {
			t.Errorf("report %+v, want 4 responses of model vllm_model in one attempt", info)
		}
		reqs := srv.Requests()
		if len(reqs) != 1 || !reqs[0].Stream || reqs[0].Model != "vllm_model" {
			t.Fatalf("requests %+v, want one on ModelStreamInfer to vllm_model", reqs)
		}
		var names []string
		for _, in := range reqs[0].Inputs {
			names = append(names, in.Name+":"+in.Datatype)
			if !slices.Equal(in.Shape, []int64{1}) {
				t.Errorf("input %s has shape %v, want [1]", in.Name, in.Shape)
			}
		}
		if want := []string{"text_input:BYTES", "stream:BOOL", "sampling_parameters:BYTES"}; !slices.Equal(names, want) {
			t.Errorf("inputs %v, want %v", names, want)
		}

		// An empty answer ends with no response and no error.
		if g := generate(c.Generate(t.Context(), prompt(""))); g.err != nil || len(g.texts) != 0 {
			t.Errorf("an empty completion: %q, %v; want nothing", g.texts, g.err)
		}

		n, err := c.CountTokens(t.Context(), &textgenv1.CountRequest{Text: "one two three"})
		if err != nil || n.GetCount() != 3 {
			t.Errorf("CountTokens = %v, %v; want 3", n, err)
		}
		if err := c.CheckModel(t.Context()); err != nil {
			t.Errorf("CheckModel on the fake: %v", err)
		}
	})
}

// TestGenerateConcurrent runs many streams at once on one connection:
// each caller gets its own responses, all of them, in order.
func TestGenerateConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := startTextGenerator(t, &words{pause: time.Millisecond})
		var wg sync.WaitGroup
		results := make([]generated, 32)
		for i := range results {
			wg.Go(func() {
				results[i] = generate(c.Generate(t.Context(), prompt(strings.Repeat("w"+string(rune('a'+i%26))+" ", i%7+1))))
			})
		}
		wg.Wait()
		for i, g := range results {
			want := slices.Repeat([]string{"w" + string(rune('a'+i%26))}, i%7+1)
			if g.err != nil || !slices.Equal(g.texts, want) {
				t.Errorf("caller %d: %q, %v; want %q", i, g.texts, g.err, want)
			}
		}
	})
}

// TestGenerateMidStreamFaults checks what the caller sees of each fault a
// server strikes a stream with: a failure after k responses (the server's
// error_message, typed, while other requests on the stream go on), a
// stall (the idle timeout), a stream reset before the first response
// (retried) and after it (not retried).
func TestGenerateMidStreamFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := startTextGenerator(t, &words{})
		text := "a b c d e"

		srv.Script(inferencetest.FailAfter(2, codes.Internal))
		g := generate(c.Generate(t.Context(), prompt(text)))
		var re *goai.ResponseError
		if !errors.As(g.err, &re) || status.Code(g.err) != codes.Unknown || !slices.Equal(g.texts, []string{"a", "b"}) {
			t.Errorf("failure after 2: %q, %v (%T); want a, b and a *goai.ResponseError", g.texts, g.err, g.err)
		}
		if g := generate(c.Generate(t.Context(), prompt(text))); g.err != nil || len(g.texts) != 5 {
			t.Errorf("the next request: %q, %v; want all five words", g.texts, g.err)
		}

		// The policy's idle timeout, 5s, ends a stalled stream.
		srv.Script(inferencetest.HangAfter(3))
		start := time.Now()
		var info goai.CallInfo
		g = generate(c.Generate(t.Context(), prompt(text), goai.Report(&info)))
		if status.Code(g.err) != codes.DeadlineExceeded || len(g.texts) != 3 || time.Since(start) != 5*time.Second {
			t.Errorf("stall after 3: %q, %v after %v; want 3 words then DEADLINE_EXCEEDED after the 5s idle timeout", g.texts, g.err, time.Since(start))
		}
		if info.Attempts != 1 {
			t.Errorf("a stall after responses made %d attempts, want 1: no retry once a response arrived", info.Attempts)
		}

		// A reset before any response is retried (max_attempts 3);
		// after one, the call fails, and is not retried.
		srv.Script(inferencetest.ResetAfter(0, codes.Unavailable))
		g = generate(c.Generate(t.Context(), prompt(text), goai.Report(&info)))
		if g.err != nil || len(g.texts) != 5 || info.Attempts != 2 {
			t.Errorf("reset before the first response: %q, %v in %d attempts; want all five words in 2", g.texts, g.err, info.Attempts)
		}
		srv.Script(inferencetest.ResetAfter(2, codes.Unavailable))
		g = generate(c.Generate(t.Context(), prompt(text), goai.Report(&info)))
		if status.Code(g.err) != codes.Unavailable || len(g.texts) != 2 || info.Attempts != 1 {
			t.Errorf("reset after 2: %q, %v in %d attempts; want 2 words, UNAVAILABLE, 1 attempt", g.texts, g.err, info.Attempts)
		}
	})
}

// TestGenerateFailureSparesOtherRequests fails one request mid-stream
// while another runs on the same connection: only the first fails.
func TestGenerateFailureSparesOtherRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := startTextGenerator(t, &words{pause: time.Second})
		srv.Script(inferencetest.FailAfter(1, codes.Internal), inferencetest.Serve())
		var failed, served generated
		var wg sync.WaitGroup
		wg.Go(func() { failed = generate(c.Generate(t.Context(), prompt("x y z"))) })
		synctest.Wait() // the first request draws the failure
		wg.Go(func() { served = generate(c.Generate(t.Context(), prompt("p q r"))) })
		wg.Wait()
		var re *goai.ResponseError
		if !errors.As(failed.err, &re) || !slices.Equal(failed.texts, []string{"x"}) {
			t.Errorf("the failed request: %q, %v; want x then a *goai.ResponseError", failed.texts, failed.err)
		}
		if served.err != nil || !slices.Equal(served.texts, []string{"p", "q", "r"}) {
			t.Errorf("the other request: %q, %v; want p q r", served.texts, served.err)
		}
	})
}

// TestGenerateBreakCancels checks that leaving the loop early cancels the
// request on the server, and that ctx ending does too, with the caller
// seeing DEADLINE_EXCEEDED.
func TestGenerateBreakCancels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &words{pause: time.Second}
		_, c := startTextGenerator(t, w)
		long := strings.Repeat("w ", 100)
		n := 0
		for _, err := range c.Generate(t.Context(), prompt(long)) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 2 {
				break
			}
		}
		synctest.Wait()
		if got := w.canceled.Load(); got != 1 {
			t.Errorf("after the loop broke, the model saw %d cancellations, want 1", got)
		}

		ctx, cancel := context.WithTimeout(t.Context(), 2500*time.Millisecond)
		defer cancel()
		g := generate(c.Generate(ctx, prompt(long)))
		synctest.Wait()
		if status.Code(g.err) != codes.DeadlineExceeded || len(g.texts) != 3 {
			t.Errorf("ctx ending: %d words, %v; want 3 words then the context's deadline", len(g.texts), g.err)
		}
		if got := w.canceled.Load(); got != 2 {
			t.Errorf("after ctx ended, the model saw %d cancellations in all, want 2", got)
		}
	})
}

// TestGenerateFakeErrors checks what the caller sees of a fake's own
// failures: an error it returns after some responses, and a nil response.
func TestGenerateFakeErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMemServer(t, overGRPC)
		fake := textgenv1goaitest.SummarizerFakeFunc(func(ctx context.Context, in *textgenv1.Prompt, send func(*textgenv1.Completion) error) error {
			switch in.GetTextInput() {
			case "nil":
				return send(nil)
			case "fail":
				if err := send(&textgenv1.Completion{TextOutput: "partial"}); err != nil {
					return err
				}
				return status.Error(codes.ResourceExhausted, "out of KV cache")
			}
			return send(&textgenv1.Completion{TextOutput: "summary of " + in.GetTextInput()})
		})
		if err := textgenv1goaitest.RegisterSummarizerFake(srv.Server, fake); err != nil {
			t.Fatal(err)
		}
		c := textgenv1.NewSummarizerModelClientFromConn(dialServer(t, srv))

		g := generate(c.Summarize(t.Context(), prompt("fail")))
		var re *goai.ResponseError
		if !errors.As(g.err, &re) || !strings.Contains(re.Message, "out of KV cache") || !slices.Equal(g.texts, []string{"partial"}) {
			t.Errorf("a failing fake: %q, %v; want partial, then its message as a *goai.ResponseError", g.texts, g.err)
		}
		g = generate(c.Summarize(t.Context(), prompt("nil")))
		if !errors.As(g.err, &re) || !strings.Contains(re.Message, "sent nil") {
			t.Errorf("a fake sending nil: %q, %v; want its failure as a *goai.ResponseError", g.texts, g.err)
		}

		// The model has a batch dimension: the request carries one item,
		// of the version the service names.
		srv.ResetRecords()
		g = generate(c.Summarize(t.Context(), prompt("text")))
		if g.err != nil || !slices.Equal(g.texts, []string{"summary of text"}) {
			t.Errorf("Summarize: %q, %v", g.texts, g.err)
		}
		reqs := srv.Requests()
		if len(reqs) != 1 || reqs[0].Version != "2" || !slices.Equal(reqs[0].Inputs[0].Shape, []int64{1, 1}) {
			t.Errorf("requests %+v, want one of version 2 with shape [1, 1]", reqs)
		}
	})
}

// TestGenerateIdleTimeoutPolicy checks the idle_timeout annotation, 1s on
// Summarize, against a model that pauses 2s between responses, and a
// call option lifting it.
func TestGenerateIdleTimeoutPolicy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMemServer(t, overGRPC)
		w := &words{pause: 2 * time.Second}
		if err := textgenv1goaitest.RegisterSummarizerFake(srv.Server, textgenv1goaitest.SummarizerFakeFunc(w.Generate)); err != nil {
			t.Fatal(err)
		}
		c := textgenv1.NewSummarizerModelClientFromConn(dialServer(t, srv))
		if d := textgenv1.SummarizerModel.Methods[0].Policy.IdleTimeout; d != time.Second {
			t.Fatalf("Summarize's IdleTimeout is %v, want the annotation's 1s", d)
		}
		start := time.Now()
		g := generate(c.Summarize(t.Context(), prompt("one two")))
		if status.Code(g.err) != codes.DeadlineExceeded || !slices.Equal(g.texts, []string{"one"}) || time.Since(start) != time.Second {
			t.Errorf("a 2s pause: %q, %v after %v; want one, then DEADLINE_EXCEEDED at the 1s idle timeout", g.texts, g.err, time.Since(start))
		}
		g = generate(c.Summarize(t.Context(), prompt("one two"), goai.WithIdleTimeout(3*time.Second)))
		if g.err != nil || !slices.Equal(g.texts, []string{"one", "two"}) {
			t.Errorf("with a 3s idle timeout: %q, %v; want both words", g.texts, g.err)
		}
	})
}

// TestGenerateOverREST checks that a streaming method of a client over
// REST, which has no stream, fails at once with UNIMPLEMENTED, sending
// nothing.
func TestGenerateOverREST(t *testing.T) {
	srv := startServer(t, overREST)
	if err := textgenv1goaitest.RegisterTextGeneratorFake(srv.Server, &words{}); err != nil {
		t.Fatal(err)
	}
	c, err := textgenv1.NewTextGeneratorModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	g := generate(c.Generate(t.Context(), prompt("a b")))
	if status.Code(g.err) != codes.Unimplemented || len(g.texts) != 0 || len(srv.Requests()) != 0 {
		t.Errorf("over REST: %q, %v, %d requests; want UNIMPLEMENTED and none", g.texts, g.err, len(srv.Requests()))
	}
	// The unary rpc of the service works over REST.
	n, err := c.CountTokens(t.Context(), &textgenv1.CountRequest{Text: "a b"})
	if err != nil || n.GetCount() != 2 {
		t.Errorf("CountTokens over REST = %v, %v", n, err)
	}
}

// TestGenerateNilRequest checks that a nil request fails before anything
// is sent.
func TestGenerateNilRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := startTextGenerator(t, &words{})
		g := generate(c.Generate(t.Context(), nil))
		if status.Code(g.err) != codes.InvalidArgument || len(srv.Requests()) != 0 {
			t.Errorf("a nil request: %v, %d requests; want INVALID_ARGUMENT and none", g.err, len(srv.Requests()))
		}
	})
}
