package tfs

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/protobuf/proto"
)

// The benchmarks measure the codec on one tensor of benchElements floats.
// Compare within one run: tensor_content against float_val (the two forms
// TF Serving answers in over gRPC), and goai's JSON reader and writer
// against encoding/json on a plain []float32 of the same values (the
// least any JSON codec built on encoding/json could cost).
const benchElements = 1 << 16

func benchFloats() ([]float32, tensor.Tensor) {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, benchElements)
	for i := range v {
		v[i] = r.Float32()*200 - 100
	}
	return v, tensor.Tensor{Name: "y", DType: tensor.FP32, Shape: []int64{benchElements / 64, 64}, Raw: tensor.AppendFloat32(nil, v)}
}

// BenchmarkDecodeTensor unmarshals and decodes one TensorProto.
func BenchmarkDecodeTensor(b *testing.B) {
	_, t := benchFloats()
	for _, form := range []struct {
		name   string
		encode func(tensor.Tensor) (*tfspb.TensorProto, error)
	}{{"tensor_content", EncodeTensorContent}, {"float_val", EncodeTensorTyped}} {
		p, _ := form.encode(t)
		wire, _ := proto.Marshal(p)
		b.Run(form.name, func(b *testing.B) {
			b.SetBytes(int64(len(t.Raw)))
			b.ReportAllocs()
			for b.Loop() {
				var p tfspb.TensorProto
				if err := proto.Unmarshal(wire, &p); err != nil {
					b.Fatal(err)
				}
				if _, err := DecodeTensor("y", &p, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJSONDecode reads a REST predict answer of one output.
func BenchmarkJSONDecode(b *testing.B) {
	v, t := benchFloats()
	body, _ := EncodePredictResponse([]tensor.Tensor{t}, Columnar)
	plain, _ := json.Marshal(v)
	sig := []TensorSpec{{Name: "y", DType: tensor.FP32}}
	b.Run("goai", func(b *testing.B) {
		b.SetBytes(int64(len(t.Raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodePredictResponse(body, sig, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-baseline", func(b *testing.B) {
		b.SetBytes(int64(len(t.Raw)))
		b.ReportAllocs()
		for b.Loop() {
			var out []float32
			if err := json.Unmarshal(plain, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkJSONEncode writes a REST predict request of one input.
func BenchmarkJSONEncode(b *testing.B) {
	v, t := benchFloats()
	b.Run("goai", func(b *testing.B) {
		b.SetBytes(int64(len(t.Raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodePredictRequest(DefaultSignature, []tensor.Tensor{t}, Columnar); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-baseline", func(b *testing.B) {
		b.SetBytes(int64(len(t.Raw)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
