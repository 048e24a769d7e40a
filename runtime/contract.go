package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goai-dev/goai/runtime/inferencepb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrContractMismatch is matched, through [errors.Is], by every
// [*ContractError].
var ErrContractMismatch = errors.New("goai: model contract mismatch")

// ContractError lists every difference found between the tensors a
// generated client declares and the model metadata its server reports.
type ContractError struct {
	// Model is the model that was checked.
	Model ModelRef
	// Mismatches describes each difference, one sentence each.
	Mismatches []string
}

// Error returns all mismatches, one per line after a summary.
func (e *ContractError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "goai: model %s does not match its declared contract (%d mismatches):", e.Model, len(e.Mismatches))
	for _, m := range e.Mismatches {
		b.WriteString("\n\t")
		b.WriteString(m)
	}
	return b.String()
}

// Is reports whether target is [ErrContractMismatch].
func (e *ContractError) Is(target error) bool { return target == ErrContractMismatch }

// GRPCStatus gives the error the code FAILED_PRECONDITION, so that
// status.Code reports it like other client errors.
func (e *ContractError) GRPCStatus() *status.Status {
	return status.New(codes.FailedPrecondition, e.Error())
}

// String returns "name" or "name@version".
func (r ModelRef) String() string {
	if r.Version == "" {
		return r.Name
	}
	return r.Name + "@" + r.Version
}

// CheckModel compares the contract that desc declares with the metadata
// reported over cc by the Open Inference Protocol server, for every model
// desc's methods call. It returns nil when they agree, a [*ContractError]
// listing every mismatch when they do not, and the RPC error when the
// metadata cannot be read. Tensors are compared by name, datatype and
// shape, where -1 on either side matches any size and the leading batch
// dimension is expected exactly when desc.MaxBatchSize > 0. Server inputs
// that no method sends are mismatches too, since the server rejects
// requests without them.
func CheckModel(ctx context.Context, cc grpc.ClientConnInterface, desc *ModelDesc) error {
	client := inferencepb.NewGRPCInferenceServiceClient(cc)
	var errs []error
	for _, ref := range desc.models() {
		meta, err := client.ModelMetadata(ctx, &inferencepb.ModelMetadataRequest{Name: ref.Name, Version: ref.Version})
		if err != nil {
			errs = append(errs, fmt.Errorf("goai: reading metadata of model %s: %w", ref, err))
			continue
		}
		if mismatches := desc.compare(ref, meta); len(mismatches) > 0 {
			errs = append(errs, &ContractError{Model: ref, Mismatches: mismatches})
		}
	}
	return errors.Join(errs...)
}

// models returns the distinct models desc's methods call, in method order.
func (desc *ModelDesc) models() []ModelRef {
	var refs []ModelRef
	for i := range desc.Methods {
		if ref := desc.Methods[i].Model; !slices.Contains(refs, ref) {
			refs = append(refs, ref)
		}
	}
	if len(refs) == 0 && desc.Model.Name != "" {
		refs = append(refs, desc.Model)
	}
	return refs
}

// compare lists the differences between the tensors that desc's methods
// calling ref declare and the server's metadata of ref.
func (desc *ModelDesc) compare(ref ModelRef, meta *inferencepb.ModelMetadataResponse) []string {
	var mismatches []string
	if ref.Version != "" && len(meta.GetVersions()) > 0 && !slices.Contains(meta.GetVersions(), ref.Version) {
		mismatches = append(mismatches, fmt.Sprintf("version %q is not served; the server has %v", ref.Version, meta.GetVersions()))
	}
	declaredInputs := map[string]bool{}
	for i := range desc.Methods {
		m := &desc.Methods[i]
		if m.Model != ref {
			continue
		}
		for _, t := range m.Inputs {
			declaredInputs[t.Name] = true
			mismatches = append(mismatches, desc.compareTensor("input", t, meta.GetInputs())...)
		}
		for _, t := range m.Outputs {
			mismatches = append(mismatches, desc.compareTensor("output", t, meta.GetOutputs())...)
		}
	}
	for _, in := range meta.GetInputs() {
		if !declaredInputs[in.GetName()] {
			mismatches = append(mismatches, fmt.Sprintf("server input %q (%s %v) is not declared by any method", in.GetName(), in.GetDatatype(), in.GetShape()))
		}
	}
	return dedupe(mismatches)
}

func (desc *ModelDesc) compareTensor(kind string, t TensorDesc, served []*inferencepb.ModelMetadataResponse_TensorMetadata) []string {
	i := slices.IndexFunc(served, func(s *inferencepb.ModelMetadataResponse_TensorMetadata) bool { return s.GetName() == t.Name })
	if i < 0 {
		return []string{fmt.Sprintf("%s %q is declared but the server has no such %s", kind, t.Name, kind)}
	}
	s := served[i]
	var mismatches []string
	if s.GetDatatype() != t.DType.String() {
		mismatches = append(mismatches, fmt.Sprintf("%s %q: declared datatype %s, server has %s", kind, t.Name, t.DType, s.GetDatatype()))
	}
	want := desc.FullShape(t)
	if want != nil && !shapesMatch(want, s.GetShape()) {
		mismatches = append(mismatches, fmt.Sprintf("%s %q: declared shape %v (batch dimension included), server has %v", kind, t.Name, want, s.GetShape()))
	}
	return mismatches
}

// FullShape returns t's shape on the wire: its declared per-example shape,
// preceded by a -1 batch dimension when the model has one. It returns nil
// when t declares no shape.
func (desc *ModelDesc) FullShape(t TensorDesc) []int64 {
	if t.Shape == nil && desc.MaxBatchSize <= 0 {
		return nil
	}
	if desc.MaxBatchSize > 0 {
		return append([]int64{-1}, t.Shape...)
	}
	return t.Shape
}

// shapesMatch reports whether two shapes have the same rank and agree in
// every dimension, -1 on either side matching any size.
func shapesMatch(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && a[i] != -1 && b[i] != -1 {
			return false
		}
	}
	return true
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
