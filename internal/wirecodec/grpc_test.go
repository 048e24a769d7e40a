package wirecodec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
)

// echoServer answers ModelInfer with its inputs as outputs, raw, and
// checks on the way that the request arrived intact.
type echoServer struct {
	oippb.UnimplementedServer
}

func (echoServer) ModelInfer(_ context.Context, req *oippb.ModelInferRequest) (*oippb.ModelInferResponse, error) {
	resp := &oippb.ModelInferResponse{ModelName: req.ModelName, Id: req.Id}
	for i, in := range req.Inputs {
		dt, err := tensor.ParseDType(in.Datatype)
		if err != nil {
			return nil, err
		}
		if err := (tensor.Tensor{Name: in.Name, DType: dt, Shape: in.Shape, Raw: req.RawInputContents[i]}).Validate(); err != nil {
			return nil, err
		}
		resp.Outputs = append(resp.Outputs, &oippb.ModelInferResponse_InferOutputTensor{Name: in.Name, Datatype: in.Datatype, Shape: in.Shape})
	}
	resp.RawOutputContents = req.RawInputContents
	return resp, nil
}

func (s echoServer) ModelStreamInfer(stream grpc.BidiStreamingServer[oippb.ModelInferRequest, oippb.ModelStreamInferResponse]) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		resp, err := s.ModelInfer(stream.Context(), req)
		if err != nil {
			return err
		}
		if err := stream.Send(&oippb.ModelStreamInferResponse{InferResponse: resp}); err != nil {
			return err
		}
	}
}

const maxMsg = 64 << 20

// dial starts an echo server on an in-memory listener and returns a
// client; each side uses Codec if asked, grpc's default codec otherwise.
func dial(t *testing.T, clientCodec, serverCodec bool) oippb.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	sopts := []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg)}
	if serverCodec {
		sopts = append(sopts, ServerOption())
	}
	srv := grpc.NewServer(sopts...)
	oippb.Register(srv, echoServer{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	copts := []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
	}
	if clientCodec {
		copts = append(copts, DialOption())
	}
	conn, err := grpc.NewClient("passthrough:///bufconn", copts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return oippb.NewClient(conn)
}

func testRequest() *oippb.ModelInferRequest {
	img := make([]float32, 3*224*224)
	for i := range img {
		img[i] = float32(i%255) / 255
	}
	big := make([]float32, 1<<20) // 4 MiB, over grpc's default limit
	big[len(big)-1] = 7
	return &oippb.ModelInferRequest{
		ModelName: "echo",
		Id:        "r1",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{
			{Name: "image", Datatype: "FP32", Shape: []int64{1, 3, 224, 224}},
			{Name: "big", Datatype: "FP32", Shape: []int64{1 << 20}},
			{Name: "text", Datatype: "BYTES", Shape: []int64{2}},
			{Name: "mask", Datatype: "FP16", Shape: []int64{2}},
			{Name: "none", Datatype: "INT64", Shape: []int64{0}},
		},
		RawInputContents: [][]byte{
			tensor.AppendFloat32(nil, img),
			tensor.AppendFloat32(nil, big),
			tensor.AppendStringElements(nil, []string{"hello", ""}),
			tensor.AppendFP16(nil, []float32{1, -0.5}),
			{},
		},
	}
}

func checkEcho(t *testing.T, req *oippb.ModelInferRequest, resp *oippb.ModelInferResponse) {
	t.Helper()
	if resp.Id != req.Id || len(resp.RawOutputContents) != len(req.RawInputContents) {
		t.Fatalf("response %q with %d raw outputs", resp.Id, len(resp.RawOutputContents))
	}
	for i := range req.RawInputContents {
		if !bytes.Equal(resp.RawOutputContents[i], req.RawInputContents[i]) {
			t.Fatalf("output %d differs from input", i)
		}
	}
	got, err := tensor.DecodeFloat32(nil, resp.RawOutputContents[1])
	if err != nil || got[len(got)-1] != 7 {
		t.Fatalf("big tensor: %v", err)
	}
}

func TestGRPCRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name           string
		client, server bool
	}{
		{"both", true, true},
		{"client only", true, false},
		{"server only", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := dial(t, tc.client, tc.server)
			req := testRequest()
			before := proto.Clone(req)
			for range 3 {
				resp, err := client.ModelInfer(t.Context(), req)
				if err != nil {
					t.Fatal(err)
				}
				checkEcho(t, req, resp)
			}
			if !proto.Equal(req, before) {
				t.Fatal("the call modified the request")
			}

			stream, err := client.ModelStreamInfer(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := stream.Send(req); err != nil {
					t.Fatal(err)
				}
				resp, err := stream.Recv()
				if err != nil {
					t.Fatal(err)
				}
				checkEcho(t, req, resp.InferResponse)
			}
			if err := stream.CloseSend(); err != nil {
				t.Fatal(err)
			}
			if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
				t.Fatalf("stream end: %v", err)
			}
		})
	}
}

// TestGRPCResponsesStayIntact keeps many small responses, which arrive in
// one pooled transport buffer each and so are aliased rather than copied,
// and checks after all calls that none was overwritten by buffer reuse.
func TestGRPCResponsesStayIntact(t *testing.T) {
	client := dial(t, true, true)
	var resps []*oippb.ModelInferResponse
	var want [][]byte
	for i := range 200 {
		payload := bytes.Repeat([]byte{byte(i)}, 100+i*37)
		req := &oippb.ModelInferRequest{
			Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "UINT8", Shape: []int64{int64(len(payload))}}},
			RawInputContents: [][]byte{payload},
		}
		resp, err := client.ModelInfer(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
		want = append(want, payload)
	}
	for i, resp := range resps {
		if !bytes.Equal(resp.RawOutputContents[0], want[i]) {
			t.Fatalf("response %d changed after later calls", i)
		}
	}
}
