package generator

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Tensors: the (goai.v1.tensor) annotations of message fields, checked
// and resolved into the tensorDesc of each field.

func tensorOptions(field *protogen.Field) (*goaiv1.TensorOptions, bool) {
	opts := field.Desc.Options()
	if !proto.HasExtension(opts, goaiv1.E_Tensor) {
		return nil, false
	}
	o, _ := proto.GetExtension(opts, goaiv1.E_Tensor).(*goaiv1.TensorOptions)
	return o, true // a nil o reads as an empty annotation
}

// hasTensors reports whether a message has a tensor annotation, without
// checking them: a message is checked with its own file.
func hasTensors(message *protogen.Message) bool {
	return slices.ContainsFunc(message.Fields, func(f *protogen.Field) bool {
		_, ok := tensorOptions(f)
		return ok
	})
}

// message checks the tensor annotations of a message's fields.
func (a *analysis) message(message *protogen.Message) *messageModel {
	var (
		mm    = &messageModel{message: message}
		found bool
		names = map[string]*protogen.Field{}
	)
	for _, field := range message.Fields {
		opts, ok := tensorOptions(field)
		if !ok {
			continue
		}
		found = true
		desc, ok := a.tensor(field, opts)
		if !ok {
			continue
		}
		if other, dup := names[desc.name]; dup {
			s := annotation(field.Desc, field.Location.Path, fieldOptionsNumber, goaiv1.E_Tensor)
			a.errorf(s.at("name"), "tensor name %q is already used by %s; give each tensor its own name",
				desc.name, other.Desc.FullName())
			continue
		}
		names[desc.name] = field
		mm.tensors = append(mm.tensors, desc)
		mm.fields = append(mm.fields, field)
	}
	if !found {
		return nil
	}
	return mm
}

// extensions reports tensor annotations on extension fields, which no
// message's tensors can include.
func (a *analysis) extensions(extensions []*protogen.Extension) {
	for _, x := range extensions {
		if _, ok := tensorOptions(x); ok {
			s := annotation(x.Desc, x.Location.Path, fieldOptionsNumber, goaiv1.E_Tensor)
			a.errorf(s, "an extension field cannot hold a tensor; declare the field in the message itself")
		}
	}
}

// tensor checks one tensor annotation and resolves its defaults.
func (a *analysis) tensor(field *protogen.Field, opts *goaiv1.TensorOptions) (tensorDesc, bool) {
	s := annotation(field.Desc, field.Location.Path, fieldOptionsNumber, goaiv1.E_Tensor)
	fd := field.Desc
	switch {
	case fd.IsMap():
		a.errorf(s, "a map field cannot hold a tensor; use a repeated field, or remove (goai.v1.tensor)")
		return tensorDesc{}, false
	case fd.Message() != nil:
		a.errorf(s, "field type %s is a message, which cannot hold a tensor; annotate the fields of %s instead",
			fd.Message().FullName(), fd.Message().FullName())
		return tensorDesc{}, false
	case fd.Enum() != nil:
		a.errorf(s, "field type %s is an enum, which cannot hold a tensor; use an int32 field", fd.Enum().FullName())
		return tensorDesc{}, false
	case field.Oneof != nil && !field.Oneof.Desc.IsSynthetic():
		a.errorf(s, "a field of oneof %s cannot hold a tensor, as every tensor goes with every call; declare the field outside the oneof", field.Oneof.Desc.Name())
		return tensorDesc{}, false
	}
	dtype, ok := a.dtype(s, fd, opts.GetDtype())
	if !ok {
		return tensorDesc{}, false
	}
	shape, ok := a.shape(s, fd, dtype, opts.GetShape())
	if !ok {
		return tensorDesc{}, false
	}
	if _, ok := staticElements(shape); !ok {
		a.errorf(s.at("shape"), "shape %s holds more than %d elements, the most that one request can carry (a gRPC message holds at most 2 GiB, and an element takes a byte or more); use smaller sizes", formatShape(shape), maxElements)
		return tensorDesc{}, false
	}
	return tensorDesc{
		name:  cmp.Or(opts.GetName(), string(fd.Name())),
		field: string(fd.Name()),
		dtype: dtype,
		shape: shape,
	}, true
}

// kindDTypes maps a field kind to the dtype it holds by default, followed
// by the narrower dtypes it also holds (converted on encode and decode).
// bytes is missing: a singular bytes field holds raw data of any dtype.
var kindDTypes = map[protoreflect.Kind][]goaiv1.DType{
	protoreflect.FloatKind:    {goaiv1.DType_FP32, goaiv1.DType_FP16, goaiv1.DType_BF16},
	protoreflect.DoubleKind:   {goaiv1.DType_FP64},
	protoreflect.Int32Kind:    {goaiv1.DType_INT32, goaiv1.DType_INT8, goaiv1.DType_INT16},
	protoreflect.Sint32Kind:   {goaiv1.DType_INT32, goaiv1.DType_INT8, goaiv1.DType_INT16},
	protoreflect.Sfixed32Kind: {goaiv1.DType_INT32, goaiv1.DType_INT8, goaiv1.DType_INT16},
	protoreflect.Int64Kind:    {goaiv1.DType_INT64},
	protoreflect.Sint64Kind:   {goaiv1.DType_INT64},
	protoreflect.Sfixed64Kind: {goaiv1.DType_INT64},
	protoreflect.Uint32Kind:   {goaiv1.DType_UINT32, goaiv1.DType_UINT8, goaiv1.DType_UINT16},
	protoreflect.Fixed32Kind:  {goaiv1.DType_UINT32, goaiv1.DType_UINT8, goaiv1.DType_UINT16},
	protoreflect.Uint64Kind:   {goaiv1.DType_UINT64},
	protoreflect.Fixed64Kind:  {goaiv1.DType_UINT64},
	protoreflect.BoolKind:     {goaiv1.DType_BOOL},
	protoreflect.StringKind:   {goaiv1.DType_BYTES},
}

