package generator

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/goai-dev/goai"
	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// The fields of every policy are listed by hand three times: in the
// schema, in the analysis that reads and merges them, and in the emitter.
// TestEveryOption walks the schema instead, so that an option added to
// options.proto and forgotten in analysis, merge or emission fails it.

// optionsSource is the file that TestEveryOption annotates, through its
// descriptors: Classify inherits default_call, Other sets every option of
// its own (goai.v1.call).
const optionsSource = `syntax = "proto3";
package every.v1;
import "goai/v1/options.proto";
option go_package = "example.com/every/v1;everyv1";

message In {
  repeated float x = 1 [(goai.v1.tensor) = {shape: [4]}];
}

message Out {
  repeated float y = 1 [(goai.v1.tensor) = {shape: [2]}];
}

service Every {
  rpc Classify(In) returns (Out);
  rpc Other(In) returns (Out);
}
`

// optionValue is the two values TestEveryOption gives an option: a, in
// the annotation that every case starts from, and b, the one a case
// changes it to. fix, when set, adjusts the rest of the annotation of the
// b case so that it stays valid.
type optionValue struct {
	a, b any
	fix  func(model, call *goaiv1.CallOptions, m *goaiv1.ModelOptions)
}

// testValues are the values of options that the kinds of their fields do
// not give (kindValue): strings, floats with a range, and the options that
// a generic value would make invalid. Options are named by their field's
// full name.
var testValues = map[protoreflect.FullName]optionValue{
	// Every option is set at once, tf_serving's too, so the annotation
	// every case starts from is a TF_SERVING service's.
	"goai.v1.ModelOptions.protocol": {
		a: goaiv1.Protocol_PROTOCOL_TF_SERVING, b: goaiv1.Protocol_PROTOCOL_DIRECT,
		fix: func(_, _ *goaiv1.CallOptions, m *goaiv1.ModelOptions) { m.Fallback, m.TfServing = nil, nil }, // DIRECT has neither
	},
	// TF Serving's versions are numbers, and a version label and a
	// version do not go together: the label is set until version is.
	"goai.v1.ModelOptions.version": {
		a: "", b: "3",
		fix: func(_, _ *goaiv1.CallOptions, m *goaiv1.ModelOptions) { m.TfServing.VersionLabel = "" },
	},
	"goai.v1.ModelRef.version":                {a: "1", b: "2"},
	"goai.v1.TFServingOptions.signature_name": {a: "predict", b: "classify"},
	"goai.v1.TFServingOptions.version_label":  {a: "stable", b: "canary"},
	"goai.v1.BatchingOptions.max_delay":       {a: "1ms", b: "2ms"},
	"goai.v1.CallOptions.timeout":             {a: "2s", b: "3s"},
	"goai.v1.CallOptions.attempt_timeout":     {a: "500ms", b: "600ms"},
	"goai.v1.CallOptions.idempotent": {
		a: true, b: false,
		// A call that may not run twice takes no retry of its own.
		fix: func(_, call *goaiv1.CallOptions, _ *goaiv1.ModelOptions) {
			if !call.GetIdempotent() {
				call.Retry = nil
			}
		},
	},
	"goai.v1.RetryOptions.initial_backoff":    {a: "10ms", b: "20ms"},
	"goai.v1.RetryOptions.max_backoff":        {a: "1s", b: "2s"},
	"goai.v1.RetryOptions.backoff_multiplier": {a: 1.5, b: 2.5},
	"goai.v1.RetryOptions.jitter":             {a: 0.3, b: 0.0}, // 0 is no jitter, not the default
	"goai.v1.RetryOptions.retryable_codes":    {a: []string{"UNAVAILABLE", "ABORTED"}, b: []string{"RESOURCE_EXHAUSTED"}},
	"goai.v1.BreakerOptions.failure_ratio":    {a: 0.5, b: 0.25},
	"goai.v1.BreakerOptions.interval":         {a: "1m", b: "2m"},
	"goai.v1.BreakerOptions.open_timeout":     {a: "30s", b: "40s"},
	"goai.v1.BreakerOptions.disabled": {
		a: false, b: true,
		// A disabled breaker takes no settings of its own; Other's
		// settings, when it disables its breaker, are default_call's.
		fix: func(_, call *goaiv1.CallOptions, _ *goaiv1.ModelOptions) {
			if call.GetBreaker().GetDisabled() {
				call.Breaker = &goaiv1.BreakerOptions{Disabled: new(true)}
			}
		},
	},
	"goai.v1.LimitOptions.rate_per_second": {a: 100.0, b: 200.0},
}

