package bench

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/bench/internal/benchserver"
	"github.com/goai-dev/goai/goaiimpl"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// streamResponses is how many responses one call of the streaming decode
// benchmark gets.
const streamResponses = 1000

// tokensDesc describes the streaming rpc Generate of the benchmark server's
// decoupled model, as protoc-gen-goai would: Int64Value in, Int64Value out.
var tokensDesc = &goai.ModelDesc{
	Service:  "bench.v1.Tokens",
	Model:    goai.ModelRef{Name: benchserver.TokensModel},
	Protocol: goai.ProtocolOpenInference,
	Methods: []goai.MethodDesc{{
		Name: "Generate", FullMethod: "/bench.v1.Tokens/Generate", Model: goai.ModelRef{Name: benchserver.TokensModel},
		Inputs:  []goai.TensorDesc{{Name: "COUNT", Field: "value", DType: tensor.Int64, Shape: []int64{1}}},
		Outputs: []goai.TensorDesc{{Name: "TOKEN", Field: "value", DType: tensor.Int64, Shape: []int64{1}}},
	}},
}

func encodeCount(e *goaiimpl.Encoder, batch []*wrapperspb.Int64Value) {
	for _, x := range batch {
		goaiimpl.AppendTensor(e.Tensor(0), []int64{x.GetValue()})
	}
}

func decodeToken(d *goaiimpl.Decoder, batch []*wrapperspb.Int64Value) {
	for i := range batch {
		v := goaiimpl.DecodeTensor[int64](d.Tensor(0), i)
		batch[i] = &wrapperspb.Int64Value{}
		if len(v) == 1 {
			batch[i].Value = v[0]
		}
	}
}

// generateTokens makes one call of n tokens through goaiimpl.Generate and
// returns how many came, and their sum.
func generateTokens(ctx context.Context, c *goai.Client, n int64) (int, int64, error) {
	count, sum := 0, int64(0)
	for tok, err := range goaiimpl.Generate(ctx, c, &tokensDesc.Methods[0], wrapperspb.Int64(n), encodeCount, decodeToken) {
		if err != nil {
			return count, sum, err
		}
		count++
		sum += tok.GetValue()
	}
	return count, sum, nil
}

// rawTokens makes the same call on the bare stream, decoding each
// response with protobuf alone: the baseline.
func rawTokens(ctx context.Context, client oippb.Client, n int64) (int, int64, error) {
	s, err := client.ModelStreamInfer(ctx)
	if err != nil {
		return 0, 0, err
	}
	req := &oippb.ModelInferRequest{
		ModelName:        benchserver.TokensModel,
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "COUNT", Datatype: "INT64", Shape: []int64{1}}},
		RawInputContents: [][]byte{tensor.AppendInt64(nil, []int64{n})},
	}
	if err := s.Send(req); err != nil {
		return 0, 0, err
	}
	if err := s.CloseSend(); err != nil {
		return 0, 0, err
	}
	count, sum := 0, int64(0)
	for {
		resp, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return count, sum, nil
		}
		if err != nil {
			return count, sum, err
		}
		if msg := resp.GetErrorMessage(); msg != "" {
			return count, sum, errors.New(msg)
		}
		raw := resp.GetInferResponse().GetRawOutputContents()
		if len(raw) == 1 {
			v, err := tensor.DecodeInt64(nil, raw[0])
			if err != nil {
				return count, sum, err
			}
			count++
			sum += v[0]
		}
	}
}

// TestStreamTokens checks that both streaming clients get every token.
func TestStreamTokens(t *testing.T) {
	target := benchServer(t).Target()
	c, err := goaiimpl.NewClient(target, tokensDesc, goai.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := int64(streamResponses * (streamResponses - 1) / 2)
	if n, sum, err := generateTokens(context.Background(), c, streamResponses); err != nil || n != streamResponses || sum != want {
		t.Errorf("goai: %d tokens summing to %d, %v; want %d summing to %d", n, sum, err, streamResponses, want)
	}
	if n, sum, err := rawTokens(context.Background(), oippb.NewClient(plainConn(t, target)), streamResponses); err != nil || n != streamResponses || sum != want {
		t.Errorf("raw: %d tokens summing to %d, %v", n, sum, err)
	}
}

// BenchmarkStreamDecode measures one call of a decoupled model answering
// with 1000 responses, against the server in a separate process: the
// client's allocations per response, through goaiimpl.Generate (what a
// generated streaming method calls) and through the bare stream.
func BenchmarkStreamDecode(b *testing.B) {
	target := benchServer(b).Target()
	ctx := context.Background()
	c, err := goaiimpl.NewClient(target, tokensDesc, goai.WithInsecure())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	raw := oippb.NewClient(plainConn(b, target))
	for _, v := range []struct {
		name string
		call func() (int, int64, error)
	}{
		{"goai", func() (int, int64, error) { return generateTokens(ctx, c, streamResponses) }},
		{"raw", func() (int, int64, error) { return rawTokens(ctx, raw, streamResponses) }},
	} {
		b.Run(v.name, func(b *testing.B) {
			if _, _, err := v.call(); err != nil { // connect first
				b.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				if n, _, err := v.call(); err != nil || n != streamResponses {
					b.Fatalf("%d responses, %v", n, err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			responses := float64(b.N * streamResponses)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/responses, "allocs/response")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/responses, "B/response")
		})
	}
}
