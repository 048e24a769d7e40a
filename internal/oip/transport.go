package oip

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Transport is the Open Inference Protocol over gRPC, on a connection of
// any kind (a goai Pool, a *grpc.ClientConn): it implements
// [wire.Transport] with ModelInfer, ModelMetadata, ModelReady,
// ServerReady and ServerLive of /inference.GRPCInferenceService.
type Transport struct {
	client oippb.Client
}

var _ wire.Transport = (*Transport)(nil)

// New returns a Transport calling through cc.
func New(cc grpc.ClientConnInterface) *Transport {
	return &Transport{client: oippb.NewClient(cc)}
}

// callOptions returns the gRPC options of a.
func callOptions(a *wire.Attempt) []grpc.CallOption {
	if a == nil {
		return nil
	}
	return a.GRPC
}

// Infer sends req as a ModelInferRequest, its tensors as raw contents, and
// converts the response. A response that breaks the protocol's layout
// rules fails with a [*wire.TensorError]; see [Response].
func (t *Transport) Infer(ctx context.Context, req *wire.Request, a *wire.Attempt) (*wire.Response, error) {
	resp, err := t.client.ModelInfer(ctx, Request(req), callOptions(a)...)
	if err != nil {
		return nil, boundStatus(err)
	}
	return Response(resp, req.Outputs)
}

// Request returns req as a ModelInferRequest with raw contents. The
// request shares req's tensor data; for up to two inputs and outputs, the
// message, its tensors and their pointers are one allocation.
func Request(req *wire.Request) *oippb.ModelInferRequest {
	b := new(requestBlock)
	m := &b.m
	*m = oippb.ModelInferRequest{ModelName: req.Model, ModelVersion: req.Version, Id: req.ID}
	inputs, ptrs, raws := b.inputs[:0], b.inputPtrs[:0], b.raws[:0]
	if n := len(req.Inputs); n > len(b.inputs) {
		inputs = make([]oippb.ModelInferRequest_InferInputTensor, 0, n)
		ptrs = make([]*oippb.ModelInferRequest_InferInputTensor, 0, n)
		raws = make([][]byte, 0, n)
	}
	for i := range req.Inputs {
		t := &req.Inputs[i]
		inputs = append(inputs, oippb.ModelInferRequest_InferInputTensor{Name: t.Name, Datatype: t.DType.String(), Shape: t.Shape})
		ptrs = append(ptrs, &inputs[i])
		raws = append(raws, t.Raw)
	}
	m.Inputs, m.RawInputContents = ptrs, raws
	if len(req.Outputs) > 0 {
		outputs, optrs := b.outputs[:0], b.outputPtrs[:0]
		if n := len(req.Outputs); n > len(b.outputs) {
			outputs = make([]oippb.ModelInferRequest_InferRequestedOutputTensor, 0, n)
			optrs = make([]*oippb.ModelInferRequest_InferRequestedOutputTensor, 0, n)
		}
		for i, name := range req.Outputs {
			outputs = append(outputs, oippb.ModelInferRequest_InferRequestedOutputTensor{Name: name})
			optrs = append(optrs, &outputs[i])
		}
		m.Outputs = optrs
	}
	return m
}

// requestBlock is a ModelInferRequest with room for few tensors.
type requestBlock struct {
	m          oippb.ModelInferRequest
	inputs     [2]oippb.ModelInferRequest_InferInputTensor
	inputPtrs  [2]*oippb.ModelInferRequest_InferInputTensor
	raws       [2][]byte
	outputs    [2]oippb.ModelInferRequest_InferRequestedOutputTensor
	outputPtrs [2]*oippb.ModelInferRequest_InferRequestedOutputTensor
}

// responseBlock is a wire.Response with room for few outputs.
type responseBlock struct {
	r       wire.Response
	outputs [2]tensor.Tensor
}

