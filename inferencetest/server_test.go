package inferencetest_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestModelMetadata(t *testing.T) {
	_, c := start(t, false, []inferencetest.Model{doubler(), inferencetest.Identity("flat", tensor.Int64, 2, -1)})
	shapes := func(ts []*oippb.ModelMetadataResponse_TensorMetadata) (out [][]int64) {
		for _, x := range ts {
			out = append(out, x.Shape)
		}
		return out
	}

	t.Run("batch dimension", func(t *testing.T) {
		md, err := c.ModelMetadata(ctxT(t), &oippb.ModelMetadataRequest{Name: "double"})
		if err != nil {
			t.Fatal(err)
		}
		if md.Name != "double" || md.Platform != "goai_test" || !slices.Equal(md.Versions, []string{"1", "2"}) {
			t.Errorf("got %v", md)
		}
		if md.Inputs[0].Name != "IN" || md.Inputs[0].Datatype != "FP32" || !slices.Equal(md.Inputs[0].Shape, []int64{-1, -1}) {
			t.Errorf("input %v, want IN FP32 [-1 -1]", md.Inputs[0])
		}
		if md.Outputs[0].Name != "OUT" || !slices.Equal(md.Outputs[0].Shape, []int64{-1, -1}) {
			t.Errorf("output %v", md.Outputs[0])
		}
	})
	t.Run("no batch dimension", func(t *testing.T) {
		md, err := c.ModelMetadata(ctxT(t), &oippb.ModelMetadataRequest{Name: "flat", Version: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := shapes(md.Inputs); len(got) != 1 || !slices.Equal(got[0], []int64{2, -1}) {
			t.Errorf("input shapes %v, want [[2 -1]]", got)
		}
		if md.Inputs[0].Datatype != "INT64" || !slices.Equal(md.Versions, []string{"1"}) {
			t.Errorf("got %v", md)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		_, err := c.ModelMetadata(ctxT(t), &oippb.ModelMetadataRequest{Name: "nope"})
		wantCode(t, err, codes.NotFound, "'nope' is not found")
		_, err = c.ModelMetadata(ctxT(t), &oippb.ModelMetadataRequest{Name: "double", Version: "3"})
		wantCode(t, err, codes.NotFound, "'double' version 3 is not found")
	})
}

func TestServerRPCs(t *testing.T) {
	srv, c := start(t, false, []inferencetest.Model{doubler()},
		inferencetest.WithServerMetadata("triton", "2.50.0", "classification", "binary_tensor_data"))
	ctx := ctxT(t)

	live, err := c.ServerLive(ctx, &oippb.ServerLiveRequest{})
	if err != nil || !live.Live {
		t.Errorf("ServerLive = %v, %v", live, err)
	}
	ready, err := c.ServerReady(ctx, &oippb.ServerReadyRequest{})
	if err != nil || !ready.Ready {
		t.Errorf("ServerReady = %v, %v", ready, err)
	}
	srv.SetServerReady(false)
	if ready, err = c.ServerReady(ctx, &oippb.ServerReadyRequest{}); err != nil || ready.Ready {
		t.Errorf("ServerReady after SetServerReady(false) = %v, %v", ready, err)
	}
	md, err := c.ServerMetadata(ctx, &oippb.ServerMetadataRequest{})
	if err != nil || md.Name != "triton" || md.Version != "2.50.0" || !slices.Equal(md.Extensions, []string{"classification", "binary_tensor_data"}) {
		t.Errorf("ServerMetadata = %v, %v", md, err)
	}

	modelReady := func(name, version string) bool {
		t.Helper()
		r, err := c.ModelReady(ctx, &oippb.ModelReadyRequest{Name: name, Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return r.Ready
	}
	if !modelReady("double", "") || !modelReady("double", "1") || modelReady("double", "9") || modelReady("nope", "") {
		t.Error("ModelReady: want true, true, false (unknown version), false (unknown model)")
	}
	if err := srv.SetModelReady("double", false); err != nil {
		t.Fatal(err)
	}
	if modelReady("double", "") {
		t.Error("ModelReady after SetModelReady(false) = true")
	}
	if _, err := c.ModelMetadata(ctx, &oippb.ModelMetadataRequest{Name: "double"}); err == nil {
		t.Error("ModelMetadata of a model not ready succeeded")
	}
	if !srv.Unregister("double") || srv.Unregister("double") {
		t.Error("Unregister: want true, then false")
	}
	if modelReady("double", "") {
		t.Error("ModelReady after Unregister = true")
	}
}

func TestModelStreamInfer(t *testing.T) {
	counter := inferencetest.Model{
		Name:    "count",
		Inputs:  []inferencetest.TensorSpec{{Name: "N", DType: tensor.FP32, Shape: []int64{1}}},
		Outputs: []inferencetest.TensorSpec{{Name: "OUT", DType: tensor.FP32, Shape: []int64{1}}},
		Stream: func(ctx context.Context, req *inferencetest.Request, send func([]tensor.Tensor, bool) error) error {
			n, err := tensor.DecodeFloat32(nil, req.Inputs[0].Raw)
			if err != nil {
				return err
			}
			for i := range int(n[0]) {
				out := tensor.Tensor{Name: "OUT", DType: tensor.FP32, Shape: []int64{1}, Raw: tensor.AppendFloat32(nil, []float32{float32(i)})}
				if err := send([]tensor.Tensor{out}, false); err != nil {
					return err
				}
			}
			return nil
		},
	}
	_, c := start(t, false, []inferencetest.Model{doubler(), counter})
	stream, err := c.ModelStreamInfer(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	send := func(id string, r *oippb.ModelInferRequest) {
		t.Helper()
		r.Id = id
		if err := stream.Send(r); err != nil {
			t.Fatal(err)
		}
	}
	send("a", rawFP32("double", "IN", []int64{1, 2}, 1, 2))
	send("b", rawFP32("nope", "IN", []int64{1}, 1))
	send("c", rawFP32("double", "IN", []int64{1, 1}, 5))
	dec := rawFP32("count", "N", []int64{1}, 3)
	dec.Parameters = map[string]*oippb.InferParameter{"triton_enable_empty_final_response": {ParameterChoice: &oippb.InferParameter_BoolParam{BoolParam: true}}}
	send("d", dec)
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var order []string
	tokens := 0
	for {
		resp, err := stream.Recv()
		if err != nil {
			if err != io.EOF {
				t.Fatalf("stream ended with %v, want OK after its requests", err)
			}
			break
		}
		ir := resp.GetInferResponse()
		final := ir.GetParameters()["triton_final_response"].GetBoolParam()
		switch id := ir.GetId(); id {
		case "a", "c":
			if resp.GetErrorMessage() != "" || !final {
				t.Errorf("%s: error %q, final %v; want a final answer", id, resp.GetErrorMessage(), final)
			}
			order = append(order, id)
		case "b":
			if !strings.Contains(resp.GetErrorMessage(), "nope") {
				t.Errorf("unknown model: error_message %q", resp.GetErrorMessage())
			}
			order = append(order, id)
		case "d":
			if final {
				if len(ir.GetOutputs()) != 0 || tokens != 3 {
					t.Errorf("decoupled final after %d tokens with %d outputs, want an empty one after 3", tokens, len(ir.GetOutputs()))
				}
				order = append(order, id)
				continue
			}
			if got := decodeFP32(t, ir.GetRawOutputContents()[0]); got[0] != float32(tokens) {
				t.Errorf("token %d = %v", tokens, got)
			}
			tokens++
		default:
			t.Errorf("response of unknown id %q", id)
		}
	}
	// The answers to the model that is not decoupled keep their order.
	if i, j := slices.Index(order, "a"), slices.Index(order, "c"); i < 0 || j < i || len(order) != 4 {
		t.Errorf("completion order %v, want a before c and all four", order)
	}
	// ModelInfer refuses a decoupled model, as Triton does.
	_, err = c.ModelInfer(ctxT(t), rawFP32("count", "N", []int64{1}, 3))
	wantCode(t, err, codes.Unimplemented)
}

func TestRegisterRejects(t *testing.T) {
	ok := inferencetest.Identity("m", tensor.FP32, 1)
	cases := map[string]func(m *inferencetest.Model){
		"no name":          func(m *inferencetest.Model) { m.Name = "" },
		"no Infer":         func(m *inferencetest.Model) { m.Infer = nil },
		"invalid datatype": func(m *inferencetest.Model) { m.Inputs[0].DType = tensor.Invalid },
		"bad dimension":    func(m *inferencetest.Model) { m.Outputs[0].Shape = []int64{-2} },
		"input twice":      func(m *inferencetest.Model) { m.Inputs = append(m.Inputs, m.Inputs[0]) },
		"version twice":    func(m *inferencetest.Model) { m.Versions = []string{"1", "1"} },
		"empty version":    func(m *inferencetest.Model) { m.Versions = []string{""} },
		"negative batch":   func(m *inferencetest.Model) { m.MaxBatchSize = -1 },
		"unnamed output":   func(m *inferencetest.Model) { m.Outputs[0].Name = "" },
	}
	srv := inferencetest.New()
	for name, edit := range cases {
		m := ok
		m.Inputs = slices.Clone(ok.Inputs)
		m.Outputs = slices.Clone(ok.Outputs)
		edit(&m)
		if err := srv.Register(m); err == nil {
			t.Errorf("%s: Register succeeded", name)
		}
	}
	if err := srv.Register(ok); err != nil {
		t.Errorf("valid model: %v", err)
	}
}

func TestLifecycleErrors(t *testing.T) {
	srv := inferencetest.New()
	if _, err := srv.Dial(); err == nil {
		t.Error("Dial before start succeeded")
	}
	if err := srv.Up(); err == nil {
		t.Error("Up before start succeeded")
	}
	if err := srv.StartBufconn(); err != nil {
		t.Fatal(err)
	}
	if err := srv.StartTCP(); err == nil {
		t.Error("second start succeeded")
	}
	if err := srv.Up(); err != nil {
		t.Errorf("Up while up: %v", err)
	}
	srv.Stop()
	srv.Stop()
	if err := srv.Up(); !errors.Is(err, inferencetest.ErrStopped) {
		t.Errorf("Up after Stop = %v, want ErrStopped", err)
	}
}

func TestRestartSameAddress(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		name := map[bool]string{false: "bufconn", true: "tcp"}[tcp]
		t.Run(name, func(t *testing.T) {
			srv, c := start(t, tcp, []inferencetest.Model{doubler()})
			addr := srv.Addr()
			call := func(opts ...grpc.CallOption) error {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err := c.ModelInfer(ctx, rawFP32("double", "IN", []int64{1, 1}, 1), opts...)
				return err
			}
			if err := call(); err != nil {
				t.Fatal(err)
			}

			srv.Down()
			wantCode(t, call(), codes.Unavailable)
			if err := srv.Up(); err != nil {
				t.Fatal(err)
			}
			if srv.Addr() != addr {
				t.Errorf("address changed from %s to %s", addr, srv.Addr())
			}
			// The same client reconnects on its own.
			recovered := func(when string) {
				t.Helper()
				// WaitForReady rides out the reconnection backoff. A call
				// racing the client's discovery of the dropped connection
				// may still fail once, as against a real server.
				err := call(grpc.WaitForReady(true))
				if status.Code(err) == codes.Unavailable {
					err = call(grpc.WaitForReady(true))
				}
				if err != nil {
					t.Fatalf("%s: %v", when, err)
				}
			}
			recovered("after Up")
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			recovered("after Restart")
			if got := srv.Stats().Models["double"].Codes[codes.OK]; got != 3 {
				t.Errorf("%d successes recorded across restarts, want 3", got)
			}
		})
	}
}

// DialContext reaches the server whatever address it is given, so that a
// client reaching several servers through one target can dial each
// address with its server's DialContext.
func TestDialContext(t *testing.T) {
	if _, err := inferencetest.New().DialContext(context.Background(), "x"); err == nil {
		t.Error("DialContext before start succeeded")
	}
	for _, tcp := range []bool{false, true} {
		name := map[bool]string{false: "bufconn", true: "tcp"}[tcp]
		t.Run(name, func(t *testing.T) {
			srv, _ := start(t, tcp, []inferencetest.Model{doubler()})
			conn, err := grpc.NewClient("passthrough:///replica-1",
				grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithContextDialer(srv.DialContext))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			c := oippb.NewClient(conn)
			if err := infer(c, ctxT(t), ""); err != nil {
				t.Fatal(err)
			}
			srv.Drain()
			if _, err := srv.DialContext(ctxT(t), "replica-1"); err == nil {
				t.Error("DialContext while down succeeded")
			}
			if err := srv.Up(); err != nil {
				t.Fatal(err)
			}
			if err := infer(c, ctxT(t), "", grpc.WaitForReady(true)); err != nil {
				t.Fatalf("after Up: %v", err)
			}
			if n := srv.Stats().Models["double"].Codes[codes.OK]; n != 2 {
				t.Errorf("the server served %d calls, want 2", n)
			}
		})
	}
}

// Down fails calls in flight, including hanging ones, without waiting for
// their deadlines.
func TestDownFailsCallsInFlight(t *testing.T) {
	srv, c := start(t, true, []inferencetest.Model{doubler()})
	srv.SetFaults(inferencetest.Faults{Hang: true})
	errc := make(chan error, 1)
	go func() {
		_, err := c.ModelInfer(context.Background(), rawFP32("double", "IN", []int64{1, 1}, 1))
		errc <- err
	}()
	eventually(t, "the call to arrive", func() bool { return srv.Stats().Calls["ModelInfer"] == 1 })
	srv.Down()
	wantCode(t, <-errc, codes.Unavailable)

}

// After Drain, unlike after Down, no call fails for want of noticing the
// connection is gone: GOAWAY told the client.
func TestDrainAndUp(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		name := map[bool]string{false: "bufconn", true: "tcp"}[tcp]
		t.Run(name, func(t *testing.T) {
			srv, c := start(t, tcp, []inferencetest.Model{doubler()})
			for i := range 3 {
				if _, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{1, 1}, 1)); err != nil {
					t.Fatalf("round %d, before Drain: %v", i, err)
				}
				srv.Drain()
				_, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{1, 1}, 1))
				wantCode(t, err, codes.Unavailable)
				if err := srv.Up(); err != nil {
					t.Fatal(err)
				}
				if _, err := c.ModelInfer(ctxT(t), rawFP32("double", "IN", []int64{1, 1}, 1), grpc.WaitForReady(true)); err != nil {
					t.Fatalf("round %d, after Up: %v", i, err)
				}
			}
		})
	}
}

