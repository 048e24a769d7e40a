package generator

import (
	"fmt"
	"slices"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
)

// Services: the (goai.v1.model) annotation of a service, its protocol, and
// its rpcs, each with the model it calls and its resolved policy.

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

	inference := true
	switch opts.GetProtocol() {
	case goaiv1.Protocol_PROTOCOL_UNSPECIFIED, goaiv1.Protocol_PROTOCOL_OPEN_INFERENCE:
		desc.protocol = protocolOpenInference
	case goaiv1.Protocol_PROTOCOL_TF_SERVING:
		desc.protocol = protocolTFServing
	case goaiv1.Protocol_PROTOCOL_DIRECT:
		desc.protocol = protocolDirect
		inference = false
		sm.direct = true
		sm.stub, sm.newStub = grpcClient(service, a.file)
	default:
		a.errorf(s.at("protocol"), "protocol %d is not a goai.v1.Protocol; use PROTOCOL_OPEN_INFERENCE, PROTOCOL_TF_SERVING or PROTOCOL_DIRECT", opts.GetProtocol())
		inference = false // no checks that depend on the protocol
	}
	sm.inference = inference
	if inference && desc.model.name == "" {
		a.errorf(s.at("name"), `model name is missing; set option (goai.v1.model) = {name: "..."}, or protocol: PROTOCOL_DIRECT if the service is itself the model's API`)
	}
	if inference {
		a.wireName(desc.protocol, s.at("name"), desc.model.name)
		a.version(sm, s.at("version"), desc.model.version)
	}
	a.tfServing(s, sm, opts)

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
	if f := desc.fallback; f != nil && inference {
		a.wireName(desc.protocol, s.at("fallback.name"), f.name)
		a.version(sm, s.at("fallback.version"), f.version)
	}

	def := opts.GetDefaultCall()
	defaults := a.call(s, "default_call.", def)
	if def.GetModel() != nil {
		a.errorf(s.at("default_call.model"), "default_call.model would override the model of every rpc; set name and version on (goai.v1.model) itself, or model on one rpc's (goai.v1.call)")
	}
	if def != nil {
		a.combined(s, "default_call.", defaults, callPolicy{}, true)
	}

	for i, method := range service.Methods {
		mm := a.method(sm, method, defaults, inference)
		mm.index = i
		sm.methods = append(sm.methods, mm)
	}
	if def != nil && (inference || sm.direct) {
		a.defaultEffects(s, sm, defaults)
	}
	if inference || sm.direct {
		a.clientMethods(sm)
		a.breakers(sm)
	}
	if inference && opts.GetBatching() != nil && len(sm.methods) > 0 && len(sm.batched()) == 0 {
		a.errorf(s.at("batching"), "batching has no effect, as every rpc of the service returns a stream: a decoupled model's calls carry one item each, and have no batch call or micro-batcher; remove batching")
	}
	if inference {
		a.signatures(sm)
		a.batchElements(s, sm)
		a.batchDelay(s, sm)
		a.labelEffect(s, sm)
	}
	if inference && a.opts.Fakes {
		a.planFakes(sm)
		tfRegistrations(sm)
	}
	return sm
}

// isInference reports whether service is annotated and called through a
// protocol of model servers (PROTOCOL_OPEN_INFERENCE or
// PROTOCOL_TF_SERVING), without checking its annotations: other files of
// a package are checked with their own file.
func isInference(service *protogen.Service) bool {
	if !annotated(service) {
		return false
	}
	opts, _ := proto.GetExtension(service.Desc.Options(), goaiv1.E_Model).(*goaiv1.ModelOptions)
	switch opts.GetProtocol() {
	case goaiv1.Protocol_PROTOCOL_UNSPECIFIED, goaiv1.Protocol_PROTOCOL_OPEN_INFERENCE, goaiv1.Protocol_PROTOCOL_TF_SERVING:
		return true
	}
	return false
}

