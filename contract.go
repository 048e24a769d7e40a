package goai

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrContractMismatch is matched, through [errors.Is], by every
// [*ContractError].
var ErrContractMismatch = errors.New("goai: model contract mismatch")

// ContractError lists the differences found between the tensors a
// generated client declares and the model metadata its server reports.
// Every difference is counted, but only the first [MaxListedMismatches]
// are described, each in one sentence that quotes at most the first bytes
// of a name or datatype from the server and the first dimensions of a
// shape: a server's metadata can list any number of tensors, of any size.
type ContractError struct {
	// Model is the model that was checked.
	Model ModelRef
	// Mismatches describes the first differences, one sentence each.
	Mismatches []string
	// Omitted counts the differences found beyond those in Mismatches.
	Omitted int
}

// MaxListedMismatches is the most differences a [*ContractError] describes.
const MaxListedMismatches = 32

// Error returns the mismatches, one per line after a summary.
func (e *ContractError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "goai: model %s does not match its declared contract (%d mismatches):", e.Model, len(e.Mismatches)+e.Omitted)
	for _, m := range e.Mismatches {
		b.WriteString("\n\t")
		b.WriteString(m)
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "\n\tand %d more", e.Omitted)
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

// CheckModel compares the contract that the client's [ModelDesc] declares
// with the metadata its server reports, for every model the methods call
// and for the fallback model (the annotated one or [WithFallback]'s),
// which must serve every method. It returns nil when they agree, a [*ContractError] per
// model listing its mismatches when they do not, and the RPC error when
// the metadata cannot be read. Tensors are compared by name, datatype and
// shape, where -1 on either side matches any size and the leading batch
// dimension is expected exactly when ModelDesc.MaxBatchSize > 0. Server inputs
// that no method sends are mismatches too, since the server rejects
// requests without them, and so are tensors the server lists twice.
//
// The comparison takes time linear in the size of the metadata, and stops
// when ctx ends: CheckModel then returns an error of ctx's code
// (DEADLINE_EXCEEDED or CANCELED) that matches ctx's error.
//
// It is a pre-flight check, for a service's start or a rollout's: its
// metadata calls go out once each, without the call policies' retries.
func (c *Client) CheckModel(ctx context.Context) error {
	desc := c.desc
	if c.transport == nil {
		return status.Errorf(codes.Unimplemented, "goai: %s calls its own gRPC API, which has no model metadata to check", desc.Service)
	}
	var errs []error
	for _, mc := range desc.contracts(c.fallback) {
		ref := mc.model
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, checkEnded(ref, err))...)
		}
		meta, err := c.transport.ModelMetadata(ctx, ref.Name, ref.Version, &wire.Attempt{GRPC: c.msgOpts})
		if err != nil {
			if ctx.Err() != nil {
				return errors.Join(append(errs, checkEnded(ref, ctx.Err()))...)
			}
			errs = append(errs, fmt.Errorf("goai: reading metadata of model %s: %w", ref, err))
			continue
		}
		ce, err := desc.compare(ctx, mc, meta)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if ce != nil {
			if c.log != nil {
				c.log.contractMismatch(ctx, ref, ce)
			}
			errs = append(errs, ce)
		}
	}
	return errors.Join(errs...)
}

// contract is a model to check and the methods whose tensors it must
// serve.
type contract struct {
	model   ModelRef
	methods []*MethodDesc
}

// contracts returns the distinct models desc's methods call, in method
// order, each with the methods that call it, then the fallback model fb
// (nil for none) with every method: a call of any method may end on it.
func (desc *ModelDesc) contracts(fb *ModelRef) []contract {
	var cs []contract
	find := func(ref ModelRef) int {
		return slices.IndexFunc(cs, func(c contract) bool { return c.model == ref })
	}
	for i := range desc.Methods {
		m := &desc.Methods[i]
		if k := find(m.Model); k >= 0 {
			cs[k].methods = append(cs[k].methods, m)
		} else {
			cs = append(cs, contract{model: m.Model, methods: []*MethodDesc{m}})
		}
	}
	if len(cs) == 0 && desc.Model.Name != "" {
		cs = append(cs, contract{model: desc.Model})
	}
	if fb != nil && fb.Name != "" {
		all := make([]*MethodDesc, len(desc.Methods))
		for i := range desc.Methods {
			all[i] = &desc.Methods[i]
		}
		if k := find(*fb); k >= 0 {
			cs[k].methods = all
		} else {
			cs = append(cs, contract{model: *fb, methods: all})
		}
	}
	return cs
}

// mismatches collects a ContractError's sentences: the first
// MaxListedMismatches in full, the rest only counted, so that no sentence
// beyond them is even formatted.
type mismatches struct {
	listed  []string
	omitted int
}

// room reports whether the next mismatch is to be described, counting it
// if not: callers check it before formatting anything.
func (ms *mismatches) room() bool {
	if len(ms.listed) >= MaxListedMismatches {
		ms.omitted++
		return false
	}
	return true
}

