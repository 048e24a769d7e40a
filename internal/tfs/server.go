package tfs

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Model is a model a [Server] serves: one signature, declared as tensor
// specs, computed by a Go function.
type Model struct {
	// Name is the model's name.
	Name string
	// Versions are the versions served; empty is version 1. The highest
	// serves requests that name none.
	Versions []int64
	// Labels map version labels to versions.
	Labels map[string]int64
	// Signature is the signature's name; empty is [DefaultSignature].
	Signature string
	// Inputs and Outputs are the signature's tensors. Inputs reach Predict
	// in this order; Predict returns every output in this order.
	Inputs, Outputs []TensorSpec
	// Predict computes the outputs of version from inputs. An error with
	// a gRPC status goes to the client as it is; any other error as
	// INTERNAL.
	Predict func(ctx context.Context, version int64, inputs []tensor.Tensor) ([]tensor.Tensor, error)
	// Loading makes every version report LOADING and Predict answer
	// NOT_FOUND, as TF Serving does before a version is available.
	Loading bool
}

func (m *Model) signature() string {
	if m.Signature == "" {
		return DefaultSignature
	}
	return m.Signature
}

func (m *Model) versions() []int64 {
	if len(m.Versions) == 0 {
		return []int64{1}
	}
	return m.Versions
}

// ServerOptions configures a [Server].
type ServerOptions struct {
	// TensorContent answers with every tensor in tensor_content, as TF
	// Serving does with --enable_serialization_as_tensor_content; by
	// default tensors go in their typed fields, as TF Serving sends them.
	TensorContent bool
	// MaxDecodedBytes limits the raw bytes of one request's tensors; 0 is
	// [DefaultMaxDecodedBytes].
	MaxDecodedBytes int
	// MaxRequestBytes limits a REST request's body; 0 is
	// [DefaultMaxResponseBytes].
	MaxRequestBytes int

	// Models, when not nil, finds the model a request names, in place of
	// the models given to [NewServer], for a server whose models change
	// while it serves. It is called for every request; a model it returns
	// must be one NewServer would accept, and must not change afterwards.
	Models func(name string) (*Model, bool)

	// Intercept, when not nil, runs around the handling of every request,
	// over gRPC and REST alike, as a gRPC unary interceptor does: method
	// is "Predict", "GetModelMetadata" or "GetModelStatus", req the
	// request (over REST, the one its path and body stand for, without
	// the inputs of a body that could not be read), and handle serves it,
	// or fails as the server would. What Intercept returns is the call's
	// outcome: handle's error, or its own without calling handle. Over
	// REST, a gRPC trailer set on ctx (grpc.SetTrailer) that asks for a
	// retry pushback (grpc-retry-pushback-ms) is sent as Retry-After.
	Intercept func(ctx context.Context, method string, req proto.Message, handle func(context.Context) error) error
}

// Server serves models as TF Serving does: PredictionService's Predict
// and GetModelMetadata and ModelService's GetModelStatus over gRPC
// ([Server.Register]), and the REST API's predict, metadata and status
// over HTTP ([Server.ServeHTTP]), with TF Serving's errors and codes. It
// is goai's in-process stand-in for TF Serving in tests.
type Server struct {
	models map[string]*Model
	opts   ServerOptions
}

var (
	_ tfspb.PredictionServer = (*Server)(nil)
	_ tfspb.ModelServer      = (*Server)(nil)
)

// NewServer returns a server of models, which it does not copy: they must
// not change while it serves.
func NewServer(opts ServerOptions, models ...*Model) (*Server, error) {
	s := &Server{models: make(map[string]*Model, len(models)), opts: opts}
	for _, m := range models {
		if m.Name == "" || m.Predict == nil {
			return nil, fmt.Errorf("tfs: model %q: a model needs a name and a Predict function", m.Name)
		}
		if _, dup := s.models[m.Name]; dup {
			return nil, fmt.Errorf("tfs: model %q declared twice", m.Name)
		}
		for _, specs := range [][]TensorSpec{m.Inputs, m.Outputs} {
			for i, spec := range specs {
				if !spec.DType.Valid() || spec.Name == "" || slices.ContainsFunc(specs[:i], func(o TensorSpec) bool { return o.Name == spec.Name }) {
					return nil, fmt.Errorf("tfs: model %q: tensor %q: a tensor needs a unique name and a datatype", m.Name, spec.Name)
				}
			}
		}
		for label, v := range m.Labels {
			if !slices.Contains(m.versions(), v) {
				return nil, fmt.Errorf("tfs: model %q: label %q names version %d, which is not served", m.Name, label, v)
			}
		}
		s.models[m.Name] = m
	}
	return s, nil
}

