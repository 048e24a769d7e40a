package tfs

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func info(dt tfspb.DataType, s *tfspb.TensorShapeProto) *tfspb.TensorInfo {
	return &tfspb.TensorInfo{Encoding: &tfspb.TensorInfo_Name{Name: "t:0"}, Dtype: dt, TensorShape: s}
}

func TestModelMetadataFromSignature(t *testing.T) {
	defs := &tfspb.SignatureDefMap{SignatureDef: map[string]*tfspb.SignatureDef{
		"serving_default": {
			Inputs: map[string]*tfspb.TensorInfo{
				"images": info(tfspb.DataType_DT_UINT8, shape(-1, 224, 224, 3)),
				"any":    info(tfspb.DataType_DT_STRING, &tfspb.TensorShapeProto{UnknownRank: true}),
				"scalar": info(tfspb.DataType_DT_HALF, &tfspb.TensorShapeProto{}),
				// A composite tensor: no encoding, no type, no shape.
				"ragged": {},
			},
			Outputs: map[string]*tfspb.TensorInfo{
				"logits": info(tfspb.DataType_DT_FLOAT, shape(-1, 1000)),
				"c":      info(tfspb.DataType_DT_COMPLEX64, shape(2)),
			},
			MethodName: "tensorflow/serving/predict",
		},
		"__saved_model_init_op": {Outputs: map[string]*tfspb.TensorInfo{"__saved_model_init_op": info(tfspb.DataType_DT_INVALID, nil)}},
	}}
	spec := &tfspb.ModelSpec{Name: "resnet", VersionChoice: &tfspb.ModelSpec_Version{Version: wrapperspb.Int64(7)}}
	md, err := ModelMetadata(spec, defs, "")
	if err != nil {
		t.Fatal(err)
	}
	want := wire.ModelMetadata{
		Name:     "resnet",
		Versions: []string{"7"},
		Inputs: []wire.TensorMetadata{
			{Name: "any", Datatype: "BYTES"},
			{Name: "images", Datatype: "UINT8", Shape: []int64{-1, 224, 224, 3}},
			{Name: "ragged", Datatype: "DT_INVALID", Shape: []int64{}},
			{Name: "scalar", Datatype: "FP16", Shape: []int64{}},
		},
		Outputs: []wire.TensorMetadata{
			{Name: "c", Datatype: "DT_COMPLEX64", Shape: []int64{2}},
			{Name: "logits", Datatype: "FP32", Shape: []int64{-1, 1000}},
		},
	}
	if got := fmt.Sprintf("%#v", *md); got != fmt.Sprintf("%#v", want) {
		t.Errorf("\n got %s\nwant %#v", got, want)
	}
	if md.Inputs[0].Shape != nil {
		t.Error("an unknown rank is not a nil shape")
	}

	if _, err := ModelMetadata(spec, defs, "classify"); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("missing signature: %v", err)
	}
	for _, bad := range []*tfspb.TensorShapeProto{
		shape(-2), {UnknownRank: true, Dim: shape(1).Dim}, shape(1 << 40), shapeProto(make([]int64, 255)),
	} {
		defs := &tfspb.SignatureDefMap{SignatureDef: map[string]*tfspb.SignatureDef{"s": {Inputs: map[string]*tfspb.TensorInfo{"x": info(tfspb.DataType_DT_FLOAT, bad)}}}}
		if _, err := ModelMetadata(spec, defs, "s"); status.Code(err) != codes.Internal || !errors.Is(err, tensor.ErrShape) {
			t.Errorf("shape %v: %v", bad, err)
		}
	}
}

func TestUnpackSignatureDefMap(t *testing.T) {
	defs := &tfspb.SignatureDefMap{SignatureDef: map[string]*tfspb.SignatureDef{"s": {MethodName: "m"}}}
	a, err := tfspb.PackSignatureDefMap(defs)
	if err != nil {
		t.Fatal(err)
	}
	if a.TypeUrl != "type.googleapis.com/tensorflow.serving.SignatureDefMap" {
		t.Errorf("type URL %q", a.TypeUrl)
	}
	for _, url := range []string{a.TypeUrl, "example.com/x/tensorflow.serving.SignatureDefMap"} {
		var got tfspb.SignatureDefMap
		if err := tfspb.UnpackSignatureDefMap(&anypb.Any{TypeUrl: url, Value: a.Value}, &got); err != nil || got.SignatureDef["s"].GetMethodName() != "m" {
			t.Errorf("%s: %v, %v", url, err, &got)
		}
	}
	for _, bad := range []*anypb.Any{
		{TypeUrl: "type.googleapis.com/goai.internal.tfs.v1.SignatureDefMap", Value: a.Value},
		{TypeUrl: "tensorflow.serving.SignatureDefMap", Value: a.Value},
		{TypeUrl: "type.googleapis.com/xtensorflow.serving.SignatureDefMap", Value: a.Value},
		{TypeUrl: a.TypeUrl, Value: []byte{0xff}},
	} {
		var got tfspb.SignatureDefMap
		if err := tfspb.UnpackSignatureDefMap(bad, &got); status.Code(err) != codes.Internal {
			t.Errorf("%s %x: %v", bad.TypeUrl, bad.Value, err)
		}
	}
}

