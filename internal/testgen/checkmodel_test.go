package testgen_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	dtypesv1 "github.com/goai-dev/goai/internal/testgen/dtypes/v1"
	"github.com/goai-dev/goai/internal/testgen/dtypes/v1/dtypesv1goaitest"
	embeddingv1 "github.com/goai-dev/goai/internal/testgen/embedding/v1"
	"github.com/goai-dev/goai/internal/testgen/embedding/v1/embeddingv1goaitest"
	rankingv1 "github.com/goai-dev/goai/internal/testgen/ranking/v1"
	"github.com/goai-dev/goai/internal/testgen/ranking/v1/rankingv1goaitest"
	textv1 "github.com/goai-dev/goai/internal/testgen/text/v1"
	"github.com/goai-dev/goai/internal/testgen/text/v1/textv1goaitest"
	tfservingv1 "github.com/goai-dev/goai/internal/testgen/tfserving/v1"
	"github.com/goai-dev/goai/internal/testgen/tfserving/v1/tfservingv1goaitest"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/internal/testgen/vision/v1/visionv1goaitest"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestCheckModelOfFakes checks every generated client against the models
// its generated fake registers: the fakes declare exactly the contract.
func TestCheckModelOfFakes(t *testing.T) { transports(t, testCheckModelOfFakes) }