// answer is a handler's outcome: resp, or err, or an error when an
// Intercept answered without calling the handler.
func answer[R proto.Message](resp R, err error) (R, error) {
	var zero R
	switch {
	case err != nil:
		return zero, err
	case !resp.ProtoReflect().IsValid():
		return zero, status.Error(codes.Internal, "tfs: Intercept answered without serving the request")
	}
	return resp, nil
}

// model returns the model named name.
func (s *Server) model(name string) (*Model, bool) {
	if s.opts.Models != nil {
		return s.opts.Models(name)
	}
	m, ok := s.models[name]
	return m, ok
}

// intercept serves a request through handle, and the Intercept option.
func (s *Server) intercept(ctx context.Context, method string, req proto.Message, handle func(context.Context) error) error {
	if s.opts.Intercept == nil {
		return handle(ctx)
	}
	return s.opts.Intercept(ctx, method, req, handle)
}

// Register registers the gRPC services on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	tfspb.RegisterPredictionServer(r, s)
	tfspb.RegisterModelServer(r, s)
}

func (s *Server) maxDecoded() int {
	if s.opts.MaxDecodedBytes <= 0 {
		return DefaultMaxDecodedBytes
	}
	return s.opts.MaxDecodedBytes
}

// resolve returns the model and version spec names, with TF Serving's
// NOT_FOUND when there is none.
func (s *Server) resolve(spec *tfspb.ModelSpec) (*Model, int64, error) {
	if spec == nil {
		return nil, 0, status.Error(codes.InvalidArgument, "Missing ModelSpec")
	}
	m, ok := s.model(spec.GetName())
	if !ok || m.Loading {
		return nil, 0, status.Errorf(codes.NotFound, "Servable not found for request: %s", servableRequest(spec))
	}
	var v int64
	switch c := spec.GetVersionChoice().(type) {
	case *tfspb.ModelSpec_Version:
		v = c.Version.GetValue()
		if !slices.Contains(m.versions(), v) {
			return nil, 0, status.Errorf(codes.NotFound, "Servable not found for request: %s", servableRequest(spec))
		}
	case *tfspb.ModelSpec_VersionLabel:
		if v, ok = m.Labels[c.VersionLabel]; !ok {
			return nil, 0, status.Errorf(codes.InvalidArgument, "Unrecognized servable version label: %s", c.VersionLabel)
		}
	default:
		v = slices.Max(m.versions())
	}
	return m, v, nil
}

// servableRequest spells a request's servable as TF Serving's errors do.
func servableRequest(spec *tfspb.ModelSpec) string {
	if v := spec.GetVersion(); v != nil {
		return fmt.Sprintf("Specific(%s, %d)", spec.GetName(), v.GetValue())
	}
	return fmt.Sprintf("Latest(%s)", spec.GetName())
}

// signature returns m's signature if spec names it (or none).
func signatureOf(m *Model, spec *tfspb.ModelSpec) (string, error) {
	sig := spec.GetSignatureName()
	if sig == "" {
		sig = DefaultSignature
	}
	if sig != m.signature() {
		return "", status.Errorf(codes.FailedPrecondition, "Serving signature key %q not found.", sig)
	}
	return sig, nil
}

// Predict serves PredictionService.Predict.
func (s *Server) Predict(ctx context.Context, req *tfspb.PredictRequest) (resp *tfspb.PredictResponse, err error) {
	err = s.intercept(ctx, "Predict", req, func(ctx context.Context) (err error) {
		resp, err = s.predict(ctx, req)
		return err
	})
	return answer(resp, err)
}