// skipped are options TestEveryOption leaves unset, and why.
var skipped = map[string]string{
	"default_call.model":        "an error: it would override every rpc's model",
	"default_call.idle_timeout": "for streaming rpcs, which a TF_SERVING service has none of: TestIdleTimeout covers it",
	"idle_timeout":              "for streaming rpcs, which a TF_SERVING service has none of: TestIdleTimeout covers it",
}

// coveredElsewhere are fields of the runtime's types that the options
// TestEveryOption skips set, and the test that checks their emission.
var coveredElsewhere = map[string]string{
	"CallPolicy.IdleTimeout": "TestIdleTimeout",
}

// kindValue returns the value of variant (0 for a, 1 for b) of a field
// without a testValues entry: distinct positive numbers, ordered by field
// number so that max_size stays below max_queue and max_batch_size; both
// bools; names made from path.
func kindValue(fd protoreflect.FieldDescriptor, path string, variant int) (any, bool) {
	n := 10*int64(fd.Number()) + int64(variant)
	switch fd.Kind() {
	case protoreflect.Int32Kind:
		return int32(n), true
	case protoreflect.Int64Kind:
		return n, true
	case protoreflect.Uint32Kind:
		return uint32(n), true
	case protoreflect.BoolKind:
		return variant == 0, true
	case protoreflect.StringKind:
		if fd.Name() == "name" || fd.Name() == "version" {
			return strings.ReplaceAll(path, ".", "-") + []string{"", "-b"}[variant], true
		}
	}
	return nil, false
}

// leaf is one option: its path from the annotation's message and field.
type leaf struct {
	path   string // "default_call.retry.jitter"
	fields []protoreflect.FieldDescriptor
}

// fill sets every option of m, recursively, to its a value, and returns
// them, in field order, prefixed by prefix.
func fill(t *testing.T, m protoreflect.Message, prefix string, parents []protoreflect.FieldDescriptor) []leaf {
	t.Helper()
	var leaves []leaf
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		path := prefix + string(fd.Name())
		if _, skip := skipped[path]; skip {
			continue
		}
		chain := append(slices.Clip(parents), fd)
		if fd.Message() != nil && !fd.IsList() {
			leaves = append(leaves, fill(t, m.Mutable(fd).Message(), path+".", chain)...)
			continue
		}
		setOption(t, m, fd, path, 0)
		leaves = append(leaves, leaf{path, chain})
	}
	return leaves
}

// setOption sets the option fd of m, at path, to variant.
func setOption(t *testing.T, m protoreflect.Message, fd protoreflect.FieldDescriptor, path string, variant int) {
	t.Helper()
	var v any
	if tv, ok := testValues[fd.FullName()]; ok {
		v = []any{tv.a, tv.b}[variant]
	} else if kv, ok := kindValue(fd, path, variant); ok {
		v = kv
	} else {
		t.Fatalf("TestEveryOption has no values for option %s (%s); add them to testValues, and make sure that analysis, merge and emission carry the option", fd.FullName(), fd.Kind())
	}
	switch v := v.(type) {
	case []string:
		list := m.Mutable(fd).List()
		list.Truncate(0)
		for _, s := range v {
			list.Append(protoreflect.ValueOfString(s))
		}
	case protoreflect.Enum:
		m.Set(fd, protoreflect.ValueOfEnum(v.Number()))
	default:
		m.Set(fd, protoreflect.ValueOf(v))
	}
}

// everyOption is the annotation of a TestEveryOption case.
type everyOption struct {
	model *goaiv1.ModelOptions
	call  *goaiv1.CallOptions // of rpc Other
}

// emittedDesc is the ModelDesc that a case generates, as source text: the
// whole literal, and each method's element.
type emittedDesc struct {
	all     string
	methods []string
	keys    map[string]bool // runtime type.field, for every key set
}

