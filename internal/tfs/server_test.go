package tfs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestNewServerChecksModels(t *testing.T) {
	ok := func() *Model { return echoModel("m", tensor.FP32) }
	bad := map[string]func(*Model){
		"no name":        func(m *Model) { m.Name = "" },
		"no Predict":     func(m *Model) { m.Predict = nil },
		"no datatype":    func(m *Model) { m.Inputs[0].DType = tensor.Invalid },
		"a name twice":   func(m *Model) { m.Outputs = append(m.Outputs, m.Outputs[0]) },
		"a stray label":  func(m *Model) { m.Labels = map[string]int64{"stable": 3} },
		"a nameless one": func(m *Model) { m.Outputs[0].Name = "" },
	}
	for name, spoil := range bad {
		m := ok()
		spoil(m)
		if _, err := NewServer(ServerOptions{}, m); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewServer(ServerOptions{}, ok(), ok()); err == nil {
		t.Error("two models of one name: accepted")
	}
}

// TestServerErrors checks the errors a Server answers, as TF Serving
// does, for requests goai's transports never send.
func TestServerErrors(t *testing.T) {
	ctx := context.Background()
	noInputs := &Model{Name: "const", Outputs: []TensorSpec{{Name: "c", DType: tensor.Int8, Shape: []int64{}}},
		Predict: func(context.Context, int64, []tensor.Tensor) ([]tensor.Tensor, error) {
			return []tensor.Tensor{{DType: tensor.Int8, Shape: []int64{}, Raw: []byte{7}}}, nil
		}}
	wrong := echoModel("wrong", tensor.FP32)
	wrong.Predict = func(context.Context, int64, []tensor.Tensor) ([]tensor.Tensor, error) {
		return []tensor.Tensor{{DType: tensor.Int8, Shape: []int64{1}, Raw: []byte{1}}}, nil
	}
	failing := echoModel("failing", tensor.FP32)
	failing.Predict = func(context.Context, int64, []tensor.Tensor) ([]tensor.Tensor, error) {
		return nil, errors.New("out of cheese")
	}
	s := testServer(t, ServerOptions{MaxDecodedBytes: 64}, scaleModel(), noInputs, wrong, failing)
	x := func(p *tfspb.TensorProto) map[string]*tfspb.TensorProto {
		return map[string]*tfspb.TensorProto{"fp32": p}
	}
	fp := &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(1), FloatVal: []float32{1}}
	cases := []struct {
		name string
		req  *tfspb.PredictRequest
		code codes.Code
	}{
		{"no model spec", &tfspb.PredictRequest{}, codes.InvalidArgument},
		{"an input too many", &tfspb.PredictRequest{ModelSpec: &tfspb.ModelSpec{Name: "const"}, Inputs: x(fp)}, codes.InvalidArgument},
		{"a hostile tensor", &tfspb.PredictRequest{ModelSpec: &tfspb.ModelSpec{Name: "wrong"},
			Inputs: x(&tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(-1)})}, codes.InvalidArgument},
		{"over the limit", &tfspb.PredictRequest{ModelSpec: &tfspb.ModelSpec{Name: "wrong"},
			Inputs: x(&tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(17), FloatVal: []float32{1}})}, codes.ResourceExhausted},
		{"the wrong type", &tfspb.PredictRequest{ModelSpec: &tfspb.ModelSpec{Name: "wrong"},
			Inputs: x(&tfspb.TensorProto{Dtype: tfspb.DataType_DT_DOUBLE, TensorShape: shape(1), DoubleVal: []float64{1}})}, codes.InvalidArgument},
		{"an output twice", &tfspb.PredictRequest{ModelSpec: &tfspb.ModelSpec{Name: "wrong"}, Inputs: x(fp), OutputFilter: []string{"out_fp32", "out_fp32"}}, codes.InvalidArgument},
		{"a model's wrong output", &tfspb.PredictRequest{ModelSpec: &tfspb.ModelSpec{Name: "wrong"}, Inputs: x(fp)}, codes.Internal},
		{"a model's failure", &tfspb.PredictRequest{ModelSpec: &tfspb.ModelSpec{Name: "failing"}, Inputs: x(fp)}, codes.Internal},
	}
	for _, c := range cases {
		if _, err := s.Predict(ctx, c.req); status.Code(err) != c.code {
			t.Errorf("%s: %v, want %v", c.name, err, c.code)
		}
	}
	resp, err := s.Predict(ctx, &tfspb.PredictRequest{ModelSpec: &tfspb.ModelSpec{Name: "const"}})
	if err != nil || resp.Outputs["c"].GetIntVal()[0] != 7 {
		t.Errorf("a model without inputs: %v, %v", resp, err)
	}
	for _, fields := range [][]string{nil, {"signature_def", "graph"}} {
		_, err := s.GetModelMetadata(ctx, &tfspb.GetModelMetadataRequest{ModelSpec: &tfspb.ModelSpec{Name: "scale"}, MetadataField: fields})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("metadata fields %q: %v", fields, err)
		}
	}
	if _, err := s.GetModelStatus(ctx, &tfspb.GetModelStatusRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("status without a model spec: %v", err)
	}
}

