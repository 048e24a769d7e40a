// Package testgen_test checks the code that protoc-gen-goai generated for
// testdata/protos, compiled as users compile it: the descriptors' values, and
// that they agree with the messages and services beside them.
package testgen_test

import (
	"testing"
	"time"

	"github.com/goai-dev/goai"
	dtypesv1 "github.com/goai-dev/goai/internal/testgen/dtypes/v1"
	embeddingv1 "github.com/goai-dev/goai/internal/testgen/embedding/v1"
	modelsyncv1 "github.com/goai-dev/goai/internal/testgen/modelsync/v1"
	rankingv1 "github.com/goai-dev/goai/internal/testgen/ranking/v1"
	textv1 "github.com/goai-dev/goai/internal/testgen/text/v1"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/tensor"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func TestImageClassifierPolicies(t *testing.T) {
	m := visionv1.ImageClassifierModel
	breaker := goai.BreakerPolicy{
		FailureRatio:   0.5,
		MinRequests:    20,
		Interval:       time.Minute,
		OpenTimeout:    30 * time.Second,
		HalfOpenProbes: 2,
	}
	want := []goai.CallPolicy{
		{ // Classify: its own timeouts and attempts over default_call.
			Timeout:        200 * time.Millisecond,
			AttemptTimeout: 80 * time.Millisecond,
			Retry: goai.RetryPolicy{
				MaxAttempts:    4,
				InitialBackoff: 20 * time.Millisecond,
				MaxBackoff:     500 * time.Millisecond,
				RetryableCodes: []codes.Code{codes.Unavailable, codes.ResourceExhausted},
			},
			Breaker: breaker,
		},
		{ // ClassifyOffline: its code list replaces default_call's.
			Timeout: 30 * time.Second,
			Retry: goai.RetryPolicy{
				MaxAttempts:    3,
				InitialBackoff: 20 * time.Millisecond,
				MaxBackoff:     500 * time.Millisecond,
				RetryableCodes: []codes.Code{codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded},
			},
			Breaker: breaker,
		},
	}
	if len(m.Methods) != len(want) {
		t.Fatalf("%d methods, want %d", len(m.Methods), len(want))
	}
	for i, w := range want {
		if diff := cmp.Diff(w, m.Methods[i].Policy); diff != "" {
			t.Errorf("%s policy (-want +got):\n%s", m.Methods[i].Name, diff)
		}
	}
	if got, want := m.Methods[0].FullMethod, visionv1.ImageClassifier_Classify_FullMethodName; got != want {
		t.Errorf("FullMethod = %q, want protoc-gen-go-grpc's %q", got, want)
	}
	if got := m.Batching; got != (goai.BatchingPolicy{MaxSize: 16, MaxDelay: 2 * time.Millisecond}) {
		t.Errorf("Batching = %+v", got)
	}
	// The method refers to the message's tensors rather than copying them.
	if &m.Methods[0].Inputs[0] != &visionv1.ImageTensors[0] {
		t.Error("Classify's Inputs is not ImageTensors")
	}
}

