package jsonbench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bytedance/sonic"
	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	gojson "github.com/goccy/go-json"
)

// The documents as a library would see them: the tensor's data as a
// []float32, which the raw contents are converted from and to.
type tensorJSON struct {
	Name     string    `json:"name"`
	Datatype string    `json:"datatype"`
	Shape    []int64   `json:"shape"`
	Data     []float32 `json:"data"`
}

type requestJSON struct {
	Inputs []tensorJSON `json:"inputs"`
}

type responseJSON struct {
	ModelName string       `json:"model_name"`
	Outputs   []tensorJSON `json:"outputs"`
}

type library struct {
	name      string
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
}

var libraries = []library{
	{"encoding_json", json.Marshal, json.Unmarshal},
	{"goccy", gojson.Marshal, gojson.Unmarshal},
	{"sonic", sonic.Marshal, sonic.Unmarshal},
}

// sizes: a small feature vector, an MNIST image, an ImageNet image
// (3×224×224).
var sizes = []int{16, 784, 150528}

// values returns n floats like a model's activations: random in [-1, 1),
// so each takes the 9 to 12 characters real data does.
func values(n int) []float32 {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

func fp32(name string, v []float32) tensor.Tensor {
	return tensor.Tensor{Name: name, DType: tensor.FP32, Shape: []int64{1, int64(len(v))}, Raw: tensor.AppendFloat32(nil, v)}
}

// jsonOnly is oiphttp's encoding with JSON data for every size.
var jsonOnly = oiphttp.EncodeOptions{BinaryThreshold: -1, JSONOutputs: true}

// responseBody is a JSON response holding v, as a server writes it.
func responseBody(tb testing.TB, v []float32) []byte {
	header, _, err := oiphttp.EncodeResponse(nil, nil, &wire.Response{Model: "m", Outputs: []tensor.Tensor{fp32("out", v)}}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return header
}

// TestSameResults checks that every decoder reads the same bits, so the
// benchmarks compare like with like.
func TestSameResults(t *testing.T) {
	v := values(1000)
	body := responseBody(t, v)
	want := tensor.AppendFloat32(nil, v)
	resp, err := oiphttp.DecodeResponse(body, -1)
	if err != nil || !bytes.Equal(resp.Outputs[0].Raw, want) {
		t.Fatalf("oiphttp: %v", err)
	}
	for _, lib := range libraries {
		var r responseJSON
		if err := lib.unmarshal(body, &r); err != nil {
			t.Fatalf("%s: %v", lib.name, err)
		}
		if got := tensor.AppendFloat32(nil, r.Outputs[0].Data); !bytes.Equal(got, want) {
			t.Errorf("%s decodes other values", lib.name)
		}
		b, err := lib.marshal(&requestJSON{Inputs: []tensorJSON{{Name: "x", Datatype: "FP32", Shape: []int64{1, 1000}, Data: v}}})
		if err != nil {
			t.Fatal(err)
		}
		req, err := oiphttp.DecodeRequest(b, -1, "m", "")
		if err != nil || !bytes.Equal(req.Request.Inputs[0].Raw, want) {
			t.Errorf("%s encodes other values: %v", lib.name, err)
		}
	}
}

// BenchmarkEncode encodes a request with one FP32 input as JSON data,
// from raw contents as a wire.Request holds them.
func BenchmarkEncode(b *testing.B) {
	for _, n := range sizes {
		in := fp32("x", values(n))
		b.Run(fmt.Sprintf("n=%d/oiphttp", n), func(b *testing.B) {
			req := &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}
			var buf []byte
			var chunks [][]byte
			for b.Loop() {
				var err error
				buf, chunks, err = oiphttp.EncodeRequest(buf[:0], chunks[:0], req, jsonOnly)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
		for _, lib := range libraries {
			b.Run(fmt.Sprintf("n=%d/%s", n, lib.name), func(b *testing.B) {
				var vals []float32
				var size int
				for b.Loop() {
					vals, _ = tensor.DecodeFloat32(vals[:0], in.Raw)
					out, err := lib.marshal(&requestJSON{Inputs: []tensorJSON{{Name: in.Name, Datatype: "FP32", Shape: in.Shape, Data: vals}}})
					if err != nil {
						b.Fatal(err)
					}
					size = len(out)
				}
				b.SetBytes(int64(size))
			})
		}
	}
}

// BenchmarkDecode decodes a response with one FP32 output in JSON data
// into raw contents, as a wire.Response holds them.
func BenchmarkDecode(b *testing.B) {
	for _, n := range sizes {
		body := responseBody(b, values(n))
		b.Run(fmt.Sprintf("n=%d/oiphttp", n), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := oiphttp.DecodeResponse(body, -1); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, lib := range libraries {
			b.Run(fmt.Sprintf("n=%d/%s", n, lib.name), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				for b.Loop() {
					var r responseJSON
					if err := lib.unmarshal(body, &r); err != nil {
						b.Fatal(err)
					}
					_ = tensor.AppendFloat32(nil, r.Outputs[0].Data)
				}
			})
		}
	}
}