func TestEveryOption(t *testing.T) {
	base := everyOption{model: &goaiv1.ModelOptions{}, call: &goaiv1.CallOptions{}}
	leaves := fill(t, base.model.ProtoReflect(), "", nil)
	calls := fill(t, base.call.ProtoReflect(), "", nil)
	if len(leaves) < 20 || len(calls) < 15 {
		t.Fatalf("walked %d options of ModelOptions and %d of CallOptions: too few", len(leaves), len(calls))
	}

	resolver := protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(map[string]string{"every/v1/every.proto": optionsSource})},
		&protocompile.SourceResolver{ImportPaths: importPaths},
	}
	req := request(t, resolver, "", "every/v1/every.proto")
	before := generateEvery(t, req, base)
	keys := maps.Clone(before.keys)

	type change struct {
		leaf
		call bool // an option of rpc Other's (goai.v1.call), not of (goai.v1.model)
	}
	var changes []change
	for _, l := range leaves {
		changes = append(changes, change{l, false})
	}
	for _, l := range calls {
		changes = append(changes, change{l, true})
	}
	for _, c := range changes {
		name := "model." + c.path
		if c.call {
			name = "call." + c.path
		}
		t.Run(name, func(t *testing.T) {
			e := everyOption{model: proto.Clone(base.model).(*goaiv1.ModelOptions), call: proto.Clone(base.call).(*goaiv1.CallOptions)}
			m := e.model.ProtoReflect()
			if c.call {
				m = e.call.ProtoReflect()
			}
			for _, fd := range c.fields[:len(c.fields)-1] {
				m = m.Mutable(fd).Message()
			}
			last := c.fields[len(c.fields)-1]
			setOption(t, m, last, c.path, 1)
			if tv, ok := testValues[last.FullName()]; ok && tv.fix != nil {
				tv.fix(e.model.GetDefaultCall(), e.call, e.model)
			}
			after := generateEvery(t, req, e)
			for k := range after.keys {
				keys[k] = true
			}
			switch {
			case c.call:
				// rpc Other's own option: its method changes, and only it.
				if after.methods[1] == before.methods[1] {
					t.Errorf("changing %s leaves Other's MethodDesc as it is: the option is lost in analysis, merge or emission:\n%s", c.path, after.methods[1])
				}
				if after.methods[0] != before.methods[0] {
					t.Errorf("changing Other's %s changes Classify's MethodDesc", c.path)
				}
			case strings.HasPrefix(c.path, "default_call."):
				// Classify inherits it, Other overrides it.
				if after.methods[0] == before.methods[0] {
					t.Errorf("changing %s leaves Classify's MethodDesc, which inherits it, as it is: the option is lost in analysis, merge or emission:\n%s", c.path, after.methods[0])
				}
				if after.methods[1] != before.methods[1] {
					t.Errorf("changing %s changes Other's MethodDesc, whose own option overrides it:\n%s", c.path, after.methods[1])
				}
			default:
				if after.all == before.all {
					t.Errorf("changing %s leaves the ModelDesc as it is: the option is lost in analysis or emission", c.path)
				}
			}
		})
	}

	// Across the cases, every field of the runtime's descriptor types was
	// emitted: the generator's own model types (model.go) miss none.
	var missing []string
	for _, field := range runtimeFields(reflect.TypeFor[goai.ModelDesc]()) {
		if _, ok := coveredElsewhere[field]; !keys[field] && !ok {
			missing = append(missing, field)
		}
		delete(keys, field)
	}
	if len(missing) > 0 {
		t.Errorf("no annotation emits %s", strings.Join(missing, ", "))
	}
	for k := range keys {
		t.Errorf("emitted %s, which is no field of the runtime's types", k)
	}
}

// generateEvery generates optionsSource with the annotation e, which must
// draw neither errors nor warnings, and returns its ModelDesc.
func generateEvery(t *testing.T, req *pluginpb.CodeGeneratorRequest, e everyOption) emittedDesc {
	t.Helper()
	req = proto.Clone(req).(*pluginpb.CodeGeneratorRequest)
	for _, f := range req.ProtoFile {
		if f.GetName() != "every/v1/every.proto" {
			continue
		}
		svc := f.Service[0]
		svc.Options = &descriptorpb.ServiceOptions{}
		proto.SetExtension(svc.Options, goaiv1.E_Model, e.model)
		other := svc.Method[1]
		other.Options = &descriptorpb.MethodOptions{}
		proto.SetExtension(other.Options, goaiv1.E_Call, e.call)
	}
	resp, err := generateWith(t, viaWire(t, req), defaults)
	if err != nil {
		t.Fatalf("the annotation has mistakes:\n%v\nmodel: %v\ncall: %v", err, e.model, e.call)
	}
	return parseModelDesc(t, mainFile(t, resp).GetContent(), "EveryModel")
}

