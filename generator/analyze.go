package generator

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Field numbers of the options field in descriptor.proto's
// FieldDescriptorProto, ServiceDescriptorProto and MethodDescriptorProto:
// source paths of annotations go through them.
const (
	fieldOptionsNumber   = 8
	serviceOptionsNumber = 3
	methodOptionsNumber  = 4
)

// Defaults that checks across options rely on: runtime.DefaultInitialBackoff
// and runtime.DefaultMaxBackoff, mirrored so that the plugin does not link
// the runtime; a test checks that they agree.
const (
	defaultInitialBackoff = 50 * time.Millisecond
	defaultMaxBackoff     = 2 * time.Second
)

// analysis checks the annotations of one file and builds its model,
// collecting every problem instead of stopping at the first.
type analysis struct {
	reporter
	gen  *protogen.Plugin
	file *protogen.File
	opts Options
	// models holds the checked tensors of messages, the file's own and
	// those of other files that its services use; see model.
	models map[*protogen.Message]*messageModel
	// reaches memoizes reachesTensors.
	reaches map[*protogen.Message]bool
}

// analyze returns the checked model of file, or every problem its
// annotations have. It never fails on a file without annotations.
func analyze(gen *protogen.Plugin, file *protogen.File, opts Options) (*fileModel, error) {
	a := &analysis{gen: gen, file: file, opts: opts, models: map[*protogen.Message]*messageModel{}, reaches: map[*protogen.Message]bool{}}
	m := &fileModel{}
	walkMessages(file.Messages, func(message *protogen.Message) {
		if mm := a.message(message); mm != nil {
			m.messages = append(m.messages, mm)
			a.models[message] = mm
		}
		a.extensions(message.Extensions)
	})
	a.extensions(file.Extensions)
	for _, service := range file.Services {
		if sm := a.service(service); sm != nil {
			m.services = append(m.services, sm)
		}
	}
	a.collisions(m)
	a.mappers(m)
	if err := a.err(); err != nil {
		return nil, err
	}
	return m, nil
}

func walkMessages(messages []*protogen.Message, f func(*protogen.Message)) {
	for _, message := range messages {
		f(message)
		walkMessages(message.Messages, f)
	}
}

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

func formatShape(shape []int64) string {
	dims := make([]string, len(shape))
	for i, dim := range shape {
		dims[i] = strconv.FormatInt(dim, 10)
	}
	return "[" + strings.Join(dims, ", ") + "]"
}

// annotated reports whether a service has goai annotations: a model
// option, or a call option on one of its rpcs.
func annotated(service *protogen.Service) bool {
	return proto.HasExtension(service.Desc.Options(), goaiv1.E_Model) ||
		slices.ContainsFunc(service.Methods, func(m *protogen.Method) bool {
			return proto.HasExtension(m.Desc.Options(), goaiv1.E_Call)
		})
}