func TestReady(t *testing.T) {
	st := func(states ...tfspb.ModelVersionStatus_State) *tfspb.GetModelStatusResponse {
		r := &tfspb.GetModelStatusResponse{}
		for i, s := range states {
			r.ModelVersionStatus = append(r.ModelVersionStatus, &tfspb.ModelVersionStatus{Version: int64(i + 1), State: s})
		}
		return r
	}
	for _, c := range []struct {
		s    *tfspb.GetModelStatusResponse
		want bool
	}{
		{st(), false},
		{st(tfspb.ModelVersionStatus_LOADING), false},
		{st(tfspb.ModelVersionStatus_END, tfspb.ModelVersionStatus_UNLOADING), false},
		{st(tfspb.ModelVersionStatus_AVAILABLE, tfspb.ModelVersionStatus_LOADING), true},
	} {
		if got := Ready(c.s); got != c.want {
			t.Errorf("Ready(%v) = %v", c.s, got)
		}
	}
}

// TestMetadataBodies round-trips the REST metadata and status answers, in
// TF Serving's spelling.
func TestMetadataBodies(t *testing.T) {
	s := testServer(t, ServerOptions{}, scaleModel())
	spec, defs, err := s.metadata(&tfspb.ModelSpec{Name: "scale"})
	if err != nil {
		t.Fatal(err)
	}
	body, err := EncodeMetadataBody(spec, defs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"model_spec":{`, `"signature_def":{"signature_def":{"serving_default":`, `"dtype":"DT_FLOAT"`, `"size":"-1"`, `"version":"2"`, `"unknown_rank":false`} {
		if !contains(body, want) {
			t.Errorf("metadata body lacks %s: %s", want, body)
		}
	}
	gotSpec, gotDefs, err := DecodeMetadataBody(body)
	if err != nil {
		t.Fatal(err)
	}
	md1, _ := ModelMetadata(spec, defs, "")
	md2, err := ModelMetadata(gotSpec, gotDefs, "")
	if err != nil || fmt.Sprint(md1) != fmt.Sprint(md2) {
		t.Errorf("metadata round trip: %v\n%v\n%v", err, md1, md2)
	}
	// TF Serving's own example, and fields this copy does not know.
	st, err := DecodeStatusBody([]byte(`{
 "model_version_status": [
  {
   "version": "123",
   "state": "AVAILABLE",
   "status": {
    "error_code": "OK",
    "error_message": ""
   },
   "new_field": 1
  }
 ]
}`))
	if err != nil || !Ready(st) || st.ModelVersionStatus[0].Version != 123 {
		t.Errorf("TF Serving's status example: %v, %v", st, err)
	}
	body, err = EncodeStatusBody(st)
	if err != nil || !contains(body, `"state":"AVAILABLE"`) || !contains(body, `"error_code":"OK"`) {
		t.Errorf("status body: %s, %v", body, err)
	}
	for _, bad := range []string{`{"model_spec": {}}`, `{"metadata": {"signature_def": {"signature_def": 5}}}`, `[`} {
		if _, _, err := DecodeMetadataBody([]byte(bad)); !errors.Is(err, errJSON) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	// A state this copy does not know reads as UNKNOWN: not ready.
	if st, err := DecodeStatusBody([]byte(`{"model_version_status": [{"state": "FLYING"}]}`)); err != nil || Ready(st) {
		t.Errorf("unknown state: %v, %v", st, err)
	}
	if _, err := DecodeStatusBody([]byte(`{"model_version_status": 1}`)); !errors.Is(err, errJSON) {
		t.Errorf("broken status: %v", err)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
