// Package obstest is what the tests of goai's observability modules
// (goaiprom, goaiotel) share: an in-process model server serving the
// generated vision test client's model and a fallback, and that client
// configured so that a test can drive its retries, breaker and fallback
// with the server's scripted faults and count them on both sides.
package obstest

import (
	"context"
	"testing"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/internal/testgen/vision/v1/visionv1goaitest"
	"github.com/goai-dev/goai/tensor"
)

// Model is the model the client calls; Fallback is its fallback.
var (
	Model    = visionv1.ImageClassifierModel.Model
	Fallback = goai.ModelRef{Name: "resnet-lite", Version: "1"}
)

// Classify is the full method name of the rpc the tests call.
var Classify = visionv1.ImageClassifierModel.Methods[0].FullMethod

// OpenTimeout is how long the client's breaker stays open.
const OpenTimeout = time.Minute

// StartServer starts a server in memory (bufconn, so that it runs in a
// testing/synctest bubble) serving Model, which answers class 0, and
// Fallback, which answers zeros; it stops when the test ends.
func StartServer(t testing.TB, opts ...inferencetest.Option) *inferencetest.Server {
	t.Helper()
	srv := inferencetest.New(opts...)
	err := visionv1goaitest.RegisterImageClassifierFake(srv, visionv1goaitest.ImageClassifierFakeFunc(
		func(context.Context, *visionv1.Image) (*visionv1.Classification, error) {
			scores := make([]float32, 1000)
			scores[0] = 1
			return &visionv1.Classification{Scores: scores}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Register(inferencetest.Model{
		Name: Fallback.Name, Versions: []string{Fallback.Version}, MaxBatchSize: 32,
		Inputs:  []inferencetest.TensorSpec{{Name: "input__0", DType: tensor.FP32, Shape: []int64{3, 224, 224}}},
		Outputs: []inferencetest.TensorSpec{{Name: "output__0", DType: tensor.FP32, Shape: []int64{1000}}},
		Infer: func(_ context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			n := max(req.BatchSize, 1)
			return []tensor.Tensor{{Name: "output__0", DType: tensor.FP32, Shape: []int64{int64(n), 1000}, Raw: make([]byte, n*4000)}}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// NewClient returns a client of srv: the fallback set, the breaker opening
// on the first failed call for OpenTimeout and closing on one probe, no retry budget, and opts (the
// observability under test) after those. It closes when the test ends.
func NewClient(t testing.TB, srv *inferencetest.Server, opts ...goai.Option) *visionv1.ImageClassifierModelClient {
	t.Helper()
	base := []goai.Option{
		goai.WithDialOptions(srv.DialOptions()...),
		goai.WithFallback(Fallback),
		goai.WithBreakerPolicy(goai.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: OpenTimeout, HalfOpenProbes: 1}),
		goai.WithRetryBudget(nil),
	}
	c, err := visionv1.NewImageClassifierModelClient(srv.Target(), append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Image returns an image for the model.
func Image() *visionv1.Image { return &visionv1.Image{Pixels: make([]float32, 3*224*224)} }

// ImageBytes is the tensor data of one Image; ScoresBytes of one answer.
const (
	ImageBytes  = 3 * 224 * 224 * 4
	ScoresBytes = 1000 * 4
)

// Untimed are the call options that lift the model's tight timeouts (200
// ms a call, 80 ms an attempt), which a test on a busy machine must not
// depend on.
var Untimed = []goai.CallOption{goai.WithTimeout(0), goai.WithAttemptTimeout(0)}
