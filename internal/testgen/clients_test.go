package testgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/internal/oippb"
	dtypesv1 "github.com/goai-dev/goai/internal/testgen/dtypes/v1"
	"github.com/goai-dev/goai/internal/testgen/dtypes/v1/dtypesv1goaitest"
	"github.com/goai-dev/goai/tensor"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// End-to-end tests of the generated clients and fakes: each client calls
// inferencetest's Open Inference Protocol server over loopback TCP (or in
// memory, in a synctest bubble), on each transport in turn: gRPC, and
// REST at the server's HTTP URL. Only what one transport has and the
// other lacks is tested on one alone: typed contents (gRPC's form of a
// response) and the direct services (direct_test.go) on gRPC.

// transport is how a test's client reaches the server.
type transport struct {
	name string
	rest bool // REST at the server's HTTPURL, else gRPC at its Target
}

var (
	overGRPC = transport{name: "grpc"}
	overREST = transport{name: "rest", rest: true}
)

// transports runs f as a subtest on each transport.
func transports(t *testing.T, f func(t *testing.T, tr transport)) {
	for _, tr := range []transport{overGRPC, overREST} {
		t.Run(tr.name, func(t *testing.T) { f(t, tr) })
	}
}

// server is an inferencetest.Server on 127.0.0.1 whose ModelInfer
// responses a test can tamper with, as a broken server would send them,
// and the transport its clients use.
type server struct {
	*inferencetest.Server
	tr     transport
	mem    bool
	tamper atomic.Pointer[func(*oippb.ModelInferResponse)]
}

// startServer starts a server on loopback TCP for clients over tr; opts
// are inferencetest's.
func startServer(t *testing.T, tr transport, opts ...inferencetest.Option) *server {
	t.Helper()
	return startOn(t, tr, false, opts...)
}

// startMemServer starts a server in memory, for a test in a synctest
// bubble, where the server, the client and their timers run on the
// bubble's fake clock.
func startMemServer(t *testing.T, tr transport, opts ...inferencetest.Option) *server {
	t.Helper()
	return startOn(t, tr, true, opts...)
}

