// Package modelrepo writes the Triton model repository that serves the
// digits model in the deployment example: the network of
// examples/models/digits exported to ONNX, once per model version, and
// the model's config.pbtxt. `go run ./cmd/modelrepo` (from
// examples/service) writes it to model_repository/ and into the
// Kubernetes ConfigMap that carries it, deploy/triton-model-repository.yaml;
// a test fails when the committed files differ from what it writes.
//
// The ONNX graph is built with the protobuf types of ONNX's own schema
// (onnx.proto3, generated in github.com/advancedclimatesystems/gonnx/onnx),
// not by hand-encoding bytes, and is checked by running it in gonnx, an
// ONNX runtime written in Go, against the network's own Forward.
package modelrepo

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/goai-dev/goai/examples/models/digits"
	"google.golang.org/protobuf/proto"
)

// The model's tensor names and shapes, as examples/proto/digits/v1 declares
// them: one 8×8 FP32 glyph in, 10 FP32 probabilities out, with a leading
// batch dimension.
const (
	InputName  = "pixels"
	OutputName = "probs"
)

// ONNX versions written: opset 13 (ONNX 1.8, IR version 7) has every
// operator the graph uses in its current form, and every ONNX Runtime
// Triton has shipped for years reads it.
const (
	opsetVersion = 13
	irVersion    = 7
)

// ONNX returns net as an ONNX model of version version (recorded in the
// model's model_version field): pixels [batch, 8, 8] → Flatten → Gemm
// (W1, B1) → Relu → Gemm (W2, B2) → Softmax → probs [batch, 10].
func ONNX(net *digits.Net, version int64) ([]byte, error) {
	if len(net.W1) != digits.Hidden*digits.Pixels || len(net.B1) != digits.Hidden ||
		len(net.W2) != digits.Classes*digits.Hidden || len(net.B2) != digits.Classes {
		return nil, fmt.Errorf("modelrepo: network has %d/%d/%d/%d weights, want %d/%d/%d/%d",
			len(net.W1), len(net.B1), len(net.W2), len(net.B2),
			digits.Hidden*digits.Pixels, digits.Hidden, digits.Classes*digits.Hidden, digits.Classes)
	}
	model := &onnx.ModelProto{
		IrVersion:       irVersion,
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: opsetVersion}},
		ProducerName:    "goai examples/service/modelrepo",
		ProducerVersion: "1",
		ModelVersion:    version,
		DocString:       "Dense 64-32-10 classifier of noisy 8x8 digit glyphs (examples/models/digits).",
		Graph: &onnx.GraphProto{
			Name: "digits",
			Node: []*onnx.NodeProto{
				node("flatten", "Flatten", []string{InputName}, "flat", intAttr("axis", 1)),
				node("dense1", "Gemm", []string{"flat", "W1", "B1"}, "hidden_pre", intAttr("transB", 1)),
				node("relu", "Relu", []string{"hidden_pre"}, "hidden"),
				node("dense2", "Gemm", []string{"hidden", "W2", "B2"}, "logits", intAttr("transB", 1)),
				node("softmax", "Softmax", []string{"logits"}, OutputName, intAttr("axis", 1)),
			},
			Initializer: []*onnx.TensorProto{
				floats("W1", net.W1, digits.Hidden, digits.Pixels),
				floats("B1", net.B1, digits.Hidden),
				floats("W2", net.W2, digits.Classes, digits.Hidden),
				floats("B2", net.B2, digits.Classes),
			},
			Input:  []*onnx.ValueInfoProto{floatValue(InputName, "batch", digits.Side, digits.Side)},
			Output: []*onnx.ValueInfoProto{floatValue(OutputName, "batch", digits.Classes)},
		},
	}
	// Deterministic, so that the committed files can be compared with a
	// fresh export.
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(model)
	if err != nil {
		return nil, fmt.Errorf("modelrepo: encoding the ONNX model: %w", err)
	}
	return b, nil
}

func node(name, op string, inputs []string, output string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	return &onnx.NodeProto{Name: name, OpType: op, Input: inputs, Output: []string{output}, Attribute: attrs}
}

func intAttr(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

// floats is an FP32 initializer; raw_data is little-endian whatever the
// host, as ONNX specifies.
func floats(name string, vals []float32, dims ...int64) *onnx.TensorProto {
	raw := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	return &onnx.TensorProto{Name: name, DataType: int32(onnx.TensorProto_FLOAT), Dims: dims, RawData: raw}
}

// floatValue is a graph input or output: FP32 of shape [batchParam,
// dims...], the first dimension named and so dynamic, as Triton requires of
// a model with max_batch_size > 0.
func floatValue(name, batchParam string, dims ...int64) *onnx.ValueInfoProto {
	shape := &onnx.TensorShapeProto{Dim: []*onnx.TensorShapeProto_Dimension{
		{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: batchParam}},
	}}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
		TensorType: &onnx.TypeProto_Tensor{ElemType: int32(onnx.TensorProto_FLOAT), Shape: shape},
	}}}
}
