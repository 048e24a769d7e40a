package coexist

import (
	"context"
	"net"
	"slices"
	"testing"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/coexist/tritonpb"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/internal/testgen/vision/v1/visionv1goaitest"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// This test binary links goai's generated client, its runtime and its
// in-process server beside tritonpb, Triton's own grpc_service.proto as
// NVIDIA's gen_go_stubs.sh generates it: that it runs at all proves the
// two register in protobuf-go's global registry without a conflict, which
// panics at init by default.

// TestBothRegistered checks that Triton's messages are in the global
// registry under their own names, beside goai's private copy.
func TestBothRegistered(t *testing.T) {
	for _, name := range []string{"inference.ModelInferRequest", "inference.ModelStreamInferResponse", "goai.internal.oip.v1.ModelInferRequest"} {
		if _, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// classify is the fake model: the class the first pixel names, in
// thousandths.
func classify(ctx context.Context, img *visionv1.Image) (*visionv1.Classification, error) {
	scores := make([]float32, 1000)
	scores[int(img.GetPixels()[0]*1000)] = 1
	return &visionv1.Classification{Scores: scores}, nil
}

func image(class int) *visionv1.Image {
	img := &visionv1.Image{Pixels: make([]float32, 3*224*224)}
	img.Pixels[0] = (float32(class) + 0.5) / 1000
	return img
}

// TestOneServerTwoClients calls goai's in-process server through goai's
// generated client and through Triton's stubs, in one binary.
func TestOneServerTwoClients(t *testing.T) {
	srv := inferencetest.New()
	if err := visionv1goaitest.RegisterImageClassifierFake(srv, visionv1goaitest.ImageClassifierFakeFunc(classify)); err != nil {
		t.Fatal(err)
	}
	if err := srv.StartTCP(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	c, err := visionv1.NewImageClassifierModelClient(srv.Addr(), goai.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	res, err := c.ClassifyOffline(t.Context(), image(7))
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Index(res.GetScores(), 1); got != 7 {
		t.Errorf("goai's client: class %d, want 7", got)
	}

	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	triton := tritonpb.NewGRPCInferenceServiceClient(conn)
	raw := tensor.AppendFloat32(nil, image(42).GetPixels())
	resp, err := triton.ModelInfer(t.Context(), &tritonpb.ModelInferRequest{
		ModelName:        "resnet50",
		Inputs:           []*tritonpb.ModelInferRequest_InferInputTensor{{Name: "input__0", Datatype: "FP32", Shape: []int64{1, 3, 224, 224}}},
		RawInputContents: [][]byte{raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetRawOutputContents()) != 1 {
		t.Fatalf("Triton's stub got %d raw outputs", len(resp.GetRawOutputContents()))
	}
	scores, err := tensor.DecodeFloat32(nil, resp.GetRawOutputContents()[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Index(scores, 1); got != 42 {
		t.Errorf("Triton's stub: class %d, want 42", got)
	}
	meta, err := triton.ModelMetadata(t.Context(), &tritonpb.ModelMetadataRequest{Name: "resnet50"})
	if err != nil || meta.GetName() != "resnet50" {
		t.Errorf("Triton's stub: metadata %v, %v", meta, err)
	}
}

// tritonServer serves ModelInfer and ModelMetadata with Triton's own stubs,
// as a server in Go built on them would: the wire is all that goai's
// client and it share.
type tritonServer struct {
	tritonpb.UnimplementedGRPCInferenceServiceServer
}

func (tritonServer) ModelInfer(_ context.Context, req *tritonpb.ModelInferRequest) (*tritonpb.ModelInferResponse, error) {
	pixels, err := tensor.DecodeFloat32(nil, req.GetRawInputContents()[0])
	if err != nil {
		return nil, err
	}
	res, _ := classify(context.Background(), &visionv1.Image{Pixels: pixels})
	return &tritonpb.ModelInferResponse{
		ModelName:         req.GetModelName(),
		ModelVersion:      "3",
		Outputs:           []*tritonpb.ModelInferResponse_InferOutputTensor{{Name: "output__0", Datatype: "FP32", Shape: []int64{1, 1000}}},
		RawOutputContents: [][]byte{tensor.AppendFloat32(nil, res.GetScores())},
	}, nil
}

func (tritonServer) ModelMetadata(_ context.Context, req *tritonpb.ModelMetadataRequest) (*tritonpb.ModelMetadataResponse, error) {
	return &tritonpb.ModelMetadataResponse{
		Name:     req.GetName(),
		Versions: []string{"3"},
		Inputs:   []*tritonpb.ModelMetadataResponse_TensorMetadata{{Name: "input__0", Datatype: "FP32", Shape: []int64{-1, 3, 224, 224}}},
		Outputs:  []*tritonpb.ModelMetadataResponse_TensorMetadata{{Name: "output__0", Datatype: "FP32", Shape: []int64{-1, 1000}}},
	}, nil
}

// TestGoaiClientOnTritonStubs calls a server built on Triton's real stubs
// with goai's generated client: its request and the server's answer
// agree on every field the two use.
func TestGoaiClientOnTritonStubs(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	tritonpb.RegisterGRPCInferenceServiceServer(s, tritonServer{})
	go func() { _ = s.Serve(lis) }()
	defer s.Stop()

	c, err := visionv1.NewImageClassifierModelClient(lis.Addr().String(), goai.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CheckModel(t.Context()); err != nil {
		t.Errorf("CheckModel against Triton's stubs: %v", err)
	}
	var info goai.CallInfo
	res, err := c.ClassifyOffline(t.Context(), image(123), goai.Report(&info))
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Index(res.GetScores(), 1); got != 123 || info.Attempts != 1 {
		t.Errorf("class %d after %d attempts, want 123 after 1", got, info.Attempts)
	}
}