func (s *Server) predict(ctx context.Context, req *tfspb.PredictRequest) (*tfspb.PredictResponse, error) {
	m, v, err := s.resolve(req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	sig, err := signatureOf(m, req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	budget := s.maxDecoded()
	inputs := make(map[string]tensor.Tensor, len(req.GetInputs()))
	for name, p := range req.GetInputs() {
		t, err := decodeTensor(name, p, budget)
		if err != nil {
			return nil, badRequest(err)
		}
		budget -= len(t.Raw)
		inputs[name] = t
	}
	outs, err := s.run(ctx, m, v, inputs, req.GetOutputFilter())
	if err != nil {
		return nil, err
	}
	resp := &tfspb.PredictResponse{
		ModelSpec: versionSpec(m.Name, v, sig),
		Outputs:   make(map[string]*tfspb.TensorProto, len(outs)),
	}
	for _, t := range outs {
		var p *tfspb.TensorProto
		if s.opts.TensorContent {
			p, err = EncodeTensorContent(t)
		} else {
			p, err = EncodeTensorTyped(t)
		}
		if err != nil {
			return nil, status.Errorf(codes.Internal, "output %q: %v", t.Name, err)
		}
		resp.Outputs[t.Name] = p
	}
	return resp, nil
}

func versionSpec(model string, v int64, sig string) *tfspb.ModelSpec {
	return &tfspb.ModelSpec{
		Name:          model,
		VersionChoice: &tfspb.ModelSpec_Version{Version: wrapperspb.Int64(v)},
		SignatureName: sig,
	}
}

// run checks inputs against m's signature as TF Serving does, computes
// the outputs and returns those filter names (all when empty), in
// filter's order or the signature's.
func (s *Server) run(ctx context.Context, m *Model, v int64, inputs map[string]tensor.Tensor, filter []string) ([]tensor.Tensor, error) {
	names := func(specs []TensorSpec) string {
		ns := make([]string, len(specs))
		for i, spec := range specs {
			ns[i] = spec.Name
		}
		slices.Sort(ns)
		return strings.Join(ns, ",")
	}
	if len(inputs) != len(m.Inputs) || slices.ContainsFunc(m.Inputs, func(s TensorSpec) bool { _, ok := inputs[s.Name]; return !ok }) {
		got := make([]string, 0, len(inputs))
		for name := range inputs {
			got = append(got, name)
		}
		slices.Sort(got)
		return nil, status.Errorf(codes.InvalidArgument, "input size does not match signature: %d!=%d len({%s}) != len({%s})",
			len(inputs), len(m.Inputs), strings.Join(got, ","), names(m.Inputs))
	}
	in := make([]tensor.Tensor, len(m.Inputs))
	for i, spec := range m.Inputs {
		t := inputs[spec.Name]
		if err := checkTensor(spec, t); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "input %q: %v", spec.Name, err)
		}
		in[i] = t
	}
	want := make([]int, 0, len(m.Outputs))
	for _, name := range filter {
		i := slices.IndexFunc(m.Outputs, func(o TensorSpec) bool { return o.Name == name })
		if i < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "output tensor alias not found in signature: %s Outputs expected to be in the set {%s}.", name, names(m.Outputs))
		}
		if slices.Contains(want, i) {
			return nil, status.Errorf(codes.InvalidArgument, "duplicate output tensor alias: %s", name)
		}
		want = append(want, i)
	}
	if len(want) == 0 {
		for i := range m.Outputs {
			want = append(want, i)
		}
	}
	outs, err := m.Predict(ctx, v, in)
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	if len(outs) != len(m.Outputs) {
		return nil, status.Errorf(codes.Internal, "model %q returned %d outputs, its signature has %d", m.Name, len(outs), len(m.Outputs))
	}
	for i, spec := range m.Outputs {
		outs[i].Name = spec.Name
		if err := checkTensor(spec, outs[i]); err != nil {
			return nil, status.Errorf(codes.Internal, "model %q: output %q: %v", m.Name, spec.Name, err)
		}
	}
	res := make([]tensor.Tensor, len(want))
	for j, i := range want {
		res[j] = outs[i]
	}
	return res, nil
}

