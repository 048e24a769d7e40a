package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/goai-dev/goai"
	benchv1 "github.com/goai-dev/goai/bench/gen/bench/v1"
)

// transportStreams is how many streams the stream transport keeps in the
// comparison of transports.
const transportStreams = 4

// transportEcho returns the echo of a generated client of the n-float
// identity model (16 or 784), dialed with opts.
func transportEcho(tb testing.TB, target string, n int, opts ...goai.Option) echoFunc {
	opts = append([]goai.Option{goai.WithInsecure()}, opts...)
	switch n {
	case 16:
		client, err := benchv1.NewTinyIdentityModelClient(target, opts...)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { client.Close() })
		return func(ctx context.Context, values []float32) ([]float32, error) {
			out, err := client.Echo(ctx, &benchv1.Tiny{Values: values})
			return out.GetValues(), err
		}
	default:
		client, err := benchv1.NewSmallIdentityModelClient(target, opts...)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { client.Close() })
		return func(ctx context.Context, values []float32) ([]float32, error) {
			out, err := client.Echo(ctx, &benchv1.Small{Values: values})
			return out.GetValues(), err
		}
	}
}

// transportVariants are the transports compared: one ModelInfer call per
// request, and requests multiplexed over ModelStreamInfer streams.
var transportVariants = []struct {
	name string
	opts []goai.Option
}{
	{"unary", nil},
	{"stream", []goai.Option{goai.WithStreamTransport(transportStreams)}},
}

// TestTransportsEcho checks that both transports return what they sent.
func TestTransportsEcho(t *testing.T) {
	target := benchServer(t).Target()
	for _, n := range []int{16, 784} {
		values := ramp(n)
		for _, v := range transportVariants {
			got, err := transportEcho(t, target, n, v.opts...)(context.Background(), values)
			if err != nil || !slices.Equal(got, values) {
				t.Errorf("%s n=%d: %v, echo equal: %v", v.name, n, err, slices.Equal(got, values))
			}
		}
	}
}

// BenchmarkTransport compares the generated client's two transports
// against the server in a separate process: unary ModelInfer calls, and
// the stream transport (WithStreamTransport) multiplexing the calls over
// a few long-lived ModelStreamInfer streams. It reports calls/s and the
// client's CPU per call, as BenchmarkClient does.
func BenchmarkTransport(b *testing.B) {
	server := benchServer(b)
	ctx := context.Background()
	for _, n := range []int{16, 784} {
		values := ramp(n)
		for _, concurrency := range []int{1, 16, 64, 256} {
			for _, v := range transportVariants {
				b.Run(fmt.Sprintf("%s/n=%d/c=%d", v.name, n, concurrency), func(b *testing.B) {
					echo := transportEcho(b, server.Target(), n, v.opts...)
					if _, err := echo(ctx, values); err != nil { // connect first
						b.Fatal(err)
					}
					b.ReportAllocs()
					runConcurrent(b, concurrency, server, func() error {
						_, err := echo(ctx, values)
						return err
					})
				})
			}
		}
	}
}
