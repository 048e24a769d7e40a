package testgen_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	tfservingv1 "github.com/goai-dev/goai/internal/testgen/tfserving/v1"
	"github.com/goai-dev/goai/internal/testgen/tfserving/v1/tfservingv1goaitest"
	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The generated clients of PROTOCOL_TF_SERVING services (testdata/protos/
// tfserving) against inferencetest's TF Serving API: the same methods,
// batch calls, micro-batcher, CheckModel, fakes and call policy as an
// Open Inference service's, through PredictionService.Predict.

// digitScores is the fake's answer: digit k scores k times the sum of
// the image's pixels, plus bias.
func digitScores(in *tfservingv1.Digit, bias float32) *tfservingv1.Scores {
	var sum float32
	for _, p := range in.GetPixels() {
		sum += p
	}
	out := &tfservingv1.Scores{Scores: make([]float32, 10)}
	for k := range out.Scores {
		out.Scores[k] = float32(k)*sum + bias
	}
	return out
}

// digit returns an image whose first pixel is v and the rest zero.
func digit(v float32) *tfservingv1.Digit {
	d := &tfservingv1.Digit{Pixels: make([]float32, 784)}
	d.Pixels[0] = v
	return d
}

// startDigits starts a server with the DigitClassifier's fake and returns
// it with a client of it over tr.
func startDigits(t *testing.T, tr transport, opts ...inferencetest.Option) (*server, *tfservingv1.DigitClassifierModelClient) {
	t.Helper()
	srv := startServer(t, tr, opts...)
	if err := tfservingv1goaitest.RegisterDigitClassifierFake(srv.Server, tfservingv1goaitest.DigitClassifierFakeFunc(func(_ context.Context, in *tfservingv1.Digit) (*tfservingv1.Scores, error) {
		return digitScores(in, 0), nil
	})); err != nil {
		t.Fatal(err)
	}
	c, err := tfservingv1.NewDigitClassifierModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	return srv, c
}

// predicts returns the Predict requests s received.
func predicts(s *server) []*tfspb.PredictRequest {
	var out []*tfspb.PredictRequest
	for _, r := range s.Requests() {
		if p, ok := r.Message.(*tfspb.PredictRequest); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestTFServingClassify(t *testing.T) { transports(t, testTFServingClassify) }

func testTFServingClassify(t *testing.T, tr transport) {
	for _, content := range []bool{false, true} {
		t.Run(fmt.Sprint("tensor_content=", content), func(t *testing.T) {
			var opts []inferencetest.Option
			if content {
				opts = append(opts, inferencetest.WithTensorContent())
			}
			srv, c := startDigits(t, tr, opts...)
			out, err := c.Classify(t.Context(), digit(0.5), relaxed...)
			if err != nil {
				t.Fatal(err)
			}
			if want := digitScores(digit(0.5), 0).GetScores(); !slices.Equal(out.GetScores(), want) {
				t.Errorf("scores %v, want %v", out.GetScores(), want)
			}
			if n := srv.Stats().Calls["Predict"]; n != 1 || srv.infers() != 0 {
				t.Errorf("%d Predict and %d ModelInfer calls, want one Predict", n, srv.infers())
			}

			// The request names the signature and the annotation's version
			// label, and sends the image in tensor_content, under its name.
			r := srv.Requests()[0]
			if r.Model != "mnist" || r.Version != "stable" || r.RawInputs != 1 {
				t.Errorf("request of %s@%s with %d inputs in tensor_content, want mnist@stable with 1", r.Model, r.Version, r.RawInputs)
			}
			if got := fmt.Sprint(r.Inputs); got != "[{images FP32 [1 784]}]" {
				t.Errorf("inputs %s", got)
			}
			p := predicts(srv)[0]
			if sig := p.GetModelSpec().GetSignatureName(); sig != "predict_images" {
				t.Errorf("signature_name %q, want predict_images", sig)
			}
			// TF Serving's REST predict API has no output filter: the
			// client picks the outputs it declared from the answer.
			if !tr.rest && !slices.Equal(p.GetOutputFilter(), []string{"scores"}) {
				t.Errorf("output_filter %q, want [scores]", p.GetOutputFilter())
			}

			// A call's own version goes as a number, not as the label.
			if _, err := c.Classify(t.Context(), digit(1), append(relaxed, goai.WithModelVersion("1"))...); err != nil {
				t.Fatal(err)
			}
			spec := predicts(srv)[1].GetModelSpec()
			if spec.GetVersion().GetValue() != 1 || spec.GetVersionLabel() != "" {
				t.Errorf("WithModelVersion(1) sent version %v, label %q", spec.GetVersion(), spec.GetVersionLabel())
			}
		})
	}
}

func TestTFServingBatch(t *testing.T) { transports(t, testTFServingBatch) }

func testTFServingBatch(t *testing.T, tr transport) {
	srv, c := startDigits(t, tr)
	var in []*tfservingv1.Digit
	for i := range 100 {
		in = append(in, digit(float32(i)))
	}
	out, err := c.ClassifyBatch(t.Context(), in, relaxed...)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range out {
		if got, want := r.GetScores()[3], 3*float32(i); got != want {
			t.Errorf("item %d: score of 3 = %v, want %v", i, got, want)
		}
	}
	// batching.max_size 32 splits the 100 items into four Predict calls.
	if got, want := srv.batchSizes(), []int64{4, 32, 32, 32}; !slices.Equal(got, want) {
		t.Errorf("requests of %v items, want %v", got, want)
	}
}

func TestTFServingBatcher(t *testing.T) { transports(t, testTFServingBatcher) }

func testTFServingBatcher(t *testing.T, tr transport) {
	srv, c := startDigits(t, tr)
	b := c.NewClassifyBatcher(goai.WithBatcherCallOptions(relaxed...))
	var wg sync.WaitGroup
	const n = 40
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, err := b.Do(t.Context(), digit(float32(i)))
			if err == nil && out.GetScores()[1] != float32(i) {
				err = fmt.Errorf("score of 1 = %v, want %d", out.GetScores()[1], i)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := b.Close(); err != nil {
		t.Error(err)
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// How the items were grouped depends on timing; that each came back
	// whole, and that every request stayed within the batching policy's
	// size, does not.
	var items int64
	for _, size := range srv.batchSizes() {
		if size > 32 {
			t.Errorf("a batch of %d items, above batching.max_size 32", size)
		}
		items += size
	}
	if items != n {
		t.Errorf("the server saw %d items, want %d", items, n)
	}
}

func TestTFServingCheckModel(t *testing.T) { transports(t, testTFServingCheckModel) }

func testTFServingCheckModel(t *testing.T, tr transport) {
	srv, c := startDigits(t, tr)
	if err := c.CheckModel(t.Context()); err != nil {
		t.Fatalf("CheckModel of the fake: %v", err)
	}
	if n := srv.Stats().Calls["GetModelMetadata"]; n != 2 {
		t.Errorf("%d GetModelMetadata calls, want 2: the model's and the fallback's", n)
	}

	// A model whose signature declares another image size, under the
	// signature the client runs.
	if err := srv.Register(inferencetest.Model{
		Name:          "mnist",
		MaxBatchSize:  64,
		Signature:     "predict_images",
		VersionLabels: map[string]string{"stable": "1"},
		Inputs:        []inferencetest.TensorSpec{{Name: "images", DType: tensor.FP32, Shape: []int64{1024}}},
		Outputs:       []inferencetest.TensorSpec{{Name: "scores", DType: tensor.FP32, Shape: []int64{10}}},
		Infer:         inferencetest.Identity("", tensor.FP32).Infer,
	}); err != nil {
		t.Fatal(err)
	}
	var ce *goai.ContractError
	err := c.CheckModel(t.Context())
	if !errors.As(err, &ce) {
		t.Fatalf("CheckModel of a 1024-pixel model: %v, want a *goai.ContractError", err)
	}
	if len(ce.Mismatches) != 1 || !strings.Contains(ce.Mismatches[0], `"images"`) {
		t.Errorf("mismatches %q, want one about input images", ce.Mismatches)
	}

	// A model without the client's signature fails its metadata call.
	if err := srv.Register(inferencetest.Model{
		Name:          "mnist",
		VersionLabels: map[string]string{"stable": "1"},
		Inputs:        []inferencetest.TensorSpec{{Name: "images", DType: tensor.FP32, Shape: []int64{784}}},
		Outputs:       []inferencetest.TensorSpec{{Name: "scores", DType: tensor.FP32, Shape: []int64{10}}},
		Infer:         inferencetest.Identity("", tensor.FP32).Infer,
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckModel(t.Context()); err == nil || !strings.Contains(err.Error(), "predict_images") {
		t.Errorf("CheckModel of a model serving only serving_default: %v, want an error naming signature predict_images", err)
	}
}

func TestTFServingRetries(t *testing.T) { transports(t, testTFServingRetries) }

func testTFServingRetries(t *testing.T, tr transport) {
	srv, c := startDigits(t, tr)
	// The annotation retries UNAVAILABLE up to 3 attempts.
	srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.ResourceExhausted))
	var info goai.CallInfo
	out, err := c.Classify(t.Context(), digit(2), append(relaxed, goai.Report(&info))...)
	if err != nil {
		t.Fatal(err)
	}
	if info.Attempts != 3 || info.Fallback || out.GetScores()[1] != 2 {
		t.Errorf("after two retryable failures: %+v, %v; want a third attempt of mnist answering", info, out.GetScores())
	}
	if n := srv.Stats().Calls["Predict"]; n != 3 {
		t.Errorf("%d Predict calls, want 3", n)
	}

	// INVALID_ARGUMENT is not retried, and not a reason to fall back.
	srv.ResetRecords()
	srv.Script(inferencetest.Fail(codes.InvalidArgument))
	_, err = c.Classify(t.Context(), digit(2), append(relaxed, goai.Report(&info))...)
	if status.Code(err) != codes.InvalidArgument || info.Attempts != 1 {
		t.Errorf("after INVALID_ARGUMENT: %v after %d attempts, want it after one", err, info.Attempts)
	}
}

func TestTFServingBreakerAndFallback(t *testing.T) { transports(t, testTFServingBreakerAndFallback) }

func testTFServingBreakerAndFallback(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	// mnist is down; its fallback, mnist_small, answers with a bias that
	// tells it apart.
	if err := tfservingv1goaitest.RegisterDigitClassifierFake(srv.Server, tfservingv1goaitest.DigitClassifierFakeFunc(func(context.Context, *tfservingv1.Digit) (*tfservingv1.Scores, error) {
		return nil, status.Error(codes.Unavailable, "mnist is down")
	})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Register(inferencetest.Model{
		Name:         "mnist_small",
		MaxBatchSize: 64,
		Signature:    "predict_images",
		Inputs:       []inferencetest.TensorSpec{{Name: "images", DType: tensor.FP32, Shape: []int64{784}}},
		Outputs:      []inferencetest.TensorSpec{{Name: "scores", DType: tensor.FP32, Shape: []int64{10}}},
		Infer: func(_ context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			scores := make([]float32, 10*req.BatchSize)
			for i := range scores {
				scores[i] = 100
			}
			return []tensor.Tensor{{Name: "scores", DType: tensor.FP32, Shape: []int64{int64(req.BatchSize), 10}, Raw: tensor.AppendFloat32(nil, scores)}}, nil
		},
	}); err != nil {
		t.Fatal(err)
	}
	c, err := tfservingv1.NewDigitClassifierModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	mnist := goai.ModelRef{Name: "mnist"}

	// Each call uses up mnist's 3 attempts and falls back; the breaker
	// counts calls, and opens on the fifth failed one.
	for i := range 5 {
		var info goai.CallInfo
		out, err := c.Classify(t.Context(), digit(1), append(relaxed, goai.Report(&info))...)
		if err != nil || !info.Fallback || info.Attempts != 4 || out.GetScores()[0] != 100 {
			t.Fatalf("call %d: %v, %+v; want the fallback's answer after 3 attempts of mnist", i, err, info)
		}
	}
	if st := c.BreakerState(mnist); st != goai.BreakerOpen {
		t.Fatalf("breaker of mnist %v after 5 failed calls, want open", st)
	}

	// With the breaker open, a call goes to the fallback at once.
	srv.ResetRecords()
	var info goai.CallInfo
	if _, err := c.Classify(t.Context(), digit(1), append(relaxed, goai.Report(&info))...); err != nil || !info.Fallback {
		t.Fatalf("with mnist's breaker open: %v, %+v; want the fallback's answer", err, info)
	}
	var models []string
	for _, r := range srv.Requests() {
		models = append(models, r.Model+"@"+r.Version)
	}
	// The label names a version of mnist alone: the fallback gets none.
	if !slices.Equal(models, []string{"mnist_small@"}) {
		t.Errorf("requests to %v, want only mnist_small with no version", models)
	}
}

func TestTFServingTagger(t *testing.T) { transports(t, testTFServingTagger) }

func testTFServingTagger(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := tfservingv1goaitest.RegisterTaggerFake(srv.Server, tfservingv1goaitest.TaggerFakeFunc(func(_ context.Context, in *tfservingv1.Sentence) (*tfservingv1.Tags, error) {
		out := &tfservingv1.Tags{}
		for i := range len(in.GetText()) {
			out.Tags = append(out.Tags, in.GetLang()*100+int64(in.GetText()[i]))
		}
		return out, nil
	})); err != nil {
		t.Fatal(err)
	}
	c, err := tfservingv1.NewTaggerModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	if err := c.CheckModel(t.Context()); err != nil {
		t.Fatal(err)
	}

	out, err := c.Tag(t.Context(), &tfservingv1.Sentence{Text: "héllo", Lang: 3}, relaxed...)
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, b := range []byte("héllo") {
		want = append(want, 300+int64(b))
	}
	if !slices.Equal(out.GetTags(), want) {
		t.Errorf("tags %v, want %v", out.GetTags(), want)
	}
	r := srv.Requests()[0]
	if r.Model != "tagger" || r.Version != "2" {
		t.Errorf("request of %s@%s, want tagger@2", r.Model, r.Version)
	}
	// BYTES goes in string_val, numbers in tensor_content.
	p := predicts(srv)[0]
	if text := p.GetInputs()["text"]; text.GetDtype() != tfspb.DataType_DT_STRING || len(text.GetStringVal()) != 1 || string(text.GetStringVal()[0]) != "héllo" {
		t.Errorf("text sent as %v", text)
	}
	if lang := p.GetInputs()["lang"]; lang.GetDtype() != tfspb.DataType_DT_INT64 || len(lang.GetTensorContent()) != 8 {
		t.Errorf("lang sent as %v", lang)
	}
}

// TestTFServingReadyLive checks that a TF Serving client's Ready and Live
// answer from GetModelStatus and the server's health, as an Open
// Inference client's do from its protocol's.
func TestTFServingReadyLive(t *testing.T) { transports(t, testTFServingReadyLive) }

func testTFServingReadyLive(t *testing.T, tr transport) {
	srv, c := startDigits(t, tr)
	if err := c.Ready(t.Context()); err != nil {
		t.Fatalf("Ready of a served model: %v", err)
	}
	if err := c.Live(t.Context()); err != nil {
		t.Fatalf("Live: %v", err)
	}
	if err := srv.SetModelReady(c.Model().Name, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(t.Context()); !errors.Is(err, goai.ErrNotReady) {
		t.Errorf("Ready of a model not ready = %v, want ErrNotReady", err)
	}
	if err := c.Live(t.Context()); err != nil {
		t.Errorf("Live while the model is not ready = %v, want nil", err)
	}
}
