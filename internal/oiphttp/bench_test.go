package oiphttp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
)

// benchTensor is an FP32 tensor of n activations in [-1, 1): 9 to 12
// characters each in JSON, as real data takes.
func benchTensor(name string, n int) tensor.Tensor {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return tensor.Tensor{Name: name, DType: tensor.FP32, Shape: []int64{1, int64(n)}, Raw: tensor.AppendFloat32(nil, v)}
}

// BenchmarkBinaryThreshold is the codec's whole cost for a call with one
// FP32 tensor of n elements as input and as output, in JSON data and as
// binary chunks: the client encodes the request, the server decodes it,
// the server encodes the response, the client decodes it. Each body is
// joined into one buffer, as a socket would carry it. The difference
// between the two, against BenchmarkRoundTrip's smallest call, is what
// DefaultBinaryThreshold is chosen from.
func BenchmarkBinaryThreshold(b *testing.B) {
	for _, n := range []int{8, 16, 32, 64, 128, 256, 1024} {
		t := benchTensor("x", n)
		for _, form := range []struct {
			name      string
			threshold int
			binary    func(string) bool
		}{
			{"json", -1, nil},
			{"binary", 1, func(string) bool { return true }},
		} {
			b.Run(fmt.Sprintf("n=%d/%s", n, form.name), func(b *testing.B) {
				req := &wire.Request{Model: "m", Inputs: []tensor.Tensor{t}, Outputs: []string{"x"}}
				opts := EncodeOptions{BinaryThreshold: form.threshold, JSONOutputs: form.binary == nil}
				var header, body []byte
				var chunks [][]byte
				for b.Loop() {
					var err error
					header, chunks, err = EncodeRequest(header[:0], chunks[:0], req, opts)
					if err != nil {
						b.Fatal(err)
					}
					body = append(body[:0], header...)
					for _, c := range chunks {
						body = append(body, c...)
					}
					sr, err := DecodeRequest(body, headerLenOf(header, chunks), "m", "")
					if err != nil {
						b.Fatal(err)
					}
					resp := &wire.Response{Model: "m", Outputs: sr.Request.Inputs}
					header, chunks, err = EncodeResponse(header[:0], chunks[:0], resp, form.binary)
					if err != nil {
						b.Fatal(err)
					}
					body = slices.Concat(append([][]byte{header}, chunks...)...) // the client's own buffer
					if _, err := DecodeResponse(body, headerLenOf(header, chunks)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func headerLenOf(header []byte, chunks [][]byte) int {
	if len(chunks) == 0 {
		return -1
	}
	return len(header)
}

// BenchmarkRoundTrip is a whole call over loopback HTTP/1.1 to a server
// built on the server-side helpers, with default options, for tensors
// from the smallest to an ImageNet image (3×224×224), as input and
// output.
func BenchmarkRoundTrip(b *testing.B) {
	ts := &testServer{noLog: true}
	srv := httptest.NewServer(ts.mux())
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	tr, err := New(u, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	for _, n := range []int{16, 784, 150528} {
		req := &wire.Request{Model: "m", Inputs: []tensor.Tensor{benchTensor("x", n)}}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				if _, err := tr.Infer(context.Background(), req, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
