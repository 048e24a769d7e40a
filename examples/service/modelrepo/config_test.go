package modelrepo

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goai-dev/goai"
	digitsv1 "github.com/goai-dev/goai/examples/gen/digits/v1"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// modelConfigDesc describes the part of Triton's ModelConfig
// (triton-inference-server/common, protobuf/model_config.proto, package
// inference) that config.pbtxt sets, with Triton's field names, numbers
// and enum values, so that prototext parses the file as Triton's parser
// would: a misspelt field or enum value is an error.
func modelConfigDesc(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	s := strPtr
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: s(name), Number: &num, Type: typ.Enum(), Label: label.Enum(), JsonName: s(name)}
		if typeName != "" {
			f.TypeName = s(typeName)
		}
		return f
	}
	const (
		opt = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		rep = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		str = descriptorpb.FieldDescriptorProto_TYPE_STRING
		i32 = descriptorpb.FieldDescriptorProto_TYPE_INT32
		i64 = descriptorpb.FieldDescriptorProto_TYPE_INT64
		u64 = descriptorpb.FieldDescriptorProto_TYPE_UINT64
		msg = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
		enm = descriptorpb.FieldDescriptorProto_TYPE_ENUM
	)
	value := func(name string, n int32) *descriptorpb.EnumValueDescriptorProto {
		return &descriptorpb.EnumValueDescriptorProto{Name: s(name), Number: &n}
	}
	file := &descriptorpb.FileDescriptorProto{
		Name: s("model_config_subset.proto"), Package: s("inference"), Syntax: s("proto3"),
		EnumType: []*descriptorpb.EnumDescriptorProto{{Name: s("DataType"), Value: []*descriptorpb.EnumValueDescriptorProto{
			value("TYPE_INVALID", 0), value("TYPE_BOOL", 1), value("TYPE_INT32", 8), value("TYPE_INT64", 9),
			value("TYPE_FP16", 10), value("TYPE_FP32", 11), value("TYPE_FP64", 12), value("TYPE_STRING", 13),
		}}},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: s("ModelVersionPolicy"), Field: []*descriptorpb.FieldDescriptorProto{
				field("specific", 3, msg, opt, ".inference.ModelVersionPolicy.Specific"),
			}, NestedType: []*descriptorpb.DescriptorProto{{Name: s("Specific"), Field: []*descriptorpb.FieldDescriptorProto{
				field("versions", 1, i64, rep, ""),
			}}}},
			{Name: s("ModelInput"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, opt, ""), field("data_type", 2, enm, opt, ".inference.DataType"), field("dims", 4, i64, rep, ""),
			}},
			{Name: s("ModelOutput"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, opt, ""), field("data_type", 2, enm, opt, ".inference.DataType"), field("dims", 3, i64, rep, ""),
			}},
			{Name: s("ModelInstanceGroup"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, opt, ""), field("count", 2, i32, opt, ""), field("kind", 4, enm, opt, ".inference.ModelInstanceGroup.Kind"),
			}, EnumType: []*descriptorpb.EnumDescriptorProto{{Name: s("Kind"), Value: []*descriptorpb.EnumValueDescriptorProto{
				value("KIND_AUTO", 0), value("KIND_GPU", 1), value("KIND_CPU", 2), value("KIND_MODEL", 3),
			}}}},
			{Name: s("ModelDynamicBatching"), Field: []*descriptorpb.FieldDescriptorProto{
				field("max_queue_delay_microseconds", 2, u64, opt, ""),
			}},
			{Name: s("ModelConfig"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, opt, ""),
				field("backend", 17, str, opt, ""),
				field("version_policy", 3, msg, opt, ".inference.ModelVersionPolicy"),
				field("max_batch_size", 4, i32, opt, ""),
				field("input", 5, msg, rep, ".inference.ModelInput"),
				field("output", 6, msg, rep, ".inference.ModelOutput"),
				field("instance_group", 7, msg, rep, ".inference.ModelInstanceGroup"),
				field("dynamic_batching", 11, msg, opt, ".inference.ModelDynamicBatching"),
			}},
		},
	}
	fd, err := protodesc.NewFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("ModelConfig")
}

func strPtr(s string) *string { return &s }

func parseConfig(t *testing.T, text []byte) (protoreflect.Message, error) {
	m := dynamicpb.NewMessage(modelConfigDesc(t))
	return m, prototext.Unmarshal(text, m)
}