// checkTensor reports how t differs from spec.
func checkTensor(spec TensorSpec, t tensor.Tensor) error {
	if t.DType != spec.DType {
		return fmt.Errorf("expects %v but %v is provided", spec.DType, t.DType)
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if spec.Shape == nil {
		return nil
	}
	if len(t.Shape) != len(spec.Shape) {
		return fmt.Errorf("shape %v does not match %v", t.Shape, spec.Shape)
	}
	for i, d := range spec.Shape {
		if d >= 0 && t.Shape[i] != d {
			return fmt.Errorf("shape %v does not match %v", t.Shape, spec.Shape)
		}
	}
	return nil
}

// GetModelMetadata serves PredictionService.GetModelMetadata: the
// model's one signature, packed as TF Serving packs it.
func (s *Server) GetModelMetadata(ctx context.Context, req *tfspb.GetModelMetadataRequest) (resp *tfspb.GetModelMetadataResponse, err error) {
	err = s.intercept(ctx, "GetModelMetadata", req, func(ctx context.Context) (err error) {
		resp, err = s.getModelMetadata(req)
		return err
	})
	return answer(resp, err)
}

func (s *Server) getModelMetadata(req *tfspb.GetModelMetadataRequest) (*tfspb.GetModelMetadataResponse, error) {
	if len(req.GetMetadataField()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "GetModelMetadataRequest must specify at least one metadata_field")
	}
	for _, f := range req.GetMetadataField() {
		if f != tfspb.SignatureDefKey {
			return nil, status.Errorf(codes.InvalidArgument, "Metadata field %s is not supported", f)
		}
	}
	spec, defs, err := s.metadata(req.GetModelSpec())
	if err != nil {
		return nil, err
	}
	packed, err := tfspb.PackSignatureDefMap(defs)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &tfspb.GetModelMetadataResponse{
		ModelSpec: spec,
		Metadata:  map[string]*anypb.Any{tfspb.SignatureDefKey: packed},
	}, nil
}

// metadata returns the model spec and signatures of the model spec names.
func (s *Server) metadata(spec *tfspb.ModelSpec) (*tfspb.ModelSpec, *tfspb.SignatureDefMap, error) {
	m, v, err := s.resolve(spec)
	if err != nil {
		return nil, nil, err
	}
	def := &tfspb.SignatureDef{
		Inputs:     tensorInfos(m.Inputs),
		Outputs:    tensorInfos(m.Outputs),
		MethodName: "tensorflow/serving/predict",
	}
	out := &tfspb.ModelSpec{Name: m.Name, VersionChoice: &tfspb.ModelSpec_Version{Version: wrapperspb.Int64(v)}}
	return out, &tfspb.SignatureDefMap{SignatureDef: map[string]*tfspb.SignatureDef{m.signature(): def}}, nil
}

func tensorInfos(specs []TensorSpec) map[string]*tfspb.TensorInfo {
	out := make(map[string]*tfspb.TensorInfo, len(specs))
	for _, spec := range specs {
		shape := &tfspb.TensorShapeProto{UnknownRank: spec.Shape == nil}
		if spec.Shape != nil {
			shape = shapeProto(spec.Shape)
		}
		out[spec.Name] = &tfspb.TensorInfo{
			Encoding:    &tfspb.TensorInfo_Name{Name: spec.Name + ":0"},
			Dtype:       tfOfDType[spec.DType],
			TensorShape: shape,
		}
	}
	return out
}

// GetModelStatus serves ModelService.GetModelStatus: every version of the
// model, or the one spec names by number (a label is ignored, as TF
// Serving ignores it).
func (s *Server) GetModelStatus(ctx context.Context, req *tfspb.GetModelStatusRequest) (resp *tfspb.GetModelStatusResponse, err error) {
	err = s.intercept(ctx, "GetModelStatus", req, func(context.Context) (err error) {
		resp, err = s.getModelStatus(req)
		return err
	})
	return answer(resp, err)
}

func (s *Server) getModelStatus(req *tfspb.GetModelStatusRequest) (*tfspb.GetModelStatusResponse, error) {
	spec := req.GetModelSpec()
	if spec == nil {
		return nil, status.Error(codes.InvalidArgument, "Missing ModelSpec")
	}
	m, ok := s.model(spec.GetName())
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Could not find any versions of model %s", spec.GetName())
	}
	versions := m.versions()
	if v := spec.GetVersion(); v != nil {
		if !slices.Contains(versions, v.GetValue()) {
			return nil, status.Errorf(codes.NotFound, "Could not find version %d of model %s", v.GetValue(), m.Name)
		}
		versions = []int64{v.GetValue()}
	}
	state := tfspb.ModelVersionStatus_AVAILABLE
	if m.Loading {
		state = tfspb.ModelVersionStatus_LOADING
	}
	resp := &tfspb.GetModelStatusResponse{}
	for _, v := range versions {
		resp.ModelVersionStatus = append(resp.ModelVersionStatus, &tfspb.ModelVersionStatus{
			Version: v,
			State:   state,
			Status:  &tfspb.StatusProto{},
		})
	}
	return resp, nil
}
