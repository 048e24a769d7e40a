package inferencetest_test

import (
	"context"
	"slices"
	"testing"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRawRoundTrip(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		name := map[bool]string{false: "bufconn", true: "tcp"}[tcp]
		t.Run(name, func(t *testing.T) {
			_, c := start(t, tcp, []inferencetest.Model{doubler()})
			req := rawFP32("double", "IN", []int64{2, 3}, 1, 2, 3, 4, 5, 6)
			req.Id = "r1"
			resp, err := c.ModelInfer(ctxT(t), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.ModelName != "double" || resp.ModelVersion != "2" || resp.Id != "r1" {
				t.Errorf("got model %q version %q id %q, want double, 2 (the last), r1", resp.ModelName, resp.ModelVersion, resp.Id)
			}
			if len(resp.Outputs) != 1 || len(resp.RawOutputContents) != 1 {
				t.Fatalf("got %d outputs and %d raw contents, want 1 and 1", len(resp.Outputs), len(resp.RawOutputContents))
			}
			out := resp.Outputs[0]
			if out.Name != "OUT" || out.Datatype != "FP32" || !slices.Equal(out.Shape, []int64{2, 3}) || out.Contents != nil {
				t.Errorf("got output %v", out)
			}
			if got := decodeFP32(t, resp.RawOutputContents[0]); !slices.Equal(got, []float32{2, 4, 6, 8, 10, 12}) {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestTypedInputsRawOutputs(t *testing.T) {
	_, c := start(t, false, []inferencetest.Model{doubler()})
	resp, err := c.ModelInfer(ctxT(t), &oippb.ModelInferRequest{
		ModelName:    "double",
		ModelVersion: "1",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{{
			Name: "IN", Datatype: "FP32", Shape: []int64{1, 2},
			Contents: &oippb.InferTensorContents{Fp32Contents: []float32{1.5, -1}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ModelVersion != "1" {
		t.Errorf("version %q, want 1", resp.ModelVersion)
	}
	// Triton always answers raw, whatever the request used.
	if resp.Outputs[0].Contents != nil || len(resp.RawOutputContents) != 1 {
		t.Fatalf("want raw output, got %v", resp)
	}
	if got := decodeFP32(t, resp.RawOutputContents[0]); !slices.Equal(got, []float32{3, -2}) {
		t.Errorf("got %v", got)
	}
}

func TestTypedOutputs(t *testing.T) {
	typed := doubler()
	typed.TypedOutputs = true
	cases := []struct {
		name  string
		model inferencetest.Model
		opts  []inferencetest.Option
	}{
		{"model", typed, nil},
		{"server", doubler(), []inferencetest.Option{inferencetest.WithTypedOutputs()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, c := start(t, false, []inferencetest.Model{tc.model}, tc.opts...)
			resp, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{1, 3}, 1, 2, 3))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.RawOutputContents) != 0 {
				t.Fatalf("typed response carries raw contents: %v", resp)
			}
			if got := resp.Outputs[0].GetContents().GetFp32Contents(); !slices.Equal(got, []float32{2, 4, 6}) {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestBytesRoundTrip(t *testing.T) {
	elems := []string{"", "a", "hello, world"}
	raw := tensor.AppendStringElements(nil, elems)
	for _, typedOut := range []bool{false, true} {
		m := inferencetest.Identity("echo", tensor.Bytes, -1)
		m.TypedOutputs = typedOut
		_, c := start(t, false, []inferencetest.Model{m})

		// Raw in.
		resp, err := c.ModelInfer(ctxT(t), &oippb.ModelInferRequest{
			ModelName:        "echo",
			Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "INPUT0", Datatype: "BYTES", Shape: []int64{3}}},
			RawInputContents: [][]byte{raw},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkBytes(t, resp, typedOut, elems)

		// Typed in: no length prefixes on the wire.
		resp, err = c.ModelInfer(ctxT(t), &oippb.ModelInferRequest{
			ModelName: "echo",
			Inputs: []*oippb.ModelInferRequest_InferInputTensor{{
				Name: "INPUT0", Datatype: "BYTES", Shape: []int64{3},
				Contents: &oippb.InferTensorContents{BytesContents: [][]byte{{}, []byte("a"), []byte("hello, world")}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkBytes(t, resp, typedOut, elems)
	}
}

func checkBytes(t *testing.T, resp *oippb.ModelInferResponse, typed bool, want []string) {
	t.Helper()
	var got []string
	if typed {
		for _, b := range resp.Outputs[0].GetContents().GetBytesContents() {
			got = append(got, string(b))
		}
	} else {
		var err error
		if got, err = tensor.DecodeStringElements(resp.RawOutputContents[0], -1); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("typed=%v: got %q, want %q", typed, got, want)
	}
}

// FP16 has no typed field, so a typed server must still answer raw.
func TestTypedOutputsFallBackToRawForFP16(t *testing.T) {
	m := inferencetest.Identity("half", tensor.FP16, 2)
	m.TypedOutputs = true
	_, c := start(t, false, []inferencetest.Model{m})
	raw := tensor.AppendFP16(nil, []float32{1, -2})
	resp, err := c.ModelInfer(ctxT(t), &oippb.ModelInferRequest{
		ModelName:        "half",
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "INPUT0", Datatype: "FP16", Shape: []int64{2}}},
		RawInputContents: [][]byte{raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Outputs[0].Contents != nil || len(resp.RawOutputContents) != 1 || string(resp.RawOutputContents[0]) != string(raw) {
		t.Errorf("want the raw FP16 bytes back, got %v", resp)
	}
}

// Narrow integers travel in int32 slots when typed.
func TestTypedInt8RoundTrip(t *testing.T) {
	m := inferencetest.Identity("i8", tensor.Int8, 3)
	m.TypedOutputs = true
	_, c := start(t, false, []inferencetest.Model{m})
	resp, err := c.ModelInfer(ctxT(t), &oippb.ModelInferRequest{
		ModelName: "i8",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{{
			Name: "INPUT0", Datatype: "INT8", Shape: []int64{3},
			Contents: &oippb.InferTensorContents{IntContents: []int32{-128, 0, 127}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Outputs[0].GetContents().GetIntContents(); !slices.Equal(got, []int32{-128, 0, 127}) {
		t.Errorf("got %v", got)
	}
}

// multi has three outputs of different datatypes, to check selection and
// order.
func multi() inferencetest.Model {
	return inferencetest.Model{
		Name:    "multi",
		Inputs:  []inferencetest.TensorSpec{{Name: "X", DType: tensor.FP32, Shape: []int64{2}}},
		Outputs: []inferencetest.TensorSpec{{Name: "A", DType: tensor.FP32, Shape: []int64{2}}, {Name: "B", DType: tensor.Int64, Shape: []int64{1}}, {Name: "C", DType: tensor.Bytes, Shape: []int64{1}}},
		Infer: func(_ context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			// Returned out of declared order on purpose.
			return []tensor.Tensor{
				{Name: "C", DType: tensor.Bytes, Shape: []int64{1}, Raw: tensor.AppendStringElements(nil, []string{"c"})},
				{Name: "A", DType: tensor.FP32, Shape: []int64{2}, Raw: req.Inputs[0].Raw},
				{Name: "B", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{int64(len(req.Outputs))})},
			}, nil
		},
	}
}

func TestRequestedOutputs(t *testing.T) {
	_, c := start(t, false, []inferencetest.Model{multi()})
	names := func(resp *oippb.ModelInferResponse) []string {
		var n []string
		for _, o := range resp.Outputs {
			n = append(n, o.Name)
		}
		return n
	}

	t.Run("all by default, declared order", func(t *testing.T) {
		resp, err := c.ModelInfer(ctxT(t), rawFP32("multi", "X", []int64{2}, 1, 2))
		if err != nil {
			t.Fatal(err)
		}
		if got := names(resp); !slices.Equal(got, []string{"A", "B", "C"}) || len(resp.RawOutputContents) != 3 {
			t.Errorf("got outputs %v with %d raw contents", got, len(resp.RawOutputContents))
		}
	})
	t.Run("only requested, request order", func(t *testing.T) {
		req := rawFP32("multi", "X", []int64{2}, 1, 2)
		req.Outputs = []*oippb.ModelInferRequest_InferRequestedOutputTensor{{Name: "C"}, {Name: "A"}}
		resp, err := c.ModelInfer(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(resp); !slices.Equal(got, []string{"C", "A"}) || len(resp.RawOutputContents) != 2 {
			t.Fatalf("got outputs %v with %d raw contents", got, len(resp.RawOutputContents))
		}
		if s, _ := tensor.DecodeStringElements(resp.RawOutputContents[0], -1); !slices.Equal(s, []string{"c"}) {
			t.Errorf("raw[0] = %q, want C's contents", s)
		}
		if v := decodeFP32(t, resp.RawOutputContents[1]); !slices.Equal(v, []float32{1, 2}) {
			t.Errorf("raw[1] = %v, want A's contents", v)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		req := rawFP32("multi", "X", []int64{2}, 1, 2)
		req.Outputs = []*oippb.ModelInferRequest_InferRequestedOutputTensor{{Name: "A"}, {Name: "Z"}}
		_, err := c.ModelInfer(ctxT(t), req)
		wantCode(t, err, codes.InvalidArgument, "unexpected inference output 'Z' for model 'multi'")
	})
	t.Run("twice", func(t *testing.T) {
		req := rawFP32("multi", "X", []int64{2}, 1, 2)
		req.Outputs = []*oippb.ModelInferRequest_InferRequestedOutputTensor{{Name: "A"}, {Name: "A"}}
		_, err := c.ModelInfer(ctxT(t), req)
		wantCode(t, err, codes.InvalidArgument, "output 'A' already exists")
	})
}

// validator batches up to 4 and has two inputs, so that every rule has
// something to trip on.
func validator() inferencetest.Model {
	return inferencetest.Model{
		Name:         "v",
		MaxBatchSize: 4,
		Inputs: []inferencetest.TensorSpec{
			{Name: "A", DType: tensor.FP32, Shape: []int64{2}},
			{Name: "B", DType: tensor.Int32, Shape: []int64{-1}},
		},
		Outputs: []inferencetest.TensorSpec{{Name: "OUT", DType: tensor.FP32, Shape: []int64{2}}},
		Infer: func(_ context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			a, _ := req.Input("A")
			return []tensor.Tensor{{Name: "OUT", DType: tensor.FP32, Shape: a.Shape, Raw: a.Raw}}, nil
		},
	}
}

type in = oippb.ModelInferRequest_InferInputTensor

// validReq is a good request for validator: batch 1, B of length 3.
func validReq() *oippb.ModelInferRequest {
	return &oippb.ModelInferRequest{
		ModelName: "v",
		Inputs: []*in{
			{Name: "A", Datatype: "FP32", Shape: []int64{1, 2}},
			{Name: "B", Datatype: "INT32", Shape: []int64{1, 3}},
		},
		RawInputContents: [][]byte{tensor.AppendFloat32(nil, []float32{1, 2}), tensor.AppendInt32(nil, []int32{1, 2, 3})},
	}
}

func TestValidation(t *testing.T) {
	bytesModel := inferencetest.Identity("s", tensor.Bytes, 2)
	flat := inferencetest.Identity("flat", tensor.FP32, 2, 3)
	_, c := start(t, false, []inferencetest.Model{validator(), bytesModel, flat})

	cases := []struct {
		name   string
		edit   func(r *oippb.ModelInferRequest)
		code   codes.Code
		substr string
	}{
		{"valid", func(r *oippb.ModelInferRequest) {}, codes.OK, ""},
		{"unknown model", func(r *oippb.ModelInferRequest) { r.ModelName = "nope" },
			codes.NotFound, "Request for unknown model: 'nope' is not found"},
		{"unknown version", func(r *oippb.ModelInferRequest) { r.ModelVersion = "7" },
			codes.NotFound, "Request for unknown model: 'v' version 7 is not found"},
		{"raw mixed with contents", func(r *oippb.ModelInferRequest) {
			r.Inputs[1].Contents = &oippb.InferTensorContents{IntContents: []int32{1, 2, 3}}
			r.RawInputContents = r.RawInputContents[:1]
		}, codes.InvalidArgument, "contents field must not be specified when using raw_input_contents for 'B' for model 'v'"},
		{"missing raw data", func(r *oippb.ModelInferRequest) { r.RawInputContents = r.RawInputContents[:1] },
			codes.InvalidArgument, "unable to find data for input tensor 'B' for model 'v' in request."},
		{"missing typed data", func(r *oippb.ModelInferRequest) {
			r.RawInputContents = nil
			r.Inputs[0].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{1, 2}}
		}, codes.InvalidArgument, "unable to find data for input tensor 'B'"},
		{"surplus raw data", func(r *oippb.ModelInferRequest) { r.RawInputContents = append(r.RawInputContents, nil) },
			codes.InvalidArgument, "the number of inputs (2) does not match the expected number of raw input contents (3)"},
		{"unknown input", func(r *oippb.ModelInferRequest) { r.Inputs[1].Name = "C" },
			codes.InvalidArgument, "[request id: <id_unknown>] unexpected inference input 'C' for model 'v'"},
		{"input twice", func(r *oippb.ModelInferRequest) { r.Inputs[1].Name = "A" },
			codes.InvalidArgument, "input 'A' already exists in request"},
		{"missing input", func(r *oippb.ModelInferRequest) {
			r.Inputs, r.RawInputContents = r.Inputs[:1], r.RawInputContents[:1]
		}, codes.InvalidArgument, "expected 2 inputs but got 1 inputs for model 'v'. Got input(s) ['A'], but missing required input(s) ['B']."},
		{"batch too large", func(r *oippb.ModelInferRequest) {
			r.Inputs[0].Shape, r.Inputs[1].Shape = []int64{5, 2}, []int64{5, 3}
		}, codes.InvalidArgument, "inference request batch-size must be <= 4 for 'v'"},
		{"batch sizes differ", func(r *oippb.ModelInferRequest) { r.Inputs[1].Shape = []int64{3, 1} },
			codes.InvalidArgument, "input 'B' batch size does not match other inputs for 'v'"},
		{"wrong datatype", func(r *oippb.ModelInferRequest) { r.Inputs[0].Datatype = "FP64" },
			codes.InvalidArgument, "inference input 'A' data-type is 'FP64', but model 'v' expects 'FP32'"},
		{"unknown datatype", func(r *oippb.ModelInferRequest) { r.Inputs[0].Datatype = "fp32" },
			codes.InvalidArgument, "data-type is 'fp32'"},
		{"wrong dimension", func(r *oippb.ModelInferRequest) { r.Inputs[0].Shape = []int64{1, 3} },
			codes.InvalidArgument, "unexpected shape for input 'A' for model 'v'. Expected [-1,2], got [1,3]"},
		{"no batch dimension", func(r *oippb.ModelInferRequest) { r.Inputs[0].Shape, r.Inputs[1].Shape = []int64{2}, []int64{2} },
			codes.InvalidArgument, "unexpected shape for input 'A' for model 'v'. Expected [-1,2], got [2]"},
		{"scalar on a batching model", func(r *oippb.ModelInferRequest) { r.Inputs[0].Shape = nil },
			codes.InvalidArgument, "Expected [-1,2], got []"},
		{"negative dimension", func(r *oippb.ModelInferRequest) { r.Inputs[1].Shape = []int64{1, -1} },
			codes.InvalidArgument, "unexpected shape for input 'B' for model 'v'. Expected [-1,-1], got [1,-1]"},
		{"byte size", func(r *oippb.ModelInferRequest) { r.RawInputContents[0] = r.RawInputContents[0][:4] },
			codes.InvalidArgument, "input byte size mismatch for input 'A' for model 'v'. Expected 8, got 4"},
		{"typed count", func(r *oippb.ModelInferRequest) {
			r.RawInputContents = nil
			r.Inputs[0].Contents = &oippb.InferTensorContents{Fp32Contents: []float32{1}}
			r.Inputs[1].Contents = &oippb.InferTensorContents{IntContents: []int32{1, 2, 3}}
		}, codes.InvalidArgument, "unable to decode contents of input 'A' for model 'v'"},
		{"typed wrong field", func(r *oippb.ModelInferRequest) {
			r.RawInputContents = nil
			r.Inputs[0].Contents = &oippb.InferTensorContents{Fp64Contents: []float64{1, 2}}
			r.Inputs[1].Contents = &oippb.InferTensorContents{IntContents: []int32{1, 2, 3}}
		}, codes.InvalidArgument, "unable to decode contents of input 'A'"},
		{"request id in message", func(r *oippb.ModelInferRequest) { r.Id = "req-7"; r.Inputs[0].Datatype = "INT8" },
			codes.InvalidArgument, "[request id: req-7] inference input 'A'"},
		{"unflattened model rank", func(r *oippb.ModelInferRequest) {
			*r = oippb.ModelInferRequest{
				ModelName:        "flat",
				Inputs:           []*in{{Name: "INPUT0", Datatype: "FP32", Shape: []int64{1, 2, 3}}},
				RawInputContents: [][]byte{make([]byte, 24)},
			}
		}, codes.InvalidArgument, "unexpected shape for input 'INPUT0' for model 'flat'. Expected [2,3], got [1,2,3]"},
		{"BYTES framing", func(r *oippb.ModelInferRequest) {
			*r = oippb.ModelInferRequest{
				ModelName:        "s",
				Inputs:           []*in{{Name: "INPUT0", Datatype: "BYTES", Shape: []int64{2}}},
				RawInputContents: [][]byte{tensor.AppendStringElements(nil, []string{"only one"})},
			}
		}, codes.InvalidArgument, "invalid BYTES contents for input 'INPUT0' for model 's'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := validReq()
			tc.edit(req)
			_, err := c.ModelInfer(ctxT(t), req)
			wantCode(t, err, tc.code, tc.substr)
		})
	}
}

// Inputs reach the model in declared order, whatever the request's order,
// with the batch size and parameters.
func TestRequestPassedToModel(t *testing.T) {
	var got *inferencetest.Request
	m := validator()
	next := m.Infer
	m.Infer = func(ctx context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
		got = req
		return next(ctx, req)
	}
	_, c := start(t, false, []inferencetest.Model{m})
	req := validReq()
	req.Inputs[0], req.Inputs[1] = req.Inputs[1], req.Inputs[0]
	req.RawInputContents[0], req.RawInputContents[1] = req.RawInputContents[1], req.RawInputContents[0]
	req.Parameters = map[string]*oippb.InferParameter{"k": {ParameterChoice: &oippb.InferParameter_Int64Param{Int64Param: 9}}}
	if _, err := c.ModelInfer(ctxT(t), req); err != nil {
		t.Fatal(err)
	}
	if got.Inputs[0].Name != "A" || got.Inputs[1].Name != "B" || got.Inputs[1].DType != tensor.Int32 {
		t.Errorf("inputs %v, want A then B", got.Inputs)
	}
	if got.BatchSize != 1 || got.Version != "1" || got.Model != "v" {
		t.Errorf("batch %d version %q model %q", got.BatchSize, got.Version, got.Model)
	}
	if got.Parameters["k"] != int64(9) || got.Message == nil {
		t.Errorf("parameters %v", got.Parameters)
	}
	if !slices.Equal(got.Outputs, []string{"OUT"}) {
		t.Errorf("outputs %v", got.Outputs)
	}
}

func TestModelErrors(t *testing.T) {
	mk := func(name string, f inferencetest.InferFunc) inferencetest.Model {
		m := inferencetest.Identity(name, tensor.FP32, 1)
		m.Infer = f
		return m
	}
	out := func(name string, dt tensor.DType, raw []byte) []tensor.Tensor {
		return []tensor.Tensor{{Name: name, DType: dt, Shape: []int64{1}, Raw: raw}}
	}
	four := make([]byte, 4)
	models := []inferencetest.Model{
		mk("status", func(context.Context, *inferencetest.Request) ([]tensor.Tensor, error) {
			return nil, status.Error(codes.ResourceExhausted, "out of GPU memory")
		}),
		mk("plain", func(context.Context, *inferencetest.Request) ([]tensor.Tensor, error) { return nil, errBoom }),
		mk("missing", func(context.Context, *inferencetest.Request) ([]tensor.Tensor, error) { return nil, nil }),
		mk("dtype", func(context.Context, *inferencetest.Request) ([]tensor.Tensor, error) {
			return out("OUTPUT0", tensor.Int32, four), nil
		}),
		mk("size", func(context.Context, *inferencetest.Request) ([]tensor.Tensor, error) {
			return out("OUTPUT0", tensor.FP32, nil), nil
		}),
		mk("undeclared", func(context.Context, *inferencetest.Request) ([]tensor.Tensor, error) {
			return out("X", tensor.FP32, four), nil
		}),
	}
	_, c := start(t, false, models)
	cases := []struct {
		model  string
		code   codes.Code
		substr string
	}{
		{"status", codes.ResourceExhausted, "out of GPU memory"},
		{"plain", codes.Internal, "model 'plain': boom"},
		{"missing", codes.Internal, "returned no output 'OUTPUT0'"},
		{"dtype", codes.Internal, "returned output 'OUTPUT0' as INT32, declared FP32"},
		{"size", codes.Internal, "malformed output"},
		{"undeclared", codes.Internal, "undeclared output 'X'"},
	}
	for _, tc := range cases {
		_, err := c.ModelInfer(ctxT(t), rawFP32(tc.model, "INPUT0", []int64{1}, 1))
		wantCode(t, err, tc.code, tc.substr)
	}
}

func TestModelNotReady(t *testing.T) {
	srv, c := start(t, false, []inferencetest.Model{doubler()})
	if err := srv.SetModelReady("double", false); err != nil {
		t.Fatal(err)
	}
	_, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{1, 1}, 1))
	wantCode(t, err, codes.Unavailable, "'double' version 2 is not at ready state")
	if err := srv.SetModelReady("double", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{1, 1}, 1)); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetModelReady("nope", true); err == nil {
		t.Error("SetModelReady of an unknown model succeeded")
	}
}
