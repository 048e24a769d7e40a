package tfscoexist

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/goai-dev/goai/internal/tfscoexist/realpb/tensorflow_serving/apis"
	"github.com/goai-dev/goai/internal/tfspb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// ourFiles are the files of goai's private copy.
var ourFiles = []protoreflect.FileDescriptor{
	tfspb.File_goai_internal_tfs_v1_types_proto,
	tfspb.File_goai_internal_tfs_v1_tensor_shape_proto,
	tfspb.File_goai_internal_tfs_v1_tensor_proto,
	tfspb.File_goai_internal_tfs_v1_meta_graph_proto,
	tfspb.File_goai_internal_tfs_v1_model_proto,
	tfspb.File_goai_internal_tfs_v1_predict_proto,
	tfspb.File_goai_internal_tfs_v1_get_model_metadata_proto,
	tfspb.File_goai_internal_tfs_v1_status_proto,
	tfspb.File_goai_internal_tfs_v1_get_model_status_proto,
}

// counterparts names the real type of each of our top-level types: by
// default the same name in tensorflow.serving, then in tensorflow.
var counterparts = map[protoreflect.Name]protoreflect.FullName{
	"ErrorCode": "tensorflow.error.Code",
}

// leftOut are the real fields goai's copy does not declare, and why; a
// message holding them still decodes, keeping them as unknown fields.
var leftOut = map[protoreflect.FullName]string{
	"tensorflow.TensorProto.resource_handle_val":                 "DT_RESOURCE has no OIP datatype",
	"tensorflow.TensorProto.variant_val":                         "DT_VARIANT has no OIP datatype",
	"tensorflow.TensorInfo.composite_tensor":                     "composite tensors need all of struct.proto and are no single tensor",
	"tensorflow.serving.PredictRequest.predict_streamed_options": "streaming, which goai does not use",
	"tensorflow.serving.PredictRequest.client_id":                "disaggregated serving, which goai does not use",
	"tensorflow.serving.PredictRequest.request_options":          "disaggregated serving, which goai does not use",
}

func counterpart(t *testing.T, name protoreflect.Name) protoreflect.Descriptor {
	t.Helper()
	candidates := []protoreflect.FullName{"tensorflow.serving." + protoreflect.FullName(name), "tensorflow." + protoreflect.FullName(name)}
	if fn, ok := counterparts[name]; ok {
		candidates = []protoreflect.FullName{fn}
	}
	for _, fn := range candidates {
		if d, err := protoregistry.GlobalFiles.FindDescriptorByName(fn); err == nil {
			return d
		}
	}
	t.Fatalf("no real counterpart of %s among %v", name, candidates)
	return nil
}

// TestPrivateCopyMatchesReal compares every message and enum of goai's
// private copy with the real one of the same name, field by field:
// number, name, JSON name, kind, cardinality, presence, packing, oneof,
// map key and value, and the element type, recursively.
func TestPrivateCopyMatchesReal(t *testing.T) {
	n := 0
	seen := map[protoreflect.FullName]bool{}
	for _, f := range ourFiles {
		if !strings.HasPrefix(string(f.Package()), "goai.") {
			t.Errorf("%s is in package %s, which may clash with the real protos", f.Path(), f.Package())
		}
		for i := range f.Messages().Len() {
			m := f.Messages().Get(i)
			real, ok := counterpart(t, m.Name()).(protoreflect.MessageDescriptor)
			if !ok {
				t.Errorf("%s: the real %s is no message", m.FullName(), m.Name())
				continue
			}
			for _, d := range compareMessages(m, real, seen) {
				t.Error(d)
			}
			n++
		}
		for i := range f.Enums().Len() {
			e := f.Enums().Get(i)
			real, ok := counterpart(t, e.Name()).(protoreflect.EnumDescriptor)
			if !ok {
				t.Errorf("%s: the real %s is no enum", e.FullName(), e.Name())
				continue
			}
			for _, d := range compareEnums(e, real) {
				t.Error(d)
			}
			n++
		}
	}
	// PredictRequest, PredictResponse, ModelSpec, SignatureDefMap,
	// GetModelMetadataRequest and Response, GetModelStatusRequest and
	// Response, ModelVersionStatus, StatusProto, ErrorCode, TensorProto,
	// TensorShapeProto, DataType, SignatureDef, TensorInfo.
	if n != 16 {
		t.Errorf("compared %d top-level types, want 16", n)
	}
}

