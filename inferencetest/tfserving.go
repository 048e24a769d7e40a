package inferencetest

import (
	"context"
	"math"
	"slices"
	"strconv"

	"github.com/goai-dev/goai/internal/tfs"
	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TF Serving's APIs, served for the same registered models as the Open
// Inference Protocol's: over gRPC, PredictionService's Predict and
// GetModelMetadata and ModelService's GetModelStatus, on the same
// grpc.Server (service names tell them apart), with the standard health
// service for the server's readiness. internal/tfs serves them as
// TF Serving does (its checks, errors and answer forms); the Server adds
// what it does for every call: faults, records and stats, a model's cost
// and instances, readiness.
//
// A model serves as TF Serving serves a SavedModel: one signature
// ([Model.Signature]) whose inputs and outputs are the model's tensors,
// each with the batch dimension as -1 when the model batches; its versions
// that are numbers, the last one for requests that name none; its
// [Model.VersionLabels]. A model that is not ready reports its versions
// LOADING and answers Predict NOT_FOUND, as TF Serving does while a
// version loads.

// WithTensorContent makes TF Serving's Predict answer every tensor in
// tensor_content, as TF Serving does with
// --enable_serialization_as_tensor_content; by default it answers in the
// typed fields (float_val, int_val, ...), as TF Serving does by default.
// The Open Inference Protocol's answers do not change.
func WithTensorContent() Option {
	return optionFunc(func(c *config) { c.tensorContent = true })
}

// newTFServing returns the server of TF Serving's APIs for s's models.
func (s *Server) newTFServing() *tfs.Server {
	srv, err := tfs.NewServer(tfs.ServerOptions{
		TensorContent: s.cfg.tensorContent,
		// The limits of the gRPC server's messages, 2 GiB.
		MaxDecodedBytes: math.MaxInt32,
		MaxRequestBytes: math.MaxInt32,
		Models:          s.tfsModel,
		Intercept:       s.tfsIntercept,
	})
	if err != nil {
		panic(err) // unreachable: it has no models to refuse
	}
	return srv
}

// registerTFServing registers TF Serving's gRPC services on srv, and the
// health service that a TF Serving client asks for readiness.
func (s *Server) registerTFServing(srv *grpc.Server) {
	s.tfs.Register(srv)
	healthpb.RegisterHealthServer(srv, &health{s: s})
}

// tfModel returns m as TF Serving's APIs serve it.
func (s *Server) tfModel(m *model) *tfs.Model {
	tm := &tfs.Model{Name: m.Name, Signature: m.Signature, Labels: map[string]int64{}}
	numbers := map[int64]string{}
	for _, v := range m.Versions {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			tm.Versions = append(tm.Versions, n)
			numbers[n] = v
		}
	}
	if len(tm.Versions) == 0 {
		// None of its versions is a number TF Serving serves: to TF
		// Serving, the model has no version that is loaded.
		tm.Loading = true
	}
	for label, v := range m.VersionLabels {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			tm.Labels[label] = n
		}
	}
	specs := func(ts []TensorSpec) []tfs.TensorSpec {
		out := make([]tfs.TensorSpec, len(ts))
		for i, t := range ts {
			shape := m.fullShape(t)
			if shape == nil {
				shape = []int64{} // a scalar: TF Serving's nil is an unknown rank
			}
			out[i] = tfs.TensorSpec{Name: t.Name, DType: t.DType, Shape: shape}
		}
		return out
	}
	tm.Inputs, tm.Outputs = specs(m.Inputs), specs(m.Outputs)
	tm.Predict = func(ctx context.Context, v int64, inputs []tensor.Tensor) ([]tensor.Tensor, error) {
		return s.tfsPredict(ctx, m, numbers[v], inputs)
	}
	return tm
}

// tfsModel finds the model of a TF Serving request.
func (s *Server) tfsModel(name string) (*tfs.Model, bool) {
	s.mu.Lock()
	m, ok := s.models[name]
	notReady := s.notReady[name]
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	if notReady {
		loading := *m.tf
		loading.Loading = true
		return &loading, true
	}
	return m.tf, true
}

// predictKey is the context key of the PredictRequest being served.
type predictKey struct{}