// service checks a service's model annotation and its rpcs.
func (a *analysis) service(service *protogen.Service) *serviceModel {
	if !annotated(service) {
		return nil
	}
	opts, _ := proto.GetExtension(service.Desc.Options(), goaiv1.E_Model).(*goaiv1.ModelOptions)
	s := annotation(service.Desc, service.Location.Path, serviceOptionsNumber, goaiv1.E_Model)
	sm := &serviceModel{
		service: service,
		names:   newNames(service),
		desc: modelDesc{
			service: string(service.Desc.FullName()),
			model:   modelRef{name: opts.GetName(), version: opts.GetVersion()},
		},
	}
	desc := &sm.desc

	openInference := true
	switch opts.GetProtocol() {
	case goaiv1.Protocol_PROTOCOL_UNSPECIFIED, goaiv1.Protocol_PROTOCOL_OPEN_INFERENCE:
		desc.protocol = protocolOpenInference
	case goaiv1.Protocol_PROTOCOL_DIRECT:
		desc.protocol = protocolDirect
		openInference = false
		sm.direct = true
		sm.stub, sm.newStub = grpcClient(service, a.file)
	default:
		a.errorf(s.at("protocol"), "protocol %d is not a goai.v1.Protocol; use PROTOCOL_OPEN_INFERENCE or PROTOCOL_DIRECT", opts.GetProtocol())
		openInference = false // no checks that depend on the protocol
	}
	sm.openInference = openInference
	if openInference && desc.model.name == "" {
		a.errorf(s.at("name"), `model name is missing; set option (goai.v1.model) = {name: "..."}, or protocol: PROTOCOL_DIRECT if the service is itself the model's API`)
	}

	if n := opts.GetMaxBatchSize(); n < 0 {
		a.errorf(s.at("max_batch_size"), "max_batch_size %d is negative; use 0 for a model without a batch dimension, or the model's largest batch", n)
	} else {
		desc.maxBatchSize = int(n)
	}
	if b := opts.GetBatching(); b != nil {
		desc.batching = a.batching(s, b, opts.GetMaxBatchSize())
	}
	desc.limits = a.limits(s, opts.GetLimits())
	desc.fallback = a.modelRef(s.at("fallback"), opts.GetFallback())
	if f := desc.fallback; f != nil && f.name != "" && *f == desc.model {
		a.errorf(s.at("fallback"), "fallback names the model itself; name another model, or remove fallback")
	}
	if desc.fallback != nil && sm.direct {
		a.errorf(s.at("fallback"), "fallback does not apply to PROTOCOL_DIRECT, whose requests name no model: the fallback would call the same rpc again; remove fallback")
	}

	def := opts.GetDefaultCall()
	defaults := a.call(s, "default_call.", def)
	if def.GetModel() != nil {
		a.errorf(s.at("default_call.model"), "default_call.model would override the model of every rpc; set name and version on (goai.v1.model) itself, or model on one rpc's (goai.v1.call)")
	}
	if def != nil {
		a.combined(s, "default_call.", defaults, callPolicy{})
	}

	for i, method := range service.Methods {
		mm := a.method(sm, method, defaults, openInference)
		mm.index = i
		sm.methods = append(sm.methods, mm)
	}
	if openInference || sm.direct {
		a.clientMethods(sm)
	}
	if openInference && a.opts.Fakes {
		a.planFakes(sm)
	}
	return sm
}

// isOpenInference reports whether service is annotated and called through
// the Open Inference Protocol, without checking its annotations: other
// files of a package are checked with their own file.
func isOpenInference(service *protogen.Service) bool {
	if !annotated(service) {
		return false
	}
	opts, _ := proto.GetExtension(service.Desc.Options(), goaiv1.E_Model).(*goaiv1.ModelOptions)
	switch opts.GetProtocol() {
	case goaiv1.Protocol_PROTOCOL_UNSPECIFIED, goaiv1.Protocol_PROTOCOL_OPEN_INFERENCE:
		return true
	}
	return false
}

// clientMethods reports rpcs whose methods on the typed client would take
// the name of another of its methods.
func (a *analysis) clientMethods(sm *serviceModel) {
	taken := map[string]string{} // method name → what it is
	for _, name := range clientMethods {
		taken[name] = "the client's own method"
	}
	claim := func(mm *methodModel, name, kind, fix string) {
		if what, ok := taken[name]; ok {
			a.errorf(declaration(mm.method.Desc, mm.method.Location.Path),
				"rpc %s would give %s the %s %s, but that is %s; %s", mm.method.Desc.Name(), sm.names.Client, kind, name, what, fix)
			return
		}
		taken[name] = "the method of rpc " + string(mm.method.Desc.Name())
	}
	for _, mm := range sm.methods {
		if sm.direct && streaming(mm.method) {
			continue // no method: see generateDirectClient
		}
		claim(mm, mm.method.GoName, "method", "rename the rpc")
	}
	if sm.openInference && sm.desc.maxBatchSize > 0 {
		for _, mm := range sm.methods {
			claim(mm, batchMethod(mm.method.GoName), "batch method", "rename one of the rpcs")
		}
		for _, mm := range sm.methods {
			claim(mm, batcherMethod(mm.method.GoName), "batcher method", "rename one of the rpcs")
		}
	}
}

// streaming reports whether m streams requests or responses.
func streaming(m *protogen.Method) bool {
	return m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer()
}