func TestRankerModel(t *testing.T) {
	m := rankingv1.RankerModel
	if got, want := m.Model, (goai.ModelRef{Name: "ranker", Version: "7"}); got != want {
		t.Errorf("Model = %v, want %v", got, want)
	}
	if got, want := *m.Fallback, (goai.ModelRef{Name: "ranker-lite", Version: "1"}); got != want {
		t.Errorf("Fallback = %v, want %v", got, want)
	}
	if got, want := m.Limits, (goai.LimitPolicy{RatePerSecond: 500, Burst: 50, MaxConcurrent: 64, FailFast: true}); got != want {
		t.Errorf("Limits = %+v, want %+v", got, want)
	}
	rank, deep := m.Methods[0], m.Methods[1]
	if rank.Model != m.Model {
		t.Errorf("Rank calls %v, want the service's %v", rank.Model, m.Model)
	}
	if got, want := deep.Model, (goai.ModelRef{Name: "ranker-large", Version: "2"}); got != want {
		t.Errorf("RankDeep calls %v, want its override %v", got, want)
	}
	if rank.Policy.Idempotent != nil {
		t.Errorf("Rank Idempotent = %v, want unset", *rank.Policy.Idempotent)
	}
	if deep.Policy.Idempotent == nil || !*deep.Policy.Idempotent {
		t.Error("RankDeep is not idempotent")
	}
	if got, want := deep.Policy.Timeout, 250*time.Millisecond; got != want {
		t.Errorf("RankDeep Timeout = %v, want %v", got, want)
	}
	if got, want := deep.Policy.Retry, (goai.RetryPolicy{MaxAttempts: 2, Jitter: 0.1}); !cmp.Equal(got, want) {
		t.Errorf("RankDeep Retry = %+v, want default_call's %+v", got, want)
	}
	dtypes := map[string]tensor.DType{}
	for _, d := range rank.Inputs {
		dtypes[d.Name] = d.DType
	}
	for name, want := range map[string]tensor.DType{
		"user_id":         tensor.Int64,
		"item_ids":        tensor.Uint64,
		"item_categories": tensor.Int16,
		"item_age_days":   tensor.Int8,
		"hour_of_day":     tensor.Uint8,
		"seen_before":     tensor.Bool,
		"item_prices":     tensor.FP64,
		"user_embedding":  tensor.Int8,
		"LOCALE":          tensor.Bytes,
	} {
		if dtypes[name] != want {
			t.Errorf("input %s is %v, want %v", name, dtypes[name], want)
		}
	}
}

func TestHalfPrecisionOutputs(t *testing.T) {
	want := []goai.TensorDesc{
		{Name: "pooler_output", Field: "sentence", DType: tensor.FP16, Shape: []int64{-1}},
		{Name: "last_hidden_state", Field: "tokens", DType: tensor.BF16, Shape: []int64{-1, 384}},
	}
	if diff := cmp.Diff(want, embeddingv1.EmbedderModel.Methods[0].Outputs); diff != "" {
		t.Errorf("Embed outputs (-want +got):\n%s", diff)
	}
}

func TestTokenizerTensors(t *testing.T) {
	want := []goai.TensorDesc{
		{Name: "TEXT", Field: "text", DType: tensor.Bytes, Shape: []int64{1}},
		{Name: "ADD_SPECIAL_TOKENS", Field: "add_special_tokens", DType: tensor.Bool},
	}
	if diff := cmp.Diff(want, textv1.TokenizeRequestTensors); diff != "" {
		t.Errorf("TokenizeRequestTensors (-want +got):\n%s", diff)
	}
}

