package goaiimpl

import (
	"context"
	"errors"
	"github.com/goai-dev/goai"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// The tests of Infer, InferBatch and ServeFake carry their tensors in
// InferTensorContents messages, whose repeated fields hold every kind of
// element: the mappers below are written as protoc-gen-goai writes them.

// contentsTensors are the tensors of a contents message: a vector of any
// length, a pair of INT8 held in int32, BYTES elements and a BOOL scalar
// per item.
var contentsTensors = []goai.TensorDesc{
	{Name: "x", Field: "fp32_contents", DType: tensor.FP32, Shape: []int64{-1}},
	{Name: "ids", Field: "int_contents", DType: tensor.Int8, Shape: []int64{2}},
	{Name: "words", Field: "bytes_contents", DType: tensor.Bytes},
	{Name: "flag", Field: "bool_contents", DType: tensor.Bool, Shape: []int64{1}},
}

func encodeContents(e *Encoder, batch []*oippb.InferTensorContents) {
	for _, x := range batch {
		AppendTensor(e.Tensor(0), x.GetFp32Contents())
		AppendTensor(e.Tensor(1), x.GetIntContents())
		AppendStrings(e.Tensor(2), x.GetBytesContents())
		AppendTensor(e.Tensor(3), x.GetBoolContents())
	}
}

func decodeContents(d *Decoder, batch []*oippb.InferTensorContents) {
	for i := range batch {
		batch[i] = &oippb.InferTensorContents{
			Fp32Contents:  DecodeTensor[float32](d.Tensor(0), i),
			IntContents:   DecodeTensor[int32](d.Tensor(1), i),
			BytesContents: DecodeStrings[[]byte](d.Tensor(2), i),
			BoolContents:  DecodeTensor[bool](d.Tensor(3), i),
		}
	}
}

// contentsDesc describes model "contents": a batch of at most 4 items,
// requests of at most maxBytes.
func contentsDesc(maxBytes int64) *goai.ModelDesc {
	return &goai.ModelDesc{
		Service:      "test.v1.Contents",
		Model:        goai.ModelRef{Name: "contents"},
		MaxBatchSize: 4,
		Batching:     goai.BatchingPolicy{MaxBytes: maxBytes},
		Methods: []goai.MethodDesc{{
			Name:       "Echo",
			FullMethod: "/test.v1.Contents/Echo",
			Model:      goai.ModelRef{Name: "contents"},
			Inputs:     contentsTensors,
			Outputs:    contentsTensors,
		}},
	}
}

func item(x []float32, ids []int32, words ...string) *oippb.InferTensorContents {
	c := &oippb.InferTensorContents{Fp32Contents: x, IntContents: ids, BoolContents: []bool{len(x) > 1}}
	for _, w := range words {
		c.BytesContents = append(c.BytesContents, []byte(w))
	}
	return c
}

// startContents serves desc's model on an in-memory server, answering
// each item with serve, and returns the server and a Caller of it.
func startContents(t *testing.T, desc *goai.ModelDesc, serve func(context.Context, *oippb.InferTensorContents) (*oippb.InferTensorContents, error), opts ...inferencetest.Option) (*inferencetest.Server, *goai.Client) {
	t.Helper()
	srv := inferencetest.New(opts...)
	specs := []inferencetest.TensorSpec{
		{Name: "x", DType: tensor.FP32, Shape: []int64{-1}},
		{Name: "ids", DType: tensor.Int8, Shape: []int64{2}},
		{Name: "words", DType: tensor.Bytes, Shape: []int64{-1}},
		{Name: "flag", DType: tensor.Bool, Shape: []int64{1}},
	}
	err := srv.Register(inferencetest.Model{
		Name:         "contents",
		MaxBatchSize: desc.MaxBatchSize,
		Inputs:       specs,
		Outputs:      specs,
		Infer: func(ctx context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			return ServeFake(ctx, desc, &desc.Methods[0], req.Inputs, req.BatchSize, decodeContents, encodeContents, serve)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	conn, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return srv, NewClientFromConn(conn, desc)
}

func identity(_ context.Context, x *oippb.InferTensorContents) (*oippb.InferTensorContents, error) {
	return x, nil
}

func modelInfers(srv *inferencetest.Server) int { return srv.Stats().Calls["ModelInfer"] }

func TestInferRoundTrip(t *testing.T) {
	desc := contentsDesc(0)
	srv, c := startContents(t, desc, identity)
	in := item([]float32{1.5, -2, 3}, []int32{-128, 127}, "a", "", "ccc")
	out, err := Infer(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, protocmp.Transform()); diff != "" {
		t.Errorf("answer (-sent +got):\n%s", diff)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	want := &oippb.ModelInferRequest{
		ModelName: "contents",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{
			{Name: "x", Datatype: "FP32", Shape: []int64{1, 3}},
			{Name: "ids", Datatype: "INT8", Shape: []int64{1, 2}},
			{Name: "words", Datatype: "BYTES", Shape: []int64{1, 3}},
			{Name: "flag", Datatype: "BOOL", Shape: []int64{1, 1}},
		},
		Outputs: []*oippb.ModelInferRequest_InferRequestedOutputTensor{
			{Name: "x"}, {Name: "ids"}, {Name: "words"}, {Name: "flag"},
		},
		RawInputContents: [][]byte{
			tensor.AppendFloat32(nil, []float32{1.5, -2, 3}),
			{0x80, 0x7f},
			tensor.AppendStringElements(nil, []string{"a", "", "ccc"}),
			{1},
		},
	}
	if diff := cmp.Diff(want, reqs[0].Message, protocmp.Transform()); diff != "" {
		t.Errorf("request on the wire (-want +got):\n%s", diff)
	}
}

func TestInferTypedResponse(t *testing.T) {
	desc := contentsDesc(0)
	_, c := startContents(t, desc, identity, inferencetest.WithTypedOutputs())
	in := item([]float32{1, 2}, []int32{3, 4}, "typed")
	out, err := Infer(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, out) {
		t.Errorf("got %v, want %v", out, in)
	}
}

func TestInferBadInputSendsNothing(t *testing.T) {
	desc := contentsDesc(0)
	srv, c := startContents(t, desc, identity)
	for _, tt := range []struct {
		name     string
		in       *oippb.InferTensorContents
		tensor   string
		sentinel error
	}{
		{"too few elements", item([]float32{1}, []int32{1}), "ids", tensor.ErrShape},
		{"out of range", item([]float32{1}, []int32{1, 300}), "ids", tensor.ErrRange},
		{"no data for a fixed shape", &oippb.InferTensorContents{IntContents: []int32{1, 2}}, "flag", tensor.ErrShape},
	} {
		_, err := Infer(t.Context(), c, &desc.Methods[0], tt.in, encodeContents, decodeContents)
		var te *goai.TensorError
		switch {
		case !errors.As(err, &te):
			t.Errorf("%s: err = %v, want a *TensorError", tt.name, err)
		case te.Tensor != tt.tensor || te.Output || te.Item != 0:
			t.Errorf("%s: %+v, want input %q of item 0", tt.name, te, tt.tensor)
		case !errors.Is(err, goai.ErrBadTensor) || !errors.Is(err, tt.sentinel):
			t.Errorf("%s: %v does not match ErrBadTensor and %v", tt.name, err, tt.sentinel)
		case status.Code(err) != codes.InvalidArgument:
			t.Errorf("%s: code %v, want InvalidArgument", tt.name, status.Code(err))
		}
	}
	_, err := Infer(t.Context(), c, &desc.Methods[0], nil, encodeContents, decodeContents)
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("nil request: %v, want InvalidArgument", err)
	}
	if n := modelInfers(srv); n != 0 {
		t.Errorf("the server received %d requests, want none", n)
	}
}

func TestInferBatch(t *testing.T) {
	desc := contentsDesc(64)
	srv, c := startContents(t, desc, identity)

	// Items of 1 and 2 floats, of 1 or 2 words: four shape keys. Each
	// item takes 4n + 2 + (4+1)w + 1 bytes, so 64 bytes hold at most 4.
	var in []*oippb.InferTensorContents
	for i := range 14 {
		x := []float32{float32(i)}
		if i%2 == 1 {
			x = append(x, -float32(i))
		}
		words := []string{"w"}
		if i%3 == 0 {
			words = append(words, "v")
		}
		in = append(in, item(x, []int32{int32(i), 0}, words...))
	}
	var info goai.CallInfo
	out, err := InferBatch(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents, goai.Report(&info), goai.WithBatchParallelism(2))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, protocmp.Transform()); diff != "" {
		t.Errorf("answers (-sent +got):\n%s", diff)
	}

	// Expected groups: by shape key, at most 4 items (MaxBatchSize).
	keys := map[string][]int{}
	for i := range in {
		k := string(rune('0'+len(in[i].Fp32Contents))) + string(rune('0'+len(in[i].BytesContents)))
		keys[k] = append(keys[k], i)
	}
	want := 0
	for _, items := range keys {
		want += (len(items) + 3) / 4
	}
	reqs := srv.Requests()
	if len(reqs) != want {
		t.Errorf("%d requests, want %d", len(reqs), want)
	}
	for _, r := range reqs {
		b := r.Inputs[0].Shape[0]
		for _, x := range r.Inputs {
			if x.Shape[0] != b || b > 4 {
				t.Errorf("request inputs of batch sizes %d and %d", b, x.Shape[0])
			}
		}
	}
	if info.Attempts != want || info.Model != (goai.ModelRef{Name: "contents"}) || info.Latency <= 0 {
		t.Errorf("Report: %+v, want %d attempts on model contents", info, want)
	}

	out, err = InferBatch(t.Context(), c, &desc.Methods[0], nil, encodeContents, decodeContents)
	if err != nil || out == nil || len(out) != 0 {
		t.Errorf("empty batch: %v, %v; want an empty slice", out, err)
	}
	if n := modelInfers(srv); n != want {
		t.Errorf("%d requests after the empty batch, want %d", n, want)
	}
}

func TestInferBatchBytes(t *testing.T) {
	desc := contentsDesc(40)
	srv, c := startContents(t, desc, identity)
	// 4×4 + 2 + 5 + 1 = 24 bytes: one item per request of 40 bytes.
	in := []*oippb.InferTensorContents{
		item([]float32{1, 2, 3, 4}, []int32{1, 2}, "a"),
		item([]float32{5, 6, 7, 8}, []int32{3, 4}, "b"),
		item([]float32{9, 10, 11, 12}, []int32{5, 6}, "c"),
	}
	out, err := InferBatch(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, protocmp.Transform()); diff != "" {
		t.Errorf("answers (-sent +got):\n%s", diff)
	}
	if n := modelInfers(srv); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestInferBatchBadItemSendsNothing(t *testing.T) {
	desc := contentsDesc(16)
	srv, c := startContents(t, desc, identity)
	in := []*oippb.InferTensorContents{
		item([]float32{1}, []int32{1, 2}),
		item([]float32{1}, []int32{1, 2}),
		item([]float32{1}, []int32{1, 2}),
		item([]float32{1}, []int32{1, 2, 3}), // in a later request than the first
	}
	_, err := InferBatch(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents)
	var te *goai.TensorError
	if !errors.As(err, &te) || te.Item != 3 || te.Tensor != "ids" || status.Code(err) != codes.InvalidArgument {
		t.Errorf("err = %v, want InvalidArgument about ids of item 3", err)
	}

	in[3] = item([]float32{1}, []int32{1, -129}) // out of INT8's range
	_, err = InferBatch(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents)
	if !errors.As(err, &te) || te.Item != 3 || !errors.Is(err, tensor.ErrRange) {
		t.Errorf("err = %v, want a range error of item 3", err)
	}

	in[3] = nil
	_, err = InferBatch(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "3") {
		t.Errorf("nil item: %v, want InvalidArgument naming item 3", err)
	}
	if n := modelInfers(srv); n != 0 {
		t.Errorf("the server received %d requests, want none", n)
	}
}

func TestInferBatchFailure(t *testing.T) {
	desc := contentsDesc(0)
	srv, c := startContents(t, desc, func(_ context.Context, x *oippb.InferTensorContents) (*oippb.InferTensorContents, error) {
		if x.GetFp32Contents()[0] == 13 {
			return nil, status.Error(codes.FailedPrecondition, "unlucky")
		}
		return x, nil
	})
	var in []*oippb.InferTensorContents
	for i := range 16 {
		in = append(in, item([]float32{float32(i)}, []int32{0, 0}))
	}
	_, err := InferBatch(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents, goai.WithBatchParallelism(1))
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "batch request 4 of 4") {
		t.Errorf("err = %v, want the fourth request's FailedPrecondition", err)
	}
	if n := modelInfers(srv); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestServeFakeErrors(t *testing.T) {
	desc := contentsDesc(0)
	for _, tt := range []struct {
		name  string
		serve func(context.Context, *oippb.InferTensorContents) (*oippb.InferTensorContents, error)
		code  codes.Code
		text  string
	}{
		{"status passes", func(context.Context, *oippb.InferTensorContents) (*oippb.InferTensorContents, error) {
			return nil, status.Error(codes.ResourceExhausted, "busy")
		}, codes.ResourceExhausted, "busy"},
		{"nil answer", func(context.Context, *oippb.InferTensorContents) (*oippb.InferTensorContents, error) {
			return nil, nil
		}, codes.Internal, "returned nil"},
		{"answer does not fit", func(_ context.Context, x *oippb.InferTensorContents) (*oippb.InferTensorContents, error) {
			return item(x.Fp32Contents, []int32{1}), nil
		}, codes.Internal, `output "ids" of item 0`},
		{"answers disagree", func(_ context.Context, x *oippb.InferTensorContents) (*oippb.InferTensorContents, error) {
			return item(x.Fp32Contents[:1+int(x.IntContents[0])], x.IntContents), nil
		}, codes.Internal, `output "x" of item 1: has shape [2]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, c := startContents(t, desc, tt.serve)
			in := []*oippb.InferTensorContents{item([]float32{1, 2}, []int32{0, 0}), item([]float32{1, 2}, []int32{1, 0})}
			_, err := InferBatch(t.Context(), c, &desc.Methods[0], in, encodeContents, decodeContents)
			if status.Code(err) != tt.code || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %v, want %v containing %q", err, tt.code, tt.text)
			}
		})
	}
}

// goodResponse is the answer to a batch of two contents items.
func goodResponse() *oippb.ModelInferResponse {
	return &oippb.ModelInferResponse{
		Outputs: []*oippb.ModelInferResponse_InferOutputTensor{
			{Name: "x", Datatype: "FP32", Shape: []int64{2, 1}},
			{Name: "ids", Datatype: "INT8", Shape: []int64{2, 2}},
			{Name: "words", Datatype: "BYTES", Shape: []int64{2, 1}},
			{Name: "flag", Datatype: "BOOL", Shape: []int64{2, 1}},
		},
		RawOutputContents: [][]byte{
			tensor.AppendFloat32(nil, []float32{1, 2}),
			{1, 2, 3, 4},
			tensor.AppendStringElements(nil, []string{"a", "b"}),
			{0, 1},
		},
	}
}

// decodeAll decodes resp as the answer to a batch of two, as Infer does.
func decodeAll(resp *oippb.ModelInferResponse) ([]*oippb.InferTensorContents, error) {
	d, err := decodeOIP(contentsTensors, 2, true, resp)
	if err != nil {
		return nil, err
	}
	out := make([]*oippb.InferTensorContents, 2)
	decodeContents(d, out)
	return out, d.err
}

func TestDecodeResponse(t *testing.T) {
	out, err := decodeAll(goodResponse())
	if err != nil {
		t.Fatal(err)
	}
	want := []*oippb.InferTensorContents{
		{Fp32Contents: []float32{1}, IntContents: []int32{1, 2}, BytesContents: [][]byte{[]byte("a")}, BoolContents: []bool{false}},
		{Fp32Contents: []float32{2}, IntContents: []int32{3, 4}, BytesContents: [][]byte{[]byte("b")}, BoolContents: []bool{true}},
	}
	if diff := cmp.Diff(want, out, protocmp.Transform()); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	// Items share one allocation, each capped at its own end.
	if cap(out[0].IntContents) != 2 {
		t.Errorf("item 0 has capacity %d, want 2", cap(out[0].IntContents))
	}

	typed := goodResponse()
	typed.RawOutputContents = nil
	typed.Outputs[0].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{1, 2}}
	typed.Outputs[1].Contents = &oippb.InferTensorContents{IntContents: []int32{1, 2, 3, 4}}
	typed.Outputs[2].Contents = &oippb.InferTensorContents{BytesContents: [][]byte{[]byte("a"), []byte("b")}}
	typed.Outputs[3].Contents = &oippb.InferTensorContents{BoolContents: []bool{false, true}}
	got, err := decodeAll(typed)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("decoded typed contents (-want +got):\n%s", diff)
	}
}

// TestDecodeHostileResponse breaks a good response in every way a broken
// or hostile server could: each must fail with INTERNAL, naming the
// output, and never panic.
func TestDecodeHostileResponse(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(r *oippb.ModelInferResponse)
		tensor string // the output named, "" for any
		text   string
	}{
		{"empty response", func(r *oippb.ModelInferResponse) { *r = oippb.ModelInferResponse{} }, "x", "missing"},
		{"output missing", func(r *oippb.ModelInferResponse) { r.Outputs[2].Name = "other" }, "words", "missing"},
		{"nil output", func(r *oippb.ModelInferResponse) { r.Outputs[0] = nil }, "x", "missing"},
		{"wrong datatype", func(r *oippb.ModelInferResponse) { r.Outputs[1].Datatype = "INT16" }, "ids", "datatype INT16, want INT8"},
		{"unknown datatype", func(r *oippb.ModelInferResponse) { r.Outputs[1].Datatype = "int8" }, "ids", "datatype"},
		{"no batch dimension", func(r *oippb.ModelInferResponse) { r.Outputs[0].Shape = nil }, "x", "batch"},
		{"too many items", func(r *oippb.ModelInferResponse) { r.Outputs[1].Shape = []int64{3, 2} }, "ids", "batch of 2"},
		{"too few items", func(r *oippb.ModelInferResponse) { r.Outputs[1].Shape = []int64{1, 4} }, "ids", "batch of 2"},
		{"wrong shape", func(r *oippb.ModelInferResponse) { r.Outputs[1].Shape = []int64{2, 1} }, "ids", "want [2 2]"},
		{"wrong rank", func(r *oippb.ModelInferResponse) { r.Outputs[1].Shape = []int64{2, 2, 1} }, "ids", "want [2 2]"},
		{"negative dimension", func(r *oippb.ModelInferResponse) { r.Outputs[0].Shape = []int64{2, -1} }, "x", "negative"},
		{"huge shape", func(r *oippb.ModelInferResponse) { r.Outputs[0].Shape = []int64{2, math.MaxInt64} }, "x", "exceeds"},
		{"overflowing shape", func(r *oippb.ModelInferResponse) { r.Outputs[2].Shape = []int64{2, 1 << 31, 1 << 31} }, "words", ""},
		{"short data", func(r *oippb.ModelInferResponse) { r.RawOutputContents[0] = r.RawOutputContents[0][:5] }, "x", "needs 8 bytes"},
		{"long data", func(r *oippb.ModelInferResponse) { r.RawOutputContents[1] = append(r.RawOutputContents[1], 0) }, "ids", "needs 4 bytes"},
		{"missing raw contents", func(r *oippb.ModelInferResponse) { r.RawOutputContents = r.RawOutputContents[:2] }, "words", "2 raw_output_contents for 4 outputs"},
		{"bad BYTES framing", func(r *oippb.ModelInferResponse) { r.RawOutputContents[2] = []byte{200, 0, 0, 0, 'a'} }, "words", "runs past"},
		{"BYTES count", func(r *oippb.ModelInferResponse) {
			r.RawOutputContents[2] = tensor.AppendStringElements(nil, []string{"a", "b", "c"})
		}, "words", "BYTES"},
		{"scalar with two elements", func(r *oippb.ModelInferResponse) {
			r.Outputs[3].Shape = []int64{2, 2}
			r.RawOutputContents[3] = []byte{1, 1, 1, 1}
		}, "flag", "want [2 1]"},
		{"typed contents of another datatype", func(r *oippb.ModelInferResponse) {
			r.RawOutputContents = nil
			r.Outputs[0].Contents = &oippb.InferTensorContents{Fp64Contents: []float64{1, 2}}
		}, "x", "typed contents"},
		{"typed contents too short", func(r *oippb.ModelInferResponse) {
			r.RawOutputContents = nil
			r.Outputs[0].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{1}}
		}, "x", "typed contents"},
		{"typed contents out of range", func(r *oippb.ModelInferResponse) {
			r.RawOutputContents = nil
			r.Outputs[0].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{1, 2}}
			r.Outputs[1].Contents = &oippb.InferTensorContents{IntContents: []int32{1, 2, 3, 1000}}
		}, "ids", "range"},
		{"no data at all", func(r *oippb.ModelInferResponse) { r.RawOutputContents = nil }, "x", "typed contents"},
		{"typed contents beside raw", func(r *oippb.ModelInferResponse) {
			r.Outputs[1].Contents = &oippb.InferTensorContents{IntContents: []int32{1, 2, 3, 4}}
		}, "ids", "exclusive"},
		{"typed contents of an undeclared output beside raw", func(r *oippb.ModelInferResponse) {
			r.Outputs = append(r.Outputs, &oippb.ModelInferResponse_InferOutputTensor{
				Name: "extra", Datatype: "FP32", Shape: []int64{1}, Contents: &oippb.InferTensorContents{Fp32Contents: []float32{1}},
			})
			r.RawOutputContents = append(r.RawOutputContents, nil)
		}, "extra", "exclusive"},
		{"typed output and raw for the others", func(r *oippb.ModelInferResponse) {
			// The raw entries are those of the outputs without typed
			// contents, as Triton orders raw inputs: not the protocol's.
			r.Outputs[0].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{1, 2}}
			r.RawOutputContents = r.RawOutputContents[1:]
		}, "flag", "3 raw_output_contents for 4 outputs"},
		{"surplus raw contents", func(r *oippb.ModelInferResponse) {
			r.RawOutputContents = append(r.RawOutputContents, []byte{1})
		}, "x", "5 raw_output_contents for 4 outputs"},
		{"output named twice", func(r *oippb.ModelInferResponse) {
			r.Outputs = append(r.Outputs, proto.Clone(r.Outputs[1]).(*oippb.ModelInferResponse_InferOutputTensor))
			r.RawOutputContents = append(r.RawOutputContents, []byte{5, 6, 7, 8})
		}, "ids", "more than once"},
		{"output named twice, typed", func(r *oippb.ModelInferResponse) {
			r.RawOutputContents = nil
			r.Outputs = append(r.Outputs, proto.Clone(r.Outputs[0]).(*oippb.ModelInferResponse_InferOutputTensor))
			r.Outputs[0].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{1, 2}}
			r.Outputs[4].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{3, 4}}
		}, "x", "as outputs 0 and 4"},
		{"huge datatype", func(r *oippb.ModelInferResponse) { r.Outputs[1].Datatype = strings.Repeat("X", 1<<20) }, "ids", "datatype unknown to goai"},
		{"shape of 100000 dimensions", func(r *oippb.ModelInferResponse) { r.Outputs[1].Shape = make([]int64, 100000) }, "ids", "(100000 dimensions)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := goodResponse()
			tt.mutate(r)
			_, err := decodeAll(r)
			var te *goai.TensorError
			switch {
			case !errors.As(err, &te):
				t.Fatalf("err = %v, want a *TensorError", err)
			case !te.Output || te.Item != -1 || (tt.tensor != "" && te.Tensor != tt.tensor):
				t.Errorf("%+v, want output %q as a whole", te, tt.tensor)
			case !strings.Contains(err.Error(), tt.text):
				t.Errorf("err = %v, want it to say %q", err, tt.text)
			case status.Code(err) != codes.Internal || !errors.Is(err, goai.ErrBadTensor):
				t.Errorf("err = %v: code %v, want Internal matching ErrBadTensor", err, status.Code(err))
			case len(err.Error()) > 1024:
				t.Errorf("the error message has %d bytes; it must not echo the response at length", len(err.Error()))
			}
		})
	}
}

// TestDecodeMixedContents is the answer of a server that sends one output
// typed and the other, undeclared, raw: the only raw entry is not the
// declared output's data, and reading it as such gave probs the values of
// logits.
func TestDecodeMixedContents(t *testing.T) {
	descs := []goai.TensorDesc{{Name: "probs", DType: tensor.FP32, Shape: []int64{2}}}
	resp := &oippb.ModelInferResponse{
		Outputs: []*oippb.ModelInferResponse_InferOutputTensor{
			{Name: "probs", Datatype: "FP32", Shape: []int64{2}, Contents: &oippb.InferTensorContents{Fp32Contents: []float32{0.25, 0.75}}},
			{Name: "logits", Datatype: "FP32", Shape: []int64{2}},
		},
		RawOutputContents: [][]byte{tensor.AppendFloat32(nil, []float32{-3, 5})},
	}
	for _, tt := range []struct {
		name   string
		mutate func(r *oippb.ModelInferResponse)
		text   string
	}{
		{"one raw entry for two outputs", func(*oippb.ModelInferResponse) {}, "1 raw_output_contents for 2 outputs"},
		{"a raw entry for each, one typed too", func(r *oippb.ModelInferResponse) {
			r.RawOutputContents = append([][]byte{tensor.AppendFloat32(nil, []float32{-3, 5})}, r.RawOutputContents...)
		}, "exclusive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := proto.Clone(resp).(*oippb.ModelInferResponse)
			tt.mutate(r)
			d, err := decodeOIP(descs, 1, false, r)
			if err == nil {
				got := DecodeTensor[float32](d.Tensor(0), 0)
				t.Fatalf("decoded probs = %v, %v; want an error", got, d.err)
			}
			var te *goai.TensorError
			if !errors.As(err, &te) || te.Tensor != "probs" || !te.Output || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %v, want a *TensorError about probs saying %q", err, tt.text)
			}
		})
	}

	// Typed contents alone decode; so does raw for both outputs.
	typed := proto.Clone(resp).(*oippb.ModelInferResponse)
	typed.RawOutputContents = nil
	typed.Outputs[1].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{-3, 5}}
	raw := proto.Clone(resp).(*oippb.ModelInferResponse)
	raw.Outputs[0].Contents = nil
	raw.RawOutputContents = [][]byte{tensor.AppendFloat32(nil, []float32{0.25, 0.75}), tensor.AppendFloat32(nil, []float32{-3, 5})}
	for name, r := range map[string]*oippb.ModelInferResponse{"typed": typed, "raw": raw} {
		d, err := decodeOIP(descs, 1, false, r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := DecodeTensor[float32](d.Tensor(0), 0); !slices.Equal(got, []float32{0.25, 0.75}) || d.err != nil {
			t.Errorf("%s: probs = %v, %v; want [0.25 0.75]", name, got, d.err)
		}
	}
}

// TestServeFakeRequestErrors gives ServeFake requests that inferencetest
// would have refused: a fake called by other means refuses them too.
func TestServeFakeRequestErrors(t *testing.T) {
	desc := contentsDesc(0)
	e := newEncoder(contentsTensors, 1, true, false)
	encodeContents(e, []*oippb.InferTensorContents{item([]float32{1}, []int32{1, 2}, "w")})
	good, err := e.tensorList()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		inputs func() []tensor.Tensor
		batch  int
		text   string
	}{
		{"input named twice", func() []tensor.Tensor {
			dup := good[0]
			dup.Raw = tensor.AppendFloat32(nil, []float32{2})
			return append(slices.Clone(good), dup)
		}, 1, `input "x": appears more than once in the request, as inputs 0 and 4`},
		{"input missing", func() []tensor.Tensor { return good[1:] }, 1, `input "x": is missing`},
		{"batch above the model's", func() []tensor.Tensor { return good }, 1 << 30, "max_batch_size 4"},
		{"negative batch", func() []tensor.Tensor { return good }, -1, "a batch of -1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			served := 0
			_, err := ServeFake(t.Context(), desc, &desc.Methods[0], tt.inputs(), tt.batch, decodeContents, encodeContents,
				func(_ context.Context, x *oippb.InferTensorContents) (*oippb.InferTensorContents, error) {
					served++
					return x, nil
				})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %v, want InvalidArgument saying %q", err, tt.text)
			}
			if served != 0 {
				t.Errorf("served %d items, want none", served)
			}
		})
	}
	if _, err := ServeFake(t.Context(), desc, &desc.Methods[0], good, 1, decodeContents, encodeContents, identity); err != nil {
		t.Errorf("the good request: %v", err)
	}
}

// TestServeFakeCopiesRawData checks that what a fake decodes does not
// share memory with the request, which the server keeps.
func TestServeFakeCopiesRawData(t *testing.T) {
	descs := []goai.TensorDesc{{Name: "raw", DType: tensor.Uint8, Shape: []int64{2}}, {Name: "b", DType: tensor.Bytes, Shape: []int64{1}}}
	ts := []tensor.Tensor{
		{Name: "raw", DType: tensor.Uint8, Shape: []int64{2, 2}, Raw: []byte{1, 2, 3, 4}},
		{Name: "b", DType: tensor.Bytes, Shape: []int64{2, 1}, Raw: tensor.AppendStringElements(nil, []string{"p", "q"})},
	}
	d, err := decodeTensors(descs, 2, true, ts, false)
	if err != nil {
		t.Fatal(err)
	}
	r0, r1 := DecodeRaw(d.Tensor(0), 0), DecodeRaw(d.Tensor(0), 1)
	b0, b1 := DecodeString[[]byte](d.Tensor(1), 0), DecodeString[[]byte](d.Tensor(1), 1)
	if d.err != nil {
		t.Fatal(d.err)
	}
	r0[0], b0[0] = 9, 'z'
	if ts[0].Raw[0] != 1 || ts[1].Raw[4] != 'p' {
		t.Error("decoded data shares memory with the request")
	}
	if !slices.Equal(r1, []byte{3, 4}) || string(b1) != "q" {
		t.Errorf("decoded %v %q", r1, b1)
	}
}

func TestScalarAndStringDecode(t *testing.T) {
	descs := []goai.TensorDesc{
		{Name: "n", DType: tensor.Int16},
		{Name: "s", DType: tensor.Bytes, Shape: []int64{1}},
		{Name: "raw", DType: tensor.FP16, Shape: []int64{2}},
	}
	resp := &oippb.ModelInferResponse{
		Outputs: []*oippb.ModelInferResponse_InferOutputTensor{
			{Name: "n", Datatype: "INT16", Shape: []int64{2}},
			{Name: "s", Datatype: "BYTES", Shape: []int64{2, 1}},
			{Name: "raw", Datatype: "FP16", Shape: []int64{2, 2}},
		},
		RawOutputContents: [][]byte{{0xff, 0xff, 7, 0}, tensor.AppendStringElements(nil, []string{"x", "yy"}), {1, 2, 3, 4, 5, 6, 7, 8}},
	}
	d, err := decodeOIP(descs, 2, true, resp)
	if err != nil {
		t.Fatal(err)
	}
	var (
		ns   []int32
		ss   []string
		raws [][]byte
	)
	for i := range 2 {
		ns = append(ns, DecodeScalar[int32](d.Tensor(0), i))
		ss = append(ss, DecodeString[string](d.Tensor(1), i))
		raws = append(raws, DecodeRaw(d.Tensor(2), i))
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	if !slices.Equal(ns, []int32{-1, 7}) || !slices.Equal(ss, []string{"x", "yy"}) ||
		!slices.EqualFunc(raws, [][]byte{{1, 2, 3, 4}, {5, 6, 7, 8}}, slices.Equal) {
		t.Errorf("decoded %v %q %v", ns, ss, raws)
	}
	if cap(raws[0]) != 4 {
		t.Errorf("raw item 0 has capacity %d, want 4", cap(raws[0]))
	}

	// A singular field of a tensor without a shape, answered with two
	// elements per item.
	d, err = decodeOIP(descs[:1], 1, true, &oippb.ModelInferResponse{
		Outputs:           []*oippb.ModelInferResponse_InferOutputTensor{{Name: "n", Datatype: "INT16", Shape: []int64{1, 2}}},
		RawOutputContents: [][]byte{{1, 0, 2, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = DecodeScalar[int32](d.Tensor(0), 0)
	if d.err == nil || !strings.Contains(d.err.Error(), "holds 2 elements per item") {
		t.Errorf("err = %v, want one about 2 elements per item", d.err)
	}
}

func TestEncoderShapes(t *testing.T) {
	descs := []goai.TensorDesc{
		{Name: "scalar", DType: tensor.FP64},
		{Name: "one", DType: tensor.Bytes, Shape: []int64{1, 1}},
		{Name: "raw", DType: tensor.Uint16, Shape: []int64{-1, 2}},
		{Name: "vec", DType: tensor.BF16},
	}
	encode := func(e *Encoder) {
		AppendScalar(e.Tensor(0), 2.5)
		AppendString(e.Tensor(1), "hi")
		AppendRaw(e.Tensor(2), []byte{1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0})
		AppendTensor(e.Tensor(3), []float32{1, 2, 3})
	}
	for _, batched := range []bool{false, true} {
		e := newEncoder(descs, 1, batched, false)
		encode(e)
		req, err := e.request(nil)
		if err != nil {
			t.Fatal(err)
		}
		want := [][]int64{{}, {1, 1}, {3, 2}, {3}}
		for i, in := range req.Inputs {
			w := want[i]
			if batched {
				w = append([]int64{1}, w...)
			}
			if !slices.Equal(in.Shape, w) {
				t.Errorf("batched %v: %s has shape %v, want %v", batched, in.Name, in.Shape, w)
			}
		}
		if got := req.Inputs[3].Raw; !slices.Equal(got, tensor.AppendBF16(nil, []float32{1, 2, 3})) {
			t.Errorf("BF16 = %v", got)
		}
	}

	// Raw data of a fixed-size datatype must be whole elements.
	e := newEncoder(descs, 1, true, false)
	AppendScalar(e.Tensor(0), 1.0)
	AppendString(e.Tensor(1), "x")
	AppendRaw(e.Tensor(2), []byte{1, 2, 3})
	if _, err := e.request(nil); !errors.Is(err, tensor.ErrLength) {
		t.Errorf("3 bytes of UINT16: %v, want ErrLength", err)
	}
	// A tensor that got no item.
	e = newEncoder(descs, 1, true, false)
	AppendScalar(e.Tensor(0), 1.0)
	if _, err := e.request(nil); err == nil || !strings.Contains(err.Error(), "got 0 items") {
		t.Errorf("missing items: %v", err)
	}
	// More items than the batch.
	e = newEncoder(descs[:1], 1, true, false)
	AppendScalar(e.Tensor(0), 1.0)
	AppendScalar(e.Tensor(0), 2.0)
	if _, err := e.request(nil); err == nil || !strings.Contains(err.Error(), "more than the 1 items") {
		t.Errorf("too many items: %v", err)
	}
	// Items that disagree in a dynamic dimension.
	e = newEncoder(descs[3:], 2, true, false)
	AppendTensor(e.Tensor(0), []float32{1})
	AppendTensor(e.Tensor(0), []float32{1, 2})
	var te *goai.TensorError
	if _, err := e.request(nil); !errors.As(err, &te) || te.Item != 1 || !errors.Is(err, tensor.ErrShape) {
		t.Errorf("disagreeing items: %v", err)
	}
	// Strings for a tensor that is not BYTES.
	e = newEncoder(descs[:1], 1, true, false)
	AppendStrings(e.Tensor(0), []string{"x"})
	if _, err := e.request(nil); !errors.Is(err, tensor.ErrDType) {
		t.Errorf("strings as FP64: %v", err)
	}
}

func TestTensorError(t *testing.T) {
	err := error(&goai.TensorError{Tensor: "probs", Output: true, Item: -1, Message: "is missing from the response"})
	if got, want := err.Error(), `goai: output "probs": is missing from the response`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	err = &goai.TensorError{Tensor: "pixels", Item: 3, Message: "5 elements do not fit shape [28 28]", Err: tensor.ErrShape}
	if got, want := err.Error(), `goai: input "pixels" of item 3: 5 elements do not fit shape [28 28]`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, goai.ErrBadTensor) || !errors.Is(err, tensor.ErrShape) || status.Code(err) != codes.InvalidArgument {
		t.Errorf("%v: does not match ErrBadTensor and ErrShape with InvalidArgument", err)
	}
}

// FuzzDecodeResponse decodes a response to a batch of two whose output
// which has an arbitrary datatype, shape and data: it must fail or
// succeed without panicking.
func FuzzDecodeResponse(f *testing.F) {
	good := goodResponse()
	for i, o := range good.Outputs {
		f.Add(uint8(i), o.Datatype, o.Shape[0], o.Shape[1], good.RawOutputContents[i])
	}
	f.Add(uint8(2), "BYTES", int64(2), int64(1), []byte{255, 255, 255, 255})
	f.Add(uint8(0), "FP32", int64(2), int64(-1), []byte{})
	f.Add(uint8(1), "INT8", int64(1<<40), int64(1<<40), []byte{1})
	f.Fuzz(func(t *testing.T, which uint8, dtype string, d0, d1 int64, raw []byte) {
		resp := goodResponse()
		k := int(which) % len(resp.Outputs)
		resp.Outputs[k].Datatype = dtype
		resp.Outputs[k].Shape = []int64{d0, d1}
		resp.RawOutputContents[k] = raw
		out, err := decodeAll(resp)
		if err == nil && len(out) != 2 {
			t.Errorf("%d messages decoded, want 2", len(out))
		}
	})
}

// BenchmarkEncodeBatch encodes 32 FP32 images of 3×224×224, as a batch
// call of an image classifier does: one buffer per tensor, sized once.
func BenchmarkEncodeBatch(b *testing.B) {
	descs := []goai.TensorDesc{{Name: "input__0", DType: tensor.FP32, Shape: []int64{3, 224, 224}}}
	batch := make([]*oippb.InferTensorContents, 32)
	for i := range batch {
		batch[i] = &oippb.InferTensorContents{Fp32Contents: make([]float32, 3*224*224)}
	}
	b.SetBytes(int64(len(batch) * 3 * 224 * 224 * 4))
	b.ReportAllocs()
	for b.Loop() {
		e := newEncoder(descs, len(batch), true, false)
		for _, x := range batch {
			AppendTensor(e.Tensor(0), x.GetFp32Contents())
		}
		if _, err := e.request(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBatch decodes the scores of 32 images, 1000 each.
func BenchmarkDecodeBatch(b *testing.B) {
	descs := []goai.TensorDesc{{Name: "output__0", DType: tensor.FP32, Shape: []int64{1000}}}
	resp := &oippb.ModelInferResponse{
		Outputs:           []*oippb.ModelInferResponse_InferOutputTensor{{Name: "output__0", Datatype: "FP32", Shape: []int64{32, 1000}}},
		RawOutputContents: [][]byte{make([]byte, 32*1000*4)},
	}
	out := make([]*oippb.InferTensorContents, 32)
	b.SetBytes(32 * 1000 * 4)
	b.ReportAllocs()
	for b.Loop() {
		d, err := decodeOIP(descs, 32, true, resp)
		if err != nil {
			b.Fatal(err)
		}
		for i := range out {
			out[i] = &oippb.InferTensorContents{Fp32Contents: DecodeTensor[float32](d.Tensor(0), i)}
		}
		if d.err != nil {
			b.Fatal(d.err)
		}
	}
}
