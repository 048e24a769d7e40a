package inferencetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/goai-dev/goai/internal/tfs"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/protobuf/proto"
)

// TensorSpec declares one input or output of a [Model] as its metadata
// reports it.
type TensorSpec struct {
	// Name is the tensor's name, such as "INPUT0".
	Name string
	// DType is the tensor's datatype.
	DType tensor.DType
	// Shape is the shape of one batch item when the model's MaxBatchSize
	// is above zero, and the whole shape otherwise: Triton's "dims". -1
	// marks a dimension of any size.
	Shape []int64
}

// InferFunc computes a model's outputs. The server calls it only with a
// request that passed every check against the model's metadata, so it can
// rely on each declared input being present with the declared datatype and a
// matching shape.
//
// It returns tensors by name, in any order; returning outputs that were not
// requested is fine (the server keeps the requested ones). A requested
// output that is missing, has another datatype than declared, or whose Raw
// does not match its shape fails the call with INTERNAL, since that is a bug
// in the test model. An error carrying a gRPC status (see
// [google.golang.org/grpc/status]) reaches the client as is; any other error
// becomes INTERNAL with the error's message.
//
// It must return when ctx is done: [Server.Down], [Server.Drain] and
// [Server.Stop] wait for running calls.
type InferFunc func(ctx context.Context, req *Request) ([]tensor.Tensor, error)

// Model is a model served by a [Server]: its metadata and the function that
// runs it.
type Model struct {
	// Name is the model's name. Required.
	Name string
	// Versions lists the model's versions, in ascending order; the last
	// one serves requests that name no version. Nil means []string{"1"}.
	Versions []string
	// Platform is reported in model metadata, such as "onnxruntime_onnx"
	// or "pytorch_libtorch". Empty is reported as empty.
	Platform string
	// MaxBatchSize above zero makes the model batch as Triton does: every
	// input and output carries a leading batch dimension that metadata
	// reports as -1 and requests must send as at most MaxBatchSize. Zero
	// means no batch dimension: shapes are exactly as declared.
	MaxBatchSize int
	// Inputs declares the model's inputs; all of them are required.
	Inputs []TensorSpec
	// Outputs declares the model's outputs; a request that names no output
	// gets all of them, in this order.
	Outputs []TensorSpec
	// Infer runs the model. Required.
	Infer InferFunc
	// TypedOutputs answers with typed contents (InferTensorContents)
	// instead of raw_output_contents, as KServe's Python servers do. A
	// response holding an FP16 or BF16 output, which typed contents cannot
	// carry, is sent raw anyway. See also [WithTypedOutputs].
	TypedOutputs bool
	// Instances caps how many calls run the model at once, like the count
	// of a Triton instance group; further calls queue. It makes the fixed
	// cost of [Faults.Cost] behave like a busy accelerator, which is what a
	// batching benchmark needs. Zero means no cap.
	Instances int

	// Signature is the name of the model's one signature on TF Serving's
	// APIs: the SignatureDef that Predict runs and model metadata
	// describes. Empty is TF Serving's default, "serving_default". The
	// Open Inference Protocol has no signatures and ignores it.
	Signature string
	// VersionLabels maps TF Serving's version labels, such as "stable",
	// to versions of the model, for requests that name a version by its
	// label. Each must name one of Versions. The Open Inference Protocol
	// has no labels and ignores it.
	VersionLabels map[string]string
}

// Request is a validated ModelInfer request as an [InferFunc] sees it.
type Request struct {
	// Model and Version name the model that serves the request; Version
	// is the resolved one when the request named none.
	Model, Version string
	// ID is the request's id, echoed in the response.
	ID string
	// Parameters are the request's parameters, each as the Go value of
	// its kind: bool, int64, string, float64 or uint64.
	Parameters map[string]any
	// Inputs holds one tensor per declared input, in the model's declared
	// order (not the request's), decoded to raw form whether they arrived
	// raw or typed. Raw may share memory with Message: treat it as
	// read-only.
	Inputs []tensor.Tensor
	// Outputs names the outputs the response will carry, in order: the
	// requested ones, or all declared outputs if the request named none.
	Outputs []string
	// BatchSize is the leading dimension shared by all inputs when the
	// model batches (MaxBatchSize > 0), and 0 otherwise.
	BatchSize int
	// Message is the request as received, in goai's private copy of the
	// protocol's messages, for goai's own tests. Do not modify it: the
	// server records it.
	Message proto.Message
}

// Input returns the input named name.
func (r *Request) Input(name string) (tensor.Tensor, bool) {
	for _, t := range r.Inputs {
		if t.Name == name {
			return t, true
		}
	}
	return tensor.Tensor{}, false
}

