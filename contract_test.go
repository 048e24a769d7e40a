package goai

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// metadataServer answers ModelMetadata from a table, as a server whose
// metadata can be anything; hook, if set, runs before each answer.
type metadataServer struct {
	oippb.UnimplementedServer
	models map[string]*oippb.ModelMetadataResponse
	hook   func(name string)

	mu    sync.Mutex
	calls []string
}

func (s *metadataServer) ModelMetadata(_ context.Context, req *oippb.ModelMetadataRequest) (*oippb.ModelMetadataResponse, error) {
	s.mu.Lock()
	s.calls = append(s.calls, req.GetName())
	s.mu.Unlock()
	if s.hook != nil {
		s.hook(req.GetName())
	}
	meta, ok := s.models[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no model %q", req.GetName())
	}
	return meta, nil
}

func (s *metadataServer) called() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// serveMetadata serves s in memory and returns a connection to it.
func serveMetadata(t *testing.T, s *metadataServer) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.MaxSendMsgSize(64 << 20))
	oippb.Register(srv, s)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///metadata",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// contractDesc declares model "m" with a batch dimension: input "x" FP32
// [-1 4] and output "y" FP32 [-1 2], read by two methods, and fallback.
func contractDesc(fallback *ModelRef) *ModelDesc {
	in := []TensorDesc{{Name: "x", DType: tensor.FP32, Shape: []int64{4}}}
	out := []TensorDesc{{Name: "y", DType: tensor.FP32, Shape: []int64{2}}}
	return &ModelDesc{
		Model:        ModelRef{Name: "m"},
		MaxBatchSize: 8,
		Fallback:     fallback,
		Methods: []MethodDesc{
			{Name: "A", Model: ModelRef{Name: "m"}, Inputs: in, Outputs: out},
			{Name: "B", Model: ModelRef{Name: "m"}, Inputs: in, Outputs: out},
		},
	}
}

func tensorMeta(name, dtype string, shape ...int64) *oippb.ModelMetadataResponse_TensorMetadata {
	return &oippb.ModelMetadataResponse_TensorMetadata{Name: name, Datatype: dtype, Shape: shape}
}

// goodMeta is metadata that matches contractDesc.
func goodMeta(name string) *oippb.ModelMetadataResponse {
	return &oippb.ModelMetadataResponse{
		Name:    name,
		Inputs:  []*oippb.ModelMetadataResponse_TensorMetadata{tensorMeta("x", "FP32", -1, 4)},
		Outputs: []*oippb.ModelMetadataResponse_TensorMetadata{tensorMeta("y", "FP32", -1, 2)},
	}
}