// Response converts resp by the protocol's rule for where each output's
// data is: either raw_output_contents, one entry per output in the order
// of outputs, and then no output may carry typed contents; or, with no
// raw entry at all, each output's typed contents. Anything else, and an
// output named twice, is a [*wire.TensorError], never a guess at which
// data belongs to which output. Typed contents are converted to raw form
// only for the outputs named in wanted (all of them when wanted is
// empty): what a client did not ask for cannot fail its call.
//
// Raw data is shared with resp, not copied; typed BYTES contents come as
// [wire.Response.Elements], unframed. An output's datatype that
// goai does not know becomes [tensor.Invalid], for the caller to refuse
// if it declared the output.
func Response(resp *oippb.ModelInferResponse, wanted []string) (*wire.Response, error) {
	outs := resp.GetOutputs()
	raws := resp.GetRawOutputContents()
	if err := checkUnique(outs, wanted); err != nil {
		return nil, err
	}
	if len(raws) > 0 {
		if len(raws) != len(outs) {
			return nil, &wire.TensorError{Tensor: rawFault(outs, len(raws), wanted), Output: true, Err: tensor.ErrLength,
				Message: fmt.Sprintf("has no data of its own: the response has %d raw_output_contents for %d outputs, where raw contents are one per output", len(raws), len(outs))}
		}
		for j, o := range outs {
			if o.GetContents() != nil {
				return nil, &wire.TensorError{Tensor: truncate(o.GetName()), Output: true,
					Message: fmt.Sprintf("has typed contents in a response with raw_output_contents (output %d); the two are exclusive", j)}
			}
		}
	}
	b := new(responseBlock)
	r := &b.r
	*r = wire.Response{
		Model:   resp.GetModelName(),
		Version: resp.GetModelVersion(),
		ID:      resp.GetId(),
		Outputs: b.outputs[:0],
	}
	if len(outs) > len(b.outputs) {
		r.Outputs = make([]tensor.Tensor, 0, len(outs))
	}
	for j, o := range outs {
		dt, _ := tensor.ParseDType(o.GetDatatype())
		t := tensor.Tensor{Name: o.GetName(), DType: dt, Shape: o.GetShape()}
		if len(wanted) > 0 && !contains(wanted, t.Name) {
			continue // not asked for: neither returned nor checked
		}
		switch {
		case len(raws) > 0:
			t.Raw = raws[j]
		case dt == tensor.Bytes:
			elems, err := BytesFromContents(t.Shape, o.GetContents())
			if err != nil {
				return nil, &wire.TensorError{Tensor: truncate(t.Name), Output: true, Message: "typed contents: " + err.Error(), Err: err}
			}
			if r.Elements == nil {
				r.Elements = make([][][]byte, len(outs))
			}
			r.Elements[len(r.Outputs)] = elems
		default:
			raw, err := FromContents(dt, t.Shape, o.GetContents())
			if err != nil {
				return nil, &wire.TensorError{Tensor: truncate(t.Name), Output: true, Message: "typed contents: " + err.Error(), Err: err}
			}
			t.Raw = raw
		}
		r.Outputs = append(r.Outputs, t)
	}
	return r, nil
}

// checkUnique fails on an output name that outs holds twice, among those
// wanted (all of them when wanted is empty): which of the two is the
// output would be a guess. Outputs not asked for may repeat: they are
// dropped. It takes time linear in the number of outputs, which a hostile
// response may make very large.
func checkUnique(outs []*oippb.ModelInferResponse_InferOutputTensor, wanted []string) error {
	dup := func(i, j int) error {
		return &wire.TensorError{Tensor: truncate(outs[j].GetName()), Output: true,
			Message: fmt.Sprintf("appears more than once in the response, as outputs %d and %d", i, j)}
	}
	counted := func(name string) bool { return len(wanted) == 0 || contains(wanted, name) }
	if len(outs) <= 16 {
		for j, o := range outs {
			if !counted(o.GetName()) {
				continue
			}
			for i, p := range outs[:j] {
				if p.GetName() == o.GetName() {
					return dup(i, j)
				}
			}
		}
		return nil
	}
	seen := make(map[string]int, len(wanted))
	for j, o := range outs {
		if !counted(o.GetName()) {
			continue
		}
		if i, ok := seen[o.GetName()]; ok {
			return dup(i, j)
		}
		seen[o.GetName()] = j
	}
	return nil
}

