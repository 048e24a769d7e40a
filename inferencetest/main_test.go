package inferencetest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start registers models on a new server, starts it in memory (or over TCP)
// and returns a client; cleanup stops both.
func start(t *testing.T, tcp bool, models []inferencetest.Model, opts ...inferencetest.Option) (*inferencetest.Server, oippb.Client) {
	t.Helper()
	srv := inferencetest.New(opts...)
	for _, m := range models {
		if err := srv.Register(m); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if tcp {
		err = srv.StartTCP()
	} else {
		err = srv.StartBufconn()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv, dial(t, srv)
}

func dial(t *testing.T, srv *inferencetest.Server, opts ...grpc.DialOption) oippb.Client {
	t.Helper()
	conn, err := srv.Dial(opts...)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after start's srv.Stop, so it runs first: clients go
	// before servers.
	t.Cleanup(func() { conn.Close() })
	return oippb.NewClient(conn)
}

// ctxT returns a context bounded well below the test timeout, so that a
// broken test fails in half a minute instead of hanging, and well above
// what a call takes on a loaded machine.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// doubler is a batching model: OUT = 2 * IN, FP32, one variable dimension.
func doubler() inferencetest.Model {
	return inferencetest.Model{
		Name:         "double",
		Versions:     []string{"1", "2"},
		Platform:     "goai_test",
		MaxBatchSize: 8,
		Inputs:       []inferencetest.TensorSpec{{Name: "IN", DType: tensor.FP32, Shape: []int64{-1}}},
		Outputs:      []inferencetest.TensorSpec{{Name: "OUT", DType: tensor.FP32, Shape: []int64{-1}}},
		Infer: func(_ context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			in := req.Inputs[0]
			v, err := tensor.DecodeFloat32(nil, in.Raw)
			if err != nil {
				return nil, err
			}
			for i := range v {
				v[i] *= 2
			}
			return []tensor.Tensor{{Name: "OUT", DType: tensor.FP32, Shape: in.Shape, Raw: tensor.AppendFloat32(nil, v)}}, nil
		},
	}
}

// rawFP32 builds a raw request for a one-input FP32 model.
func rawFP32(model, input string, shape []int64, v ...float32) *oippb.ModelInferRequest {
	return &oippb.ModelInferRequest{
		ModelName:        model,
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: input, Datatype: "FP32", Shape: shape}},
		RawInputContents: [][]byte{tensor.AppendFloat32(nil, v)},
	}
}

func decodeFP32(t *testing.T, raw []byte) []float32 {
	t.Helper()
	v, err := tensor.DecodeFloat32(nil, raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantCode fails unless err carries code and its message contains each of
// substrs.
func wantCode(t *testing.T, err error, code codes.Code, substrs ...string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v, want code %v", err, code)
	}
	for _, s := range substrs {
		if !strings.Contains(st.Message(), s) {
			t.Errorf("message %q does not contain %q", st.Message(), s)
		}
	}
}

// eventually polls cond, for conditions the server reaches on its own
// goroutines over TCP, where a test cannot run in a synctest bubble and
// wait with synctest.Wait. It gives up after half a minute, which only a
// broken server takes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

var errBoom = errors.New("boom")