// Identity returns a model named name that answers its one input "INPUT0"
// as its one output "OUTPUT0", both of datatype dt and shape shape (see
// [TensorSpec.Shape]), like Triton's identity backend. Adjust the result,
// such as its MaxBatchSize, before registering it.
func Identity(name string, dt tensor.DType, shape ...int64) Model {
	return Model{
		Name:    name,
		Inputs:  []TensorSpec{{Name: "INPUT0", DType: dt, Shape: shape}},
		Outputs: []TensorSpec{{Name: "OUTPUT0", DType: dt, Shape: shape}},
		Infer: func(_ context.Context, req *Request) ([]tensor.Tensor, error) {
			out := req.Inputs[0]
			out.Name = "OUTPUT0"
			return []tensor.Tensor{out}, nil
		},
	}
}

// model is a registered Model with its lookups built once.
type model struct {
	Model
	inputs  map[string]int // name -> index in Inputs
	outputs map[string]int // name -> index in Outputs
	slots   chan struct{}  // one token per instance; nil without a cap
	tf      *tfs.Model     // the model as TF Serving's APIs serve it
}

func newModel(m Model) (*model, error) {
	var errs []error
	if m.Name == "" {
		errs = append(errs, errors.New("model has no name"))
	}
	if m.Infer == nil {
		errs = append(errs, fmt.Errorf("model %q has no Infer function", m.Name))
	}
	if m.MaxBatchSize < 0 {
		errs = append(errs, fmt.Errorf("model %q: MaxBatchSize %d is negative", m.Name, m.MaxBatchSize))
	}
	if m.Instances < 0 {
		errs = append(errs, fmt.Errorf("model %q: Instances %d is negative", m.Name, m.Instances))
	}
	if m.Versions == nil {
		m.Versions = []string{"1"}
	}
	seen := map[string]bool{}
	for _, v := range m.Versions {
		if v == "" || seen[v] {
			errs = append(errs, fmt.Errorf("model %q: version %q is empty or repeated", m.Name, v))
		}
		seen[v] = true
	}
	for label, v := range m.VersionLabels {
		if label == "" || !seen[v] {
			errs = append(errs, fmt.Errorf("model %q: version label %q names version %q, which the model does not have", m.Name, label, v))
		}
	}
	// Copy everything the caller could change after Register.
	m.Versions = slices.Clone(m.Versions)
	m.VersionLabels = maps.Clone(m.VersionLabels)
	m.Inputs = cloneSpecs(m.Inputs)
	m.Outputs = cloneSpecs(m.Outputs)
	in, err1 := indexSpecs(m.Name, "input", m.Inputs)
	out, err2 := indexSpecs(m.Name, "output", m.Outputs)
	if err := errors.Join(append(errs, err1, err2)...); err != nil {
		return nil, fmt.Errorf("inferencetest: %w", err)
	}
	mm := &model{Model: m, inputs: in, outputs: out}
	if m.Instances > 0 {
		mm.slots = make(chan struct{}, m.Instances)
	}
	return mm, nil
}

func cloneSpecs(specs []TensorSpec) []TensorSpec {
	out := slices.Clone(specs)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

func indexSpecs(model, kind string, specs []TensorSpec) (map[string]int, error) {
	var errs []error
	idx := make(map[string]int, len(specs))
	for i, s := range specs {
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("model %q: %s %d has no name", model, kind, i))
		}
		if _, dup := idx[s.Name]; dup {
			errs = append(errs, fmt.Errorf("model %q: %s %q declared twice", model, kind, s.Name))
		}
		if !s.DType.Valid() {
			errs = append(errs, fmt.Errorf("model %q: %s %q has datatype %v", model, kind, s.Name, s.DType))
		}
		for _, d := range s.Shape {
			if d < -1 {
				errs = append(errs, fmt.Errorf("model %q: %s %q has dimension %d; use -1 for a variable one", model, kind, s.Name, d))
				break
			}
		}
		idx[s.Name] = i
	}
	return idx, errors.Join(errs...)
}

// fullShape is the shape metadata reports: with the batch dimension as -1
// when the model batches.
func (m *model) fullShape(s TensorSpec) []int64 {
	if m.MaxBatchSize > 0 {
		return append([]int64{-1}, s.Shape...)
	}
	return slices.Clone(s.Shape)
}

// version resolves a requested version; ok is false if the model has no
// such version.
func (m *model) version(v string) (string, bool) {
	if v == "" {
		return m.Versions[len(m.Versions)-1], true
	}
	return v, slices.Contains(m.Versions, v)
}
