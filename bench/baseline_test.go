package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/goai-dev/goai/internal/oippb"
)

// baselineClient is the client goai replaces: the protoc-gen-go-grpc stub
// of the Open Inference Protocol, with tensors encoded and decoded element
// by element as Triton's Go example client does (PutUint32 into a 4-byte
// scratch and append to encode; one binary.Read per element to decode).
type baselineClient struct {
	stub  oippb.Client
	model string
	shape []int64
}

func (c *baselineClient) echo(ctx context.Context, values []float32) ([]float32, error) {
	var raw []byte
	scratch := make([]byte, 4)
	for _, v := range values {
		binary.LittleEndian.PutUint32(scratch, math.Float32bits(v))
		raw = append(raw, scratch...)
	}
	req := &oippb.ModelInferRequest{
		ModelName: c.model,
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{
			{Name: "INPUT0", Datatype: "FP32", Shape: c.shape},
		},
		Outputs:          []*oippb.ModelInferRequest_InferRequestedOutputTensor{{Name: "OUTPUT0"}},
		RawInputContents: [][]byte{raw},
	}
	resp, err := c.stub.ModelInfer(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(resp.GetRawOutputContents()) != 1 {
		return nil, fmt.Errorf("baseline: %d raw outputs, want 1", len(resp.GetRawOutputContents()))
	}
	out := resp.GetRawOutputContents()[0]
	values = make([]float32, len(out)/4)
	for i := range values {
		if err := binary.Read(bytes.NewReader(out[4*i:4*i+4]), binary.LittleEndian, &values[i]); err != nil {
			return nil, err
		}
	}
	return values, nil
}
