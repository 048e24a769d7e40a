package testgen_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	embeddingv1 "github.com/goai-dev/goai/internal/testgen/embedding/v1"
	"github.com/goai-dev/goai/internal/testgen/embedding/v1/embeddingv1goaitest"
	rankingv1 "github.com/goai-dev/goai/internal/testgen/ranking/v1"
	"github.com/goai-dev/goai/internal/testgen/ranking/v1/rankingv1goaitest"
	textv1 "github.com/goai-dev/goai/internal/testgen/text/v1"
	"github.com/goai-dev/goai/internal/testgen/text/v1/textv1goaitest"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/internal/testgen/vision/v1/visionv1goaitest"
	"github.com/goai-dev/goai/tensor"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
)

// relaxed lifts the tight deadlines some test protos declare (50ms for
// Rank, an 80ms attempt for Classify), which a loaded machine running the
// race detector may miss; the tests are about the data, not the clock.
var relaxed = []goai.CallOption{goai.WithTimeout(time.Minute), goai.WithAttemptTimeout(0)}

// rankRequest returns a RankRequest for user u with n candidate items.
func rankRequest(u int64, n int) *rankingv1.RankRequest {
	r := &rankingv1.RankRequest{
		UserId:         u,
		HourOfDay:      []uint32{uint32(u % 24)},
		UserEmbedding:  make([]byte, 64),
		Locale:         "de-CH",
		RequestId:      "not a tensor",
		ItemAgeDays:    []int32{-3, 100},
		ItemCategories: nil,
	}
	for i := range n {
		r.ItemIds = append(r.ItemIds, uint64(1000*u)+uint64(i))
		r.ItemCategories = append(r.ItemCategories, int32(-i))
		r.SeenBefore = append(r.SeenBefore, i%2 == 0)
		r.ItemPrices = append(r.ItemPrices, float64(i)+0.5)
	}
	for i := range r.UserEmbedding {
		r.UserEmbedding[i] = byte(int8(i - 32))
	}
	return r
}

// rankFake ranks items by price, and explains each rank.
func rankFake(model string) func(context.Context, *rankingv1.RankRequest) (*rankingv1.RankResponse, error) {
	return func(_ context.Context, in *rankingv1.RankRequest) (*rankingv1.RankResponse, error) {
		out := &rankingv1.RankResponse{ModelIds: []int32{int32(in.GetUserId())}}
		for i, p := range in.GetItemPrices() {
			out.Scores = append(out.Scores, float32(p))
			out.Positions = append(out.Positions, uint32(len(in.GetItemPrices())-1-i))
			out.Explanations = append(out.Explanations, []byte(fmt.Sprintf("%s:%s:%d", model, in.GetLocale(), in.GetItemIds()[i])))
		}
		return out, nil
	}
}

// ranker implements RankerFake with rankFake.
type ranker struct{}

func (ranker) Rank(ctx context.Context, in *rankingv1.RankRequest) (*rankingv1.RankResponse, error) {
	return rankFake("rank")(ctx, in)
}

func (ranker) RankDeep(ctx context.Context, in *rankingv1.RankRequest) (*rankingv1.RankResponse, error) {
	return rankFake("deep")(ctx, in)
}

// TestRankerWire serves the ranker from a model written against the
// tensors alone, not the generated fake: it reads the request as any Open
// Inference Protocol server would and answers typed contents over gRPC,
// as KServe's servers do.
func TestRankerWire(t *testing.T) { transports(t, testRankerWire) }

