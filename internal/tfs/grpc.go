package tfs

import (
	"context"
	"fmt"
	"slices"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// GRPC is the [wire.Transport] of TF Serving's gRPC API: Predict and
// GetModelMetadata of tensorflow.serving.PredictionService, GetModelStatus
// of tensorflow.serving.ModelService, and the standard gRPC health service
// for the server's own state.
//
// TF Serving sends no retry pushback over gRPC, so a GRPC never reports
// one; its errors are grpc-go's, with the server's codes.
type GRPC struct {
	cc   grpc.ClientConnInterface
	c    tfspb.Client
	opts Options
}

var _ wire.Transport = (*GRPC)(nil)

// NewGRPC returns a transport calling TF Serving through cc, which it
// does not own: Close leaves cc open.
func NewGRPC(cc grpc.ClientConnInterface, opts Options) *GRPC {
	return &GRPC{cc: cc, c: tfspb.NewClient(cc), opts: opts}
}

func callOptions(a *wire.Attempt) []grpc.CallOption {
	if a == nil {
		return nil
	}
	return a.GRPC
}

// Infer sends req as a PredictRequest: the model and version in its
// ModelSpec (see [VersionMode]) with the configured signature, each input
// under its name, and req.Outputs as the output filter. Outputs come back
// in req.Outputs' order, or sorted by name when req.Outputs is nil. An
// input goai cannot encode, or two inputs of one name, fail without a
// code before anything is sent; a response goai cannot read fails with
// INTERNAL (RESOURCE_EXHAUSTED over the size limit).
func (g *GRPC) Infer(ctx context.Context, req *wire.Request, a *wire.Attempt) (*wire.Response, error) {
	spec, err := g.opts.modelSpec(req.Model, req.Version, g.opts.signature())
	if err != nil {
		return nil, err
	}
	preq, err := PredictRequest(spec, req)
	if err != nil {
		return nil, err
	}
	resp, err := g.c.Predict(ctx, preq, callOptions(a)...)
	if err != nil {
		return nil, err
	}
	return PredictResponse(resp, req.Outputs, g.opts.maxDecoded())
}

// PredictRequest returns the PredictRequest of req under spec, its inputs
// encoded by [EncodeTensor] (aliasing their Raw) and req.Outputs as the
// output filter.
func PredictRequest(spec *tfspb.ModelSpec, req *wire.Request) (*tfspb.PredictRequest, error) {
	p := &tfspb.PredictRequest{
		ModelSpec:    spec,
		Inputs:       make(map[string]*tfspb.TensorProto, len(req.Inputs)),
		OutputFilter: req.Outputs,
	}
	for _, t := range req.Inputs {
		if _, dup := p.Inputs[t.Name]; dup {
			return nil, fmt.Errorf("tfs: input %q given twice", t.Name)
		}
		tp, err := EncodeTensor(t)
		if err != nil {
			return nil, fmt.Errorf("tfs: input: %w", err)
		}
		p.Inputs[t.Name] = tp
	}
	return p, nil
}

// PredictResponse returns resp as a [wire.Response]: the outputs named in
// want, in that order, or every output sorted by name when want is nil,
// decoded by [DecodeTensor] within max bytes altogether
// ([DefaultMaxDecodedBytes] if max <= 0). A wanted output
// missing from resp, or one goai cannot read, fails with INTERNAL; more
// than max bytes with RESOURCE_EXHAUSTED.
func PredictResponse(resp *tfspb.PredictResponse, want []string, max int) (*wire.Response, error) {
	if max <= 0 {
		max = DefaultMaxDecodedBytes
	}
	names := want
	if names == nil {
		names = make([]string, 0, len(resp.GetOutputs()))
		for name := range resp.GetOutputs() {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	out := &wire.Response{
		Model:   resp.GetModelSpec().GetName(),
		Version: specVersion(resp.GetModelSpec()),
		Outputs: make([]tensor.Tensor, 0, len(names)),
	}
	for _, name := range names {
		p, ok := resp.GetOutputs()[name]
		if !ok {
			return nil, badResponse(fmt.Errorf("output %q is missing", name))
		}
		t, err := decodeTensor(name, p, max)
		if err != nil {
			return nil, badResponse(err)
		}
		max -= len(t.Raw)
		out.Outputs = append(out.Outputs, t)
	}
	return out, nil
}

// ModelMetadata asks GetModelMetadata for the model's signature_def and
// returns the configured signature's (see [ModelMetadata]).
func (g *GRPC) ModelMetadata(ctx context.Context, model, version string, a *wire.Attempt) (*wire.ModelMetadata, error) {
	spec, err := g.opts.modelSpec(model, version, g.opts.signature())
	if err != nil {
		return nil, err
	}
	resp, err := g.c.GetModelMetadata(ctx, &tfspb.GetModelMetadataRequest{
		ModelSpec:     spec,
		MetadataField: []string{tfspb.SignatureDefKey},
	}, callOptions(a)...)
	if err != nil {
		return nil, err
	}
	return metadataResponse(resp, model, g.opts.signature())
}

func metadataResponse(resp *tfspb.GetModelMetadataResponse, model, sig string) (*wire.ModelMetadata, error) {
	anyDefs, ok := resp.GetMetadata()[tfspb.SignatureDefKey]
	if !ok {
		return nil, status.Errorf(codes.Internal, "tfs: malformed response: model metadata has no %q", tfspb.SignatureDefKey)
	}
	var defs tfspb.SignatureDefMap
	if err := tfspb.UnpackSignatureDefMap(anyDefs, &defs); err != nil {
		return nil, err
	}
	spec := resp.GetModelSpec()
	if spec.GetName() == "" {
		spec = &tfspb.ModelSpec{Name: model, VersionChoice: spec.GetVersionChoice()}
	}
	return ModelMetadata(spec, &defs, sig)
}

// ModelReady asks GetModelStatus for the model's versions and reports
// whether one is AVAILABLE (see [Ready]). TF Serving answers NOT_FOUND for
// a model or version it does not know, which reads as not ready, not as
// an error; it ignores a version label here and answers for every
// version.
func (g *GRPC) ModelReady(ctx context.Context, model, version string, a *wire.Attempt) (bool, error) {
	spec, err := g.opts.modelSpec(model, version, "")
	if err != nil {
		return false, err
	}
	resp, err := g.c.GetModelStatus(ctx, &tfspb.GetModelStatusRequest{ModelSpec: spec}, callOptions(a)...)
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return Ready(resp), nil
}

// ServerReady asks the standard gRPC health service for the server's
// overall state (service ""): SERVING is ready, any other state is not.
// TF Serving runs the health service only with
// --enable_grpc_healthcheck_service; without it the call fails with
// UNIMPLEMENTED, which reads as ready, because TF Serving opens its gRPC
// port only after its initial models have loaded.
func (g *GRPC) ServerReady(ctx context.Context, a *wire.Attempt) (bool, error) {
	st, err := g.health(ctx, a)
	if err != nil {
		return false, err
	}
	return st == healthpb.HealthCheckResponse_SERVING, nil
}

// ServerLive reports whether the server answers the standard gRPC health
// service: any state it reports, and UNIMPLEMENTED (no health service, TF
// Serving's default), prove it alive.
func (g *GRPC) ServerLive(ctx context.Context, a *wire.Attempt) (bool, error) {
	if _, err := g.health(ctx, a); err != nil {
		return false, err
	}
	return true, nil
}

// health returns the server's overall health, SERVING when it has no
// health service.
func (g *GRPC) health(ctx context.Context, a *wire.Attempt) (healthpb.HealthCheckResponse_ServingStatus, error) {
	resp, err := healthpb.NewHealthClient(g.cc).Check(ctx, &healthpb.HealthCheckRequest{}, callOptions(a)...)
	if status.Code(err) == codes.Unimplemented {
		return healthpb.HealthCheckResponse_SERVING, nil
	}
	if err != nil {
		return healthpb.HealthCheckResponse_UNKNOWN, err
	}
	return resp.GetStatus(), nil
}

// Close does nothing: a GRPC does not own its connection.
func (g *GRPC) Close() error { return nil }