func startOn(t *testing.T, tr transport, mem bool, opts ...inferencetest.Option) *server {
	t.Helper()
	s := &server{tr: tr, mem: mem}
	intercept := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		if r, ok := resp.(*oippb.ModelInferResponse); ok && err == nil {
			if f := s.tamper.Load(); f != nil {
				(*f)(r)
			}
		}
		return resp, err
	}
	opts = append(opts, inferencetest.WithGRPCServerOptions(grpc.UnaryInterceptor(intercept)))
	s.Server = inferencetest.New(opts...)
	start := s.Server.StartTCP
	if mem {
		start = s.Server.StartBufconn
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// target returns the target a client of s passes its constructor.
func (s *server) target() string {
	if s.tr.rest {
		return s.HTTPURL()
	}
	return s.Target()
}

// options returns the client options for s, then opts: over gRPC, its
// dial options, which bring insecure credentials and fast reconnection;
// over REST, WithInsecure, and for tampering (always in memory) a client
// of the server's. Over TCP a REST client otherwise uses its own
// *http.Client, as users' clients do.
func (s *server) options(opts ...goai.Option) []goai.Option {
	if !s.tr.rest {
		return append([]goai.Option{goai.WithDialOptions(s.DialOptions()...)}, opts...)
	}
	own := []goai.Option{goai.WithInsecure()}
	if s.mem {
		own = append(own, goai.WithHTTPClient(&http.Client{Transport: restTamper{s.HTTPClient().Transport, s}}))
	}
	return append(own, opts...)
}

// tamperOptions is options for a client whose responses s.tamper may
// change, on either transport.
func (s *server) tamperOptions(opts ...goai.Option) []goai.Option {
	if s.tr.rest && !s.mem {
		hc := s.HTTPClient()
		hc.Transport = restTamper{hc.Transport, s}
		opts = append([]goai.Option{goai.WithHTTPClient(hc)}, opts...)
	}
	return s.options(opts...)
}

// restTamper applies s.tamper to the infer responses a REST client
// receives: it decodes each into the ModelInferResponse a gRPC server
// would have sent, tampers with that, and sends it on as a REST server
// would have: each output's raw contents as its binary chunk, an output
// left without raw contents with no data at all.
type restTamper struct {
	base http.RoundTripper
	s    *server
}

func (rt restTamper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := rt.base.RoundTrip(req)
	f := rt.s.tamper.Load()
	if err != nil || f == nil || resp.StatusCode != http.StatusOK || !strings.HasSuffix(req.URL.Path, "/infer") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	hl, err := oiphttp.ParseHeaderLength(resp.Header.Values(oiphttp.HeaderLength), len(body))
	if err != nil {
		return nil, err
	}
	out, err := oiphttp.DecodeResponse(body, hl)
	if err != nil {
		return nil, fmt.Errorf("restTamper: the server's response: %w", err)
	}
	msg := &oippb.ModelInferResponse{ModelName: out.Model, ModelVersion: out.Version, Id: out.ID}
	for _, o := range out.Outputs {
		msg.Outputs = append(msg.Outputs, &oippb.ModelInferResponse_InferOutputTensor{Name: o.Name, Datatype: o.DType.String(), Shape: o.Shape})
		msg.RawOutputContents = append(msg.RawOutputContents, o.Raw)
	}
	(*f)(msg)

	type output struct {
		Name       string           `json:"name"`
		Datatype   string           `json:"datatype"`
		Shape      []int64          `json:"shape"`
		Parameters map[string]int64 `json:"parameters,omitempty"`
	}
	head := struct {
		Model   string   `json:"model_name"`
		Version string   `json:"model_version"`
		Outputs []output `json:"outputs"`
	}{Model: msg.ModelName, Version: msg.ModelVersion}
	var chunks []byte
	for i, o := range msg.Outputs {
		oj := output{Name: o.Name, Datatype: o.Datatype, Shape: append([]int64{}, o.Shape...)}
		if i < len(msg.RawOutputContents) {
			raw := msg.RawOutputContents[i]
			oj.Parameters = map[string]int64{"binary_data_size": int64(len(raw))}
			chunks = append(chunks, raw...)
		}
		head.Outputs = append(head.Outputs, oj)
	}
	js, err := json.Marshal(head)
	if err != nil {
		return nil, err
	}
	resp.Header.Set(oiphttp.HeaderLength, strconv.Itoa(len(js)))
	resp.Body = io.NopCloser(bytes.NewReader(append(js, chunks...)))
	resp.ContentLength = int64(len(js) + len(chunks))
	return resp, nil
}

// newClient returns a client of srv made as the test's transport makes
// it, closed when the test ends: over gRPC from a connection of the
// test's (fromConn, New<Service>ModelClientFromConn), over REST from the
// server's URL (dial, New<Service>ModelClient).
func newClient[C interface{ Close() error }](t *testing.T, srv *server, dial func(string, ...goai.Option) (C, error), fromConn func(grpc.ClientConnInterface, ...goai.ClientOption) C) C {
	t.Helper()
	if !srv.tr.rest {
		return fromConn(dialServer(t, srv))
	}
	c, err := dial(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	return c
}

// infers returns the number of ModelInfer requests s received.
func (s *server) infers() int { return s.Stats().Calls["ModelInfer"] }

// batchSizes returns the batch dimension of each request s received.
func (s *server) batchSizes() []int64 {
	var sizes []int64
	for _, r := range s.Requests() {
		sizes = append(sizes, r.Inputs[0].Shape[0])
	}
	slices.Sort(sizes)
	return sizes
}

// closeOnCleanup closes a client when the test ends.
func closeOnCleanup(t *testing.T, c interface{ Close() error }) {
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// wantTensorError checks that err is a *goai.TensorError about the
// named tensor with code; item is its index, or -1.
func wantTensorError(t *testing.T, err error, name string, output bool, item int, code codes.Code) {
	t.Helper()
	var te *goai.TensorError
	switch {
	case !errors.As(err, &te):
		t.Errorf("err = %v, want a *goai.TensorError", err)
	case te.Tensor != name || te.Output != output || te.Item != item:
		t.Errorf("err = %v (%+v), want tensor %q, output %v, item %d", err, te, name, output, item)
	case !errors.Is(err, goai.ErrBadTensor) || status.Code(err) != code:
		t.Errorf("err = %v: code %v, want %v and ErrBadTensor", err, status.Code(err), code)
	}
}

// sample returns a Sample with every datatype, whose values depend on i
// and are exact in FP16 and BF16; its sequence has n elements.
func sample(i, n int) *dtypesv1.Sample {
	f := float32(i)
	s := &dtypesv1.Sample{
		Fp32Values:   []float32{f + 0.1, -f},
		Fp16Values:   []float32{f + 0.5, -0.25},
		Bf16Values:   []float32{-f - 0.5, 256},
		Fp64Values:   []float64{float64(i) + 1e-9, -1e300},
		Int8Values:   []int32{-128, int32(i) % 128},
		Int16Values:  []int32{-32768, int32(i)},
		Int32Values:  []int32{-1 << 31, int32(i)},
		Int64Values:  []int64{-1 << 63, int64(i)},
		Uint8Values:  []uint32{255, uint32(i) % 256},
		Uint16Values: []uint32{65535, uint32(i)},
		Uint32Values: []uint32{1<<32 - 1, uint32(i)},
		Uint64Values: []uint64{1<<64 - 1, uint64(i)},
		BoolValues:   []bool{true, i%2 == 0},
		Words:        []string{fmt.Sprint("w", i%10)},
		Blobs:        [][]byte{{byte(i)}, {}},
		RawFp16:      tensor.AppendFP16(nil, []float32{f, 1}),
		RawUint16:    []byte{byte(i), 0, 1, 2},
	}
	for j := range n {
		s.Sequence = append(s.Sequence, f*1000+float32(j))
	}
	return s
}

func TestEchoEveryDType(t *testing.T) { transports(t, testEchoEveryDType) }

func testEchoEveryDType(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := dtypesv1goaitest.RegisterEchoFake(srv.Server, dtypesv1goaitest.EchoFakeFunc(func(_ context.Context, in *dtypesv1.Sample) (*dtypesv1.Sample, error) {
		return in, nil
	})); err != nil {
		t.Fatal(err)
	}
	c, err := dtypesv1.NewEchoModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)

	in := sample(7, 3)
	out, err := c.Echo(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, protocmp.Transform()); diff != "" {
		t.Errorf("echo (-sent +got):\n%s", diff)
	}

	req := srv.Requests()[0]
	var got []string
	for _, x := range req.Inputs {
		got = append(got, fmt.Sprint(x.Name, " ", x.Datatype, " ", x.Shape))
	}
	want := []string{
		"fp32_values FP32 [1 2]", "fp16_values FP16 [1 2]", "bf16_values BF16 [1 2]", "fp64_values FP64 [1 2]",
		"int8_values INT8 [1 2]", "int16_values INT16 [1 2]", "int32_values INT32 [1 2]", "int64_values INT64 [1 2]",
		"uint8_values UINT8 [1 2]", "uint16_values UINT16 [1 2]", "uint32_values UINT32 [1 2]", "uint64_values UINT64 [1 2]",
		"bool_values BOOL [1 2]", "words BYTES [1 1]", "blobs BYTES [1 2]", "raw_fp16 FP16 [1 2]", "raw_uint16 UINT16 [1 2]",
		"sequence FP32 [1 3]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inputs on the wire (-want +got):\n%s", diff)
	}
	// Over gRPC every input goes as raw contents; over REST those JSON
	// cannot carry (FP16 and BF16) and those from 128 bytes as binary
	// chunks, the others as JSON data.
	raws := len(want)
	if tr.rest {
		raws = 3
	}
	if req.REST != tr.rest || len(req.Outputs) != len(want) || req.RawInputs != raws {
		t.Errorf("%d requested outputs and %d raw inputs over REST %v, want %d, %d and %v", len(req.Outputs), req.RawInputs, req.REST, len(want), raws, tr.rest)
	}
	// Narrow types travel at their own width, little-endian.
	raw := req.Message.(*oippb.ModelInferRequest).GetRawInputContents()
	for i, w := range map[int][]byte{
		1:  tensor.AppendFP16(nil, []float32{7.5, -0.25}),
		4:  {0x80, 7},
		9:  {0xff, 0xff, 7, 0},
		12: {1, 0},
		14: {1, 0, 0, 0, 7, 0, 0, 0, 0},
	} {
		if !slices.Equal(raw[i], w) {
			t.Errorf("raw contents of %s = %v, want %v", want[i], raw[i], w)
		}
	}
}

func TestEchoBatch(t *testing.T) { transports(t, testEchoBatch) }

func testEchoBatch(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := dtypesv1goaitest.RegisterEchoFake(srv.Server, dtypesv1goaitest.EchoFakeFunc(func(_ context.Context, in *dtypesv1.Sample) (*dtypesv1.Sample, error) {
		return in, nil
	})); err != nil {
		t.Fatal(err)
	}
	c, err := dtypesv1.NewEchoModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)

	// Even items have 3 elements in their sequence, 129 bytes in all; odd
	// ones 100, 517 bytes. They cannot share a request, and a request
	// holds at most 8 items (max_batch_size) and 2048 bytes (max_bytes):
	// 8 short items, or 3 long ones.
	var in []*dtypesv1.Sample
	for i := range 20 {
		in = append(in, sample(i, 3+97*(i%2)))
	}
	out, err := c.EchoBatch(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, protocmp.Transform()); diff != "" {
		t.Errorf("echoes (-sent +got):\n%s", diff)
	}
	if got, want := srv.batchSizes(), []int64{1, 2, 3, 3, 3, 8}; !slices.Equal(got, want) {
		t.Errorf("requests of %v items, want %v", got, want)
	}
	for _, r := range srv.Requests() {
		for _, x := range r.Inputs {
			if x.Name == "sequence" && x.Shape[1] != 3 && x.Shape[1] != 100 {
				t.Errorf("a request mixes sequence lengths: shape %v", x.Shape)
			}
		}
	}

	out, err = c.EchoBatch(t.Context(), nil)
	if err != nil || len(out) != 0 {
		t.Errorf("EchoBatch(nil) = %v, %v; want no results", out, err)
	}
	if n := srv.infers(); n != 6 {
		t.Errorf("%d requests after an empty batch, want 6", n)
	}
}