func testRankerWire(t *testing.T, tr transport) {
	srv := startServer(t, tr, inferencetest.WithTypedOutputs())
	spec := func(name string, dt tensor.DType, shape ...int64) inferencetest.TensorSpec {
		return inferencetest.TensorSpec{Name: name, DType: dt, Shape: shape}
	}
	var got struct {
		shapes map[string][]int64
		prices []float64
		emb    []int8
		locale []string
		ages   []int8
		cats   []int16
		seen   []bool
	}
	err := srv.Register(inferencetest.Model{
		Name:         "ranker",
		Versions:     []string{"7"},
		MaxBatchSize: 128,
		Inputs: []inferencetest.TensorSpec{
			spec("user_id", tensor.Int64, 1), spec("item_ids", tensor.Uint64, -1), spec("item_categories", tensor.Int16, -1),
			spec("item_age_days", tensor.Int8, -1), spec("hour_of_day", tensor.Uint8, 1), spec("seen_before", tensor.Bool, -1),
			spec("item_prices", tensor.FP64, -1), spec("user_embedding", tensor.Int8, 64), spec("LOCALE", tensor.Bytes),
		},
		Outputs: []inferencetest.TensorSpec{
			spec("scores", tensor.FP32, -1), spec("positions", tensor.Uint16, -1),
			spec("model_ids", tensor.Int32, 1), spec("explanations", tensor.Bytes, -1),
		},
		Infer: func(_ context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			got.shapes = map[string][]int64{}
			var errs []error
			for _, in := range req.Inputs {
				got.shapes[in.Name] = in.Shape
				var err error
				switch in.Name {
				case "item_prices":
					got.prices, err = tensor.DecodeFloat64(nil, in.Raw)
				case "user_embedding":
					got.emb, err = tensor.DecodeInt8(nil, in.Raw)
				case "LOCALE":
					got.locale, err = tensor.DecodeStringElements(in.Raw, -1)
				case "item_age_days":
					got.ages, err = tensor.DecodeInt8(nil, in.Raw)
				case "item_categories":
					got.cats, err = tensor.DecodeInt16(nil, in.Raw)
				case "seen_before":
					got.seen, err = tensor.DecodeBool(nil, in.Raw)
				}
				errs = append(errs, err)
			}
			b, n := int64(req.BatchSize), got.shapes["item_prices"][1]
			scores := make([]float32, 0, b*n)
			for _, p := range got.prices {
				scores = append(scores, float32(-p))
			}
			positions := make([]uint16, b*n)
			explanations := make([]string, b*n)
			for i := range explanations {
				explanations[i] = fmt.Sprint("item ", i)
				positions[i] = uint16(60000 + i)
			}
			return []tensor.Tensor{
				{Name: "scores", DType: tensor.FP32, Shape: []int64{b, n}, Raw: tensor.AppendFloat32(nil, scores)},
				{Name: "positions", DType: tensor.Uint16, Shape: []int64{b, n}, Raw: tensor.AppendUint16(nil, positions)},
				{Name: "model_ids", DType: tensor.Int32, Shape: []int64{b, 1}, Raw: tensor.AppendInt32(nil, make([]int32, b))},
				{Name: "explanations", DType: tensor.Bytes, Shape: []int64{b, n}, Raw: tensor.AppendStringElements(nil, explanations)},
			}, errors.Join(errs...)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rankingv1.NewRankerModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)

	out, err := c.Rank(t.Context(), rankRequest(3, 2), relaxed...)
	if err != nil {
		t.Fatal(err)
	}
	want := &rankingv1.RankResponse{
		Scores:       []float32{-0.5, -1.5},
		Positions:    []uint32{60000, 60001},
		ModelIds:     []int32{0},
		Explanations: [][]byte{[]byte("item 0"), []byte("item 1")},
	}
	if diff := cmp.Diff(want, out, protocmp.Transform()); diff != "" {
		t.Errorf("ranking (-want +got):\n%s", diff)
	}
	wantShapes := map[string][]int64{
		"user_id": {1, 1}, "item_ids": {1, 2}, "item_categories": {1, 2}, "item_age_days": {1, 2}, "hour_of_day": {1, 1},
		"seen_before": {1, 2}, "item_prices": {1, 2}, "user_embedding": {1, 64}, "LOCALE": {1},
	}
	if diff := cmp.Diff(wantShapes, got.shapes); diff != "" {
		t.Errorf("shapes (-want +got):\n%s", diff)
	}
	if !slices.Equal(got.prices, []float64{0.5, 1.5}) || !slices.Equal(got.ages, []int8{-3, 100}) ||
		!slices.Equal(got.cats, []int16{0, -1}) || !slices.Equal(got.seen, []bool{true, false}) ||
		!slices.Equal(got.locale, []string{"de-CH"}) || got.emb[0] != -32 || got.emb[63] != 31 {
		t.Errorf("the model read prices %v, ages %v, categories %v, seen %v, locale %q, embedding %v",
			got.prices, got.ages, got.cats, got.seen, got.locale, got.emb)
	}
	r := srv.Requests()[0]
	if r.Model != "ranker" || r.Version != "7" {
		t.Errorf("request for %s@%s, want ranker@7", r.Model, r.Version)
	}
	outputs := r.Outputs
	if want := []string{"scores", "positions", "model_ids", "explanations"}; !slices.Equal(outputs, want) {
		t.Errorf("requested outputs %v, want %v", outputs, want)
	}
}

func TestRankerFake(t *testing.T) { transports(t, testRankerFake) }

func testRankerFake(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := rankingv1goaitest.RegisterRankerFake(srv.Server, ranker{}); err != nil {
		t.Fatal(err)
	}
	c, err := rankingv1.NewRankerModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	ctx := t.Context()

	// 130 requests of 3 items: max_size 64 makes 3 requests.
	var in []*rankingv1.RankRequest
	for u := range 130 {
		in = append(in, rankRequest(int64(u), 3))
	}
	out, err := c.RankBatch(ctx, in, relaxed...)
	if err != nil {
		t.Fatal(err)
	}
	for u, r := range out {
		want, _ := rankFake("rank")(ctx, in[u])
		if diff := cmp.Diff(want, r, protocmp.Transform()); diff != "" {
			t.Fatalf("ranking of user %d (-want +got):\n%s", u, diff)
		}
	}
	if got, want := srv.batchSizes(), []int64{2, 64, 64}; !slices.Equal(got, want) {
		t.Errorf("requests of %v items, want %v", got, want)
	}

	// RankDeep calls its own model, served by the fake's RankDeep.
	srv.ResetRecords()
	deep, err := c.RankDeep(ctx, rankRequest(1, 1), relaxed...)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(deep.GetExplanations()[0]); got != "deep:de-CH:1000" {
		t.Errorf("RankDeep explained %q", got)
	}
	if r := srv.Requests()[0]; r.Model != "ranker-large" || r.Version != "2" {
		t.Errorf("RankDeep called %s@%s, want ranker-large@2", r.Model, r.Version)
	}

	// Two failures use up Rank's attempts; the fallback model, which the
	// fake registers too, answers.
	srv.ResetRecords()
	srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Fail(codes.Unavailable))
	var info goai.CallInfo
	fb, err := c.Rank(ctx, rankRequest(2, 2), append(relaxed, goai.Report(&info))...)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Fallback || info.Model != (goai.ModelRef{Name: "ranker-lite", Version: "1"}) || len(fb.GetScores()) != 2 {
		t.Errorf("after two failures: %+v, %v; want an answer from the fallback ranker-lite@1", info, fb)
	}
}

func TestImageClassifier(t *testing.T) { transports(t, testImageClassifier) }

func testImageClassifier(t *testing.T, tr transport) {
	for _, typed := range []bool{false, true} {
		if typed && tr.rest {
			continue // typed contents are gRPC's alone
		}
		t.Run(fmt.Sprint("typed=", typed), func(t *testing.T) {
			var opts []inferencetest.Option
			if typed {
				opts = append(opts, inferencetest.WithTypedOutputs())
			}
			srv := startServer(t, tr, opts...)
			// The fake scores class k as k times the image's first pixel.
			err := visionv1goaitest.RegisterImageClassifierFake(srv.Server, visionv1goaitest.ImageClassifierFakeFunc(func(_ context.Context, in *visionv1.Image) (*visionv1.Classification, error) {
				out := &visionv1.Classification{Scores: make([]float32, 1000)}
				for k := range out.Scores {
					out.Scores[k] = float32(k) * in.GetPixels()[0]
				}
				return out, nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			c, err := visionv1.NewImageClassifierModelClient(srv.target(), srv.options()...)
			if err != nil {
				t.Fatal(err)
			}
			closeOnCleanup(t, c)

			// An image is 602112 bytes: the 3 MiB default holds 5 of them.
			var in []*visionv1.Image
			for i := range 7 {
				img := &visionv1.Image{Pixels: make([]float32, 3*224*224)}
				img.Pixels[0] = float32(i) / 8
				in = append(in, img)
			}
			out, err := c.ClassifyBatch(t.Context(), in, relaxed...)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range out {
				if len(r.GetScores()) != 1000 || r.GetScores()[1] != float32(i)/8 {
					t.Errorf("image %d: %d scores, score of class 1 %v", i, len(r.GetScores()), r.GetScores()[1])
				}
			}
			if got, want := srv.batchSizes(), []int64{2, 5}; !slices.Equal(got, want) {
				t.Errorf("requests of %v items, want %v", got, want)
			}

			one, err := c.ClassifyOffline(t.Context(), in[4], relaxed...)
			if err != nil || one.GetScores()[2] != 1 {
				t.Errorf("ClassifyOffline: %v, %v", one.GetScores()[:3], err)
			}
		})
	}
}

func TestEmbedder(t *testing.T) { transports(t, testEmbedder) }

func testEmbedder(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	// The fake answers one FP16 value per token and 384 BF16 values per
	// token; a token count of 99 answers a sentence of the wrong length.
	err := embeddingv1goaitest.RegisterEmbedderFake(srv.Server, embeddingv1goaitest.EmbedderFakeFunc(func(_ context.Context, in *embeddingv1.EmbedRequest) (*embeddingv1.Embedding, error) {
		out := &embeddingv1.Embedding{}
		n := len(in.GetInputIds())
		if in.GetInputIds()[0] == 99 {
			n++
		}
		for i := range n {
			out.Sentence = append(out.Sentence, float32(in.GetInputIds()[0])+float32(i)/4)
		}
		tokens := make([]float32, len(in.GetInputIds())*384)
		for i := range tokens {
			tokens[i] = float32(i % 384)
		}
		out.Tokens = tensor.AppendBF16(nil, tokens)
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

	req := func(first int64, n int) *embeddingv1.EmbedRequest {
		r := &embeddingv1.EmbedRequest{}
		for i := range n {
			r.InputIds = append(r.InputIds, first+int64(i))
			r.AttentionMask = append(r.AttentionMask, 1)
		}
		return r
	}
	// Sentences of 3 and 5 tokens: two requests.
	in := []*embeddingv1.EmbedRequest{req(1, 3), req(2, 5), req(3, 3), req(4, 5), req(5, 3)}
	out, err := c.EmbedBatch(t.Context(), in, relaxed...)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range out {
		n := len(in[i].GetInputIds())
		want := []float32{float32(i + 1)}
		for j := 1; j < n; j++ {
			want = append(want, float32(i+1)+float32(j)/4)
		}
		if !slices.Equal(e.GetSentence(), want) {
			t.Errorf("sentence %d = %v, want %v", i, e.GetSentence(), want)
		}
		tokens, err := tensor.DecodeBF16(nil, e.GetTokens())
		if err != nil || len(tokens) != n*384 || tokens[385] != 1 {
			t.Errorf("tokens of %d: %d values, %v", i, len(tokens), err)
		}
	}
	if got, want := srv.batchSizes(), []int64{2, 3}; !slices.Equal(got, want) {
		t.Errorf("requests of %v items, want %v", got, want)
	}

	// A fake answer that does not agree with the rest of its batch is the
	// fake's bug: INTERNAL, naming the output and item.
	_, err = c.EmbedBatch(t.Context(), []*embeddingv1.EmbedRequest{req(1, 2), req(99, 2)}, relaxed...)
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), `output "pooler_output" of item 1`) {
		t.Errorf("disagreeing answers: %v, want INTERNAL about item 1 of pooler_output", err)
	}
}

func TestTokenizer(t *testing.T) { transports(t, testTokenizer) }

func testTokenizer(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	err := textv1goaitest.RegisterTokenizerFake(srv.Server, textv1goaitest.TokenizerFakeFunc(func(_ context.Context, in *textv1.TokenizeRequest) (*textv1.TokenizeResponse, error) {
		out := &textv1.TokenizeResponse{}
		if in.GetAddSpecialTokens() {
			out.InputIds = append(out.InputIds, 101)
		}
		for _, w := range strings.Fields(in.GetText()) {
			out.InputIds = append(out.InputIds, int64(len(w)))
		}
		for range out.InputIds {
			out.AttentionMask = append(out.AttentionMask, 1)
		}
		return out, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := textv1.NewTokenizerModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)

	special := true
	out, err := c.Tokenize(t.Context(), &textv1.TokenizeRequest{Text: "hello wide world", AddSpecialTokens: &special}, relaxed...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.GetInputIds(), []int64{101, 5, 4, 5}) || len(out.GetAttentionMask()) != 4 {
		t.Errorf("tokens %v, mask %v", out.GetInputIds(), out.GetAttentionMask())
	}
	ins := srv.Requests()[0].Inputs
	if got := fmt.Sprint(ins[0].Name, ins[0].Shape, ins[1].Name, ins[1].Shape); got != "TEXT[1]ADD_SPECIAL_TOKENS[]" {
		t.Errorf("inputs %s, want TEXT[1]ADD_SPECIAL_TOKENS[]", got)
	}
}