func indexOf(outs []*oippb.ModelInferResponse_InferOutputTensor, name string) int {
	for i, o := range outs {
		if o.GetName() == name {
			return i
		}
	}
	return -1
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// rawFault returns the output to name when a response's raw entries do
// not match its outputs: the first wanted one left without an entry, or
// else the first wanted one, or else the first output.
func rawFault(outs []*oippb.ModelInferResponse_InferOutputTensor, raws int, wanted []string) string {
	for _, w := range wanted {
		if j := indexOf(outs, w); j < 0 || j >= raws {
			return w
		}
	}
	if len(wanted) > 0 {
		return wanted[0]
	}
	if len(outs) > 0 {
		return truncate(outs[0].GetName())
	}
	return ""
}

// ModelMetadata returns the model's metadata, reported as the server does.
func (t *Transport) ModelMetadata(ctx context.Context, model, version string, a *wire.Attempt) (*wire.ModelMetadata, error) {
	resp, err := t.client.ModelMetadata(ctx, &oippb.ModelMetadataRequest{Name: model, Version: version}, callOptions(a)...)
	if err != nil {
		return nil, boundStatus(err)
	}
	m := &wire.ModelMetadata{
		Name:     resp.GetName(),
		Versions: resp.GetVersions(),
		Platform: resp.GetPlatform(),
		Inputs:   tensorMetadata(resp.GetInputs()),
		Outputs:  tensorMetadata(resp.GetOutputs()),
	}
	return m, nil
}

func tensorMetadata(ts []*oippb.ModelMetadataResponse_TensorMetadata) []wire.TensorMetadata {
	out := make([]wire.TensorMetadata, len(ts))
	for i, t := range ts {
		out[i] = wire.TensorMetadata{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()}
	}
	return out
}

// ModelReady reports whether the model is ready, as ModelReady answers.
func (t *Transport) ModelReady(ctx context.Context, model, version string, a *wire.Attempt) (bool, error) {
	resp, err := t.client.ModelReady(ctx, &oippb.ModelReadyRequest{Name: model, Version: version}, callOptions(a)...)
	if err != nil {
		return false, boundStatus(err)
	}
	return resp.GetReady(), nil
}

// ServerReady reports whether the server is ready, as ServerReady answers.
func (t *Transport) ServerReady(ctx context.Context, a *wire.Attempt) (bool, error) {
	resp, err := t.client.ServerReady(ctx, &oippb.ServerReadyRequest{}, callOptions(a)...)
	if err != nil {
		return false, boundStatus(err)
	}
	return resp.GetReady(), nil
}

// ServerLive reports whether the server is live, as ServerLive answers.
func (t *Transport) ServerLive(ctx context.Context, a *wire.Attempt) (bool, error) {
	resp, err := t.client.ServerLive(ctx, &oippb.ServerLiveRequest{}, callOptions(a)...)
	if err != nil {
		return false, boundStatus(err)
	}
	return resp.GetLive(), nil
}

// Close does nothing: the connection is its owner's to close.
func (t *Transport) Close() error { return nil }

// maxStatusMessage is the most of a server's status message an error
// keeps: a hostile or broken server's message is echoed into every error
// and log line built on it.
const maxStatusMessage = 1024

// boundStatus returns err with its status message cut to
// maxStatusMessage bytes; an error without a long message comes back as
// it is, so the common case allocates nothing.
func boundStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok || len(st.Message()) <= maxStatusMessage {
		return err
	}
	p := st.Proto()
	p.Message = cut(p.Message, maxStatusMessage)
	return status.ErrorProto(p)
}

// maxEchoed is the most bytes of a server's string (a name, a datatype)
// that an error quotes.
const maxEchoed = 64

// truncate cuts s, a string from the server, to maxEchoed bytes.
func truncate(s string) string { return cut(s, maxEchoed) }

// cut returns s cut to at most n bytes, at a rune boundary, with an
// ellipsis when it was cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := 1; i < utf8.UTFMax && n > 0 && !utf8.RuneStart(s[n]); i++ {
		n--
	}
	return s[:n] + "…"
}
