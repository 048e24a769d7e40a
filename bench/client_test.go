package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/goai-dev/goai"
	benchv1 "github.com/goai-dev/goai/bench/gen/bench/v1"
	"github.com/goai-dev/goai/bench/internal/benchserver"
	"github.com/goai-dev/goai/internal/coexist/tritonpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// clientCase is one input size of the client comparison.
type clientCase struct {
	floats int
	model  string
	shape  []int64
}

// The client comparison's sizes: an image, small and large.
var clientCases = slices.DeleteFunc(benchCases(), func(c clientCase) bool { return c.floats < 784 })

// benchCases returns a case of each of the bench server's models.
func benchCases() []clientCase {
	var cases []clientCase
	for _, m := range benchserver.Models {
		n := int64(1)
		for _, d := range m.Shape {
			n *= d
		}
		cases = append(cases, clientCase{int(n), m.Name, m.Shape})
	}
	return cases
}

// echoFunc is one client's call: it sends values and returns the echo.
type echoFunc func(ctx context.Context, values []float32) ([]float32, error)

// clientVariant is a client compared, by name: make makes its client of
// case c against the server at target, closed at tb's end.
type clientVariant struct {
	name string
	make func(tb testing.TB, target string, c clientCase) echoFunc
}

// clientVariants are the Open Inference clients compared.
var clientVariants = []clientVariant{
	{"goai", goaiEcho},
	{"nvidia", func(tb testing.TB, target string, c clientCase) echoFunc {
		client := &nvidiaClient{stub: tritonpb.NewGRPCInferenceServiceClient(plainConn(tb, target)), model: c.model, shape: c.shape}
		return client.echo
	}},
	{"trendyol", func(tb testing.TB, target string, c clientCase) echoFunc {
		return trendyolEcho(&trendyolClient{stub: tritonpb.NewGRPCInferenceServiceClient(plainConn(tb, target))}, c)
	}},
}

// plainConn is a connection as the hand-written clients make one: grpc's
// defaults, its default codec included.
func plainConn(tb testing.TB, target string) *grpc.ClientConn {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

func goaiEcho(tb testing.TB, target string, c clientCase) echoFunc {
	return goaiEchoWith(tb, target, c, goai.WithInsecure())
}

// goaiEchoWith is goaiEcho with opts, over gRPC or REST as target says.
func goaiEchoWith(tb testing.TB, target string, c clientCase, opts ...goai.Option) echoFunc {
	switch c.floats {
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
	case 784:
		client, err := benchv1.NewSmallIdentityModelClient(target, opts...)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { client.Close() })
		return func(ctx context.Context, values []float32) ([]float32, error) {
			out, err := client.Echo(ctx, &benchv1.Small{Values: values})
			return out.GetValues(), err
		}
	default:
		client, err := benchv1.NewLargeIdentityModelClient(target, opts...)
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

// TestClientsEcho checks that every benchmarked client returns exactly
// what it sent, so that the benchmark compares clients doing the same
// work.
func TestClientsEcho(t *testing.T) { testEcho(t, clientVariants) }

// testEcho checks that each of variants returns exactly what it sent, at
// every size of clientCases.
func testEcho(t *testing.T, variants []clientVariant) {
	target := benchServer(t).Target()
	for _, c := range clientCases {
		values := ramp(c.floats)
		for _, v := range variants {
			got, err := v.make(t, target, c)(context.Background(), values)
			if err != nil {
				t.Fatalf("%s n=%d: %v", v.name, c.floats, err)
			}
			if !slices.Equal(got, values) {
				t.Errorf("%s n=%d: echo differs from the input", v.name, c.floats)
			}
		}
	}
}

// BenchmarkClient compares the generated client with the clients users
// write today, against one model server in a separate process on
// 127.0.0.1, at several concurrencies; every client sends the same values
// and decodes the echo. With -count, each round runs every client in
// turn, so that drift of the machine spreads over all of them. Besides
// throughput and latency it reports the client's own cost per call: CPU
// (cpu-µs/call, from getrusage of this process, which holds no server),
// allocations and bytes allocated (-benchmem), and the server's CPU per
// call (server-cpu-µs/call) for comparison.
func BenchmarkClient(b *testing.B) { benchEcho(b, clientVariants) }

// benchEcho runs BenchmarkClient's cases for variants: every size of
// clientCases at concurrency 1 and 64, against one server process.
func benchEcho(b *testing.B, variants []clientVariant) {
	server := benchServer(b)
	ctx := context.Background()
	for _, v := range variants {
		for _, c := range clientCases {
			values := ramp(c.floats)
			for _, concurrency := range []int{1, 64} {
				b.Run(fmt.Sprintf("%s/n=%d/c=%d", v.name, c.floats, concurrency), func(b *testing.B) {
					echo := v.make(b, server.Target(), c)
					if _, err := echo(ctx, values); err != nil { // connect first
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.SetBytes(int64(8 * c.floats)) // sent and received
					runConcurrent(b, concurrency, server, func() error {
						_, err := echo(ctx, values)
						return err
					})
				})
			}
		}
	}
}
