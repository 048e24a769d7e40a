package tfscoexist

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"reflect"
	"slices"
	"testing"

	"github.com/goai-dev/goai/internal/tfs"
	realtf "github.com/goai-dev/goai/internal/tfscoexist/realpb/tensorflow/core/framework"
	realpbuf "github.com/goai-dev/goai/internal/tfscoexist/realpb/tensorflow/core/protobuf"
	"github.com/goai-dev/goai/internal/tfscoexist/realpb/tensorflow_serving/apis"
	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// dial serves register over bufconn and returns a connection to it.
func dial(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	cc, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func realShape(dims ...int64) *realtf.TensorShapeProto {
	s := &realtf.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &realtf.TensorShapeProto_Dim{Size: d})
	}
	return s
}

// TestRealClientCallsGoaiServer calls goai's in-process server with the
// real stubs, as a team's existing TF Serving client would: Predict with
// a typed input, metadata unpacked through the global registry (so the
// Any must carry the real type URL and bytes the real message reads) and
// model status.
func TestRealClientCallsGoaiServer(t *testing.T) {
	m := &tfs.Model{
		Name:     "half",
		Versions: []int64{4},
		Inputs:   []tfs.TensorSpec{{Name: "x", DType: tensor.FP32, Shape: []int64{-1}}},
		Outputs:  []tfs.TensorSpec{{Name: "y", DType: tensor.FP32, Shape: []int64{-1}}},
		Predict: func(_ context.Context, _ int64, in []tensor.Tensor) ([]tensor.Tensor, error) {
			x, _ := tensor.DecodeFloat32(nil, in[0].Raw)
			for i := range x {
				x[i] = x[i]/2 + 3
			}
			return []tensor.Tensor{{DType: tensor.FP32, Shape: in[0].Shape, Raw: tensor.AppendFloat32(nil, x)}}, nil
		},
	}
	srv, err := tfs.NewServer(tfs.ServerOptions{}, m)
	if err != nil {
		t.Fatal(err)
	}
	cc := dial(t, func(s *grpc.Server) { srv.Register(s) })
	ctx := context.Background()
	pc := apis.NewPredictionServiceClient(cc)

	resp, err := pc.Predict(ctx, &apis.PredictRequest{
		ModelSpec: &apis.ModelSpec{Name: "half", SignatureName: "serving_default"},
		Inputs: map[string]*realtf.TensorProto{
			"x": {Dtype: realtf.DataType_DT_FLOAT, TensorShape: realShape(3), FloatVal: []float32{1, 2, 5}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	y := resp.Outputs["y"]
	if y.GetDtype() != realtf.DataType_DT_FLOAT || !slices.Equal(y.GetFloatVal(), []float32{3.5, 4, 5.5}) || y.GetTensorShape().GetDim()[0].GetSize() != 3 {
		t.Errorf("y = %v", y)
	}
	if resp.ModelSpec.GetVersion().GetValue() != 4 {
		t.Errorf("served by %v", resp.ModelSpec)
	}

	md, err := pc.GetModelMetadata(ctx, &apis.GetModelMetadataRequest{
		ModelSpec:     &apis.ModelSpec{Name: "half"},
		MetadataField: []string{"signature_def"},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := anypb.UnmarshalNew(md.Metadata["signature_def"], proto.UnmarshalOptions{})
	if err != nil {
		t.Fatalf("the real registry cannot open goai's Any: %v", err)
	}
	defs, ok := msg.(*apis.SignatureDefMap)
	if !ok {
		t.Fatalf("metadata holds a %T", msg)
	}
	in := defs.SignatureDef["serving_default"].GetInputs()["x"]
	if in.GetDtype() != realtf.DataType_DT_FLOAT || in.GetTensorShape().GetDim()[0].GetSize() != -1 || in.GetName() != "x:0" {
		t.Errorf("input x = %v", in)
	}

	st, err := apis.NewModelServiceClient(cc).GetModelStatus(ctx, &apis.GetModelStatusRequest{ModelSpec: &apis.ModelSpec{Name: "half"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ModelVersionStatus) != 1 || st.ModelVersionStatus[0].State != apis.ModelVersionStatus_AVAILABLE || st.ModelVersionStatus[0].Version != 4 {
		t.Errorf("status %v", st)
	}
	_, err = pc.Predict(ctx, &apis.PredictRequest{ModelSpec: &apis.ModelSpec{Name: "none"}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown model: %v", err)
	}
}

// realServer is a TF Serving stand-in built on the real stubs, answering
// the way TF Serving does: typed fields, the Any packed by the real
// registry.
type realServer struct {
	apis.UnimplementedPredictionServiceServer
	apis.UnimplementedModelServiceServer
	got *apis.PredictRequest
}

func (s *realServer) Predict(_ context.Context, req *apis.PredictRequest) (*apis.PredictResponse, error) {
	s.got = req
	return &apis.PredictResponse{
		ModelSpec: &apis.ModelSpec{Name: req.ModelSpec.Name, VersionChoice: &apis.ModelSpec_Version{Version: wrapperspb.Int64(9)}, SignatureName: "serving_default"},
		Outputs: map[string]*realtf.TensorProto{
			"scores": {Dtype: realtf.DataType_DT_FLOAT, TensorShape: realShape(1, 3), FloatVal: []float32{0.25}},
			"labels": {Dtype: realtf.DataType_DT_STRING, TensorShape: realShape(2), StringVal: [][]byte{[]byte("cat"), []byte("dog")}},
			"half":   {Dtype: realtf.DataType_DT_HALF, TensorShape: realShape(2), HalfVal: []int32{0x3c00, 0xbc00}},
			"state":  {Dtype: realtf.DataType_DT_RESOURCE, TensorShape: realShape(1), ResourceHandleVal: []*realtf.ResourceHandleProto{{Device: "cpu", Name: "table"}}},
		},
	}, nil
}

func (s *realServer) GetModelMetadata(_ context.Context, req *apis.GetModelMetadataRequest) (*apis.GetModelMetadataResponse, error) {
	defs, err := anypb.New(&apis.SignatureDefMap{SignatureDef: map[string]*realpbuf.SignatureDef{
		"serving_default": {
			Inputs: map[string]*realpbuf.TensorInfo{
				"image_bytes": {Encoding: &realpbuf.TensorInfo_Name{Name: "image:0"}, Dtype: realtf.DataType_DT_STRING, TensorShape: realShape(-1)},
				"ragged": {Encoding: &realpbuf.TensorInfo_CompositeTensor_{CompositeTensor: &realpbuf.TensorInfo_CompositeTensor{
					Components: []*realpbuf.TensorInfo{{Encoding: &realpbuf.TensorInfo_Name{Name: "values:0"}}},
				}}},
			},
			Outputs: map[string]*realpbuf.TensorInfo{
				"scores": {Encoding: &realpbuf.TensorInfo_Name{Name: "scores:0"}, Dtype: realtf.DataType_DT_FLOAT, TensorShape: &realtf.TensorShapeProto{UnknownRank: true}},
			},
			MethodName: "tensorflow/serving/predict",
		},
	}})
	if err != nil {
		return nil, err
	}
	return &apis.GetModelMetadataResponse{
		ModelSpec: &apis.ModelSpec{Name: req.ModelSpec.Name, VersionChoice: &apis.ModelSpec_Version{Version: wrapperspb.Int64(9)}},
		Metadata:  map[string]*anypb.Any{"signature_def": defs},
	}, nil
}

func (s *realServer) GetModelStatus(_ context.Context, req *apis.GetModelStatusRequest) (*apis.GetModelStatusResponse, error) {
	return &apis.GetModelStatusResponse{ModelVersionStatus: []*apis.ModelVersionStatus{
		{Version: 8, State: apis.ModelVersionStatus_END, Status: &apis.StatusProto{ErrorCode: realpbuf.Code_NOT_FOUND, ErrorMessage: "gone"}},
		{Version: 9, State: apis.ModelVersionStatus_AVAILABLE, Status: &apis.StatusProto{}},
	}}, nil
}

// TestGoaiTransportCallsRealServer calls a server built on the real stubs
// through goai's gRPC transport.
func TestGoaiTransportCallsRealServer(t *testing.T) {
	rs := &realServer{}
	cc := dial(t, func(s *grpc.Server) {
		apis.RegisterPredictionServiceServer(s, rs)
		apis.RegisterModelServiceServer(s, rs)
	})
	tr := tfs.NewGRPC(cc, tfs.Options{})
	ctx := context.Background()
	req := &wire.Request{
		Model:   "clf",
		Version: "canary",
		Inputs: []tensor.Tensor{{Name: "image_bytes", DType: tensor.Bytes, Shape: []int64{1},
			Raw: tensor.AppendStringElements(nil, []string{"\x89PNG"})}},
		Outputs: []string{"scores", "labels", "half"},
	}
	resp, err := tr.Infer(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What the real server read.
	got := rs.got
	if got.ModelSpec.GetName() != "clf" || got.ModelSpec.GetVersionLabel() != "canary" || got.ModelSpec.GetSignatureName() != "serving_default" ||
		!slices.Equal(got.OutputFilter, req.Outputs) || string(got.Inputs["image_bytes"].GetStringVal()[0]) != "\x89PNG" {
		t.Errorf("the real server got %v", got)
	}
	// What goai read: the repeat rule, strings, half patterns.
	want := []tensor.Tensor{
		{Name: "scores", DType: tensor.FP32, Shape: []int64{1, 3}, Raw: tensor.AppendFloat32(nil, []float32{0.25, 0.25, 0.25})},
		{Name: "labels", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"cat", "dog"})},
		{Name: "half", DType: tensor.FP16, Shape: []int64{2}, Raw: tensor.AppendFP16(nil, []float32{1, -1})},
	}
	if resp.Version != "9" || !reflect.DeepEqual(resp.Outputs, want) {
		t.Errorf("version %q, outputs\n%v\nwant\n%v", resp.Version, resp.Outputs, want)
	}
	// A DT_RESOURCE output, with the resource_handle_val goai's copy
	// leaves out, is refused by its type.
	req.Outputs = []string{"state"}
	if _, err := tr.Infer(ctx, req, nil); status.Code(err) != codes.Internal {
		t.Errorf("DT_RESOURCE output: %v", err)
	}

	md, err := tr.ModelMetadata(ctx, "clf", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantMD := &wire.ModelMetadata{
		Name:     "clf",
		Versions: []string{"9"},
		Inputs:   []wire.TensorMetadata{{Name: "image_bytes", Datatype: "BYTES", Shape: []int64{-1}}, {Name: "ragged", Datatype: "DT_INVALID", Shape: []int64{}}},
		Outputs:  []wire.TensorMetadata{{Name: "scores", Datatype: "FP32"}},
	}
	if !reflect.DeepEqual(md, wantMD) {
		t.Errorf("metadata %+v\nwant %+v", md, wantMD)
	}
	if ready, err := tr.ModelReady(ctx, "clf", "", nil); !ready || err != nil {
		t.Errorf("ready %v, %v", ready, err)
	}
	// The real server has no health service: TF Serving's default.
	if ready, err := tr.ServerReady(ctx, nil); !ready || err != nil {
		t.Errorf("server ready %v, %v", ready, err)
	}
}

// TestRESTJSONMatchesReal checks the JSON of TF Serving's REST metadata
// and status answers, which TF Serving prints from the real messages, reads
// the same with goai's copy, and that what goai's server prints reads as
// the real messages.
func TestRESTJSONMatchesReal(t *testing.T) {
	realStatus := &apis.GetModelStatusResponse{ModelVersionStatus: []*apis.ModelVersionStatus{
		{Version: math.MaxInt64, State: apis.ModelVersionStatus_UNLOADING, Status: &apis.StatusProto{ErrorCode: realpbuf.Code_UNAVAILABLE, ErrorMessage: "bye"}},
	}}
	// As TF Serving prints it: protobuf's JSON with every field.
	body, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(realStatus)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := tfs.DecodeStatusBody(body)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBytes(t, ours, realStatus) {
		t.Errorf("status JSON %s reads as %v", body, ours)
	}
	back, err := tfs.EncodeStatusBody(ours)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, back, body) {
		t.Errorf("goai writes status as\n%s\nTF Serving as\n%s", back, body)
	}

	realDefs := &apis.SignatureDefMap{SignatureDef: map[string]*realpbuf.SignatureDef{"serving_default": {
		Inputs: map[string]*realpbuf.TensorInfo{
			"x": {Encoding: &realpbuf.TensorInfo_Name{Name: "x:0"}, Dtype: realtf.DataType_DT_INT64, TensorShape: realShape(-1, 7)},
			"sp": {Encoding: &realpbuf.TensorInfo_CooSparse_{CooSparse: &realpbuf.TensorInfo_CooSparse{
				ValuesTensorName: "v", IndicesTensorName: "i", DenseShapeTensorName: "d"}}, Dtype: realtf.DataType_DT_FLOAT},
		},
		MethodName: "tensorflow/serving/predict",
	}}}
	realSpec := &apis.ModelSpec{Name: "m", VersionChoice: &apis.ModelSpec_Version{Version: wrapperspb.Int64(3)}}
	opts := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	s, _ := opts.Marshal(realSpec)
	d, _ := opts.Marshal(realDefs)
	body = []byte(`{"model_spec":` + string(s) + `,"metadata":{"signature_def":` + string(d) + `}}`)
	spec, defs, err := tfs.DecodeMetadataBody(body)
	if err != nil {
		t.Fatal(err)
	}
	if !sameBytes(t, spec, realSpec) || !sameBytes(t, defs, realDefs) {
		t.Errorf("metadata JSON %s reads as %v %v", body, spec, defs)
	}
	back, err = tfs.EncodeMetadataBody(spec, defs)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(t, back, body) {
		t.Errorf("goai writes metadata as\n%s\nTF Serving as\n%s", back, body)
	}
}

// sameBytes reports whether ours marshals to the bytes theirs does
// (deterministically, so maps compare).
func sameBytes(t *testing.T, ours, theirs proto.Message) bool {
	t.Helper()
	det := proto.MarshalOptions{Deterministic: true}
	a, err := det.Marshal(ours)
	if err != nil {
		t.Fatal(err)
	}
	b, err := det.Marshal(theirs)
	if err != nil {
		t.Fatal(err)
	}
	return string(a) == string(b)
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// TestBinaryRoundTrip sends every field goai's TensorProto has through
// the real message and back.
func TestBinaryRoundTrip(t *testing.T) {
	ours := &tfspb.TensorProto{
		Dtype: tfspb.DataType_DT_UINT64, TensorShape: &tfspb.TensorShapeProto{Dim: []*tfspb.TensorShapeProto_Dim{{Size: 2, Name: "batch"}}, UnknownRank: true},
		VersionNumber: 1, TensorContent: []byte{1}, HalfVal: []int32{1}, FloatVal: []float32{2}, DoubleVal: []float64{3},
		IntVal: []int32{-4}, StringVal: [][]byte{[]byte("5")}, ScomplexVal: []float32{6, 7}, Int64Val: []int64{-8}, BoolVal: []bool{true},
		DcomplexVal: []float64{9, 10}, Uint32Val: []uint32{11}, Uint64Val: []uint64{12},
	}
	b, err := proto.Marshal(ours)
	if err != nil {
		t.Fatal(err)
	}
	var theirs realtf.TensorProto
	if err := proto.Unmarshal(b, &theirs); err != nil {
		t.Fatal(err)
	}
	if len(theirs.ProtoReflect().GetUnknown()) != 0 || theirs.Uint64Val[0] != 12 || theirs.TensorShape.Dim[0].Name != "batch" {
		t.Errorf("the real message read %v", &theirs)
	}
	b, _ = proto.Marshal(&theirs)
	var again tfspb.TensorProto
	if err := proto.Unmarshal(b, &again); err != nil || !proto.Equal(&again, ours) {
		t.Errorf("round trip: %v, %v", err, &again)
	}
}