// contractErrors returns the ContractErrors that err joins.
func contractErrors(err error) []*ContractError {
	var out []*ContractError
	var walk func(error)
	walk = func(err error) {
		var ce *ContractError
		if errors.As(err, &ce) && err == error(ce) {
			out = append(out, ce)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

func TestCheckModelAgrees(t *testing.T) {
	s := &metadataServer{models: map[string]*oippb.ModelMetadataResponse{"m": goodMeta("m"), "lite": goodMeta("lite")}}
	conn := serveMetadata(t, s)
	if err := testClient(conn, contractDesc(&ModelRef{Name: "lite"})).CheckModel(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := s.called(); strings.Join(got, ",") != "m,lite" {
		t.Errorf("metadata read of %q, want m and the fallback lite", got)
	}
}

// TestCheckModelFallback checks the fallback model against every method:
// a call of any of them may end there.
func TestCheckModelFallback(t *testing.T) {
	lite := goodMeta("lite")
	lite.Outputs[0].Datatype = "FP16"
	s := &metadataServer{models: map[string]*oippb.ModelMetadataResponse{"m": goodMeta("m"), "lite": lite}}
	conn := serveMetadata(t, s)

	err := testClient(conn, contractDesc(&ModelRef{Name: "lite", Version: "1"})).CheckModel(t.Context())
	ces := contractErrors(err)
	if len(ces) != 1 || ces[0].Model != (ModelRef{Name: "lite", Version: "1"}) || status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("err = %v, want one ContractError of lite@1", err)
	}
	if want := `output "y": declared datatype FP32, server has FP16`; len(ces[0].Mismatches) != 1 || ces[0].Mismatches[0] != want {
		t.Errorf("mismatches %q, want [%q]", ces[0].Mismatches, want)
	}

	// A method of its own model, the fallback being the service's: the
	// service's model must serve the other method's tensors too.
	desc := contractDesc(&ModelRef{Name: "m"})
	desc.Methods[1].Model = ModelRef{Name: "big"}
	desc.Methods[1].Outputs = []TensorDesc{{Name: "z", DType: tensor.Int64}}
	big := goodMeta("big")
	big.Outputs = []*oippb.ModelMetadataResponse_TensorMetadata{tensorMeta("z", "INT64", -1)}
	s.models["big"] = big
	ces = contractErrors(testClient(conn, desc).CheckModel(t.Context()))
	if len(ces) != 1 || ces[0].Model.Name != "m" || !strings.Contains(ces[0].Error(), `output "z" is declared but the server has no such output`) {
		t.Errorf("got %v, want model m to lack output z", ces)
	}
}

// TestCheckModelManyUndeclaredInputs is a server reporting 40000 inputs
// no method sends: every one is counted, few are described.
func TestCheckModelManyUndeclaredInputs(t *testing.T) {
	const n = 40000
	meta := goodMeta("m")
	for i := range n {
		meta.Inputs = append(meta.Inputs, tensorMeta(fmt.Sprintf("extra_%05d_%s", i, strings.Repeat("n", 50)), "FP32", -1, 3))
	}
	conn := serveMetadata(t, &metadataServer{models: map[string]*oippb.ModelMetadataResponse{"m": meta}})
	err := testClient(conn, contractDesc(nil)).CheckModel(t.Context())
	ces := contractErrors(err)
	if len(ces) != 1 {
		t.Fatalf("err = %v, want one ContractError", err)
	}
	ce := ces[0]
	if len(ce.Mismatches) != MaxListedMismatches || ce.Omitted != n-MaxListedMismatches {
		t.Errorf("%d mismatches listed and %d omitted, want %d and %d", len(ce.Mismatches), ce.Omitted, MaxListedMismatches, n-MaxListedMismatches)
	}
	msg := err.Error()
	if len(msg) > 8<<10 || !strings.Contains(msg, "(40000 mismatches)") || !strings.HasSuffix(msg, fmt.Sprintf("and %d more", ce.Omitted)) {
		t.Errorf("a message of %d bytes: %.300s...%s", len(msg), msg, msg[max(0, len(msg)-100):])
	}
	if !strings.Contains(ce.Mismatches[0], `server input "extra_00000_nnn`) {
		t.Errorf("first mismatch %q, want the first extra input", ce.Mismatches[0])
	}
}

// TestCheckModelEchoBounded is metadata whose names, datatypes, shapes
// and versions are huge: what the error repeats of them is not.
func TestCheckModelEchoBounded(t *testing.T) {
	huge := strings.Repeat("é", 1<<19) // 1 MiB, two bytes a character
	dims := make([]int64, 100000)
	meta := &oippb.ModelMetadataResponse{
		Name:     "m",
		Versions: strings.Split(strings.Repeat("v,", 10000)+huge, ","),
		Inputs: []*oippb.ModelMetadataResponse_TensorMetadata{
			tensorMeta("x", huge, dims...),
			tensorMeta(huge, huge, dims...),
			tensorMeta("x", "FP32", -1, 4), // listed twice
		},
		Outputs: []*oippb.ModelMetadataResponse_TensorMetadata{tensorMeta("y", "FP32", dims...)},
	}
	conn := serveMetadata(t, &metadataServer{models: map[string]*oippb.ModelMetadataResponse{"m": meta}})
	desc := contractDesc(nil)
	desc.Model.Version, desc.Methods[0].Model.Version, desc.Methods[1].Model.Version = "7", "7", "7"
	err := testClient(conn, desc).CheckModel(t.Context())
	ces := contractErrors(err)
	if len(ces) != 1 {
		t.Fatalf("err = %v, want one ContractError", err)
	}
	// The version, x's datatype and shape, the input listed twice, the
	// huge input undeclared, y's shape.
	if got := len(ces[0].Mismatches); got != 6 {
		t.Errorf("%d mismatches, want 6:\n%s", got, err)
	}
	if msg := err.Error(); len(msg) > 4<<10 {
		t.Errorf("a message of %d bytes: %.1000s", len(msg), msg)
	}
	for _, want := range []string{`version "7" is not served; the server has ["v" "v" "v" "v" "v" "v" "v" "v" and 9993 more]`, "(100000 dimensions)", `"éé`, `é…"`, `server input "x" is listed more than once`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%.2000s", want, err)
		}
	}
}

// TestCheckModelDeduplicates checks that tensors shared by several
// methods are compared once.
func TestCheckModelDeduplicates(t *testing.T) {
	meta := goodMeta("m")
	meta.Inputs[0].Shape = []int64{-1, 5}
	conn := serveMetadata(t, &metadataServer{models: map[string]*oippb.ModelMetadataResponse{"m": meta}})
	ces := contractErrors(testClient(conn, contractDesc(nil)).CheckModel(t.Context()))
	if len(ces) != 1 || len(ces[0].Mismatches) != 1 || !strings.Contains(ces[0].Mismatches[0], `input "x": declared shape [-1 4]`) {
		t.Errorf("got %v, want one mismatch about x's shape", ces)
	}
}

// TestCheckModelContext ends the context while the server answers the
// first model's metadata: CheckModel stops there, with the context's code.
func TestCheckModelContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := &metadataServer{
		models: map[string]*oippb.ModelMetadataResponse{"m": goodMeta("m"), "lite": goodMeta("lite")},
		hook:   func(string) { cancel() },
	}
	conn := serveMetadata(t, s)
	err := testClient(conn, contractDesc(&ModelRef{Name: "lite"})).CheckModel(ctx)
	if status.Code(err) != codes.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v (code %v), want Canceled matching context.Canceled", err, status.Code(err))
	}
	if got := s.called(); len(got) != 1 {
		t.Errorf("metadata read of %q, want the first model's only", got)
	}
}