// Stop is graceful, but a hanging call must not hold it up.
func TestStopReleasesHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := inferencetest.New()
		if err := srv.Register(doubler()); err != nil {
			t.Fatal(err)
		}
		if err := srv.StartBufconn(); err != nil {
			t.Fatal(err)
		}
		conn, err := srv.Dial()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := oippb.NewClient(conn)
		srv.Script(inferencetest.Hang())
		errc := make(chan error, 1)
		go func() {
			_, err := c.ModelInfer(context.Background(), rawFP32("double", "IN", []int64{1, 1}, 1))
			errc <- err
		}()
		synctest.Wait()
		if n := srv.Stats().Calls["ModelInfer"]; n != 1 {
			t.Fatalf("%d calls arrived, want 1", n)
		}
		srv.Stop()
		wantCode(t, <-errc, codes.Unavailable, "server is stopping")
	})
}

// Large tensors need the raised message limits on both sides.
func TestLargeMessage(t *testing.T) {
	_, c := start(t, false, []inferencetest.Model{inferencetest.Identity("big", tensor.Uint8, -1)})
	raw := make([]byte, 6<<20) // above grpc-go's 4 MiB default
	resp, err := c.ModelInfer(ctxT(t), &oippb.ModelInferRequest{
		ModelName:        "big",
		Inputs:           []*in{{Name: "INPUT0", Datatype: "UINT8", Shape: []int64{int64(len(raw))}}},
		RawInputContents: [][]byte{raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.RawOutputContents[0]) != len(raw) {
		t.Errorf("got %d bytes back", len(resp.RawOutputContents[0]))
	}
}