func TestEchoBadInputSendsNothing(t *testing.T) { transports(t, testEchoBadInputSendsNothing) }

func testEchoBadInputSendsNothing(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := dtypesv1goaitest.RegisterEchoFake(srv.Server, dtypesv1goaitest.EchoFakeFunc(func(_ context.Context, in *dtypesv1.Sample) (*dtypesv1.Sample, error) {
		return in, nil
	})); err != nil {
		t.Fatal(err)
	}
	c, err := dtypesv1.NewEchoModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)
	ctx := t.Context()

	for _, tt := range []struct {
		name   string
		change func(*dtypesv1.Sample)
		tensor string
	}{
		{"too few elements", func(s *dtypesv1.Sample) { s.Fp32Values = s.Fp32Values[:1] }, "fp32_values"},
		{"too many BYTES elements", func(s *dtypesv1.Sample) { s.Blobs = append(s.Blobs, nil) }, "blobs"},
		{"a tensor left empty", func(s *dtypesv1.Sample) { s.BoolValues = nil }, "bool_values"},
		{"INT8 out of range", func(s *dtypesv1.Sample) { s.Int8Values[0] = 128 }, "int8_values"},
		{"UINT16 out of range", func(s *dtypesv1.Sample) { s.Uint16Values[0] = 1 << 16 }, "uint16_values"},
		{"raw data not whole elements", func(s *dtypesv1.Sample) { s.RawUint16 = s.RawUint16[:3] }, "raw_uint16"},
		{"raw data of the wrong size", func(s *dtypesv1.Sample) { s.RawFp16 = s.RawFp16[:2] }, "raw_fp16"},
	} {
		s := sample(1, 2)
		tt.change(s)
		_, err := c.Echo(ctx, s)
		t.Run(tt.name, func(t *testing.T) { wantTensorError(t, err, tt.tensor, false, 0, codes.InvalidArgument) })

		// In a batch, the error names the item, and nothing is sent even
		// though earlier items would go in an earlier request.
		batch := []*dtypesv1.Sample{sample(0, 2), sample(1, 2), sample(2, 2), sample(3, 2), sample(4, 2), sample(5, 2), sample(6, 2), sample(7, 2), sample(8, 2), s}
		_, err = c.EchoBatch(ctx, batch)
		t.Run(tt.name+" in a batch", func(t *testing.T) { wantTensorError(t, err, tt.tensor, false, 9, codes.InvalidArgument) })
	}
	if _, err := c.Echo(ctx, nil); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Echo(nil): %v, want InvalidArgument", err)
	}
	if _, err := c.EchoBatch(ctx, []*dtypesv1.Sample{sample(0, 1), nil}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("EchoBatch with a nil item: %v, want InvalidArgument", err)
	}
	if n := srv.infers(); n != 0 {
		t.Errorf("the server received %d requests, want none", n)
	}
}