// compareMessages lists how ours differs from theirs. Every field of ours
// must be in theirs with the same wire shape; a field of theirs that ours
// leaves out is a difference too, unless leftOut says why, since a
// decoder that does not know it drops data the server sends.
func compareMessages(ours, theirs protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) []string {
	if seen[ours.FullName()] {
		return nil
	}
	seen[ours.FullName()] = true
	var diffs []string
	if ours.Name() != theirs.Name() {
		diffs = append(diffs, fmt.Sprintf("%s is %s in the real protos", ours.FullName(), theirs.FullName()))
	}
	of, tf := ours.Fields(), theirs.Fields()
	for i := range of.Len() {
		f := of.Get(i)
		g := tf.ByNumber(f.Number())
		if g == nil {
			diffs = append(diffs, fmt.Sprintf("%s: field %d (%s) is not in %s", ours.FullName(), f.Number(), f.Name(), theirs.FullName()))
			continue
		}
		if got, want := fieldShape(f), fieldShape(g); got != want {
			diffs = append(diffs, fmt.Sprintf("%s.%s: %s\n  real %s: %s", ours.FullName(), f.Name(), got, g.FullName(), want))
			continue
		}
		switch {
		case f.IsMap():
			if f.MapValue().Message() != nil {
				diffs = append(diffs, compareMessages(f.MapValue().Message(), g.MapValue().Message(), seen)...)
			}
			if f.MapValue().Enum() != nil {
				diffs = append(diffs, compareEnums(f.MapValue().Enum(), g.MapValue().Enum())...)
			}
		case f.Message() != nil:
			diffs = append(diffs, compareMessages(f.Message(), g.Message(), seen)...)
		case f.Enum() != nil:
			diffs = append(diffs, compareEnums(f.Enum(), g.Enum())...)
		}
	}
	for i := range tf.Len() {
		g := tf.Get(i)
		if of.ByNumber(g.Number()) == nil && leftOut[g.FullName()] == "" {
			diffs = append(diffs, fmt.Sprintf("%s: the real field %d (%s) is missing", ours.FullName(), g.Number(), g.Name()))
		}
	}
	od, td := ours.Oneofs(), theirs.Oneofs()
	for i := range od.Len() {
		o := od.Get(i)
		p := td.ByName(o.Name())
		if p == nil {
			diffs = append(diffs, fmt.Sprintf("%s: oneof %s is not in %s", ours.FullName(), o.Name(), theirs.FullName()))
			continue
		}
		if got, want := oneofNumbers(o), oneofNumbers(p); got != want {
			diffs = append(diffs, fmt.Sprintf("%s: oneof %s holds fields %s, the real one %s", ours.FullName(), o.Name(), got, want))
		}
	}
	for i := range ours.Messages().Len() {
		m := ours.Messages().Get(i)
		if m.IsMapEntry() {
			continue
		}
		if n := theirs.Messages().ByName(m.Name()); n != nil {
			diffs = append(diffs, compareMessages(m, n, seen)...)
		} else {
			diffs = append(diffs, fmt.Sprintf("%s: no nested %s in %s", ours.FullName(), m.Name(), theirs.FullName()))
		}
	}
	for i := range ours.Enums().Len() {
		e := ours.Enums().Get(i)
		if n := theirs.Enums().ByName(e.Name()); n != nil {
			diffs = append(diffs, compareEnums(e, n)...)
		} else {
			diffs = append(diffs, fmt.Sprintf("%s: no nested %s in %s", ours.FullName(), e.Name(), theirs.FullName()))
		}
	}
	return diffs
}

// compareEnums lists how ours differs from theirs: the same names for the
// same numbers, every value of theirs present, but TensorFlow's *_REF
// DataTypes (above 100), which describe graph parameters and never travel
// in a call.
func compareEnums(ours, theirs protoreflect.EnumDescriptor) []string {
	var diffs []string
	ov, tv := ours.Values(), theirs.Values()
	for i := range ov.Len() {
		v := ov.Get(i)
		w := tv.ByNumber(v.Number())
		switch {
		case w == nil:
			diffs = append(diffs, fmt.Sprintf("%s: %d is not in %s", v.FullName(), v.Number(), theirs.FullName()))
		case w.Name() != v.Name():
			diffs = append(diffs, fmt.Sprintf("%s: %d is %s in %s", v.FullName(), v.Number(), w.Name(), theirs.FullName()))
		}
	}
	for i := range tv.Len() {
		w := tv.Get(i)
		if ov.ByNumber(w.Number()) == nil && !(theirs.FullName() == "tensorflow.DataType" && w.Number() > 100) {
			diffs = append(diffs, fmt.Sprintf("%s: the real value %s (%d) is missing", ours.FullName(), w.Name(), w.Number()))
		}
	}
	return diffs
}