func TestServeHTTPPaths(t *testing.T) {
	s := testServer(t, ServerOptions{}, scaleModel(), echoModel("half", tensor.FP16))
	cases := []struct {
		method, path, body string
		status             int
		has                string
	}{
		{"GET", "/v1/models/scale", "", 200, `"state":"AVAILABLE"`},
		{"GET", "/V1/MODELS/scale/versions/1", "", 200, `"version":"1"`},
		{"GET", "/v1/models/scale/labels/canary/metadata", "", 200, `"version":"2"`},
		{"GET", "/v1/models", "", 400, "Missing model name"},
		{"GET", "/v1/models/nope", "", 404, "Could not find any versions"},
		{"GET", "/v1/models/scale/versions/99999999999999999999", "", 400, "to numeric"},
		{"GET", "/v2/models/scale", "", 400, "Malformed request"},
		{"PUT", "/v1/models/scale", "", 400, "Malformed request"},
		{"POST", "/v1/models/scale:classify", `{}`, 501, "classify"},
		{"POST", "/v1/models/scale:predict", `{"inputs": `, 400, "malformed JSON"},
		{"POST", "/v1/models/scale:predict", `{"inputs": {"x": [[1, 2]], "tag": ["a"]}, "signature_name": "x"}`, 400, "signature key"},
		{"POST", "/v1/models/scale/versions/1:predict", `{"inputs": {"x": [[1, 2]], "tag": ["a"]}}`, 200, `"y": [[2.0,4.0]]`},
		{"POST", "/v1/models/half:predict", `{"inputs": [1.0]}`, 501, "JSON form"},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
		body := strings.ReplaceAll(rec.Body.String(), `":[`, `": [`)
		if rec.Code != c.status || !strings.Contains(body, c.has) || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s, want %d with %s", c.method, c.path, rec.Code, rec.Body, c.status, c.has)
		}
	}
	// Errors are TF Serving's JSON.
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/models/nope/metadata", nil))
	if got := DecodeErrorBody(rec.Body.Bytes()); !strings.HasPrefix(got, "Servable not found") {
		t.Errorf("error body %s", rec.Body)
	}
}

// TestServerHooks checks ServerOptions.Models and Intercept: models
// found per request, and every request of either API seen by Intercept
// as the gRPC message it stands for, whose trailers asking for a retry
// pushback go over REST as Retry-After.
func TestServerHooks(t *testing.T) {
	ctx := context.Background()
	var (
		mu   sync.Mutex
		seen []string
		fail atomic.Pointer[string] // a pushback to answer every call with, in ms
	)
	models := map[string]*Model{"scale": scaleModel()}
	s := testServer(t, ServerOptions{
		Models: func(name string) (*Model, bool) {
			m, ok := models[name]
			return m, ok
		},
		Intercept: func(ctx context.Context, method string, req proto.Message, handle func(context.Context) error) error {
			mu.Lock()
			name := ""
			switch r := req.(type) {
			case *tfspb.PredictRequest:
				name = fmt.Sprint(r.GetModelSpec().GetName(), "/", r.GetModelSpec().GetVersionLabel(), len(r.GetInputs()))
			case *tfspb.GetModelMetadataRequest:
				name = r.GetModelSpec().GetName()
			case *tfspb.GetModelStatusRequest:
				name = r.GetModelSpec().GetName()
			}
			seen = append(seen, method+" "+name)
			mu.Unlock()
			if ms := fail.Load(); ms != nil {
				_ = grpc.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", *ms))
				return status.Error(codes.Unavailable, "busy")
			}
			return handle(ctx)
		},
	})
	rest := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec
	}
	if _, err := s.Predict(ctx, scalePredictRequest(t)); err != nil {
		t.Fatal(err)
	}
	if rec := rest("POST", "/v1/models/scale/labels/stable:predict", `{"inputs": {"x": [[1, 2]], "tag": ["a"]}}`); rec.Code != 200 {
		t.Errorf("REST predict: %d %s", rec.Code, rec.Body)
	}
	rest("POST", "/v1/models/scale:predict", `{"inputs": `) // unreadable: no inputs
	rest("POST", "/v1/models/nope:predict", `{"inputs": {}}`)
	rest("GET", "/v1/models/scale/metadata", "")
	rest("GET", "/v1/models/scale", "")
	if _, err := s.GetModelStatus(ctx, &tfspb.GetModelStatusRequest{ModelSpec: &tfspb.ModelSpec{Name: "gone"}}); status.Code(err) != codes.NotFound {
		t.Errorf("status of an unknown model: %v", err)
	}
	want := []string{"Predict scale/2", "Predict scale/stable2", "Predict scale/0", "Predict nope/0", "GetModelMetadata scale", "GetModelStatus scale", "GetModelStatus gone"}
	if !slices.Equal(seen, want) {
		t.Errorf("Intercept saw %q, want %q", seen, want)
	}

	for ms, want := range map[string]string{"1500": "2", "0": "0", "-1": "-1", "soon": "-1"} {
		fail.Store(&ms)
		rec := rest("POST", "/v1/models/scale:predict", `{"inputs": {"x": [[1, 2]], "tag": ["a"]}}`)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != want {
			t.Errorf("pushback %s ms: %d, Retry-After %q, want 503 and %q", ms, rec.Code, rec.Header().Get("Retry-After"), want)
		}
	}
	fail.Store(nil)

	// An Intercept that answers nothing is the server's error, not a nil
	// answer.
	s.opts.Intercept = func(context.Context, string, proto.Message, func(context.Context) error) error { return nil }
	if _, err := s.Predict(ctx, scalePredictRequest(t)); status.Code(err) != codes.Internal {
		t.Errorf("an Intercept that serves nothing: %v, want INTERNAL", err)
	}
}

// scalePredictRequest returns a PredictRequest of scaleModel's inputs.
func scalePredictRequest(t *testing.T) *tfspb.PredictRequest {
	t.Helper()
	req, err := PredictRequest(&tfspb.ModelSpec{Name: "scale"}, scaleRequest(""))
	if err != nil {
		t.Fatal(err)
	}
	return req
}
