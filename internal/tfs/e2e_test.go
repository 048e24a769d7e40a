package tfs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// The models the end-to-end tests serve.

// scaleModel doubles x (FP32, [-1, 2]) into "y", reports x's row sums in
// "sum" and echoes a BYTES "tag" in upper case into "tag_bytes"; version
// 2 triples instead.
func scaleModel() *Model {
	return &Model{
		Name:     "scale",
		Versions: []int64{1, 2},
		Labels:   map[string]int64{"stable": 1, "canary": 2},
		Inputs: []TensorSpec{
			{Name: "x", DType: tensor.FP32, Shape: []int64{-1, 2}},
			{Name: "tag", DType: tensor.Bytes, Shape: []int64{-1}},
		},
		Outputs: []TensorSpec{
			{Name: "sum", DType: tensor.FP64, Shape: []int64{-1}},
			{Name: "tag_bytes", DType: tensor.Bytes, Shape: []int64{-1}},
			{Name: "y", DType: tensor.FP32, Shape: []int64{-1, 2}},
		},
		Predict: func(_ context.Context, version int64, in []tensor.Tensor) ([]tensor.Tensor, error) {
			x, err := tensor.DecodeFloat32(nil, in[0].Raw)
			if err != nil {
				return nil, err
			}
			tags, err := tensor.DecodeStringElements(in[1].Raw, -1)
			if err != nil {
				return nil, err
			}
			factor := float32(version + 1)
			y := make([]float32, len(x))
			sums := make([]float64, len(x)/2)
			for i, v := range x {
				y[i] = v * factor
				sums[i/2] += float64(v)
			}
			for i := range tags {
				tags[i] = strings.ToUpper(tags[i])
			}
			return []tensor.Tensor{
				{DType: tensor.FP64, Shape: []int64{int64(len(sums))}, Raw: tensor.AppendFloat64(nil, sums)},
				{DType: tensor.Bytes, Shape: []int64{int64(len(tags))}, Raw: tensor.AppendStringElements(nil, tags)},
				{DType: tensor.FP32, Shape: in[0].Shape, Raw: tensor.AppendFloat32(nil, y)},
			}, nil
		},
	}
}

// typesModel returns its inputs as they came, one per datatype TF
// Serving's REST API can carry, and reports its single output's shape.
func echoModel(name string, dts ...tensor.DType) *Model {
	m := &Model{Name: name}
	for _, dt := range dts {
		spec := TensorSpec{Name: strings.ToLower(dt.String()), DType: dt}
		m.Inputs = append(m.Inputs, spec)
		spec.Name = "out_" + spec.Name
		m.Outputs = append(m.Outputs, spec)
	}
	m.Predict = func(_ context.Context, _ int64, in []tensor.Tensor) ([]tensor.Tensor, error) {
		return slices.Clone(in), nil
	}
	return m
}

var restDTypes = []tensor.DType{tensor.Bool, tensor.Uint8, tensor.Uint32, tensor.Uint64, tensor.Int8, tensor.Int16, tensor.Int32, tensor.Int64, tensor.FP32, tensor.FP64, tensor.Bytes}