// planFakes groups the rpcs of an OPEN_INFERENCE service by the model they
// call: each model is one method of the fake, named for the first rpc that
// calls it, and one registration, with the versions the rpcs call. The
// fallback model, when no rpc calls it, is registered too, served by the
// method of the service's model.
func (a *analysis) planFakes(sm *serviceModel) {
	byModel := map[string]*registration{}
	for _, mm := range sm.methods {
		r := byModel[mm.model.name]
		if r == nil {
			fm := &fakeMethod{method: mm}
			sm.fakes = append(sm.fakes, fm)
			r = &registration{model: mm.model.name, serve: fm, inputs: a.model(mm.method.Input), outputs: a.model(mm.method.Output)}
			sm.registrations = append(sm.registrations, r)
			byModel[mm.model.name] = r
		}
		r.serve.rpcs = append(r.serve.rpcs, mm)
		r.addVersion(mm.model.version)
	}
	fb := sm.desc.fallback
	if fb == nil || len(sm.registrations) == 0 {
		return
	}
	if r := byModel[fb.name]; r != nil {
		r.addVersion(fb.version)
		return
	}
	serve := sm.registrations[0].serve
	if r := byModel[sm.desc.model.name]; r != nil {
		serve = r.serve
	}
	m := serve.method.method
	r := &registration{model: fb.name, serve: serve, fallback: true, inputs: a.model(m.Input), outputs: a.model(m.Output)}
	r.addVersion(fb.version)
	sm.registrations = append(sm.registrations, r)
}

// addVersion adds v, unless empty or known, to the versions of r.
func (r *registration) addVersion(v string) {
	if v != "" && !slices.Contains(r.versions, v) {
		r.versions = append(r.versions, v)
	}
}

func (a *analysis) batching(s site, b *goaiv1.BatchingOptions, maxBatchSize int32) batchingPolicy {
	if maxBatchSize == 0 {
		a.errorf(s.at("batching"), "batching needs a batch dimension, but max_batch_size is 0; set max_batch_size to the model's largest batch, or remove batching")
	}
	if n := b.GetMaxSize(); maxBatchSize > 0 && n > maxBatchSize {
		a.errorf(s.at("batching.max_size"), "batching.max_size %d exceeds max_batch_size %d; lower max_size to %d or less, or raise max_batch_size", n, maxBatchSize, maxBatchSize)
	}
	return batchingPolicy{
		maxSize:  int(nonNegative(a, s.at("batching.max_size"), b.GetMaxSize(), "or leave it unset for max_batch_size")),
		maxDelay: a.positiveDuration(s.at("batching.max_delay"), b.GetMaxDelay()),
		maxBytes: nonNegative(a, s.at("batching.max_bytes"), b.GetMaxBytes(), "or leave it unset for 3 MiB"),
		maxQueue: int(nonNegative(a, s.at("batching.max_queue"), b.GetMaxQueue(), "or leave it unset for 4 × max_size")),
	}
}

func (a *analysis) limits(s site, l *goaiv1.LimitOptions) limitPolicy {
	p := limitPolicy{
		ratePerSecond: l.GetRatePerSecond(),
		burst:         int(nonNegative(a, s.at("limits.burst"), l.GetBurst(), "or leave it unset for the rate rounded up")),
		maxConcurrent: int(nonNegative(a, s.at("limits.max_concurrent"), l.GetMaxConcurrent(), "or leave it unset for no cap")),
		failFast:      l.GetFailFast(),
	}
	if r := p.ratePerSecond; !(r >= 0) || math.IsInf(r, 0) {
		a.errorf(s.at("limits.rate_per_second"), "limits.rate_per_second %g is not a finite, non-negative number; use calls per second, such as 200, or leave it unset for no limit", r)
		p.ratePerSecond = 0
	}
	if p.burst > 0 && l.GetRatePerSecond() == 0 {
		a.errorf(s.at("limits.burst"), "limits.burst %d has no effect without limits.rate_per_second; set rate_per_second, or remove burst", p.burst)
	}
	return p
}

// modelRef checks a reference to a model, which must name it.
func (a *analysis) modelRef(at site, ref *goaiv1.ModelRef) *modelRef {
	if ref == nil {
		return nil
	}
	if ref.GetName() == "" {
		a.errorf(at, `%s has no name; set %s: {name: "..."}, or remove it`, at.label, at.label)
	}
	return &modelRef{name: ref.GetName(), version: ref.GetVersion()}
}