func TestConfigDeclaresTheContract(t *testing.T) {
	m, err := parseConfig(t, Config(Versions))
	if err != nil {
		t.Fatalf("config.pbtxt does not parse as Triton's ModelConfig: %v", err)
	}
	get := func(m protoreflect.Message, name string) protoreflect.Value {
		return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name)))
	}
	ints := func(l protoreflect.List) []int64 {
		var out []int64
		for i := range l.Len() {
			out = append(out, l.Get(i).Int())
		}
		return out
	}
	if got := get(m, "name").String(); got != ModelName {
		t.Errorf("name %q", got)
	}
	if got := get(m, "backend").String(); got != "onnxruntime" {
		t.Errorf("backend %q", got)
	}
	if got := get(m, "max_batch_size").Int(); got != 64 {
		t.Errorf("max_batch_size %d, want 64 (digits.proto)", got)
	}
	versions := ints(get(get(get(m, "version_policy").Message(), "specific").Message(), "versions").List())
	var want []int64
	for _, v := range Versions {
		want = append(want, v.Number)
	}
	if !slices.Equal(versions, want) {
		t.Errorf("version_policy serves %v, want every version of the repository, %v", versions, want)
	}
	tensor := func(field string, wantName string, wantDims []int64) {
		l := get(m, field).List()
		if l.Len() != 1 {
			t.Fatalf("%d %s tensors, want 1", l.Len(), field)
		}
		tm := l.Get(0).Message()
		dt := get(tm, "data_type").Enum()
		if name := get(tm, "name").String(); name != wantName {
			t.Errorf("%s name %q, want %q", field, name, wantName)
		}
		if dt != 11 {
			t.Errorf("%s data_type %d, want TYPE_FP32", field, dt)
		}
		if dims := ints(get(tm, "dims").List()); !slices.Equal(dims, wantDims) {
			t.Errorf("%s dims %v, want %v (without the batch dimension)", field, dims, wantDims)
		}
	}
	tensor("input", InputName, []int64{8, 8})
	tensor("output", OutputName, []int64{10})
	if groups := get(m, "instance_group").List(); groups.Len() != 1 || get(groups.Get(0).Message(), "kind").Enum() != 2 {
		t.Errorf("instance_group %v, want one KIND_CPU group", groups)
	}
}

// The check has teeth: what Triton would refuse, it refuses.
func TestConfigParserIsStrict(t *testing.T) {
	good := string(Config(Versions))
	for _, bad := range []struct{ from, to string }{
		{"data_type: TYPE_FP32", "data_type: FP32"},
		{"max_batch_size: 64", "max_batch: 64"},
		{"kind: KIND_CPU", "kind: CPU"},
		{"dims: [ 10 ]", "dims: [ 10.5 ]"},
	} {
		text := strings.Replace(good, bad.from, bad.to, 1)
		if text == good {
			t.Fatalf("%q is not in config.pbtxt", bad.from)
		}
		if _, err := parseConfig(t, []byte(text)); err == nil {
			t.Errorf("config.pbtxt with %q parsed", bad.to)
		}
	}
}

// The repository serves the contract the generated client declares
// (digits.proto's annotations): the model's name and max_batch_size, each
// tensor's name, datatype and per-example shape, and the annotated version.
// It is CheckModel's comparison, made before anything is deployed.
func TestConfigMatchesTheClientsContract(t *testing.T) {
	m, err := parseConfig(t, Config(Versions))
	if err != nil {
		t.Fatal(err)
	}
	desc := digitsv1.DigitClassifierModel
	get := func(m protoreflect.Message, name string) protoreflect.Value {
		return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name)))
	}
	if got := get(m, "name").String(); got != desc.Model.Name {
		t.Errorf("name %q, the client calls %q", got, desc.Model.Name)
	}
	if got := get(m, "max_batch_size").Int(); got != int64(desc.MaxBatchSize) {
		t.Errorf("max_batch_size %d, the client's %d", got, desc.MaxBatchSize)
	}
	served := false
	for _, v := range Versions {
		served = served || strconv.FormatInt(v.Number, 10) == desc.Model.Version
	}
	if !served {
		t.Errorf("the repository does not serve the annotated version %q", desc.Model.Version)
	}
	dtypes := map[string]string{"FP32": "TYPE_FP32"}
	for _, side := range []struct {
		field    string
		declared []goai.TensorDesc
	}{{"input", desc.Methods[0].Inputs}, {"output", desc.Methods[0].Outputs}} {
		l := get(m, side.field).List()
		if l.Len() != len(side.declared) {
			t.Fatalf("%d %s tensors, the client declares %d", l.Len(), side.field, len(side.declared))
		}
		for i, want := range side.declared {
			tm := l.Get(i).Message()
			dt := get(tm, "data_type")
			dtName := string(tm.Descriptor().Fields().ByName("data_type").Enum().Values().ByNumber(dt.Enum()).Name())
			var dims []int64
			for j := range get(tm, "dims").List().Len() {
				dims = append(dims, get(tm, "dims").List().Get(j).Int())
			}
			if name := get(tm, "name").String(); name != want.Name || dtName != dtypes[want.DType.String()] || !slices.Equal(dims, want.Shape) {
				t.Errorf("%s %d: %s %s %v, the client declares %s %s %v", side.field, i, name, dtName, dims, want.Name, want.DType, want.Shape)
			}
		}
	}
}
