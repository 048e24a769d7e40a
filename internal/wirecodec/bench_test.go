package wirecodec

import (
	"fmt"
	"testing"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // grpc's default codec, for comparison
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// defaultCodec is grpc-go's own "proto" codec, captured before any test
// can call Register.
var defaultCodec = encoding.GetCodecV2(Name)

var benchCodecs = []struct {
	name  string
	codec encoding.CodecV2
}{{"default_codec", defaultCodec}, {"wirecodec", Codec{}}}

// The message sizes: one 1x3x224x224 FP32 image, 602,112 bytes of tensor.
const benchElems = 150528

func benchRequest() *oippb.ModelInferRequest {
	v := make([]float32, benchElems)
	return &oippb.ModelInferRequest{
		ModelName:        "resnet50",
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 3, 224, 224}}},
		Outputs:          []*oippb.ModelInferRequest_InferRequestedOutputTensor{{Name: "output"}},
		RawInputContents: [][]byte{tensor.AppendFloat32(nil, v)},
	}
}

// BenchmarkMarshal encodes a ModelInferRequest with one 150528-element FP32
// tensor: grpc's default codec, Codec, and proto.Marshal alone. The codecs'
// buffers go back to the pool each time, as grpc does after writing.
// proto.Marshal runs last because the 600 KB of garbage it makes per call
// keeps the collector busy into whatever benchmark follows it.
func BenchmarkMarshal(b *testing.B) {
	req := benchRequest()
	size := int64(proto.Size(req))
	for _, c := range benchCodecs {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				data, err := c.codec.Marshal(req)
				if err != nil {
					b.Fatal(err)
				}
				data.Free()
			}
		})
	}
	b.Run("proto_marshal", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := proto.Marshal(req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUnmarshal decodes a ModelInferResponse with one 150528-element
// FP32 output, delivered as one buffer or, as grpc's HTTP/2 transport
// delivers a message this size, as 16 KiB frames.
func BenchmarkUnmarshal(b *testing.B) {
	for _, elems := range []int{784, benchElems} {
		v := make([]float32, elems)
		resp := &oippb.ModelInferResponse{
			ModelName:         "resnet50",
			Outputs:           []*oippb.ModelInferResponse_InferOutputTensor{{Name: "output", Datatype: "FP32", Shape: []int64{1, int64(elems)}}},
			RawOutputContents: [][]byte{tensor.AppendFloat32(nil, v)},
		}
		wire, err := proto.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		for _, frames := range []struct {
			name string
			data mem.BufferSlice
		}{
			{"one_buffer", mem.BufferSlice{mem.SliceBuffer(wire)}},
			{"frames_16KiB", split(wire, 16<<10)},
		} {
			if len(frames.data) == 1 && frames.name != "one_buffer" {
				continue
			}
			name := fmt.Sprintf("n=%d/%s", elems, frames.name)
			b.Run(name+"/proto_unmarshal", func(b *testing.B) {
				b.SetBytes(int64(len(wire)))
				b.ReportAllocs()
				for b.Loop() {
					var m oippb.ModelInferResponse
					if err := proto.Unmarshal(wire, &m); err != nil {
						b.Fatal(err)
					}
				}
			})
			for _, c := range benchCodecs {
				b.Run(name+"/"+c.name, func(b *testing.B) {
					b.SetBytes(int64(len(wire)))
					b.ReportAllocs()
					for b.Loop() {
						var m oippb.ModelInferResponse
						if err := c.codec.Unmarshal(frames.data, &m); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