// parseModelDesc finds the ModelDesc variable name in src.
func parseModelDesc(t *testing.T, src, name string) emittedDesc {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "every_goai.pb.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	text := func(n ast.Node) string {
		var b bytes.Buffer
		if err := printer.Fprint(&b, fset, n); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if vs.Names[0].Name != name {
				continue
			}
			lit := vs.Values[0].(*ast.UnaryExpr).X.(*ast.CompositeLit)
			e := emittedDesc{all: text(lit), keys: map[string]bool{}}
			for _, elt := range lit.Elts {
				if kv := elt.(*ast.KeyValueExpr); kv.Key.(*ast.Ident).Name == "Methods" {
					for _, m := range kv.Value.(*ast.CompositeLit).Elts {
						e.methods = append(e.methods, text(m))
					}
				}
			}
			collectKeys(lit, reflect.TypeFor[goai.ModelDesc](), e.keys)
			return e
		}
	}
	t.Fatalf("no variable %s in:\n%s", name, src)
	return emittedDesc{}
}

// collectKeys records, for the composite literal lit of type typ, each
// key it sets as "Type.Field", descending into the literals of fields.
func collectKeys(lit *ast.CompositeLit, typ reflect.Type, keys map[string]bool) {
	if typ.Kind() == reflect.Slice {
		for _, elt := range lit.Elts {
			if c, ok := elt.(*ast.CompositeLit); ok {
				collectKeys(c, typ.Elem(), keys)
			}
		}
		return
	}
	for _, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		name := kv.Key.(*ast.Ident).Name
		field, ok := typ.FieldByName(name)
		if !ok {
			keys[typ.Name()+"."+name+" (unknown)"] = true
			continue
		}
		keys[typ.Name()+"."+name] = true
		value, ft := kv.Value, field.Type
		if u, ok := value.(*ast.UnaryExpr); ok && u.Op == token.AND && ft.Kind() == reflect.Pointer {
			value, ft = u.X, ft.Elem()
		}
		if c, ok := value.(*ast.CompositeLit); ok {
			collectKeys(c, ft, keys)
		}
	}
}

// runtimeFields returns "Type.Field" for every exported field of typ and
// of the struct types its fields hold (through pointers and slices), but
// not of TensorDesc, which the methods refer to by variable.
func runtimeFields(typ reflect.Type) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || t == reflect.TypeFor[goai.TensorDesc]() {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			out = append(out, fmt.Sprintf("%s.%s", t.Name(), f.Name))
			walk(f.Type)
		}
	}
	walk(typ)
	return out
}

// idleSource has streaming rpcs, which inherit default_call's idle
// timeout or set their own, and a unary one, which takes none.
const idleSource = `syntax = "proto3";
package idle.v1;
import "goai/v1/options.proto";
option go_package = "example.com/idle/v1;idlev1";

message In {
  repeated float x = 1 [(goai.v1.tensor) = {shape: [4]}];
}

message Out {
  repeated float y = 1 [(goai.v1.tensor) = {shape: [2]}];
}

service Idle {
  option (goai.v1.model) = {name: "llm", default_call: {timeout: "10s", idle_timeout: "2s"}};
  rpc Inherits(In) returns (stream Out);
  rpc Own(In) returns (stream Out) {
    option (goai.v1.call) = {idle_timeout: "3s"};
  }
  rpc Unary(In) returns (Out) {
    option (goai.v1.call) = {model: {name: "scorer"}};
  }
}
`

// TestIdleTimeout checks that idle_timeout, in default_call and an rpc's
// own annotation, reaches the CallPolicy of the streaming rpcs, and that a
// unary rpc gets none of default_call's.
func TestIdleTimeout(t *testing.T) {
	resolver := protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(map[string]string{"idle/v1/idle.proto": idleSource})},
		&protocompile.SourceResolver{ImportPaths: importPaths},
	}
	resp, err := generateWith(t, viaWire(t, request(t, resolver, "", "idle/v1/idle.proto")), defaults)
	if err != nil {
		t.Fatal(err)
	}
	desc := parseModelDesc(t, mainFile(t, resp).GetContent(), "IdleModel")
	if len(desc.methods) != 3 {
		t.Fatalf("%d methods, want 3:\n%s", len(desc.methods), desc.all)
	}
	for i, want := range []string{"IdleTimeout: 2 * time.Second", "IdleTimeout: 3 * time.Second", ""} {
		m := strings.Join(strings.Fields(desc.methods[i]), " ")
		if want == "" && strings.Contains(m, "IdleTimeout") || want != "" && !strings.Contains(m, want) {
			t.Errorf("method %d, want %q:\n%s", i, want, m)
		}
	}
	if !desc.keys["CallPolicy.IdleTimeout"] {
		t.Error("no CallPolicy.IdleTimeout key emitted")
	}
}