// holders names, for a fix hint, the field type that holds a dtype.
var holders = map[goaiv1.DType]string{
	goaiv1.DType_FP16: "float", goaiv1.DType_BF16: "float", goaiv1.DType_FP32: "float", goaiv1.DType_FP64: "double",
	goaiv1.DType_INT8: "int32", goaiv1.DType_INT16: "int32", goaiv1.DType_INT32: "int32", goaiv1.DType_INT64: "int64",
	goaiv1.DType_UINT8: "uint32", goaiv1.DType_UINT16: "uint32", goaiv1.DType_UINT32: "uint32", goaiv1.DType_UINT64: "uint64",
	goaiv1.DType_BOOL: "bool",
}

// dtype resolves a tensor's dtype: the annotation's, which must fit the
// field, or the field type's default.
func (a *analysis) dtype(s site, fd protoreflect.FieldDescriptor, v goaiv1.DType) (goaiv1.DType, bool) {
	const invalid = goaiv1.DType_DTYPE_UNSPECIFIED
	kind := fd.Kind()
	if v == goaiv1.DType_DTYPE_UNSPECIFIED {
		if kind == protoreflect.BytesKind {
			return goaiv1.DType_BYTES, true
		}
		if d, ok := kindDTypes[kind]; ok {
			return d[0], true
		}
		a.errorf(s, "field type %s cannot hold a tensor; use a numeric, bool, string or bytes field", kind)
		return invalid, false
	}
	// goai.v1.DType spells its values as the protocol does.
	d := v
	if _, ok := dtypeNames[d]; !ok {
		a.errorf(s.at("dtype"), "dtype %d is not a goai.v1.DType; use one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64 or BYTES", v)
		return invalid, false
	}
	switch {
	case kind == protoreflect.BytesKind && !fd.IsList():
		return d, true // raw little-endian data, or one BYTES element
	case kind == protoreflect.BytesKind:
		if d != goaiv1.DType_BYTES {
			a.errorf(s.at("dtype"), "dtype %s does not fit repeated bytes, whose elements are BYTES; use a singular bytes field for raw %s data", d, d)
			return invalid, false
		}
		return d, true
	case slices.Contains(kindDTypes[kind], d):
		return d, true
	case d == goaiv1.DType_BYTES:
		a.errorf(s.at("dtype"), "dtype BYTES does not fit field type %s; use a string or bytes field, repeated for several elements", kind)
	default:
		a.errorf(s.at("dtype"), "dtype %s does not fit field type %s; use repeated %s or bytes", d, kind, holders[d])
	}
	return invalid, false
}

// shape checks a tensor's shape. Every dimension is a size of 1 or more or
// -1 (dynamic), and at most one is dynamic, as the data's length can tell
// only one size. A field that holds a single element (a singular numeric,
// bool or string field, or a singular bytes field holding one BYTES element)
// may have a shape, as Triton models often declare [1] for a scalar, but
// only one whose dimensions are all 1. Without a shape, such a field holds
// a scalar, and any other field a vector of any length: [-1].
func (a *analysis) shape(s site, fd protoreflect.FieldDescriptor, d goaiv1.DType, shape []int64) ([]int64, bool) {
	at := s.at("shape")
	dynamic := 0
	for _, dim := range shape {
		switch {
		case dim == -1:
			dynamic++
		case dim < 1:
			a.errorf(at, "shape %s has dimension %d; use a size of 1 or more, or -1 for a dynamic dimension", formatShape(shape), dim)
			return nil, false
		}
	}
	if dynamic > 1 {
		a.errorf(at, "shape %s has %d dynamic dimensions, but the data's length can tell the size of only one; fix all but one of them", formatShape(shape), dynamic)
		return nil, false
	}
	single := !fd.IsList() && (fd.Kind() != protoreflect.BytesKind || d == goaiv1.DType_BYTES)
	if single && slices.ContainsFunc(shape, func(dim int64) bool { return dim != 1 }) {
		a.errorf(at, "a singular %s field holds one element, so its shape may only be empty or all 1s, not %s; make the field repeated, or drop the shape", fd.Kind(), formatShape(shape))
		return nil, false
	}
	if len(shape) == 0 && !single {
		return []int64{-1}, true
	}
	return slices.Clone(shape), true
}

// maxElements is the most elements a tensor of a request or response may
// hold: runtime/tensor.MaxElements, mirrored so that the plugin does not
// link the runtime; a test checks that they agree.
const maxElements = math.MaxInt32

// staticElements returns the product of the sizes of shape, its dynamic
// dimensions left out, and false if it exceeds maxElements; it never
// overflows.
func staticElements(shape []int64) (int64, bool) {
	n := int64(1)
	for _, d := range shape {
		if d < 1 {
			continue
		}
		if d > maxElements/n {
			return 0, false
		}
		n *= d
	}
	return n, true
}

func formatShape(shape []int64) string {
	dims := make([]string, len(shape))
	for i, dim := range shape {
		dims[i] = strconv.FormatInt(dim, 10)
	}
	return "[" + strings.Join(dims, ", ") + "]"
}
