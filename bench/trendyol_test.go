package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/goai-dev/goai/internal/coexist/tritonpb"
)

// The Trendyol-style client: a client written the way the README of
// Trendyol/go-triton-client, the most complete community Go client of
// Triton, uses that library, by goai from the documented usage (nothing
// of the library's code is copied): an input object carrying its
// parameters in a map[string]any, filled by SetData(data any, binaryData
// bool), which switches on the data's type and writes each element with
// binary.Write into a bytes.Buffer; a request built from the inputs with
// a parameter map of its own; a result that gathers every raw output
// into one buffer indexed by output name; and AsFloat32Slice, which
// converts that buffer element by element. Its stubs are Triton's
// generated grpc_service.proto, on a plain grpc.ClientConn.

// trendyolInput is an input tensor as the library's InferInput holds it.
type trendyolInput struct {
	Name       string
	Datatype   string
	Shape      []int64
	Parameters map[string]any
	Data       []any // typed contents, when not sent as binary data
	RawData    []byte
}

func newTrendyolInput(name, datatype string, shape []int64, parameters map[string]any) *trendyolInput {
	if parameters == nil {
		parameters = map[string]any{}
	}
	return &trendyolInput{Name: name, Datatype: datatype, Shape: shape, Parameters: parameters}
}

// SetData stores data as raw contents (binaryData) or as elements of
// Data, after checking its Go type against the datatype.
func (in *trendyolInput) SetData(data any, binaryData bool) error {
	if got := trendyolDatatype(data); got != in.Datatype {
		return fmt.Errorf("trendyol: %T is %s, the input is %s", data, got, in.Datatype)
	}
	if !binaryData {
		delete(in.Parameters, "binary_data_size")
		in.RawData, in.Data = nil, nil
		for _, v := range data.([]float32) {
			in.Data = append(in.Data, v)
		}
		return nil
	}
	var buf bytes.Buffer
	switch data := data.(type) {
	case []float32:
		for _, v := range data {
			if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
				return err
			}
		}
	case []int64:
		for _, v := range data {
			if err := binary.Write(&buf, binary.LittleEndian, v); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("trendyol: unsupported data %T", data)
	}
	in.Data, in.RawData = nil, buf.Bytes()
	in.Parameters["binary_data_size"] = len(in.RawData)
	return nil
}

func trendyolDatatype(data any) string {
	switch data.(type) {
	case []float32:
		return "FP32"
	case []int64:
		return "INT64"
	}
	return "UNKNOWN"
}

// tensor is the input's request tensor; its data goes into the request's
// raw contents.
func (in *trendyolInput) tensor() *tritonpb.ModelInferRequest_InferInputTensor {
	t := &tritonpb.ModelInferRequest_InferInputTensor{Name: in.Name, Datatype: in.Datatype, Shape: in.Shape}
	if len(in.RawData) == 0 {
		c := &tritonpb.InferTensorContents{}
		for _, v := range in.Data {
			c.Fp32Contents = append(c.Fp32Contents, v.(float32))
		}
		t.Contents = c
	}
	return t
}

// trendyolOutput is a requested output with its parameters.
type trendyolOutput struct {
	Name       string
	Parameters map[string]any
}

// trendyolClient makes the library's Infer(ctx, model, version, inputs,
// outputs) call.
type trendyolClient struct {
	stub tritonpb.GRPCInferenceServiceClient
}

func (c *trendyolClient) Infer(ctx context.Context, model, version string, inputs []*trendyolInput, outputs []*trendyolOutput) (*trendyolResult, error) {
	req := &tritonpb.ModelInferRequest{
		ModelName:    model,
		ModelVersion: version,
		Parameters:   map[string]*tritonpb.InferParameter{},
		Inputs:       make([]*tritonpb.ModelInferRequest_InferInputTensor, len(inputs)),
	}
	for i, in := range inputs {
		req.Inputs[i] = in.tensor()
		if in.RawData != nil {
			req.RawInputContents = append(req.RawInputContents, in.RawData)
		}
	}
	if len(outputs) == 0 {
		req.Parameters["binary_data_output"] = &tritonpb.InferParameter{ParameterChoice: &tritonpb.InferParameter_BoolParam{BoolParam: true}}
	}
	for _, o := range outputs {
		req.Outputs = append(req.Outputs, &tritonpb.ModelInferRequest_InferRequestedOutputTensor{Name: o.Name})
	}
	resp, err := c.stub.ModelInfer(ctx, req)
	if err != nil {
		return nil, err
	}
	return newTrendyolResult(resp)
}

// trendyolResult holds every raw output in one buffer, found by name.
type trendyolResult struct {
	resp   *tritonpb.ModelInferResponse
	offset map[string]int
	buffer []byte
}

func newTrendyolResult(resp *tritonpb.ModelInferResponse) (*trendyolResult, error) {
	if len(resp.RawOutputContents) != len(resp.Outputs) {
		return nil, fmt.Errorf("trendyol: %d raw outputs for %d outputs", len(resp.RawOutputContents), len(resp.Outputs))
	}
	r := &trendyolResult{resp: resp, offset: map[string]int{}}
	for i, o := range resp.Outputs {
		r.offset[o.Name] = len(r.buffer)
		r.buffer = append(r.buffer, resp.RawOutputContents[i]...)
	}
	return r, nil
}

// AsFloat32Slice converts the named output's bytes, to the end of the
// buffer, element by element.
func (r *trendyolResult) AsFloat32Slice(name string) ([]float32, error) {
	start, ok := r.offset[name]
	if !ok {
		return nil, fmt.Errorf("trendyol: no output %q", name)
	}
	return convertEach(r.buffer[start:], 4, func(b []byte) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(b))
	}), nil
}

func convertEach[T any](buf []byte, size int, convert func([]byte) T) []T {
	out := make([]T, len(buf)/size)
	for i := range out {
		out[i] = convert(buf[i*size : (i+1)*size])
	}
	return out
}

// trendyolEcho is the benchmark's call, as the README's inference example
// makes it.
func trendyolEcho(client *trendyolClient, c clientCase) echoFunc {
	return func(ctx context.Context, values []float32) ([]float32, error) {
		input := newTrendyolInput("INPUT0", "FP32", c.shape, nil)
		if err := input.SetData(values, true); err != nil {
			return nil, err
		}
		outputs := []*trendyolOutput{{Name: "OUTPUT0", Parameters: map[string]any{"binary_data": true}}}
		result, err := client.Infer(ctx, c.model, "", []*trendyolInput{input}, outputs)
		if err != nil {
			return nil, err
		}
		return result.AsFloat32Slice("OUTPUT0")
	}
}