// fieldShape describes what a field looks like on the wire and in JSON.
func fieldShape(f protoreflect.FieldDescriptor) string {
	s := fmt.Sprintf("%s json=%s %v %v packed=%v presence=%v", f.Name(), f.JSONName(), f.Cardinality(), f.Kind(), f.IsPacked(), f.HasPresence())
	if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
		s += " oneof=" + string(o.Name())
	}
	if f.IsMap() {
		s += fmt.Sprintf(" map<%v, %v %s>", f.MapKey().Kind(), f.MapValue().Kind(), typeName(f.MapValue()))
	} else {
		s += " " + typeName(f)
	}
	return s
}

// typeName is a field's message or enum type, by its name: the packages
// differ, the names must not (but for the enum renamed in counterparts).
func typeName(f protoreflect.FieldDescriptor) string {
	switch {
	case f.Message() != nil:
		if f.Message().FullName().Parent() == "google.protobuf" {
			return string(f.Message().FullName())
		}
		return string(f.Message().Name())
	case f.Enum() != nil:
		for ours, real := range counterparts {
			if f.Enum().FullName() == real {
				return string(ours)
			}
		}
		return string(f.Enum().Name())
	}
	return ""
}

func oneofNumbers(o protoreflect.OneofDescriptor) string {
	var nums []string
	for i := range o.Fields().Len() {
		f := o.Fields().Get(i)
		if leftOut[f.FullName()] == "" {
			nums = append(nums, fmt.Sprint(f.Number()))
		}
	}
	slices.Sort(nums)
	return strings.Join(nums, ",")
}

// TestMethodPaths checks goai's hand-written method paths and service
// descriptors against the real services: same service and method names,
// and request and response messages of the same names.
func TestMethodPaths(t *testing.T) {
	ours := map[string]struct{ req, resp protoreflect.Name }{
		tfspb.PredictMethod:          {"PredictRequest", "PredictResponse"},
		tfspb.GetModelMetadataMethod: {"GetModelMetadataRequest", "GetModelMetadataResponse"},
		tfspb.GetModelStatusMethod:   {"GetModelStatusRequest", "GetModelStatusResponse"},
	}
	for path, types := range ours {
		svc, method, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if !ok {
			t.Fatalf("%s is no method path", path)
		}
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc))
		if err != nil {
			t.Errorf("%s: no real service %s", path, svc)
			continue
		}
		m := d.(protoreflect.ServiceDescriptor).Methods().ByName(protoreflect.Name(method))
		if m == nil {
			t.Errorf("%s: the real %s has no %s", path, svc, method)
			continue
		}
		if m.Input().Name() != types.req || m.Output().Name() != types.resp || m.IsStreamingClient() || m.IsStreamingServer() {
			t.Errorf("%s: real %s -> %s, streaming %v/%v", path, m.Input().FullName(), m.Output().FullName(), m.IsStreamingClient(), m.IsStreamingServer())
		}
		var found bool
		for _, desc := range []struct {
			name    string
			methods []string
		}{
			{tfspb.PredictionServiceDesc.ServiceName, methodNames(tfspb.PredictionServiceDesc.Methods)},
			{tfspb.ModelServiceDesc.ServiceName, methodNames(tfspb.ModelServiceDesc.Methods)},
		} {
			found = found || desc.name == svc && slices.Contains(desc.methods, method)
		}
		if !found {
			t.Errorf("%s: no service descriptor of goai's serves it", path)
		}
	}
	if real := "type.googleapis.com/" + string((&apis.SignatureDefMap{}).ProtoReflect().Descriptor().FullName()); tfspb.SignatureDefMapTypeURL != real {
		t.Errorf("SignatureDefMapTypeURL = %s, want %s", tfspb.SignatureDefMapTypeURL, real)
	}
}

func methodNames(ms []grpc.MethodDesc) []string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.MethodName
	}
	return names
}