// tfsIntercept does for each TF Serving call what the Server does for
// every call: counts and records it, and applies the faults, under the
// RPC's method name.
func (s *Server) tfsIntercept(ctx context.Context, method string, req proto.Message, handle func(context.Context) error) (err error) {
	if method != "Predict" {
		if err := (&handler{s: s}).admit(ctx, method, req); err != nil {
			return err
		}
		return handle(ctx)
	}
	preq := req.(*tfspb.PredictRequest)
	s.rec.call(method)
	s.rec.request(s.recordPredict(preq))
	injected := false
	defer func() { s.rec.outcome(preq.GetModelSpec().GetName(), status.Code(err), injected) }()
	if injected, err = s.inject(ctx, method, req); err != nil {
		return err
	}
	return handle(context.WithValue(ctx, predictKey{}, preq))
}

// tfsPredict runs m for a Predict request of version, whose inputs
// internal/tfs has checked against the signature, and returns every
// output, in the signature's order, as internal/tfs wants them; it keeps
// those the request asked for.
func (s *Server) tfsPredict(ctx context.Context, m *model, version string, inputs []tensor.Tensor) ([]tensor.Tensor, error) {
	preq, _ := ctx.Value(predictKey{}).(*tfspb.PredictRequest)
	r := &Request{Model: m.Name, Version: version, Inputs: inputs, Message: preq}
	for _, o := range m.Outputs {
		r.Outputs = append(r.Outputs, o.Name)
	}
	if m.MaxBatchSize > 0 && len(inputs) > 0 {
		b := inputs[0].Shape[0]
		for _, t := range inputs {
			if t.Shape[0] != b {
				return nil, status.Errorf(codes.InvalidArgument, "input %q has a batch of %d, input %q of %d: the inputs of a batched model share dimension 0", t.Name, t.Shape[0], inputs[0].Name, b)
			}
		}
		if b > int64(m.MaxBatchSize) {
			return nil, status.Errorf(codes.InvalidArgument, "batch of %d exceeds the maximum batch size of model %q, %d", b, m.Name, m.MaxBatchSize)
		}
		r.BatchSize = int(b)
	}
	outs, err := s.run(ctx, m, r)
	if err != nil {
		return nil, err
	}
	ordered := make([]tensor.Tensor, len(m.Outputs))
	for i, spec := range m.Outputs {
		j := slices.IndexFunc(outs, func(t tensor.Tensor) bool { return t.Name == spec.Name })
		if j < 0 {
			return nil, status.Errorf(codes.Internal, "model '%s' returned no output '%s'", m.Name, spec.Name)
		}
		ordered[i] = outs[j]
	}
	return ordered, nil
}

// recordPredict returns req as a RecordedRequest. Its inputs are a map,
// in no order: they are recorded in the order the model declares them,
// then any others by name.
func (s *Server) recordPredict(req *tfspb.PredictRequest) *RecordedRequest {
	spec := req.GetModelSpec()
	r := &RecordedRequest{
		Model:   spec.GetName(),
		Version: spec.GetVersionLabel(),
		Outputs: slices.Clone(req.GetOutputFilter()),
		Message: req,
	}
	if v := spec.GetVersion(); v != nil {
		r.Version = strconv.FormatInt(v.GetValue(), 10)
	}
	var names []string
	for name := range req.GetInputs() {
		names = append(names, name)
	}
	slices.Sort(names)
	s.mu.Lock()
	if m, ok := s.models[spec.GetName()]; ok {
		slices.SortStableFunc(names, func(a, b string) int {
			return declared(m.inputs, a) - declared(m.inputs, b)
		})
	}
	s.mu.Unlock()
	for _, name := range names {
		p := req.GetInputs()[name]
		var shape []int64
		if !p.GetTensorShape().GetUnknownRank() {
			shape = make([]int64, 0, len(p.GetTensorShape().GetDim()))
			for _, d := range p.GetTensorShape().GetDim() {
				shape = append(shape, d.GetSize())
			}
		}
		r.Inputs = append(r.Inputs, RecordedTensor{Name: name, Datatype: tfs.DatatypeName(p.GetDtype()), Shape: shape})
		if len(p.GetTensorContent()) > 0 {
			r.RawInputs++
		}
	}
	return r
}

// declared is the index of the input name in a model's declaration, and
// after every declared one for another name.
func declared(inputs map[string]int, name string) int {
	if i, ok := inputs[name]; ok {
		return i
	}
	return len(inputs)
}

// health serves the standard gRPC health service, which TF Serving runs
// with --enable_grpc_healthcheck_service and goai's TF Serving client asks
// for the server's readiness: SERVING unless [Server.SetServerReady] said
// otherwise.
type health struct {
	healthpb.UnimplementedHealthServer
	s *Server
}

func (h *health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if err := (&handler{s: h.s}).admit(ctx, "Check", req); err != nil {
		return nil, err
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	st := healthpb.HealthCheckResponse_SERVING
	if h.s.serverNotReady {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}
