package goaiimpl

import (
	"context"
	"errors"
	"slices"
	"testing"
	"unsafe"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/testalloc"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// vectorDesc describes model "vector": FP32 vectors of any length in and
// out, the tensors of InferTensorContents' fp32_contents, with a batch
// dimension of up to 4 items.
func vectorDesc() *goai.ModelDesc {
	tensors := contentsTensors[:1]
	return &goai.ModelDesc{
		Service:      "test.v1.Vector",
		Model:        goai.ModelRef{Name: "vector"},
		MaxBatchSize: 4,
		Methods: []goai.MethodDesc{{
			Name: "Echo", FullMethod: "/test.v1.Vector/Echo", Model: goai.ModelRef{Name: "vector"},
			Inputs: tensors, Outputs: tensors,
		}},
	}
}

func encodeVector(e *Encoder, batch []*oippb.InferTensorContents) {
	for _, x := range batch {
		AppendTensor(e.Tensor(0), x.GetFp32Contents())
	}
}

func decodeVector(d *Decoder, batch []*oippb.InferTensorContents) {
	for i := range batch {
		batch[i] = &oippb.InferTensorContents{Fp32Contents: DecodeTensor[float32](d.Tensor(0), i)}
	}
}

// echoConn is a grpc.ClientConnInterface that answers ModelInfer with a
// response prepared once, of the data of the first request, after
// calling inspect on every request: what a gRPC connection would
// serialize, before anything is copied for the wire.
type echoConn struct {
	inspect func(*oippb.ModelInferRequest)
	resp    *oippb.ModelInferResponse
}

func (c *echoConn) Invoke(_ context.Context, _ string, args, reply any, _ ...grpc.CallOption) error {
	req := args.(*oippb.ModelInferRequest)
	c.inspect(req)
	if in := req.GetInputs()[0]; c.resp == nil || !slices.Equal(c.resp.Outputs[0].Shape, in.GetShape()) {
		c.resp = &oippb.ModelInferResponse{
			ModelName:         req.GetModelName(),
			Outputs:           []*oippb.ModelInferResponse_InferOutputTensor{{Name: "x", Datatype: in.GetDatatype(), Shape: in.GetShape()}},
			RawOutputContents: [][]byte{append([]byte(nil), req.GetRawInputContents()[0]...)},
		}
	}
	// The response shares the prepared data, as one the wire codec reads
	// in place shares its received buffer.
	r := reply.(*oippb.ModelInferResponse)
	r.ModelName, r.Outputs, r.RawOutputContents = c.resp.ModelName, c.resp.Outputs, c.resp.RawOutputContents
	return nil
}

func (c *echoConn) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, errors.New("echoConn: no streams")
}

// TestInferSendsCallerMemory checks that a single call's FP32 tensor
// reaches the connection as the caller's own memory, not a copy of it, so
// that what a call allocates is about the size of its answer alone; and
// that this holds for a batch request of one item, not for a batch of
// several, whose data is stacked.
func TestInferSendsCallerMemory(t *testing.T) {
	const n = 150528
	values := make([]float32, n)
	for i := range values {
		values[i] = float32(i)
	}
	in := &oippb.InferTensorContents{Fp32Contents: values}
	shared := func(raw []byte) bool {
		return len(raw) == 4*n && unsafe.Pointer(unsafe.SliceData(raw)) == unsafe.Pointer(unsafe.SliceData(values))
	}
	var sent []bool
	conn := &echoConn{inspect: func(req *oippb.ModelInferRequest) {
		sent = append(sent, shared(req.GetRawInputContents()[0]))
	}}
	desc := vectorDesc()
	c := NewClientFromConn(conn, desc)
	method := &desc.Methods[0]
	ctx := context.Background()

	out, err := Infer(ctx, c, method, in, encodeVector, decodeVector)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(out, in) {
		t.Fatal("the echo differs from the input")
	}
	// Only a host whose memory is the wire form can send it as it is; the
	// portable path copies.
	_, viewable := tensor.View(tensor.FP32, values)
	if len(sent) != 1 || sent[0] != viewable {
		t.Fatalf("Infer sent the caller's memory: %v, want %v", sent, viewable)
	}
	// The answer's values are the one allocation that scales: the input
	// is sent as it is.
	// Under -race, slices.Grow allocates a temporary of the grown size
	// as well (the compiler keeps append's make), doubling the answer's
	// cost: the bound holds for the code as built without it.
	size := uint64(4 * n)
	if got := testalloc.Least(func() { Infer(ctx, c, method, in, encodeVector, decodeVector) }, size+size/4); !raceEnabled && got > size+size/4 {
		t.Errorf("Infer of %d bytes allocated %d bytes, want about %d (the answer's)", size, got, size)
	}

	sent = nil
	if _, err := InferBatch(ctx, c, method, []*oippb.InferTensorContents{in}, encodeVector, decodeVector); err != nil {
		t.Fatal(err)
	}
	if _, err := InferBatch(ctx, c, method, []*oippb.InferTensorContents{in, in}, encodeVector, decodeVector); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0] != viewable || sent[1] {
		t.Fatalf("InferBatch sent the caller's memory: %v, want [%v false]: only a request of one item shares it", sent, viewable)
	}
}
