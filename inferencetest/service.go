package inferencetest

import (
	"context"
	"errors"
	"fmt"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// handler serves GRPCInferenceService for a Server. It is a separate type
// so that the RPC methods stay off Server's API.
type handler struct {
	s *Server
}

var _ oippb.Server = (*handler)(nil)

// admit counts a call and applies the faults to it.
func (h *handler) admit(ctx context.Context, method string, req proto.Message) error {
	h.s.rec.call(method)
	_, err := h.s.inject(ctx, method, req)
	return err
}

func (h *handler) ServerLive(ctx context.Context, req *oippb.ServerLiveRequest) (*oippb.ServerLiveResponse, error) {
	if err := h.admit(ctx, "ServerLive", req); err != nil {
		return nil, err
	}
	return &oippb.ServerLiveResponse{Live: true}, nil
}

func (h *handler) ServerReady(ctx context.Context, req *oippb.ServerReadyRequest) (*oippb.ServerReadyResponse, error) {
	if err := h.admit(ctx, "ServerReady", req); err != nil {
		return nil, err
	}
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	return &oippb.ServerReadyResponse{Ready: !h.s.serverNotReady}, nil
}

func (h *handler) ServerMetadata(ctx context.Context, req *oippb.ServerMetadataRequest) (*oippb.ServerMetadataResponse, error) {
	if err := h.admit(ctx, "ServerMetadata", req); err != nil {
		return nil, err
	}
	c := &h.s.cfg
	return &oippb.ServerMetadataResponse{
		Name:       c.name,
		Version:    c.version,
		Extensions: append([]string(nil), c.extensions...),
	}, nil
}

func (h *handler) ModelReady(ctx context.Context, req *oippb.ModelReadyRequest) (*oippb.ModelReadyResponse, error) {
	if err := h.admit(ctx, "ModelReady", req); err != nil {
		return nil, err
	}
	// Triton answers false, not an error, for a model it does not know.
	_, _, err := h.s.lookup(req.GetName(), req.GetVersion())
	return &oippb.ModelReadyResponse{Ready: err == nil}, nil
}

func (h *handler) ModelMetadata(ctx context.Context, req *oippb.ModelMetadataRequest) (*oippb.ModelMetadataResponse, error) {
	if err := h.admit(ctx, "ModelMetadata", req); err != nil {
		return nil, err
	}
	m, _, err := h.s.lookup(req.GetName(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	resp := &oippb.ModelMetadataResponse{
		Name:     m.Name,
		Versions: append([]string(nil), m.Versions...),
		Platform: m.Platform,
	}
	for _, in := range m.Inputs {
		resp.Inputs = append(resp.Inputs, m.tensorMetadata(in))
	}
	for _, out := range m.Outputs {
		resp.Outputs = append(resp.Outputs, m.tensorMetadata(out))
	}
	return resp, nil
}

func (m *model) tensorMetadata(s TensorSpec) *oippb.ModelMetadataResponse_TensorMetadata {
	return &oippb.ModelMetadataResponse_TensorMetadata{
		Name:     s.Name,
		Datatype: s.DType.String(),
		Shape:    m.fullShape(s),
	}
}

func (h *handler) ModelInfer(ctx context.Context, req *oippb.ModelInferRequest) (*oippb.ModelInferResponse, error) {
	h.s.rec.call("ModelInfer")
	return h.s.modelInfer(ctx, req, recordInfer(req), true)
}

// modelInfer serves an inference request arrived over either transport,
// recorded as rec: faults, validation, the model. typedOK says whether
// the response may carry typed contents, which only gRPC has.
func (s *Server) modelInfer(ctx context.Context, req *oippb.ModelInferRequest, rec *RecordedRequest, typedOK bool) (resp *oippb.ModelInferResponse, err error) {
	s.rec.request(rec)
	injected := false
	defer func() { s.rec.outcome(req.GetModelName(), status.Code(err), injected) }()

	if injected, err = s.inject(ctx, "ModelInfer", req); err != nil {
		return nil, err
	}
	m, version, err := s.lookup(req.GetModelName(), req.GetModelVersion())
	if err != nil {
		return nil, err
	}
	if m.Stream != nil {
		return nil, status.Error(codes.Unimplemented, "ModelInfer RPC doesn't support models with decoupled transaction policy")
	}
	r, err := decodeRequest(m, version, req)
	if err != nil {
		return nil, err
	}
	outs, err := s.run(ctx, m, r)
	if err != nil {
		return nil, err
	}
	return encodeResponse(m, r, outs, typedOK && (m.TypedOutputs || s.cfg.typed))
}

// lookup finds the model and version a request names, failing with
// Triton's codes and wording.
func (s *Server) lookup(name, version string) (*model, string, error) {
	s.mu.Lock()
	m, ok := s.models[name]
	notReady := s.notReady[name]
	s.mu.Unlock()
	if !ok {
		return nil, "", status.Errorf(codes.NotFound, "Request for unknown model: '%s' is not found", name)
	}
	v, ok := m.version(version)
	if !ok {
		return nil, "", status.Errorf(codes.NotFound, "Request for unknown model: '%s' version %s is not found", name, version)
	}
	if notReady {
		return nil, "", status.Errorf(codes.Unavailable, "Request for unknown model: '%s' version %s is not at ready state", name, v)
	}
	return m, v, nil
}

// run pays the configured cost on one of the model's instances and runs it.
func (s *Server) run(ctx context.Context, m *model, r *Request) ([]tensor.Tensor, error) {
	wctx, done := waitContext(ctx)
	defer done()
	if m.slots != nil {
		select {
		case m.slots <- struct{}{}:
			defer func() { <-m.slots }()
		case <-wctx.Done():
			return nil, waitError(wctx, wctx.Err())
		}
	}
	if cost := s.faults.cost(); cost > 0 {
		if err := s.cfg.sleep(wctx, cost); err != nil {
			return nil, waitError(wctx, err)
		}
	}
	outs, err := m.Infer(ctx, r)
	if err != nil {
		return nil, modelError(m.Name, err)
	}
	return outs, nil
}

// modelError keeps a status the model chose and makes anything else
// INTERNAL, as Triton reports backend failures.
func modelError(name string, err error) error {
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Internal, fmt.Sprintf("model '%s': %v", name, err))
}