// TestCompareStopsWithContext compares 100000 server inputs under a
// context that has ended: the comparison gives up with its error.
func TestCompareStopsWithContext(t *testing.T) {
	meta := goodMeta("m")
	for i := range 100000 {
		meta.Inputs = append(meta.Inputs, tensorMeta(fmt.Sprint(i), "FP32", 1))
	}
	desc := contractDesc(nil)
	mc := desc.contracts(desc.Fallback)[0]
	for _, end := range []struct {
		ctx  func() context.Context
		code codes.Code
		err  error
	}{
		{func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, codes.Canceled, context.Canceled},
		{func() context.Context {
			ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
			cancel()
			return ctx
		}, codes.DeadlineExceeded, context.DeadlineExceeded},
	} {
		ce, err := desc.compare(end.ctx(), mc, toWire(meta))
		if ce != nil || status.Code(err) != end.code || !errors.Is(err, end.err) || !strings.Contains(err.Error(), "checking model m") {
			t.Errorf("compare = %v, %v; want the context's error", ce, err)
		}
	}
}

// BenchmarkCompareUndeclared compares metadata of n undeclared inputs:
// the time per input stays flat as n grows tenfold (the quadratic
// deduplication took 4.3 s for 40000).
func BenchmarkCompareUndeclared(b *testing.B) {
	for _, n := range []int{4000, 40000} {
		meta := goodMeta("m")
		for i := range n {
			meta.Inputs = append(meta.Inputs, tensorMeta(fmt.Sprint("extra_", i), "FP32", 1))
		}
		desc := contractDesc(nil)
		mc := desc.contracts(desc.Fallback)[0]
		wm := toWire(meta)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if ce, err := desc.compare(context.Background(), mc, wm); err != nil || ce.Omitted != n-MaxListedMismatches {
					b.Fatal(ce, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/input")
		})
	}
}

// toWire returns m as a transport reports it.
func toWire(m *oippb.ModelMetadataResponse) *wire.ModelMetadata {
	tensors := func(ts []*oippb.ModelMetadataResponse_TensorMetadata) []wire.TensorMetadata {
		out := make([]wire.TensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = wire.TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		}
		return out
	}
	return &wire.ModelMetadata{Name: m.Name, Versions: m.Versions, Platform: m.Platform, Inputs: tensors(m.Inputs), Outputs: tensors(m.Outputs)}
}