// TestEchoHostileResponses sends responses broken in every way a server
// could break them. Each fails the call with INTERNAL, naming the output;
// none is retried, and none counts against the breaker, which would open
// after 3 failures in a row.
func TestEchoHostileResponses(t *testing.T) { transports(t, testEchoHostileResponses) }

func testEchoHostileResponses(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := dtypesv1goaitest.RegisterEchoFake(srv.Server, dtypesv1goaitest.EchoFakeFunc(func(_ context.Context, in *dtypesv1.Sample) (*dtypesv1.Sample, error) {
		return in, nil
	})); err != nil {
		t.Fatal(err)
	}
	c, err := dtypesv1.NewEchoModelClient(srv.target(), srv.tamperOptions(goai.WithBreakerPolicy(goai.BreakerPolicy{ConsecutiveFailures: 3}))...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)

	// output returns the response's output named name, and its index.
	output := func(r *oippb.ModelInferResponse, name string) (*oippb.ModelInferResponse_InferOutputTensor, int) {
		for i, o := range r.GetOutputs() {
			if o.GetName() == name {
				return o, i
			}
		}
		t.Fatalf("no output %s", name)
		return nil, 0
	}
	// restText is what the REST transport says where its checks come
	// first: a binary chunk must match its output's shape, and an output
	// must carry data of its own.
	tests := []struct {
		name     string
		tamper   func(*oippb.ModelInferResponse)
		tensor   string
		text     string
		restText string
	}{
		{"missing output", func(r *oippb.ModelInferResponse) {
			_, i := output(r, "words")
			r.Outputs = slices.Delete(r.Outputs, i, i+1)
			r.RawOutputContents = slices.Delete(r.RawOutputContents, i, i+1)
		}, "words", "missing from the response", ""},
		{"wrong datatype", func(r *oippb.ModelInferResponse) {
			o, _ := output(r, "fp16_values")
			o.Datatype = "BF16"
		}, "fp16_values", `has datatype BF16, want FP16`, ""},
		{"wrong shape", func(r *oippb.ModelInferResponse) {
			o, _ := output(r, "int64_values")
			o.Shape = []int64{2, 1}
		}, "int64_values", "has shape [2 1], want [2 2]", "shape [2 1] of INT64 needs 16 bytes, contents have 32"},
		{"short raw data", func(r *oippb.ModelInferResponse) {
			_, i := output(r, "fp64_values")
			r.RawOutputContents[i] = r.RawOutputContents[i][:20]
		}, "fp64_values", "needs 32 bytes, contents have 20", ""},
		{"too many items", func(r *oippb.ModelInferResponse) {
			o, i := output(r, "uint8_values")
			o.Shape = []int64{3, 2}
			r.RawOutputContents[i] = append(r.RawOutputContents[i], 1, 2)
		}, "uint8_values", "not the batch of 2 items", ""},
		{"too few items", func(r *oippb.ModelInferResponse) {
			o, i := output(r, "bool_values")
			o.Shape = []int64{1, 2}
			r.RawOutputContents[i] = r.RawOutputContents[i][:2]
		}, "bool_values", "not the batch of 2 items", ""},
		{"broken BYTES framing", func(r *oippb.ModelInferResponse) {
			_, i := output(r, "blobs")
			r.RawOutputContents[i][0] = 0xff
		}, "blobs", "runs past the end", ""},
		{"raw contents missing", func(r *oippb.ModelInferResponse) {
			r.RawOutputContents = r.RawOutputContents[:3]
		}, "fp64_values", "has no data", "has neither data nor binary_data_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.tamper.Store(&tt.tamper)
			t.Cleanup(func() { srv.tamper.Store(nil) })
			before := srv.infers()
			_, err := c.EchoBatch(t.Context(), []*dtypesv1.Sample{sample(1, 2), sample(2, 2)})
			wantTensorError(t, err, tt.tensor, true, -1, codes.Internal)
			text := tt.text
			if tr.rest && tt.restText != "" {
				text = tt.restText
			}
			if err != nil && !strings.Contains(err.Error(), text) {
				t.Errorf("err = %v, want it to say %q", err, text)
			}
			if n := srv.infers() - before; n != 1 {
				t.Errorf("%d requests, want 1: a response that cannot be decoded is not retried", n)
			}
		})
	}
	if st := c.BreakerState(goai.ModelRef{Name: "echo"}); st != goai.BreakerClosed {
		t.Errorf("after %d undecodable responses the breaker is %v, want closed", len(tests), st)
	}
	if _, err := c.Echo(t.Context(), sample(1, 1)); err != nil {
		t.Errorf("after the broken responses: %v", err)
	}
}

