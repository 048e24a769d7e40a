package inferencetest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A model that scales a batch of vectors, called through the raw Open
// Inference Protocol client; then a scripted outage.
func Example() {
	srv := inferencetest.New()
	err := srv.Register(inferencetest.Model{
		Name:         "scale",
		MaxBatchSize: 8,
		Inputs:       []inferencetest.TensorSpec{{Name: "x", DType: tensor.FP32, Shape: []int64{2}}},
		Outputs:      []inferencetest.TensorSpec{{Name: "y", DType: tensor.FP32, Shape: []int64{2}}},
		Infer: func(ctx context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			x, err := tensor.DecodeFloat32(nil, req.Inputs[0].Raw)
			if err != nil {
				return nil, err
			}
			for i := range x {
				x[i] *= 10
			}
			y := tensor.Tensor{Name: "y", DType: tensor.FP32, Shape: req.Inputs[0].Shape, Raw: tensor.AppendFloat32(nil, x)}
			return []tensor.Tensor{y}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	conn, err := srv.Dial()
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := oippb.NewClient(conn)
	ctx := context.Background()

	md, err := client.ModelMetadata(ctx, &oippb.ModelMetadataRequest{Name: "scale"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("input", md.Inputs[0].Name, md.Inputs[0].Datatype, md.Inputs[0].Shape)

	req := &oippb.ModelInferRequest{
		ModelName:        "scale",
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "FP32", Shape: []int64{2, 2}}},
		RawInputContents: [][]byte{tensor.AppendFloat32(nil, []float32{1, 2, 3, 4})},
	}
	resp, err := client.ModelInfer(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	y, err := tensor.DecodeFloat32(nil, resp.RawOutputContents[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("output", resp.Outputs[0].Name, resp.Outputs[0].Shape, y)

	srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())
	for range 2 {
		_, err := client.ModelInfer(ctx, req)
		fmt.Println("call:", status.Code(err))
	}
	fmt.Println("requests received:", srv.Stats().Models["scale"].Calls)
	// Output:
	// input x FP32 [-1 2]
	// output y [2 2] [10 20 30 40]
	// call: Unavailable
	// call: OK
	// requests received: 3
}
