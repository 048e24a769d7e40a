package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/goai-dev/goai"
	benchv1 "github.com/goai-dev/goai/bench/gen/bench/v1"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wirecodec"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
)

// clientCase is one input size of the client comparison.
type clientCase struct {
	floats int
	model  string
	shape  []int64
}

var clientCases = []clientCase{
	{784, "identity_784", []int64{784}},
	{150528, "identity_150528", []int64{3, 224, 224}},
}

// startIdentityServer serves the benchmark's identity models on 127.0.0.1.
// The server uses goai's wire codec, so that both clients meet a server
// that spends as little as it can per call and the comparison measures the
// clients.
func startIdentityServer(tb testing.TB) *inferencetest.Server {
	tb.Helper()
	srv := inferencetest.New(inferencetest.WithGRPCServerOptions(wirecodec.ServerOption()))
	for _, c := range clientCases {
		if err := srv.Register(inferencetest.Identity(c.model, tensor.FP32, c.shape...)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := srv.StartTCP(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Stop)
	return srv
}

// echoFunc is one client's call: it sends values and returns the echo.
type echoFunc func(ctx context.Context, values []float32) ([]float32, error)

func baselineEcho(tb testing.TB, srv *inferencetest.Server, c clientCase) echoFunc {
	conn, err := grpc.NewClient(srv.Target(), srv.DialOptions()...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	client := &baselineClient{stub: oippb.NewClient(conn), model: c.model, shape: c.shape}
	return client.echo
}

func goaiEcho(tb testing.TB, srv *inferencetest.Server, c clientCase) echoFunc {
	switch c.floats {
	case 784:
		client, err := benchv1.NewSmallIdentityModelClient(srv.Target(), goai.WithInsecure())
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { client.Close() })
		return func(ctx context.Context, values []float32) ([]float32, error) {
			out, err := client.Echo(ctx, &benchv1.Small{Values: values})
			return out.GetValues(), err
		}
	default:
		client, err := benchv1.NewLargeIdentityModelClient(srv.Target(), goai.WithInsecure())
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

func ramp(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i) * 0.5
	}
	return v
}

// TestClientsEcho checks that both benchmarked clients return exactly what
// they sent, so that the benchmark compares clients doing the same work.
func TestClientsEcho(t *testing.T) {
	srv := startIdentityServer(t)
	for _, c := range clientCases {
		values := ramp(c.floats)
		for name, echo := range map[string]echoFunc{"baseline": baselineEcho(t, srv, c), "goai": goaiEcho(t, srv, c)} {
			got, err := echo(context.Background(), values)
			if err != nil {
				t.Fatalf("%s n=%d: %v", name, c.floats, err)
			}
			if !slices.Equal(got, values) {
				t.Errorf("%s n=%d: echo differs from the input", name, c.floats)
			}
		}
	}
}

// BenchmarkClient compares the generated client with the baseline client
// users write today, on the same in-process loopback server, at several
// concurrencies; both send the same values and decode the echo.
func BenchmarkClient(b *testing.B) {
	srv := startIdentityServer(b)
	ctx := context.Background()
	for _, variant := range []string{"baseline", "goai"} {
		for _, c := range clientCases {
			values := ramp(c.floats)
			for _, concurrency := range []int{1, 16, 64} {
				b.Run(fmt.Sprintf("%s/n=%d/c=%d", variant, c.floats, concurrency), func(b *testing.B) {
					echo := baselineEcho(b, srv, c)
					if variant == "goai" {
						echo = goaiEcho(b, srv, c)
					}
					if _, err := echo(ctx, values); err != nil { // connect first
						b.Fatal(err)
					}
					b.SetBytes(int64(8 * c.floats)) // sent and received
					runConcurrent(b, concurrency, func() error {
						_, err := echo(ctx, values)
						return err
					})
				})
			}
		}
	}
}