// decoupledRPC reports whether m, an rpc of service, an inference
// service, calls a decoupled model: the service speaks the Open Inference
// Protocol, whose ModelStreamInfer carries a decoupled model's responses,
// and m returns a stream. One that streams its requests is an error, but
// it is reported as one of a decoupled model too, so that its other
// checks go on.
func decoupledRPC(service *protogen.Service, m *protogen.Method) bool {
	if !m.Desc.IsStreamingServer() {
		return false
	}
	opts, _ := proto.GetExtension(service.Desc.Options(), goaiv1.E_Model).(*goaiv1.ModelOptions)
	switch opts.GetProtocol() {
	case goaiv1.Protocol_PROTOCOL_UNSPECIFIED, goaiv1.Protocol_PROTOCOL_OPEN_INFERENCE:
		return true
	}
	return false
}

// streaming reports whether m streams requests or responses.
func streaming(m *protogen.Method) bool {
	return m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer()
}

// planFakes groups the rpcs of an inference service by the model they
// call: each model is one method of the fake, named for the first rpc that
// calls it, and one registration, with the versions the rpcs call. The
// fallback model, when no rpc calls it, is registered too, served by the
// method of the service's model. A TF_SERVING service's models serve its
// signature, and the service's model its version label.
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

// modelRef checks a reference to a model, which must name it; the
// characters of the name are checked where the protocol is known.
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
func (a *analysis) method(sm *serviceModel, method *protogen.Method, defaults callPolicy, inference bool) *methodModel {
	opts, _ := proto.GetExtension(method.Desc.Options(), goaiv1.E_Call).(*goaiv1.CallOptions)
	s := annotation(method.Desc, method.Location.Path, methodOptionsNumber, goaiv1.E_Call)
	own := a.call(s, "", opts)
	mm := &methodModel{
		method: method,
		model:  sm.desc.model,
		own:    own,
		policy: merge(defaults, own),
		stream: inference && decoupledRPC(sm.service, method),
	}
	if opts != nil {
		a.combined(s, "", own, defaults, mm.stream)
		if inference || sm.direct {
			a.reportIneffective(s, "", ineffective(own, mm.policy, sm.idempotent(mm.policy), mm.stream, sources{own: own, inherited: defaults}))
		}
	}
	if !mm.stream {
		// default_call's idle timeout is for the service's streaming rpcs.
		mm.policy.idleTimeout = 0
	}
	if ref := a.modelRef(s.at("model"), opts.GetModel()); ref != nil {
		mm.model = *ref
		if inference {
			a.wireName(sm.desc.protocol, s.at("model.name"), ref.name)
			a.version(sm, s.at("model.version"), ref.version)
		}
		if f := sm.desc.fallback; f != nil && *f == *ref && !sm.direct {
			a.errorf(s.at("model"), "model names the service's fallback, %s, so the rpc would fall back to the model it has just called; call another model, or change fallback", modelPhrase(*ref))
		}
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
	if !inference {
		return mm
	}
	decl := declaration(method.Desc, method.Location.Path)
	switch {
	case method.Desc.IsStreamingClient() && sm.desc.protocol == protocolOpenInference:
		// ModelStreamInfer carries many requests, but each is answered on
		// its own: a decoupled model takes one request per call.
		in, out := method.Input.Desc.Name(), method.Output.Desc.Name()
		fix := fmt.Sprintf("make the request a single message: rpc %s(%s) returns (stream %s)", method.Desc.Name(), in, out)
		if !method.Desc.IsStreamingServer() {
			fix = fmt.Sprintf("make the rpc unary, or, for a decoupled model, rpc %s(%s) returns (stream %s)", method.Desc.Name(), in, out)
		}
		a.errorf(decl, "rpc %s streams its requests, which a model of %s cannot take: each call sends one request, answered once or, by a decoupled model, with a stream of responses; %s, or set protocol: PROTOCOL_DIRECT on the service",
			method.Desc.Name(), sm.desc.protocol.option(), fix)
	case streaming(method) && sm.desc.protocol != protocolOpenInference:
		a.errorf(decl, "a streaming rpc cannot be called through %s, whose %s is unary; make the rpc unary, call a decoupled model through PROTOCOL_OPEN_INFERENCE, or set protocol: PROTOCOL_DIRECT on the service",
			sm.desc.protocol.option(), sm.desc.protocol.inferenceRPC())
	}
	if mm.inputs == nil {
		a.errorf(decl, "input message %s has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API", method.Input.Desc.FullName())
	}
	if mm.outputs == nil {
		a.errorf(decl, "output message %s has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API", method.Output.Desc.FullName())
	}
	return mm
}
