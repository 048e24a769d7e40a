package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/goai-dev/goai/internal/coexist/tritonpb"
)

// nvidiaClient is the client goai replaces, written in the style of
// Triton's Go example (triton-inference-server/client,
// src/grpc_generated/go): the protoc-gen-go stubs of Triton's own
// grpc_service.proto on a plain grpc.ClientConn (grpc's default codec),
// inputs encoded element by element with binary.LittleEndian.PutUint32
// into a 4-byte scratch appended to a growing slice, as the example's
// Preprocess does. Outputs are decoded element by element with
// binary.LittleEndian.Uint32 into a slice made once, not with the
// example's one binary.Read per element (two allocations each, 300,000
// per call at 150528 floats): a baseline that careless would flatter goai.
type nvidiaClient struct {
	stub  tritonpb.GRPCInferenceServiceClient
	model string
	shape []int64
}

func (c *nvidiaClient) echo(ctx context.Context, values []float32) ([]float32, error) {
	var raw []byte
	bs := make([]byte, 4)
	for _, v := range values {
		binary.LittleEndian.PutUint32(bs, math.Float32bits(v))
		raw = append(raw, bs...)
	}
	req := &tritonpb.ModelInferRequest{
		ModelName: c.model,
		Inputs: []*tritonpb.ModelInferRequest_InferInputTensor{
			{Name: "INPUT0", Datatype: "FP32", Shape: c.shape},
		},
		Outputs: []*tritonpb.ModelInferRequest_InferRequestedOutputTensor{{Name: "OUTPUT0"}},
	}
	req.RawInputContents = append(req.RawInputContents, raw)
	resp, err := c.stub.ModelInfer(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(resp.RawOutputContents) != 1 {
		return nil, fmt.Errorf("nvidia: %d raw outputs, want 1", len(resp.RawOutputContents))
	}
	out := resp.RawOutputContents[0]
	values = make([]float32, len(out)/4)
	for i := range values {
		values[i] = math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
	}
	return values, nil
}