func testServer(t *testing.T, opts ServerOptions, models ...*Model) *Server {
	t.Helper()
	s, err := NewServer(opts, models...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// grpcTransport serves s over bufconn and returns a GRPC transport to it;
// withHealth adds the standard health service, reporting st.
func grpcTransport(t *testing.T, s *Server, opts Options, hs *health.Server) *GRPC {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	s.Register(gs)
	if hs != nil {
		healthpb.RegisterHealthServer(gs, hs)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return NewGRPC(cc, opts)
}

// restTransport serves h on 127.0.0.1 and returns a REST transport to it.
func restTransport(t *testing.T, h http.Handler, opts Options) *REST {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	r, err := NewREST(hs.URL, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// transports returns every pairing of a client transport with a Server
// answering in each of its forms.
func transports(t *testing.T, opts Options, models ...*Model) map[string]wire.Transport {
	typed := testServer(t, ServerOptions{}, models...)
	content := testServer(t, ServerOptions{TensorContent: true}, models...)
	row := opts
	row.Format = Row
	return map[string]wire.Transport{
		"grpc typed":    grpcTransport(t, typed, opts, nil),
		"grpc content":  grpcTransport(t, content, opts, nil),
		"rest columnar": restTransport(t, typed, opts),
		"rest row":      restTransport(t, typed, row),
	}
}

func scaleRequest(version string, outputs ...string) *wire.Request {
	return &wire.Request{
		Model:   "scale",
		Version: version,
		Inputs: []tensor.Tensor{
			{Name: "x", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: tensor.AppendFloat32(nil, []float32{1, 2, 3, 4.5})},
			{Name: "tag", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"a", "héllo"})},
		},
		Outputs: outputs,
	}
}

func TestInfer(t *testing.T) {
	ctx := context.Background()
	for name, tr := range transports(t, Options{}, scaleModel()) {
		t.Run(name, func(t *testing.T) {
			resp, err := tr.Infer(ctx, scaleRequest("", "y", "tag_bytes"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Outputs) != 2 {
				t.Fatalf("%d outputs, want y and tag_bytes", len(resp.Outputs))
			}
			// The latest version, 2, triples.
			sameTensor(t, resp.Outputs[0], tensor.Tensor{Name: "y", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: tensor.AppendFloat32(nil, []float32{3, 6, 9, 13.5})})
			sameTensor(t, resp.Outputs[1], tensor.Tensor{Name: "tag_bytes", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"A", "HÉLLO"})})
			if strings.HasPrefix(name, "grpc") && (resp.Model != "scale" || resp.Version != "2") {
				t.Errorf("served by %q version %q, want scale version 2", resp.Model, resp.Version)
			}

			// Every output, sorted by name.
			resp, err = tr.Infer(ctx, scaleRequest("1"), nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range resp.Outputs {
				names = append(names, o.Name)
			}
			if !slices.Equal(names, []string{"sum", "tag_bytes", "y"}) {
				t.Fatalf("outputs %q", names)
			}
			sameTensor(t, resp.Outputs[0], tensor.Tensor{Name: "sum", DType: tensor.FP64, Shape: []int64{2}, Raw: tensor.AppendFloat64(nil, []float64{3, 7.5})})
			sameTensor(t, resp.Outputs[2], tensor.Tensor{Name: "y", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: tensor.AppendFloat32(nil, []float32{2, 4, 6, 9})})

			// A label names version 1.
			resp, err = tr.Infer(ctx, scaleRequest("stable", "y"), nil)
			if err != nil {
				t.Fatal(err)
			}
			sameTensor(t, resp.Outputs[0], tensor.Tensor{Name: "y", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: tensor.AppendFloat32(nil, []float32{2, 4, 6, 9})})
		})
	}
}

// TestInferEveryDType sends and receives every datatype the REST API can
// carry, over every transport, and FP16, BF16 and UINT16 over gRPC.
func TestInferEveryDType(t *testing.T) {
	ctx := context.Background()
	byType := map[tensor.DType]tensor.Tensor{}
	for _, s := range sampleTensors() {
		if _, seen := byType[s.DType]; !seen {
			byType[s.DType] = s
		}
	}
	// The row format needs one size of dimension 0: over it, each
	// tensor gets a leading dimension of 1.
	rows := false
	sample := func(dt tensor.DType) tensor.Tensor {
		s := byType[dt]
		if rows {
			s.Shape = append([]int64{1}, s.Shape...)
		}
		return s
	}
	req := func(dts []tensor.DType) *wire.Request {
		r := &wire.Request{Model: "echo"}
		for _, dt := range dts {
			in := sample(dt)
			in.Name = strings.ToLower(dt.String())
			r.Inputs = append(r.Inputs, in)
		}
		return r
	}
	check := func(t *testing.T, tr wire.Transport, dts []tensor.DType) {
		r, isREST := tr.(*REST)
		rows = isREST && r.opts.Format == Row
		resp, err := tr.Infer(ctx, req(dts), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Outputs) != len(dts) {
			t.Fatalf("%d outputs, want %d", len(resp.Outputs), len(dts))
		}
		for _, o := range resp.Outputs {
			dt, _ := tensor.ParseDType(strings.ToUpper(strings.TrimPrefix(o.Name, "out_")))
			want := sample(dt)
			want.Name = o.Name
			sameTensor(t, o, want)
		}
	}
	for name, tr := range transports(t, Options{}, echoModel("echo", restDTypes...)) {
		t.Run(name, func(t *testing.T) { check(t, tr, restDTypes) })
	}
	half := []tensor.DType{tensor.FP16, tensor.BF16, tensor.Uint16}
	for name, tr := range transports(t, Options{}, echoModel("echo", half...)) {
		t.Run("half "+name, func(t *testing.T) {
			if strings.HasPrefix(name, "rest") {
				_, err := tr.Infer(ctx, req(half), nil)
				if !errors.Is(err, tensor.ErrDType) || status.Code(err) != codes.Unknown {
					t.Fatalf("FP16 over REST: %v, want a client-side ErrDType", err)
				}
				return
			}
			check(t, tr, half)
		})
	}
}

// TestInferSingleOutput covers TF Serving's bare form: a signature of one
// output answers without its name.
func TestInferSingleOutput(t *testing.T) {
	ctx := context.Background()
	m := echoModel("one", tensor.Bytes)
	for name, tr := range transports(t, Options{}, m) {
		t.Run(name, func(t *testing.T) {
			in := tensor.Tensor{Name: "bytes", DType: tensor.Bytes, Shape: []int64{3}, Raw: tensor.AppendStringElements(nil, []string{"x", "\xff\x00", ""})}
			resp, err := tr.Infer(ctx, &wire.Request{Model: "one", Inputs: []tensor.Tensor{in}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			in.Name = "out_bytes"
			sameTensor(t, resp.Outputs[0], in)
		})
	}
}

func TestInferErrors(t *testing.T) {
	ctx := context.Background()
	for name, tr := range transports(t, Options{}, scaleModel()) {
		t.Run(name, func(t *testing.T) {
			cases := []struct {
				name string
				req  *wire.Request
				code codes.Code
			}{
				{"unknown model", &wire.Request{Model: "nope", Inputs: scaleRequest("").Inputs}, codes.NotFound},
				{"unknown version", scaleRequest("7"), codes.NotFound},
				{"unknown label", scaleRequest("beta"), codes.InvalidArgument},
				{"missing input", &wire.Request{Model: "scale", Inputs: scaleRequest("").Inputs[:1]}, codes.InvalidArgument},
				{"wrong shape", &wire.Request{Model: "scale", Inputs: []tensor.Tensor{
					{Name: "x", DType: tensor.FP32, Shape: []int64{2, 3}, Raw: make([]byte, 24)}, scaleRequest("").Inputs[1]}}, codes.InvalidArgument},
				{"unknown output", scaleRequest("", "z"), codes.InvalidArgument},
			}
			for _, c := range cases {
				_, err := tr.Infer(ctx, c.req, nil)
				if status.Code(err) != c.code {
					t.Errorf("%s: %v, want %v", c.name, err, c.code)
				}
			}
			if _, err := tr.Infer(ctx, &wire.Request{Model: "scale", Inputs: append(scaleRequest("").Inputs, scaleRequest("").Inputs[0])}, nil); err == nil || status.Code(err) != codes.Unknown {
				t.Errorf("an input twice: %v, want a client-side error", err)
			}
		})
	}
	// The signature is the transport's; another one is TF Serving's
	// FAILED_PRECONDITION (REST finds out from the metadata it needs).
	for name, tr := range transports(t, Options{SignatureName: "other"}, scaleModel()) {
		_, err := tr.Infer(ctx, scaleRequest(""), nil)
		if status.Code(err) != codes.FailedPrecondition {
			t.Errorf("%s, another signature: %v", name, err)
		}
	}
	// VersionNumber refuses a label before sending it.
	for name, tr := range transports(t, Options{Version: VersionNumber}, scaleModel()) {
		if _, err := tr.Infer(ctx, scaleRequest("stable"), nil); err == nil || status.Code(err) != codes.Unknown {
			t.Errorf("%s, label as number: %v", name, err)
		}
	}
	// VersionLabel sends digits as a label.
	m := scaleModel()
	m.Labels["2"] = 1
	for name, tr := range transports(t, Options{Version: VersionLabel}, m) {
		resp, err := tr.Infer(ctx, scaleRequest("2", "y"), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sameTensor(t, resp.Outputs[0], tensor.Tensor{Name: "y", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: tensor.AppendFloat32(nil, []float32{2, 4, 6, 9})})
	}
}

func TestModelMetadata(t *testing.T) {
	ctx := context.Background()
	for name, tr := range transports(t, Options{}, scaleModel()) {
		t.Run(name, func(t *testing.T) {
			md, err := tr.ModelMetadata(ctx, "scale", "stable", nil)
			if err != nil {
				t.Fatal(err)
			}
			want := wire.ModelMetadata{
				Name:     "scale",
				Versions: []string{"1"},
				Inputs:   []wire.TensorMetadata{{Name: "tag", Datatype: "BYTES", Shape: []int64{-1}}, {Name: "x", Datatype: "FP32", Shape: []int64{-1, 2}}},
				Outputs: []wire.TensorMetadata{
					{Name: "sum", Datatype: "FP64", Shape: []int64{-1}},
					{Name: "tag_bytes", Datatype: "BYTES", Shape: []int64{-1}},
					{Name: "y", Datatype: "FP32", Shape: []int64{-1, 2}},
				},
			}
			if got := fmt.Sprintf("%+v", *md); got != fmt.Sprintf("%+v", want) {
				t.Errorf("metadata\n got %s\nwant %+v", got, want)
			}
			if _, err := tr.ModelMetadata(ctx, "nope", "", nil); status.Code(err) != codes.NotFound {
				t.Errorf("unknown model: %v", err)
			}
		})
	}
	for name, tr := range transports(t, Options{SignatureName: "other"}, scaleModel()) {
		if _, err := tr.ModelMetadata(ctx, "scale", "", nil); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("%s, unknown signature: %v", name, err)
		}
	}
}

func TestReadiness(t *testing.T) {
	ctx := context.Background()
	loading := echoModel("loading", tensor.FP32)
	loading.Loading = true
	for name, tr := range transports(t, Options{}, scaleModel(), loading) {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				model, version string
				ready          bool
			}{{"scale", "", true}, {"scale", "2", true}, {"scale", "9", false}, {"nope", "", false}, {"loading", "", false}} {
				ready, err := tr.ModelReady(ctx, c.model, c.version, nil)
				if err != nil || ready != c.ready {
					t.Errorf("ModelReady(%q, %q) = %v, %v; want %v", c.model, c.version, ready, err, c.ready)
				}
			}
			for _, f := range []func(context.Context, *wire.Attempt) (bool, error){tr.ServerReady, tr.ServerLive} {
				if ok, err := f(ctx, nil); !ok || err != nil {
					t.Errorf("server: %v, %v; want true (TF Serving answers only once loaded)", ok, err)
				}
			}
		})
	}
	// With the health service, its state decides readiness.
	hs := health.NewServer()
	tr := grpcTransport(t, testServer(t, ServerOptions{}, scaleModel()), Options{}, hs)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if ready, err := tr.ServerReady(ctx, nil); ready || err != nil {
		t.Errorf("NOT_SERVING: ready %v, %v", ready, err)
	}
	if live, err := tr.ServerLive(ctx, nil); !live || err != nil {
		t.Errorf("NOT_SERVING: live %v, %v; want live, it answers", live, err)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	if ready, err := tr.ServerReady(ctx, nil); !ready || err != nil {
		t.Errorf("SERVING: ready %v, %v", ready, err)
	}
}

// TestRESTErrors covers what sits between the REST transport and TF
// Serving: error statuses with Retry-After, bodies that are not TF
// Serving's JSON, answers over the limit, broken connections.
func TestRESTErrors(t *testing.T) {
	ctx := context.Background()
	srv := testServer(t, ServerOptions{}, scaleModel())
	var answer atomic.Value // func(http.ResponseWriter) or nil to serve
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := answer.Load().(func(http.ResponseWriter)); ok && f != nil && strings.HasSuffix(r.URL.Path, ":predict") {
			f(w)
			return
		}
		srv.ServeHTTP(w, r)
	})
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := restTransport(t, h, Options{Now: func() time.Time { return now }, MaxResponseBytes: 1 << 10})
	cases := []struct {
		name    string
		answer  func(http.ResponseWriter)
		code    codes.Code
		msg     string
		a       wire.Attempt
		wantErr error
	}{
		{"503 with a delay", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(503)
			_, _ = w.Write(EncodeErrorBody("busy"))
		}, codes.Unavailable, "busy", wire.Attempt{Pushback: 3 * time.Second, HasPushback: true}, nil},
		// 429 reads as an overloaded server, retried after its delay, as
		// on the Open Inference Protocol's REST (oiphttp.CodeForHTTPStatus).
		{"429 with a date", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
			w.WriteHeader(429)
			_, _ = w.Write(EncodeErrorBody("OOM when allocating tensor"))
		}, codes.Unavailable, "OOM", wire.Attempt{Pushback: 90 * time.Second, HasPushback: true}, nil},
		{"malformed Retry-After", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "soon")
			w.WriteHeader(503)
		}, codes.Unavailable, "Service Unavailable", wire.Attempt{NoRetry: true}, nil},
		{"a proxy's page", func(w http.ResponseWriter) {
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		}, codes.Unavailable, "<html>bad gateway</html>", wire.Attempt{}, nil},
		{"answer over the limit", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"outputs": "` + strings.Repeat("x", 2<<10) + `"}`))
		}, codes.ResourceExhausted, "larger than max", wire.Attempt{}, nil},
		{"not JSON", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"outputs": [1, 2`))
		}, codes.Internal, "malformed", wire.Attempt{}, errJSON},
		{"wrong type", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"outputs": {"y": [["a"]], "sum": [1.0], "tag_bytes": ["x"]}}`))
		}, codes.Internal, "want a number", wire.Attempt{}, tensor.ErrDType},
		{"ragged", func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"outputs": {"y": [[1.0, 2.0], [3.0]], "sum": [1.0], "tag_bytes": ["x"]}}`))
		}, codes.Internal, "not a dense tensor", wire.Attempt{}, tensor.ErrShape},
	}
	for _, c := range cases {
		answer.Store(c.answer)
		var a wire.Attempt
		_, err := tr.Infer(ctx, scaleRequest("", "y"), &a)
		if status.Code(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v with %q", c.name, err, c.code, c.msg)
		}
		if c.wantErr != nil && !errors.Is(err, c.wantErr) {
			t.Errorf("%s: %v does not wrap %v", c.name, err, c.wantErr)
		}
		if a.Pushback != c.a.Pushback || a.HasPushback != c.a.HasPushback || a.NoRetry != c.a.NoRetry {
			t.Errorf("%s: attempt %+v, want %+v", c.name, a, c.a)
		}
	}

	// Nothing listening: UNAVAILABLE, as gRPC reports it.
	hs := httptest.NewServer(h)
	url := hs.URL
	hs.Close()
	dead, err := NewREST(url, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.ModelMetadata(ctx, "scale", "", nil); status.Code(err) != codes.Unavailable {
		t.Errorf("connection refused: %v", err)
	}
	if ok, err := dead.ServerLive(ctx, nil); ok || status.Code(err) != codes.Unavailable {
		t.Errorf("connection refused, live: %v, %v", ok, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tr.Infer(cancelled, scaleRequest(""), nil); status.Code(err) != codes.Canceled {
		t.Errorf("cancelled: %v", err)
	}
	for _, bad := range []string{"127.0.0.1:8501", "ftp://h", "http://", "http://h?x=1"} {
		if _, err := NewREST(bad, nil, Options{}); err == nil {
			t.Errorf("NewREST(%q) accepted", bad)
		}
	}
}

// TestRESTMetadataCache checks that REST asks for metadata once, and again
// after an answer it cannot read, which may mean the model changed.
func TestRESTMetadataCache(t *testing.T) {
	ctx := context.Background()
	var srv atomic.Pointer[Server]
	srv.Store(testServer(t, ServerOptions{}, scaleModel()))
	var metadata atomic.Int32
	var broken atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/metadata") {
			metadata.Add(1)
		}
		if broken.Load() && strings.HasSuffix(r.URL.Path, ":predict") {
			_, _ = w.Write([]byte(`{"outputs": {"y": ["not a float"]}}`))
			return
		}
		srv.Load().ServeHTTP(w, r)
	})
	tr := restTransport(t, h, Options{})
	for range 3 {
		if _, err := tr.Infer(ctx, scaleRequest("", "y"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := metadata.Load(); n != 1 {
		t.Errorf("%d metadata requests for 3 calls, want 1", n)
	}
	broken.Store(true)
	if _, err := tr.Infer(ctx, scaleRequest("", "y"), nil); status.Code(err) != codes.Internal {
		t.Fatalf("broken answer: %v", err)
	}
	broken.Store(false)
	if _, err := tr.Infer(ctx, scaleRequest("", "y"), nil); err != nil {
		t.Fatal(err)
	}
	if n := metadata.Load(); n != 2 {
		t.Errorf("%d metadata requests, want 2: a broken answer forgets the cached signature", n)
	}

	// A new version of the model with a new output: asking for it
	// fetches the metadata again.
	m := scaleModel()
	m.Outputs = append(m.Outputs, TensorSpec{Name: "z", DType: tensor.Int32, Shape: []int64{}})
	predict := m.Predict
	m.Predict = func(ctx context.Context, v int64, in []tensor.Tensor) ([]tensor.Tensor, error) {
		outs, err := predict(ctx, v, in)
		return append(outs, tensor.Tensor{DType: tensor.Int32, Shape: []int64{}, Raw: tensor.AppendInt32(nil, []int32{42})}), err
	}
	srv.Store(testServer(t, ServerOptions{}, m))
	resp, err := tr.Infer(ctx, scaleRequest("", "z"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sameTensor(t, resp.Outputs[0], tensor.Tensor{Name: "z", DType: tensor.Int32, Shape: []int64{}, Raw: tensor.AppendInt32(nil, []int32{42})})
	if n := metadata.Load(); n != 3 {
		t.Errorf("%d metadata requests, want 3: an output the kept signature lacks fetches it again", n)
	}
	if _, err := tr.Infer(ctx, scaleRequest("", "nope"), nil); status.Code(err) != codes.InvalidArgument {
		t.Errorf("an output no signature has: %v", err)
	}
}

// TestDefaultLabels checks that Options.Labels names the version of a
// request of its model that names none, over every transport and for
// metadata too, and nothing else: a request's own version wins, and
// another model gets the server's choice.
func TestDefaultLabels(t *testing.T) {
	ctx := context.Background()
	y := func(factor float32) tensor.Tensor {
		return tensor.Tensor{Name: "y", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: tensor.AppendFloat32(nil, []float32{factor, 2 * factor, 3 * factor, 4.5 * factor})}
	}
	other := scaleModel()
	other.Name = "other"
	for name, tr := range transports(t, Options{Labels: map[string]string{"scale": "stable"}}, scaleModel(), other) {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				model, version string
				want           tensor.Tensor
			}{
				{"scale", "", y(2)},       // stable is version 1, which doubles
				{"scale", "2", y(3)},      // the request's version wins
				{"scale", "canary", y(3)}, // and so does its label
				{"other", "", y(3)},       // other has no label: the latest
			} {
				req := scaleRequest(c.version, "y")
				req.Model = c.model
				resp, err := tr.Infer(ctx, req, nil)
				if err != nil {
					t.Fatalf("%s@%q: %v", c.model, c.version, err)
				}
				sameTensor(t, resp.Outputs[0], c.want)
			}
			md, err := tr.ModelMetadata(ctx, "scale", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(name, "grpc") && !slices.Equal(md.Versions, []string{"1"}) {
				t.Errorf("metadata of versions %q, want the label's, 1", md.Versions)
			}
		})
	}
}