// method checks an rpc of an annotated service and resolves its policy.
func (a *analysis) method(sm *serviceModel, method *protogen.Method, defaults callPolicy, openInference bool) *methodModel {
	opts, _ := proto.GetExtension(method.Desc.Options(), goaiv1.E_Call).(*goaiv1.CallOptions)
	s := annotation(method.Desc, method.Location.Path, methodOptionsNumber, goaiv1.E_Call)
	own := a.call(s, "", opts)
	mm := &methodModel{
		method: method,
		model:  sm.desc.model,
		policy: merge(defaults, own),
	}
	if opts != nil {
		a.combined(s, "", own, defaults)
	}
	if ref := a.modelRef(s.at("model"), opts.GetModel()); ref != nil {
		mm.model = *ref
	}
	if hasTensors(method.Input) {
		mm.inputs = method.Input
	}
	if hasTensors(method.Output) {
		mm.outputs = method.Output
	}
	if sm.direct && !streaming(method) {
		mm.check = a.lengthChecks(method.Input, nil, map[*protogen.Message]bool{})
	}
	if !openInference {
		return mm
	}
	decl := declaration(method.Desc, method.Location.Path)
	if streaming(method) {
		a.errorf(decl, "a streaming rpc cannot be called through PROTOCOL_OPEN_INFERENCE, whose ModelInfer is unary; make the rpc unary, or set protocol: PROTOCOL_DIRECT on the service")
	}
	if mm.inputs == nil {
		a.errorf(decl, "input message %s has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API", method.Input.Desc.FullName())
	}
	if mm.outputs == nil {
		a.errorf(decl, "output message %s has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API", method.Output.Desc.FullName())
	}
	return mm
}

// call checks one call annotation, an rpc's (goai.v1.call) or a service's
// default_call (labels prefixed "default_call."), and converts it.
func (a *analysis) call(s site, prefix string, c *goaiv1.CallOptions) callPolicy {
	p := callPolicy{
		timeout:        a.positiveDuration(s.at(prefix+"timeout"), c.GetTimeout()),
		attemptTimeout: a.positiveDuration(s.at(prefix+"attempt_timeout"), c.GetAttemptTimeout()),
		retry:          a.retry(s, prefix+"retry.", c.GetRetry()),
		breaker:        a.breaker(s, prefix+"breaker.", c.GetBreaker()),
	}
	if c != nil && c.Idempotent != nil {
		p.idempotent = new(c.GetIdempotent())
	}
	return p
}

func (a *analysis) retry(s site, prefix string, r *goaiv1.RetryOptions) retryPolicy {
	p := retryPolicy{
		initialBackoff: a.positiveDuration(s.at(prefix+"initial_backoff"), r.GetInitialBackoff()),
		maxBackoff:     a.positiveDuration(s.at(prefix+"max_backoff"), r.GetMaxBackoff()),
	}
	if n, at := r.GetMaxAttempts(), s.at(prefix+"max_attempts"); n < 0 {
		a.errorf(at, "%s %d is below 1; use 1 for a single attempt, or more to retry", at.label, n)
	} else {
		p.maxAttempts = int(n)
	}
	switch m, at := r.GetBackoffMultiplier(), s.at(prefix+"backoff_multiplier"); {
	case math.IsNaN(m) || math.IsInf(m, 0):
		a.errorf(at, "%s %g is not a finite number; use a factor of 1 or more, such as 1.6", at.label, m)
	case m != 0 && m < 1:
		a.errorf(at, "%s %g is below 1, which would shrink the waits; use 1 or more, or leave it unset for 2", at.label, m)
	default:
		p.multiplier = m
	}
	if j, at := r.GetJitter(), s.at(prefix+"jitter"); !(j >= 0 && j <= 1) {
		a.errorf(at, "%s %g is outside [0, 1]; use a fraction, such as 0.2", at.label, j)
	} else {
		p.jitter = j
	}
	at := s.at(prefix + "retryable_codes")
	for _, name := range r.GetRetryableCodes() {
		c, ok := parseCode(name)
		switch {
		case !ok:
			if upper := strings.ToUpper(name); upper != name && validCode(upper) {
				a.errorf(at, "%s has unknown code %q; spell it in upper case, as google.rpc.Code does: %q", at.label, name, upper)
			} else {
				a.errorf(at, "%s has unknown code %q; use a google.rpc.Code name, such as UNAVAILABLE or RESOURCE_EXHAUSTED", at.label, name)
			}
		case c == codeOK:
			a.errorf(at, "%s lists OK, which is a success, not a failure; remove it", at.label)
		case slices.Contains(p.retryableCodes, c):
			a.errorf(at, "%s lists %s twice; remove one", at.label, name)
		default:
			p.retryableCodes = append(p.retryableCodes, c)
		}
	}
	return p
}

