package generator

import (
	"strconv"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/gofeaturespb"
)

// fieldKind is how a field holds its tensor, which picks the runtime
// functions that encode and decode it.
type fieldKind int

const (
	kindTensor  fieldKind = iota // repeated numeric or bool: AppendTensor, DecodeTensor
	kindScalar                   // singular numeric or bool: AppendScalar, DecodeScalar
	kindRaw                      // singular bytes of raw data: AppendRaw, DecodeRaw
	kindStrings                  // repeated string or bytes, BYTES: AppendStrings, DecodeStrings or DecodeUTF8Strings
	kindString                   // singular string or bytes, one BYTES element: AppendString, DecodeString or DecodeUTF8String
)

// kindOf returns how field holds a tensor of datatype dt.
func kindOf(field *protogen.Field, dt goaiv1.DType) fieldKind {
	k := field.Desc.Kind()
	text := k == protoreflect.StringKind || k == protoreflect.BytesKind
	switch {
	case field.Desc.IsList() && text:
		return kindStrings
	case field.Desc.IsList():
		return kindTensor
	case k == protoreflect.BytesKind && dt != goaiv1.DType_BYTES:
		return kindRaw
	case text:
		return kindString
	}
	return kindScalar
}

// appendFuncs and decodeFuncs name the runtime functions of each kind.
var (
	appendFuncs = [...]string{
		kindTensor: "AppendTensor", kindScalar: "AppendScalar", kindRaw: "AppendRaw",
		kindStrings: "AppendStrings", kindString: "AppendString",
	}
	decodeFuncs = [...]string{
		kindTensor: "DecodeTensor", kindScalar: "DecodeScalar", kindRaw: "DecodeRaw",
		kindStrings: "DecodeStrings", kindString: "DecodeString",
	}
)

// textDecodeFuncs name the runtime functions that decode the kinds of
// BYTES tensors into string fields that require UTF-8, checking it.
var textDecodeFuncs = map[fieldKind]string{kindStrings: "DecodeUTF8Strings", kindString: "DecodeUTF8String"}

// enforcesUTF8 reports whether protobuf requires the string field fd to
// hold valid UTF-8, refusing to marshal or unmarshal a message whose field
// does not: every string field of proto3, none of proto2, and in editions
// those whose features.utf8_validation resolves to VERIFY, the default of
// every edition so far. The feature may be set on a field or on its file
// only. Text decoded into such a field from BYTES must be checked, or the
// message decoded could not be sent on.
func enforcesUTF8(fd protoreflect.FieldDescriptor) bool {
	if fd.Kind() != protoreflect.StringKind {
		return false
	}
	switch fd.Syntax() {
	case protoreflect.Proto3:
		return true
	case protoreflect.Editions:
		for _, opts := range []proto.Message{fd.Options(), fd.ParentFile().Options()} {
			if v, ok := utf8Validation(opts); ok {
				return v == descriptorpb.FeatureSet_VERIFY
			}
		}
		return true
	}
	return false
}

// utf8Validation returns the utf8_validation feature that options (of a
// field or a file) set, if they set it.
func utf8Validation(options proto.Message) (descriptorpb.FeatureSet_Utf8Validation, bool) {
	var f *descriptorpb.FeatureSet
	switch o := options.(type) {
	case *descriptorpb.FieldOptions:
		f = o.GetFeatures()
	case *descriptorpb.FileOptions:
		f = o.GetFeatures()
	}
	if f == nil || f.Utf8Validation == nil {
		return 0, false
	}
	return f.GetUtf8Validation(), true
}

// goTypes are the Go types of the field kinds that hold tensors, the type
// arguments of the decode functions.
var goTypes = map[protoreflect.Kind]string{
	protoreflect.FloatKind:    "float32",
	protoreflect.DoubleKind:   "float64",
	protoreflect.Int32Kind:    "int32",
	protoreflect.Sint32Kind:   "int32",
	protoreflect.Sfixed32Kind: "int32",
	protoreflect.Int64Kind:    "int64",
	protoreflect.Sint64Kind:   "int64",
	protoreflect.Sfixed64Kind: "int64",
	protoreflect.Uint32Kind:   "uint32",
	protoreflect.Fixed32Kind:  "uint32",
	protoreflect.Uint64Kind:   "uint64",
	protoreflect.Fixed64Kind:  "uint64",
	protoreflect.BoolKind:     "bool",
	protoreflect.StringKind:   "string",
	protoreflect.BytesKind:    "[]byte",
}

