package inferencetest

import (
	"fmt"
	"github.com/goai-dev/goai/internal/oip"
	"slices"
	"strconv"
	"strings"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The checks below follow Triton's order and wording (its gRPC frontend,
// then the core's request normalization), so that a client tested here
// sees the errors it will see in production. Messages from the core carry
// Triton's "[request id: ...]" prefix.

func invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// decodeRequest checks a request against the model's metadata and decodes
// its inputs to raw form.
func decodeRequest(m *model, version string, req *oippb.ModelInferRequest) (*Request, error) {
	name := req.GetModelName()

	// Frontend: where each input's data comes from.
	raws := req.GetRawInputContents()
	useRaw := len(raws) > 0
	data := make([][]byte, len(req.GetInputs()))
	next := 0
	for i, in := range req.GetInputs() {
		switch {
		case useRaw && in.GetContents() != nil:
			return nil, invalid("contents field must not be specified when using raw_input_contents for '%s' for model '%s'", in.GetName(), name)
		case useRaw && next < len(raws):
			data[i] = raws[next]
			next++
		case !useRaw && in.GetContents() != nil:
			// Decoded below, once the datatype and shape are known good.
		default:
			return nil, invalid("unable to find data for input tensor '%s' for model '%s' in request.", in.GetName(), name)
		}
	}
	if next != len(raws) {
		// Triton ignores surplus raw contents; KServe rejects them, and
		// surplus data is always a client bug, so reject as KServe does.
		return nil, invalid("the number of inputs (%d) does not match the expected number of raw input contents (%d) for model '%s'.", len(req.GetInputs()), len(raws), name)
	}

	// Core: names, count, batch size, then each input's datatype, shape
	// and size.
	rid := requestID(req.GetId())
	at := make([]int, len(m.Inputs)) // declared index -> request index
	for i := range at {
		at[i] = -1
	}
	for j, in := range req.GetInputs() {
		i, ok := m.inputs[in.GetName()]
		if !ok {
			return nil, invalid("%sunexpected inference input '%s' for model '%s'", rid, in.GetName(), name)
		}
		if at[i] >= 0 {
			return nil, invalid("%sinput '%s' already exists in request for model '%s'", rid, in.GetName(), name)
		}
		at[i] = j
	}
	if len(req.GetInputs()) != len(m.Inputs) {
		var got, missing []string
		for i, j := range at {
			if j < 0 {
				missing = append(missing, m.Inputs[i].Name)
			}
		}
		for _, in := range req.GetInputs() {
			got = append(got, in.GetName())
		}
		return nil, invalid("%sexpected %d inputs but got %d inputs for model '%s'. Got input(s) %s, but missing required input(s) %s. Please provide all required input(s).",
			rid, len(m.Inputs), len(req.GetInputs()), name, quoteList(got), quoteList(missing))
	}

	batch := 0
	if m.MaxBatchSize > 0 {
		for j, in := range req.GetInputs() {
			if len(in.GetShape()) == 0 {
				spec := m.Inputs[m.inputs[in.GetName()]]
				return nil, invalid("%sunexpected shape for input '%s' for model '%s'. Expected %s, got %s", rid, in.GetName(), name, dims(m.fullShape(spec)), dims(in.GetShape()))
			}
			b := in.GetShape()[0]
			if j == 0 {
				if b > int64(m.MaxBatchSize) {
					return nil, invalid("%sinference request batch-size must be <= %d for '%s'", rid, m.MaxBatchSize, name)
				}
				batch = int(max(b, 0))
			} else if b != int64(batch) {
				return nil, invalid("%sinput '%s' batch size does not match other inputs for '%s'", rid, in.GetName(), name)
			}
		}
	}

	r := &Request{
		Model:      m.Name,
		Version:    version,
		ID:         req.GetId(),
		Parameters: parameters(req.GetParameters()),
		Inputs:     make([]tensor.Tensor, len(m.Inputs)),
		BatchSize:  batch,
		Message:    req,
	}
	for i, spec := range m.Inputs {
		in := req.GetInputs()[at[i]]
		if in.GetDatatype() != spec.DType.String() {
			return nil, invalid("%sinference input '%s' data-type is '%s', but model '%s' expects '%s'", rid, spec.Name, in.GetDatatype(), name, spec.DType)
		}
		want := m.fullShape(spec)
		if !shapeMatches(want, in.GetShape()) {
			return nil, invalid("%sunexpected shape for input '%s' for model '%s'. Expected %s, got %s", rid, spec.Name, name, dims(want), dims(in.GetShape()))
		}
		t := tensor.Tensor{Name: spec.Name, DType: spec.DType, Shape: in.GetShape(), Raw: data[at[i]]}
		if !useRaw {
			raw, err := oip.FromContents(spec.DType, in.GetShape(), in.GetContents())
			if err != nil {
				return nil, invalid("%sunable to decode contents of input '%s' for model '%s': %v", rid, spec.Name, name, err)
			}
			t.Raw = raw
		}
		if err := checkSize(t); err != nil {
			return nil, invalid("%s%s for input '%s' for model '%s'%s", rid, err.msg, spec.Name, name, err.detail)
		}
		r.Inputs[i] = t
	}

	if len(req.GetOutputs()) == 0 {
		for _, o := range m.Outputs {
			r.Outputs = append(r.Outputs, o.Name)
		}
		return r, nil
	}
	for _, o := range req.GetOutputs() {
		if _, ok := m.outputs[o.GetName()]; !ok {
			return nil, invalid("%sunexpected inference output '%s' for model '%s'", rid, o.GetName(), name)
		}
		if slices.Contains(r.Outputs, o.GetName()) {
			return nil, invalid("%soutput '%s' already exists in request for model '%s'", rid, o.GetName(), name)
		}
		r.Outputs = append(r.Outputs, o.GetName())
	}
	return r, nil
}

type sizeError struct{ msg, detail string }

// checkSize compares the data with what the shape implies, with Triton's
// message for fixed-size datatypes.
func checkSize(t tensor.Tensor) *sizeError {
	if t.DType != tensor.Bytes {
		n, err := t.NumElements()
		if err != nil {
			return &sizeError{"invalid shape", ": " + err.Error()}
		}
		if want := n * t.DType.Size(); want != len(t.Raw) {
			return &sizeError{"input byte size mismatch", fmt.Sprintf(". Expected %d, got %d", want, len(t.Raw))}
		}
		return nil
	}
	if err := t.Validate(); err != nil {
		return &sizeError{"invalid BYTES contents", ": " + err.Error()}
	}
	return nil
}

// shapeMatches reports whether a request's concrete shape fits a declared
// one, where -1 matches any size.
func shapeMatches(want, got []int64) bool {
	if len(want) != len(got) {
		return false
	}
	for i, d := range got {
		if d < 0 || want[i] != -1 && want[i] != d {
			return false
		}
	}
	return true
}

// encodeResponse builds the response from the model's outputs: the
// requested ones, in the requested order, raw unless typed and every one of
// them can be typed.
func encodeResponse(m *model, r *Request, outs []tensor.Tensor, typed bool) (*oippb.ModelInferResponse, error) {
	byName := make(map[string]tensor.Tensor, len(outs))
	for _, t := range outs {
		if _, ok := m.outputs[t.Name]; !ok {
			return nil, status.Errorf(codes.Internal, "model '%s' returned undeclared output '%s'", m.Name, t.Name)
		}
		if _, dup := byName[t.Name]; dup {
			return nil, status.Errorf(codes.Internal, "model '%s' returned output '%s' twice", m.Name, t.Name)
		}
		byName[t.Name] = t
	}
	sel := make([]tensor.Tensor, len(r.Outputs))
	for i, name := range r.Outputs {
		t, ok := byName[name]
		if !ok {
			return nil, status.Errorf(codes.Internal, "model '%s' returned no output '%s'", m.Name, name)
		}
		if want := m.Outputs[m.outputs[name]].DType; t.DType != want {
			return nil, status.Errorf(codes.Internal, "model '%s' returned output '%s' as %v, declared %v", m.Name, name, t.DType, want)
		}
		if err := t.Validate(); err != nil {
			return nil, status.Errorf(codes.Internal, "model '%s' returned a malformed output: %v", m.Name, err)
		}
		if t.DType == tensor.FP16 || t.DType == tensor.BF16 {
			typed = false // typed contents have no field for them
		}
		sel[i] = t
	}

	resp := &oippb.ModelInferResponse{
		ModelName:    m.Name,
		ModelVersion: r.Version,
		Id:           r.ID,
		Outputs:      make([]*oippb.ModelInferResponse_InferOutputTensor, len(sel)),
	}
	if !typed {
		resp.RawOutputContents = make([][]byte, len(sel))
	}
	for i, t := range sel {
		out := &oippb.ModelInferResponse_InferOutputTensor{
			Name:     t.Name,
			Datatype: t.DType.String(),
			Shape:    slices.Clone(t.Shape),
		}
		if typed {
			c, err := oip.ToContents(t.DType, t.Raw)
			if err != nil {
				return nil, status.Errorf(codes.Internal, "model '%s': output '%s': %v", m.Name, t.Name, err)
			}
			out.Contents = c
		} else {
			resp.RawOutputContents[i] = t.Raw
		}
		resp.Outputs[i] = out
	}
	return resp, nil
}

// requestID is Triton's prefix for errors about a request.
func requestID(id string) string {
	if id == "" {
		id = "<id_unknown>"
	}
	return "[request id: " + id + "] "
}

// dims formats a shape as Triton does: [-1,28,28].
func dims(shape []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range shape {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	b.WriteByte(']')
	return b.String()
}

// quoteList formats names as Triton does: ['INPUT0','INPUT1'].
func quoteList(names []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("'" + n + "'")
	}
	b.WriteByte(']')
	return b.String()
}

// parameters returns the request's parameters as Go values.
func parameters(ps map[string]*oippb.InferParameter) map[string]any {
	if len(ps) == 0 {
		return nil
	}
	out := make(map[string]any, len(ps))
	for k, p := range ps {
		switch v := p.GetParameterChoice().(type) {
		case *oippb.InferParameter_BoolParam:
			out[k] = v.BoolParam
		case *oippb.InferParameter_Int64Param:
			out[k] = v.Int64Param
		case *oippb.InferParameter_StringParam:
			out[k] = v.StringParam
		case *oippb.InferParameter_DoubleParam:
			out[k] = v.DoubleParam
		case *oippb.InferParameter_Uint64Param:
			out[k] = v.Uint64Param
		}
	}
	return out
}
