package oiphttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc/codes"
)

// Metadata and readiness bodies are small and off the hot path, and hold
// no tensor data, so they go through encoding/json.

// modelMetadataJSON is GET /v2/models/{m}[/versions/{v}]'s answer.
type modelMetadataJSON struct {
	Name     string               `json:"name"`
	Versions []string             `json:"versions"`
	Platform string               `json:"platform"`
	Inputs   []tensorMetadataJSON `json:"inputs"`
	Outputs  []tensorMetadataJSON `json:"outputs"`
}

type tensorMetadataJSON struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// DecodeModelMetadata decodes a model metadata body. Errors are [*Error]s
// with code INTERNAL wrapping [ErrMalformed].
func DecodeModelMetadata(body []byte) (*wire.ModelMetadata, error) {
	var m modelMetadataJSON
	if err := strictUnmarshal(body, &m); err != nil {
		return nil, decodeError(codes.Internal, "model metadata", err)
	}
	if m.Name == "" {
		return nil, decodeError(codes.Internal, "model metadata", malformed("no model name"))
	}
	md := &wire.ModelMetadata{Name: m.Name, Versions: m.Versions, Platform: m.Platform}
	md.Inputs = tensorMetadata(m.Inputs)
	md.Outputs = tensorMetadata(m.Outputs)
	return md, nil
}

func tensorMetadata(ts []tensorMetadataJSON) []wire.TensorMetadata {
	if ts == nil {
		return nil
	}
	out := make([]wire.TensorMetadata, len(ts))
	for i, t := range ts {
		out[i] = wire.TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
	}
	return out
}

// EncodeModelMetadata returns the body a server answers a model metadata
// request with.
func EncodeModelMetadata(md *wire.ModelMetadata) []byte {
	m := modelMetadataJSON{Name: md.Name, Versions: md.Versions, Platform: md.Platform,
		Inputs: tensorMetadataJSONs(md.Inputs), Outputs: tensorMetadataJSONs(md.Outputs)}
	if m.Versions == nil {
		m.Versions = []string{}
	}
	b, _ := json.Marshal(&m) // strings, slices and ints cannot fail
	return b
}

func tensorMetadataJSONs(ts []wire.TensorMetadata) []tensorMetadataJSON {
	out := make([]tensorMetadataJSON, len(ts))
	for i, t := range ts {
		out[i] = tensorMetadataJSON{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		if out[i].Shape == nil {
			out[i].Shape = []int64{}
		}
	}
	return out
}

// readyBody reads the body of a 200 answer to a health or readiness
// check. Triton sends none and the status is the answer; the protocol's
// prose shows {"ready": bool} or {"live": bool}, so an explicit false in
// such a body is taken as false. Anything else is true.
func readyBody(body []byte) bool {
	var v struct {
		Ready *bool `json:"ready"`
		Live  *bool `json:"live"`
	}
	if len(bytes.TrimSpace(body)) == 0 || json.Unmarshal(body, &v) != nil {
		return true
	}
	return !(v.Ready != nil && !*v.Ready || v.Live != nil && !*v.Live)
}

// strictUnmarshal is json.Unmarshal with the error wrapping ErrMalformed
// and trailing data refused.
func strictUnmarshal(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return malformed("data after the JSON value")
	}
	return nil
}