func testCheckModelOfFakes(t *testing.T, tr transport) {
	srv := startServer(t, tr)

	// The fakes are never called: nil implementations will do.
	for _, err := range []error{
		dtypesv1goaitest.RegisterEchoFake(srv.Server, dtypesv1goaitest.EchoFakeFunc(nil)),
		dtypesv1goaitest.RegisterSummarizerFake(srv.Server, dtypesv1goaitest.SummarizerFakeFunc(nil)),
		rankingv1goaitest.RegisterRankerFake(srv.Server, ranker{}),
		visionv1goaitest.RegisterImageClassifierFake(srv.Server, visionv1goaitest.ImageClassifierFakeFunc(nil)),
		embeddingv1goaitest.RegisterEmbedderFake(srv.Server, embeddingv1goaitest.EmbedderFakeFunc(nil)),
		textv1goaitest.RegisterTokenizerFake(srv.Server, textv1goaitest.TokenizerFakeFunc(nil)),
		tfservingv1goaitest.RegisterDigitClassifierFake(srv.Server, tfservingv1goaitest.DigitClassifierFakeFunc(nil)),
		tfservingv1goaitest.RegisterTaggerFake(srv.Server, tfservingv1goaitest.TaggerFakeFunc(nil)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for name, check := range map[string]func(context.Context) error{
		"Echo":            newClient(t, srv, dtypesv1.NewEchoModelClient, dtypesv1.NewEchoModelClientFromConn).CheckModel,
		"Summarizer":      newClient(t, srv, dtypesv1.NewSummarizerModelClient, dtypesv1.NewSummarizerModelClientFromConn).CheckModel,
		"Ranker":          newClient(t, srv, rankingv1.NewRankerModelClient, rankingv1.NewRankerModelClientFromConn).CheckModel,
		"ImageClassifier": newClient(t, srv, visionv1.NewImageClassifierModelClient, visionv1.NewImageClassifierModelClientFromConn).CheckModel,
		"Embedder":        newClient(t, srv, embeddingv1.NewEmbedderModelClient, embeddingv1.NewEmbedderModelClientFromConn).CheckModel,
		"Tokenizer":       newClient(t, srv, textv1.NewTokenizerModelClient, textv1.NewTokenizerModelClientFromConn).CheckModel,
	} {
		if err := check(t.Context()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, check := range map[string]func(context.Context) error{
		"DigitClassifier": newClient(t, srv, tfservingv1.NewDigitClassifierModelClient, tfservingv1.NewDigitClassifierModelClientFromConn).CheckModel,
		"Tagger":          newClient(t, srv, tfservingv1.NewTaggerModelClient, tfservingv1.NewTaggerModelClientFromConn).CheckModel,
	} {
		if err := check(t.Context()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n, p := srv.infers(), srv.Stats().Calls["Predict"]; n+p != 0 {
		t.Errorf("CheckModel made %d inferences, want none", n+p)
	}
}

func TestCheckModelMismatch(t *testing.T) { transports(t, testCheckModelMismatch) }

func testCheckModelMismatch(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	err := srv.Register(inferencetest.Model{
		Name:         "resnet50",
		Versions:     []string{"3"},
		MaxBatchSize: 8,
		Inputs: []inferencetest.TensorSpec{
			{Name: "input__0", DType: tensor.FP16, Shape: []int64{3, 224, 224}},
			{Name: "scale", DType: tensor.FP32, Shape: []int64{1}},
		},
		Outputs: []inferencetest.TensorSpec{{Name: "output__0", DType: tensor.FP32, Shape: []int64{1001}}},
		Infer:   inferencetest.Identity("", tensor.FP32).Infer,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := visionv1.NewImageClassifierModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)

	err = c.CheckModel(t.Context())
	var ce *goai.ContractError
	if !errors.As(err, &ce) || !errors.Is(err, goai.ErrContractMismatch) || status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("err = %v, want a *goai.ContractError", err)
	}
	if ce.Model != (goai.ModelRef{Name: "resnet50", Version: "3"}) {
		t.Errorf("checked %v, want resnet50@3", ce.Model)
	}
	for _, want := range []string{`input "input__0": declared datatype FP32, server has FP16`, `output "output__0": declared shape [-1 1000]`, `server input "scale"`} {
		if !slices.ContainsFunc(ce.Mismatches, func(m string) bool { return strings.Contains(m, want) }) {
			t.Errorf("mismatches %q lack %q", ce.Mismatches, want)
		}
	}
	if len(ce.Mismatches) != 3 {
		t.Errorf("%d mismatches, want 3:\n%s", len(ce.Mismatches), err)
	}

	// A model the server does not have: the metadata call's error.
	if err := newClient(t, srv, textv1.NewTokenizerModelClient, textv1.NewTokenizerModelClientFromConn).CheckModel(t.Context()); status.Code(err) != codes.NotFound {
		t.Errorf("unknown model: %v, want NotFound", err)
	}
}

// TestCheckModelFallback serves the Ranker's fallback model with a
// contract of its own: CheckModel must report it, under the fallback's
// name, since every rpc may end on the fallback.
func TestCheckModelFallback(t *testing.T) { transports(t, testCheckModelFallback) }

func testCheckModelFallback(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := rankingv1goaitest.RegisterRankerFake(srv.Server, ranker{}); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, rankingv1.NewRankerModelClient, rankingv1.NewRankerModelClientFromConn)
	if err := c.CheckModel(t.Context()); err != nil {
		t.Fatalf("the fakes' own contract: %v", err)
	}

	// ranker-lite replaced by a model whose scores are FP16.
	specs := make([]inferencetest.TensorSpec, len(rankingv1.RankRequestTensors))
	for i, d := range rankingv1.RankRequestTensors {
		specs[i] = inferencetest.TensorSpec{Name: d.Name, DType: d.DType, Shape: d.Shape}
	}
	outs := make([]inferencetest.TensorSpec, len(rankingv1.RankResponseTensors))
	for i, d := range rankingv1.RankResponseTensors {
		outs[i] = inferencetest.TensorSpec{Name: d.Name, DType: d.DType, Shape: d.Shape}
	}
	outs[0].DType = tensor.FP16
	err := srv.Register(inferencetest.Model{
		Name: "ranker-lite", Versions: []string{"1"}, MaxBatchSize: 128, Inputs: specs, Outputs: outs,
		Infer: inferencetest.Identity("", tensor.FP32).Infer,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckModel(t.Context())
	var ce *goai.ContractError
	if !errors.As(err, &ce) || status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("err = %v, want a *goai.ContractError", err)
	}
	if ce.Model != (goai.ModelRef{Name: "ranker-lite", Version: "1"}) {
		t.Errorf("checked %v, want ranker-lite@1", ce.Model)
	}
	if want := `output "scores": declared datatype FP32, server has FP16`; len(ce.Mismatches) != 1 || ce.Mismatches[0] != want {
		t.Errorf("mismatches %q, want [%q]", ce.Mismatches, want)
	}
}

// dialServer returns a connection to srv, closed when t ends.
func dialServer(t *testing.T, srv *server) grpc.ClientConnInterface {
	t.Helper()
	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
