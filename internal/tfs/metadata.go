package tfs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultSignature is the signature TF Serving serves when a request names
// none, and the one goai asks for unless configured otherwise.
const DefaultSignature = "serving_default"

// maxRank is the most dimensions a TensorFlow shape has
// (TensorShape::MaxDimensions).
const maxRank = 254

// ModelMetadata returns the metadata of signature sig (the default one if
// empty) of the model spec names, from the model's signatures m, as a
// [wire.ModelMetadata]: the signature's input and output aliases (the
// names Predict uses) sorted, since TensorFlow keeps them in a map, each
// with its datatype's OIP name (see [DatatypeName]) and its shape, -1 for
// a dimension of any size and nil for an unknown rank. Versions holds the
// version spec names, if any; Platform is empty, TF Serving does not say.
// A signature m lacks fails with FAILED_PRECONDITION, as TF Serving's
// Predict fails for it, a shape TensorFlow would not
// accept (a dimension below -1, more than 254 dimensions, dimensions with
// an unknown rank) with INTERNAL.
func ModelMetadata(spec *tfspb.ModelSpec, m *tfspb.SignatureDefMap, sig string) (*wire.ModelMetadata, error) {
	if sig == "" {
		sig = DefaultSignature
	}
	def, ok := m.GetSignatureDef()[sig]
	if !ok {
		names := make([]string, 0, len(m.GetSignatureDef()))
		for name := range m.GetSignatureDef() {
			names = append(names, name)
		}
		slices.Sort(names)
		return nil, status.Errorf(codes.FailedPrecondition, "model %q has no signature %q (it has %q)", spec.GetName(), sig, names)
	}
	md := &wire.ModelMetadata{Name: spec.GetName()}
	if v := spec.GetVersion(); v != nil {
		md.Versions = []string{strconv.FormatInt(v.GetValue(), 10)}
	}
	var err error
	if md.Inputs, err = tensorMetadata(def.GetInputs()); err != nil {
		return nil, badResponse(fmt.Errorf("signature %q: input %w", sig, err))
	}
	if md.Outputs, err = tensorMetadata(def.GetOutputs()); err != nil {
		return nil, badResponse(fmt.Errorf("signature %q: output %w", sig, err))
	}
	return md, nil
}

func tensorMetadata(infos map[string]*tfspb.TensorInfo) ([]wire.TensorMetadata, error) {
	out := make([]wire.TensorMetadata, 0, len(infos))
	for name, info := range infos {
		shape, err := signatureShape(info.GetTensorShape())
		if err != nil {
			return nil, fmt.Errorf("%q: %w", name, err)
		}
		out = append(out, wire.TensorMetadata{Name: name, Datatype: DatatypeName(info.GetDtype()), Shape: shape})
	}
	slices.SortFunc(out, func(a, b wire.TensorMetadata) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// signatureShape returns the partial shape s describes: nil for an
// unknown rank, -1 for a dimension of any size.
func signatureShape(s *tfspb.TensorShapeProto) ([]int64, error) {
	dims := s.GetDim()
	if s.GetUnknownRank() {
		if len(dims) > 0 {
			return nil, fmt.Errorf("%w: unknown rank with %d dimensions", tensor.ErrShape, len(dims))
		}
		return nil, nil
	}
	if len(dims) > maxRank {
		return nil, fmt.Errorf("%w: %d dimensions, TensorFlow allows %d", tensor.ErrShape, len(dims), maxRank)
	}
	shape := make([]int64, len(dims))
	for i, d := range dims {
		if d.GetSize() < -1 || d.GetSize() > tensor.MaxElements {
			return nil, fmt.Errorf("%w: dimension %d is %d", tensor.ErrShape, i, d.GetSize())
		}
		shape[i] = d.GetSize()
	}
	return shape, nil
}

// Ready reports whether a model whose versions are in s can serve: some
// version is AVAILABLE. TF Serving keeps serving the old version of a
// model while a new one loads, so any available version serves an
// unversioned request; for a versioned one, TF Serving answers with that
// version's state only.
func Ready(s *tfspb.GetModelStatusResponse) bool {
	for _, v := range s.GetModelVersionStatus() {
		if v.GetState() == tfspb.ModelVersionStatus_AVAILABLE {
			return true
		}
	}
	return false
}
