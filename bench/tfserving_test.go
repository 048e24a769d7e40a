package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/goai-dev/goai"
	benchv1 "github.com/goai-dev/goai/bench/gen/bench/v1"
	"github.com/goai-dev/goai/internal/tfscoexist/realpb/tensorflow/core/framework"
	"github.com/goai-dev/goai/internal/tfscoexist/realpb/tensorflow_serving/apis"
)

// The TF Serving comparison: goai's client of a PROTOCOL_TF_SERVING
// service against a TF Serving client written the usual way, on stubs
// generated from the real tensorflow_serving/apis protos (the copy that
// internal/tfscoexist tests goai's private messages against): a
// TensorProto filled by appending each value to float_val, and the
// answer's float_val copied out element by element. Both call the bench
// server's identity models, which answer in float_val as TF Serving does
// by default.

// tfHandClient is the hand-written TF Serving client.
type tfHandClient struct {
	stub  apis.PredictionServiceClient
	model string
	shape []int64
}

func (c *tfHandClient) echo(ctx context.Context, values []float32) ([]float32, error) {
	shape := &framework.TensorShapeProto{}
	for _, d := range c.shape {
		shape.Dim = append(shape.Dim, &framework.TensorShapeProto_Dim{Size: d})
	}
	in := &framework.TensorProto{Dtype: framework.DataType_DT_FLOAT, TensorShape: shape}
	for _, v := range values {
		in.FloatVal = append(in.FloatVal, v)
	}
	resp, err := c.stub.Predict(ctx, &apis.PredictRequest{
		ModelSpec: &apis.ModelSpec{Name: c.model, SignatureName: "serving_default"},
		Inputs:    map[string]*framework.TensorProto{"INPUT0": in},
	})
	if err != nil {
		return nil, err
	}
	out, ok := resp.GetOutputs()["OUTPUT0"]
	if !ok {
		return nil, fmt.Errorf("no output OUTPUT0 in the answer")
	}
	var got []float32
	for _, v := range out.GetFloatVal() {
		got = append(got, v)
	}
	return got, nil
}

// tfServingVariants are the TF Serving clients compared.
var tfServingVariants = []clientVariant{
	{"goai", goaiTFServingEcho},
	{"handwritten", func(tb testing.TB, target string, c clientCase) echoFunc {
		client := &tfHandClient{stub: apis.NewPredictionServiceClient(plainConn(tb, target)), model: c.model, shape: c.shape}
		return client.echo
	}},
}

func goaiTFServingEcho(tb testing.TB, target string, c clientCase) echoFunc {
	switch c.floats {
	case 784:
		client, err := benchv1.NewSmallIdentityTFServingModelClient(target, goai.WithInsecure())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { client.Close() })
		return func(ctx context.Context, values []float32) ([]float32, error) {
			out, err := client.Echo(ctx, &benchv1.Small{Values: values})
			return out.GetValues(), err
		}
	default:
		client, err := benchv1.NewLargeIdentityTFServingModelClient(target, goai.WithInsecure())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { client.Close() })
		return func(ctx context.Context, values []float32) ([]float32, error) {
			out, err := client.Echo(ctx, &benchv1.Large{Values: values})
			return out.GetValues(), err
		}
	}
}

// TestTFServingClientsEcho checks that both TF Serving clients return
// exactly what they sent.
func TestTFServingClientsEcho(t *testing.T) { testEcho(t, tfServingVariants) }

// BenchmarkTFServingClient compares goai's TF Serving client with the
// hand-written one, as BenchmarkClient compares the Open Inference
// clients: the same server process, sizes, concurrencies and figures.
func BenchmarkTFServingClient(b *testing.B) { benchEcho(b, tfServingVariants) }