func (ms *mismatches) add(format string, args ...any) {
	ms.listed = append(ms.listed, fmt.Sprintf(format, args...))
}

// ctxCheckEvery is how many server tensors compare handles between looks
// at its context: often enough to stop within microseconds, rarely enough
// to cost nothing.
const ctxCheckEvery = 1024

// compare returns the differences between the tensors that mc's methods
// declare and the server's metadata of mc's model, as a ContractError, or
// nil if there are none; or the error of ctx if it ends first.
func (desc *ModelDesc) compare(ctx context.Context, mc contract, meta *wire.ModelMetadata) (*ContractError, error) {
	var ms mismatches
	ref := mc.model
	if versions := meta.Versions; ref.Version != "" && len(versions) > 0 && !slices.Contains(versions, ref.Version) && ms.room() {
		ms.add("version %q is not served; the server has %s", ref.Version, listVersions(versions))
	}
	inputs, err := servedTensors(ctx, "input", meta.Inputs, &ms)
	if err != nil {
		return nil, checkEnded(ref, err)
	}
	outputs, err := servedTensors(ctx, "output", meta.Outputs, &ms)
	if err != nil {
		return nil, checkEnded(ref, err)
	}
	// Methods often share their tensors (one request message for several
	// rpcs): compare each distinct declaration once.
	type declared struct {
		kind, name string
		dtype      string
		shape      string
	}
	seen := map[declared]bool{}
	declaredInputs := map[string]bool{}
	compare := func(kind string, t TensorDesc, served map[string]*wire.TensorMetadata) {
		want := desc.FullShape(t)
		key := declared{kind, t.Name, t.DType.String(), fmt.Sprint(want)}
		if seen[key] {
			return
		}
		seen[key] = true
		s, ok := served[t.Name]
		if !ok {
			if ms.room() {
				ms.add("%s %q is declared but the server has no such %s", kind, t.Name, kind)
			}
			return
		}
		if s.Datatype != t.DType.String() && ms.room() {
			ms.add("%s %q: declared datatype %s, server has %s", kind, t.Name, t.DType, datatypeText(s.Datatype))
		}
		if want != nil && !shapesMatch(want, s.Shape) && ms.room() {
			ms.add("%s %q: declared shape %v (batch dimension included), server has %s", kind, t.Name, want, tensor.FormatShape(s.Shape))
		}
	}
	for _, m := range mc.methods {
		for _, t := range m.Inputs {
			declaredInputs[t.Name] = true
			compare("input", t, inputs)
		}
		for _, t := range m.Outputs {
			compare("output", t, outputs)
		}
	}
	for i := range meta.Inputs {
		in := &meta.Inputs[i]
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, checkEnded(ref, err)
			}
		}
		if !declaredInputs[in.Name] && inputs[in.Name] == in && ms.room() {
			ms.add("server input %q (%s %s) is not declared by any method", truncate(in.Name), datatypeText(in.Datatype), tensor.FormatShape(in.Shape))
		}
	}
	if len(ms.listed) == 0 {
		return nil, nil
	}
	return &ContractError{Model: ref, Mismatches: ms.listed, Omitted: ms.omitted}, nil
}

// servedTensors indexes the server's tensors of one kind by name,
// counting a name listed twice as a mismatch; the first listing is the
// one compared.
func servedTensors(ctx context.Context, kind string, list []wire.TensorMetadata, ms *mismatches) (map[string]*wire.TensorMetadata, error) {
	served := make(map[string]*wire.TensorMetadata, len(list))
	for i := range list {
		s := &list[i]
		if i%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if _, dup := served[s.Name]; dup {
			if ms.room() {
				ms.add("server %s %q is listed more than once", kind, truncate(s.Name))
			}
			continue
		}
		served[s.Name] = s
	}
	return served, nil
}

// checkEnded is the error of a check of model ref cut short by its
// context's error err: err's code, matching err.
func checkEnded(ref ModelRef, err error) error {
	return newCallError(status.FromContextError(err).Code(), "goai: checking model "+ref.String()+": "+err.Error(), err)
}

// datatypeText returns a server's datatype for a message: as it is if it
// is one of the protocol's, quoted and truncated if not.
func datatypeText(s string) string {
	for d := tensor.Bool; d <= tensor.Bytes; d++ {
		if d.String() == s {
			return s
		}
	}
	return strconv.Quote(truncate(s))
}

// maxListedVersions is the most versions a mismatch names.
const maxListedVersions = 8

// listVersions formats the server's versions as [1 2 3], at most
// maxListedVersions of them, each truncated.
func listVersions(versions []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range versions {
		if i == maxListedVersions {
			fmt.Fprintf(&b, " and %d more", len(versions)-i)
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Quote(truncate(v)))
	}
	b.WriteByte(']')
	return b.String()
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