func TestSummarizerScalars(t *testing.T) { transports(t, testSummarizerScalars) }

func testSummarizerScalars(t *testing.T, tr transport) {
	for _, typed := range []bool{false, true} {
		if typed && tr.rest {
			continue // typed contents are gRPC's alone
		}
		t.Run(fmt.Sprint("typed=", typed), func(t *testing.T) {
			var opts []inferencetest.Option
			if typed {
				opts = append(opts, inferencetest.WithTypedOutputs())
			}
			srv := startServer(t, tr, opts...)
			var sawTyped atomic.Bool
			tamper := func(r *oippb.ModelInferResponse) { sawTyped.Store(len(r.GetRawOutputContents()) == 0) }
			srv.tamper.Store(&tamper)

			err := dtypesv1goaitest.RegisterSummarizerFake(srv.Server, dtypesv1goaitest.SummarizerFakeFunc(func(_ context.Context, in *dtypesv1.Scalars) (*dtypesv1.Summary, error) {
				if in.Count == nil || in.Label == nil {
					return nil, status.Error(codes.InvalidArgument, "count and label must arrive set")
				}
				return &dtypesv1.Summary{
					Text:      fmt.Sprintf("%s: %d×%g, flag %v, level %d, weight %g, blob %q", in.GetLabel(), in.GetCount(), in.GetRatio(), in.GetFlag(), in.GetLevel(), in.GetWeight(), in.GetBlob()),
					Histogram: []int32{-1, int32(in.GetLevel()), 0, 32767},
				}, nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			c, err := dtypesv1.NewSummarizerModelClient(srv.target(), srv.options()...)
			if err != nil {
				t.Fatal(err)
			}
			closeOnCleanup(t, c)

			out, err := c.Summarize(t.Context(), &dtypesv1.Scalars{
				Ratio:  0.5,
				Count:  proto.Int64(3),
				Label:  proto.String("apples"),
				Blob:   []byte("\x00\x01"),
				Flag:   true,
				Level:  200,
				Weight: 1.5,
			})
			if err != nil {
				t.Fatal(err)
			}
			want := &dtypesv1.Summary{
				Text:      `apples: 3×0.5, flag true, level 200, weight 1.5, blob "\x00\x01"`,
				Histogram: []int32{-1, 200, 0, 32767},
			}
			if diff := cmp.Diff(want, out, protocmp.Transform()); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if sawTyped.Load() != typed {
				t.Errorf("the response was typed: %v, want %v", sawTyped.Load(), typed)
			}

			// No batch dimension: shapes as declared, a scalar as [].
			var shapes []string
			for _, x := range srv.Requests()[0].Inputs {
				shapes = append(shapes, fmt.Sprint(x.Name, x.Shape))
			}
			wantShapes := []string{"ratio[]", "count[1]", "label[]", "blob[1 1]", "flag[]", "level[]", "weight[]"}
			if !slices.Equal(shapes, wantShapes) {
				t.Errorf("shapes %v, want %v", shapes, wantShapes)
			}

			// Unset fields go as their zero values, and arrive set.
			out, err = c.Summarize(t.Context(), &dtypesv1.Scalars{})
			if err != nil || !strings.HasPrefix(out.GetText(), ": 0×0") {
				t.Errorf("zero scalars: %v, %v", out, err)
			}
		})
	}
}

func TestCallOptionsReachTheWire(t *testing.T) { transports(t, testCallOptionsReachTheWire) }

func testCallOptionsReachTheWire(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := dtypesv1goaitest.RegisterEchoFake(srv.Server, dtypesv1goaitest.EchoFakeFunc(func(_ context.Context, in *dtypesv1.Sample) (*dtypesv1.Sample, error) {
		return in, nil
	})); err != nil {
		t.Fatal(err)
	}
	c, err := dtypesv1.NewEchoModelClient(srv.target(), srv.options()...)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, c)

	// Version 2 does not exist: the server answers NOT_FOUND, and the
	// request named it.
	var info goai.CallInfo
	_, err = c.Echo(t.Context(), sample(1, 1), goai.WithModelVersion("2"), goai.Report(&info))
	if status.Code(err) != codes.NotFound {
		t.Errorf("version 2: %v, want NotFound", err)
	}
	if r := srv.Requests()[0]; r.Model != "echo" || r.Version != "2" {
		t.Errorf("request for %s@%s, want echo@2", r.Model, r.Version)
	}
	if info.Attempts != 1 || info.Model != (goai.ModelRef{Name: "echo", Version: "2"}) {
		t.Errorf("Report: %+v", info)
	}

	// A deadline passed to the call applies to it.
	ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
	defer cancel()
	if _, err := c.Echo(ctx, sample(1, 1)); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("expired context: %v, want DeadlineExceeded", err)
	}
}