// generateMappers writes the mappers of one message, its encoder first.
func generateMappers(g *protogen.GeneratedFile, mappers []*mapper) {
	for _, encode := range []bool{true, false} {
		for _, mp := range mappers {
			if mp.encode != encode {
				continue
			}
			if encode {
				generateEncoder(g, mp)
			} else {
				generateDecoder(g, mp)
			}
		}
	}
}

// generateEncoder writes a function appending the tensors of a batch of
// messages to a goaiimpl.Encoder, item by item.
func generateEncoder(g *protogen.GeneratedFile, mp *mapper) {
	mm := mp.message
	msg := mm.message.GoIdent
	wrapComment(g, mp.name+" appends the tensors of each "+msg.GoName+" of batch to e, in the order of "+tensorsIdent(mm.message).GoName+".")
	g.P("func ", mp.name, "(e *", goaiimplPackage.Ident("Encoder"), ", batch []*", msg, ") {")
	g.P("for _, x := range batch {")
	for i, t := range mm.tensors {
		f := mm.fields[i]
		g.P(goaiimplPackage.Ident(appendFuncs[kindOf(f, t.dtype)]), "(e.Tensor(", i, "), x.Get", f.GoName, "())")
	}
	g.P("}")
	g.P("}")
	g.P()
}

// generateDecoder writes a function setting each message of a batch from
// the items of a goaiimpl.Decoder's tensors.
func generateDecoder(g *protogen.GeneratedFile, mp *mapper) {
	mm := mp.message
	msg := mm.message.GoIdent
	doc := mp.name + " sets each element of batch to a new " + msg.GoName + " holding the tensors of its item in d, in the order of " +
		tensorsIdent(mm.message).GoName
	if len(mm.tensors) < len(mm.message.Fields) {
		doc += "; its other fields stay unset"
	}
	wrapComment(g, doc+".")
	g.P("func ", mp.name, "(d *", goaiimplPackage.Ident("Decoder"), ", batch []*", msg, ") {")
	g.P("for i := range batch {")
	opaque := mm.message.APILevel == gofeaturespb.GoFeatures_API_OPAQUE
	if opaque {
		// The opaque API has no exported fields; its builder has.
		g.P("batch[i] = ", msg.GoImportPath.Ident(msg.GoName+"_builder"), "{")
	} else {
		g.P("batch[i] = &", msg, "{")
	}
	for i, t := range mm.tensors {
		f := mm.fields[i]
		kind := kindOf(f, t.dtype)
		var value string
		switch text, ok := textDecodeFuncs[kind]; {
		case ok && enforcesUTF8(f.Desc):
			value = g.QualifiedGoIdent(goaiimplPackage.Ident(text))
		case kind == kindRaw:
			value = g.QualifiedGoIdent(goaiimplPackage.Ident(decodeFuncs[kind]))
		default:
			value = g.QualifiedGoIdent(goaiimplPackage.Ident(decodeFuncs[kind])) + "[" + goTypes[f.Desc.Kind()] + "]"
		}
		value += "(d.Tensor(" + strconv.Itoa(i) + "), i)"
		if pointer(f) {
			value = "new(" + value + ")"
		}
		g.P(f.GoName, ": ", value, ",")
	}
	if opaque {
		g.P("}.Build()")
	} else {
		g.P("}")
	}
	g.P("}")
	g.P("}")
	g.P()
}

// pointer reports whether the Go field (or builder field) of a singular
// field is a pointer: a scalar or string with explicit presence.
func pointer(field *protogen.Field) bool {
	fd := field.Desc
	return fd.HasPresence() && !fd.IsList() && fd.Kind() != protoreflect.BytesKind
}