func validCode(name string) bool {
	_, ok := parseCode(name)
	return ok
}

func (a *analysis) breaker(s site, prefix string, b *goaiv1.BreakerOptions) breakerPolicy {
	p := breakerPolicy{
		consecutiveFailures: b.GetConsecutiveFailures(),
		minRequests:         b.GetMinRequests(),
		openTimeout:         a.positiveDuration(s.at(prefix+"open_timeout"), b.GetOpenTimeout()),
		halfOpenProbes:      b.GetHalfOpenProbes(),
		disabled:            b.GetDisabled(),
	}
	if r, at := b.GetFailureRatio(), s.at(prefix+"failure_ratio"); r != 0 && !(r > 0 && r <= 1) {
		a.errorf(at, "%s %g is outside (0, 1]; use a fraction of failed calls, such as 0.5", at.label, r)
	} else {
		p.failureRatio = r
	}
	at := s.at(prefix + "interval")
	if d, ok := a.parseDuration(at, b.GetInterval()); ok && d < 0 {
		a.errorf(at, "%s %q is negative; use a positive duration, or leave it unset to never reset the counts", at.label, b.GetInterval())
	} else {
		p.interval = d
	}
	return p
}

// combined checks the rules that tie two options together, on the policy
// that results at s: own, what the annotation at s sets, over inherited.
// A rule is checked only where the annotation sets one of its options, so
// that a mistake in default_call is reported once, at the service.
func (a *analysis) combined(s site, prefix string, own, inherited callPolicy) {
	p := merge(inherited, own)
	// from names where a value of the resulting policy comes from.
	from := func(label string, ownSet, inheritedSet bool) string {
		switch {
		case ownSet:
			return prefix + label
		case inheritedSet:
			return "default_call." + label
		}
		return "the default " + label
	}

	r, or, ir := p.retry, own.retry, inherited.retry
	if or.initialBackoff != 0 || or.maxBackoff != 0 {
		initial := cmp.Or(r.initialBackoff, defaultInitialBackoff)
		maxBackoff := cmp.Or(r.maxBackoff, defaultMaxBackoff)
		if maxBackoff < initial {
			a.errorf(s.at(prefix+"retry.max_backoff"), "%s %q is below %s %q; raise max_backoff or lower initial_backoff",
				from("retry.max_backoff", or.maxBackoff != 0, ir.maxBackoff != 0), maxBackoff,
				from("retry.initial_backoff", or.initialBackoff != 0, ir.initialBackoff != 0), initial)
		}
	}

	if (own.timeout != 0 || own.attemptTimeout != 0) && p.timeout != 0 && p.attemptTimeout > p.timeout {
		a.errorf(s.at(prefix+"attempt_timeout"), "%s %q exceeds %s %q, so no attempt can use all of it; lower attempt_timeout or raise timeout",
			from("attempt_timeout", own.attemptTimeout != 0, inherited.attemptTimeout != 0), p.attemptTimeout,
			from("timeout", own.timeout != 0, inherited.timeout != 0), p.timeout)
	}
}

// merge returns base with every option that over sets replacing base's:
// zero values are unset, a non-empty code list replaces base's list.
func merge(base, over callPolicy) callPolicy {
	r, or := base.retry, over.retry
	b, ob := base.breaker, over.breaker
	p := callPolicy{
		timeout:        cmp.Or(over.timeout, base.timeout),
		attemptTimeout: cmp.Or(over.attemptTimeout, base.attemptTimeout),
		retry: retryPolicy{
			maxAttempts:    cmp.Or(or.maxAttempts, r.maxAttempts),
			initialBackoff: cmp.Or(or.initialBackoff, r.initialBackoff),
			maxBackoff:     cmp.Or(or.maxBackoff, r.maxBackoff),
			multiplier:     cmp.Or(or.multiplier, r.multiplier),
			jitter:         cmp.Or(or.jitter, r.jitter),
			retryableCodes: r.retryableCodes,
		},
		breaker: breakerPolicy{
			consecutiveFailures: cmp.Or(ob.consecutiveFailures, b.consecutiveFailures),
			failureRatio:        cmp.Or(ob.failureRatio, b.failureRatio),
			minRequests:         cmp.Or(ob.minRequests, b.minRequests),
			interval:            cmp.Or(ob.interval, b.interval),
			openTimeout:         cmp.Or(ob.openTimeout, b.openTimeout),
			halfOpenProbes:      cmp.Or(ob.halfOpenProbes, b.halfOpenProbes),
			disabled:            ob.disabled || b.disabled,
		},
		idempotent: cmp.Or(over.idempotent, base.idempotent),
	}
	if len(or.retryableCodes) > 0 {
		p.retry.retryableCodes = or.retryableCodes
	}
	return p
}