func TestDirectModel(t *testing.T) {
	m := modelsyncv1.ModelSyncModel
	if m.Protocol != goai.ProtocolDirect || m.Model != (goai.ModelRef{}) {
		t.Errorf("Protocol %v, Model %v; want DIRECT without a model", m.Protocol, m.Model)
	}
	push := m.Methods[0]
	if push.FullMethod != modelsyncv1.ModelSync_PushParams_FullMethodName {
		t.Errorf("FullMethod = %q", push.FullMethod)
	}
	// SyncRequest holds its tensor in a nested ModelParams: none of its own.
	if push.Inputs != nil || push.Outputs != nil {
		t.Errorf("Inputs %v, Outputs %v; want none", push.Inputs, push.Outputs)
	}
	want := goai.CallPolicy{
		Timeout: 5 * time.Second,
		Retry: goai.RetryPolicy{
			MaxAttempts:    5,
			InitialBackoff: 100 * time.Millisecond,
			MaxBackoff:     2 * time.Second,
			Multiplier:     1.6,
			RetryableCodes: []codes.Code{codes.Unavailable, codes.Aborted},
		},
		Breaker:    goai.BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: 30 * time.Second},
		Idempotent: new(true),
	}
	if diff := cmp.Diff(want, push.Policy); diff != "" {
		t.Errorf("PushParams policy (-want +got):\n%s", diff)
	}
	// ApplyGradients inherits default_call and is not idempotent, the
	// default of the direct protocol.
	apply := m.Methods[1]
	want.Idempotent = nil
	if diff := cmp.Diff(want, apply.Policy); diff != "" {
		t.Errorf("ApplyGradients policy (-want +got):\n%s", diff)
	}
	if len(apply.Inputs) != 1 || &apply.Inputs[0] != &modelsyncv1.GradientUpdateTensors[0] {
		t.Errorf("ApplyGradients Inputs = %v, want GradientUpdateTensors", apply.Inputs)
	}
	wantTensors := []goai.TensorDesc{
		{Name: "weights", Field: "weights", DType: tensor.FP32, Shape: []int64{-1, 4, 4}},
		{Name: "bias", Field: "bias", DType: tensor.FP32, Shape: []int64{4}},
		{Name: "scales", Field: "scales", DType: tensor.FP16, Shape: []int64{4}},
		{Name: "learning_rate", Field: "learning_rate", DType: tensor.FP32},
	}
	if diff := cmp.Diff(wantTensors, modelsyncv1.ModelParamsTensors); diff != "" {
		t.Errorf("ModelParamsTensors (-want +got):\n%s", diff)
	}
	if watch := m.Methods[2]; watch.FullMethod != modelsyncv1.ModelSync_WatchParams_FullMethodName {
		t.Errorf("WatchParams FullMethod = %q", watch.FullMethod)
	}
}

// TestTensorFields checks every generated tensor against the message it
// describes: the field exists and is the method's request or response.
func TestTensorFields(t *testing.T) {
	models := []struct {
		desc     *goai.ModelDesc
		messages map[string][2]proto.Message // method name → request, response
	}{
		{visionv1.ImageClassifierModel, map[string][2]proto.Message{
			"Classify":        {new(visionv1.Image), new(visionv1.Classification)},
			"ClassifyOffline": {new(visionv1.Image), new(visionv1.Classification)},
		}},
		{textv1.TokenizerModel, map[string][2]proto.Message{
			"Tokenize": {new(textv1.TokenizeRequest), new(textv1.TokenizeResponse)},
		}},
		{embeddingv1.EmbedderModel, map[string][2]proto.Message{
			"Embed": {new(embeddingv1.EmbedRequest), new(embeddingv1.Embedding)},
		}},
		{rankingv1.RankerModel, map[string][2]proto.Message{
			"Rank":     {new(rankingv1.RankRequest), new(rankingv1.RankResponse)},
			"RankDeep": {new(rankingv1.RankRequest), new(rankingv1.RankResponse)},
		}},
		{dtypesv1.EchoModel, map[string][2]proto.Message{
			"Echo": {new(dtypesv1.Sample), new(dtypesv1.Sample)},
		}},
		{dtypesv1.SummarizerModel, map[string][2]proto.Message{
			"Summarize": {new(dtypesv1.Scalars), new(dtypesv1.Summary)},
		}},
	}
	for _, m := range models {
		for _, method := range m.desc.Methods {
			msgs, ok := m.messages[method.Name]
			if !ok {
				t.Errorf("%s: unexpected method %s", m.desc.Service, method.Name)
				continue
			}
			for i, tensors := range [][]goai.TensorDesc{method.Inputs, method.Outputs} {
				md := msgs[i].ProtoReflect().Descriptor()
				if len(tensors) == 0 {
					t.Errorf("%s: %s has no tensors", method.FullMethod, md.FullName())
				}
				for _, d := range tensors {
					if md.Fields().ByName(protoreflect.Name(d.Field)) == nil {
						t.Errorf("%s: %s has no field %s", method.FullMethod, md.FullName(), d.Field)
					}
					if !d.DType.Valid() {
						t.Errorf("%s: tensor %s has dtype %v", method.FullMethod, d.Name, d.DType)
					}
				}
			}
		}
	}
}
