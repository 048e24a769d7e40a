package coexist

import (
	"fmt"
	"strings"
	"testing"

	"github.com/goai-dev/goai/internal/coexist/tritonpb"
	"github.com/goai-dev/goai/internal/oippb"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestPrivateCopyMatchesTriton compares every message of goai's private
// Open Inference Protocol copy with the message of the same name in
// Triton's real grpc_service.proto, field by field: number, name, kind,
// cardinality, packing and, for message and map fields, the element type,
// recursively. Names of messages may differ in package only.
func TestPrivateCopyMatchesTriton(t *testing.T) {
	ours := oippb.File_goai_internal_oip_v1_inference_proto
	theirs := tritonpb.File_grpc_service_proto
	msgs := ours.Messages()
	if msgs.Len() == 0 {
		t.Fatal("the private copy declares no messages")
	}
	for i := range msgs.Len() {
		m := msgs.Get(i)
		tm := theirs.Messages().ByName(m.Name())
		if tm == nil {
			t.Errorf("%s: Triton has no message %s", m.FullName(), m.Name())
			continue
		}
		for _, diff := range compareMessages(m, tm, map[protoreflect.FullName]bool{}) {
			t.Error(diff)
		}
	}
}

// beyondTriton are the fields of the private copy that Triton's proto does
// not have but the Open Inference Protocol's own specification does
// (kserve/open-inference-protocol open_inference_grpc.proto): KServe and
// MLServer may send them.
var beyondTriton = map[protoreflect.FullName]bool{
	"goai.internal.oip.v1.ModelMetadataResponse.properties": true,
}

// compareMessages lists how ours differs from theirs. Every field of ours
// must be in theirs with the same wire shape; fields of theirs that ours
// leaves out are differences too, since a decoder that does not know them
// would drop data the server sends.
func compareMessages(ours, theirs protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) []string {
	if seen[ours.FullName()] {
		return nil
	}
	seen[ours.FullName()] = true
	var diffs []string
	of, tf := ours.Fields(), theirs.Fields()
	for i := range of.Len() {
		f := of.Get(i)
		g := tf.ByNumber(f.Number())
		if g == nil && beyondTriton[f.FullName()] {
			continue
		}
		if g == nil {
			diffs = append(diffs, fmt.Sprintf("%s: field %d (%s) is not in Triton's %s", ours.FullName(), f.Number(), f.Name(), theirs.FullName()))
			continue
		}
		if got, want := shape(f), shape(g); got != want {
			diffs = append(diffs, fmt.Sprintf("%s.%s: %s, Triton's %s.%s: %s", ours.FullName(), f.Name(), got, theirs.FullName(), g.Name(), want))
			continue
		}
		if f.Message() != nil {
			diffs = append(diffs, compareMessages(f.Message(), g.Message(), seen)...)
		}
	}
	for i := range tf.Len() {
		g := tf.Get(i)
		if of.ByNumber(g.Number()) == nil {
			diffs = append(diffs, fmt.Sprintf("%s: Triton's field %d (%s) is missing", ours.FullName(), g.Number(), g.Name()))
		}
	}
	od, td := ours.Oneofs(), theirs.Oneofs()
	for i := range od.Len() {
		o := od.Get(i)
		p := td.ByName(o.Name())
		if p == nil {
			diffs = append(diffs, fmt.Sprintf("%s: oneof %s is not in Triton's", ours.FullName(), o.Name()))
			continue
		}
		if got, want := oneofNumbers(o), oneofNumbers(p); got != want {
			diffs = append(diffs, fmt.Sprintf("%s: oneof %s holds fields %s, Triton's %s", ours.FullName(), o.Name(), got, want))
		}
	}
	return diffs
}

// shape describes what a field looks like on the wire, and its name.
func shape(f protoreflect.FieldDescriptor) string {
	s := fmt.Sprintf("%s %v %v packed=%v", f.Name(), f.Cardinality(), f.Kind(), f.IsPacked())
	if f.IsMap() {
		s += fmt.Sprintf(" map<%v, %v>", f.MapKey().Kind(), f.MapValue().Kind())
	}
	if f.Message() != nil {
		s += " " + string(f.Message().Name())
	}
	return s
}

func oneofNumbers(o protoreflect.OneofDescriptor) string {
	var nums []string
	for i := range o.Fields().Len() {
		nums = append(nums, fmt.Sprint(o.Fields().Get(i).Number()))
	}
	return strings.Join(nums, ",")
}
