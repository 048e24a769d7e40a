package tfs

import (
	"encoding/json"
	"fmt"

	"github.com/goai-dev/goai/internal/tfspb"
	"google.golang.org/protobuf/encoding/protojson"
)

// TF Serving's REST metadata and status answers are the protobuf JSON of
// GetModelMetadataResponse and GetModelStatusResponse (protobuf's
// MessageToJsonString, which tfspb's copies read and write alike: same
// field names, same enum value names). The metadata answer is assembled
// by hand, because TF Serving prints the Any's payload itself:
//
//	{"model_spec": <ModelSpec>, "metadata": {"signature_def": <SignatureDefMap>}}

var (
	readProto = protojson.UnmarshalOptions{DiscardUnknown: true}
	// TF Serving prints metadata with the proto field names and every
	// field, status with every field (its JSON names are the proto
	// names).
	writeMetadata = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	writeStatus   = protojson.MarshalOptions{EmitUnpopulated: true}
)

// DecodeMetadataBody reads a REST metadata answer: the model spec it is
// of and the model's signatures.
func DecodeMetadataBody(body []byte) (*tfspb.ModelSpec, *tfspb.SignatureDefMap, error) {
	var v struct {
		ModelSpec json.RawMessage            `json:"model_spec"`
		Metadata  map[string]json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errJSON, err)
	}
	spec := new(tfspb.ModelSpec)
	if len(v.ModelSpec) > 0 {
		if err := readProto.Unmarshal(v.ModelSpec, spec); err != nil {
			return nil, nil, fmt.Errorf("%w: model_spec: %v", errJSON, err)
		}
	}
	raw, ok := v.Metadata[tfspb.SignatureDefKey]
	if !ok {
		return nil, nil, fmt.Errorf("%w: no metadata %q", errJSON, tfspb.SignatureDefKey)
	}
	defs := new(tfspb.SignatureDefMap)
	if err := readProto.Unmarshal(raw, defs); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", errJSON, tfspb.SignatureDefKey, err)
	}
	return spec, defs, nil
}

// EncodeMetadataBody returns the REST metadata answer TF Serving writes
// for the model spec names and its signatures defs.
func EncodeMetadataBody(spec *tfspb.ModelSpec, defs *tfspb.SignatureDefMap) ([]byte, error) {
	s, err := writeMetadata.Marshal(spec)
	if err != nil {
		return nil, err
	}
	d, err := writeMetadata.Marshal(defs)
	if err != nil {
		return nil, err
	}
	dst := append([]byte(`{"model_spec":`), s...)
	dst = append(dst, `,"metadata":{"`+tfspb.SignatureDefKey+`":`...)
	dst = append(dst, d...)
	return append(dst, "}}"...), nil
}

// DecodeStatusBody reads a REST model status answer.
func DecodeStatusBody(body []byte) (*tfspb.GetModelStatusResponse, error) {
	s := new(tfspb.GetModelStatusResponse)
	if err := readProto.Unmarshal(body, s); err != nil {
		return nil, fmt.Errorf("%w: %v", errJSON, err)
	}
	return s, nil
}

// EncodeStatusBody returns the REST model status answer TF Serving writes
// for s.
func EncodeStatusBody(s *tfspb.GetModelStatusResponse) ([]byte, error) {
	return writeStatus.Marshal(s)
}