// parseDuration parses a duration option. ok is false when the option is
// unset (empty) or not a duration, which it reports.
func (a *analysis) parseDuration(at site, v string) (d time.Duration, ok bool) {
	if v == "" {
		return 0, false
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		a.errorf(at, `%s %q is not a duration; write it as Go's time.ParseDuration reads it, such as "250ms" or "1.5s"`, at.label, v)
		return 0, false
	}
	return d, true
}

// positiveDuration parses a duration option that must be above zero when
// set; 0 means unset.
func (a *analysis) positiveDuration(at site, v string) time.Duration {
	d, ok := a.parseDuration(at, v)
	if ok && d <= 0 {
		a.errorf(at, `%s %q is not above zero; use a positive duration, such as "250ms", or leave %s unset`, at.label, v, at.label)
		return 0
	}
	return d
}

// nonNegative checks an integer option that must not be negative; fix
// says what to do besides using a positive value.
func nonNegative[T ~int32 | ~int64](a *analysis, at site, v T, fix string) T {
	if v < 0 {
		a.errorf(at, "%s %d is negative; use a positive value, %s", at.label, v, fix)
		return 0
	}
	return v
}

// collisions reports generated names that another declaration of the same
// Go package already takes: one of protoc-gen-go (messages, enums, oneof
// wrappers), of protoc-gen-go-grpc (its names for every service), or of
// goai for another service. Any of them would fail to compile.
func (a *analysis) collisions(m *fileModel) {
	declared := map[string]string{} // name → what declares it
	for _, f := range a.gen.Files {
		if f.GoImportPath != a.file.GoImportPath {
			continue
		}
		for _, e := range f.Enums {
			declareEnum(declared, e)
		}
		walkMessages(f.Messages, func(message *protogen.Message) {
			declared[message.GoIdent.GoName] = "the Go name of " + string(message.Desc.FullName())
			for _, e := range message.Enums {
				declareEnum(declared, e)
			}
			for _, field := range message.Fields {
				if field.Oneof != nil && !field.Oneof.Desc.IsSynthetic() {
					declared[field.GoIdent.GoName] = "the Go name of " + string(field.Desc.FullName())
				}
			}
		})
		for _, service := range f.Services {
			for _, name := range grpcNames(service) {
				declared[name] = "protoc-gen-go-grpc's " + name + " for " + string(service.Desc.FullName())
			}
			if f != a.file && annotated(service) {
				for _, name := range newNames(service).all() {
					declared[name] = "the name goai generates for " + string(service.Desc.FullName())
				}
			}
		}
	}
	check := func(d protoreflect.Descriptor, path protoreflect.SourcePath, name string) {
		if other, ok := declared[name]; ok {
			a.errorf(declaration(d, path), "generated name %s collides with %s; rename one of them", name, other)
		}
	}
	for _, sm := range m.services {
		for _, name := range sm.names.all() {
			check(sm.service.Desc, sm.service.Location.Path, name)
		}
		for _, name := range sm.names.all() {
			declared[name] = "the name goai generates for " + string(sm.service.Desc.FullName())
		}
	}
	for _, mm := range m.messages {
		check(mm.message.Desc, mm.message.Location.Path, tensorsIdent(mm.message).GoName)
	}
}

func declareEnum(declared map[string]string, e *protogen.Enum) {
	declared[e.GoIdent.GoName] = "the Go name of " + string(e.Desc.FullName())
	for _, v := range e.Values {
		declared[v.GoIdent.GoName] = "the Go name of " + string(v.Desc.FullName())
	}
}
