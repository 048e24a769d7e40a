package generator

import (
	"fmt"
	"strings"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/compiler/protogen"
)

// Models: what the rpcs of a service share at run time, and so must agree
// on. A model has one signature, and one breaker per version, whose policy
// is that of the first rpc calling it; every rpc falls back to the
// service's fallback; a batch of max_batch_size items must fit in one
// request. And the names of models go on the wire as they are.

// idempotent reports whether a call under p may run more than once, as the
// runtime decides it (CallPolicy.Idempotent): as p says, or by protocol.
// A service of an unknown protocol counts as idempotent, so that nothing
// is reported about it that depends on the protocol.
func (sm *serviceModel) idempotent(p callPolicy) bool {
	if p.idempotent != nil {
		return *p.idempotent
	}
	return !sm.direct
}

// defaultEffects reports the options of default_call that have no effect
// on any rpc: those that have none in default_call on its own, as long as
// no rpc gives them one (an rpc that sets max_attempts gives default_call's
// retry settings an effect).
func (a *analysis) defaultEffects(s site, sm *serviceModel, defaults callPolicy) {
	n := sources{prefix: "default_call.", own: defaults}
	var dead []noEffect
	for _, e := range ineffective(defaults, defaults, sm.idempotent(defaults), false, n) {
		everywhere := true
		for _, mm := range sm.methods {
			if sm.direct && streaming(mm.method) {
				continue // called without the runtime's policies
			}
			if !hasEffect(ineffective(defaults, mm.policy, sm.idempotent(mm.policy), mm.stream, n), e) {
				everywhere = false
				break
			}
		}
		if everywhere {
			dead = append(dead, e)
		}
	}
	a.reportIneffective(s, "default_call.", dead)
}

// hasEffect reports whether effects holds e's options.
func hasEffect(effects []noEffect, e noEffect) bool {
	for _, f := range effects {
		if strings.Join(f.labels, " ") == strings.Join(e.labels, " ") {
			return true
		}
	}
	return false
}

// breakers reports rpcs whose own breaker settings the runtime would
// ignore: a model's breakers (one per version) take the policy of the
// first rpc, in declaration order, that calls the model by name
// (goai.Client). A later rpc that sets no breaker options of its own
// shares the first one's breaker, as the annotations read.
func (a *analysis) breakers(sm *serviceModel) {
	first := map[string]*methodModel{}
	for _, mm := range sm.methods {
		f, ok := first[mm.model.name]
		if !ok {
			first[mm.model.name] = mm
			continue
		}
		if mm.own.breaker == (breakerPolicy{}) || sameBreaker(f.policy.breaker, mm.policy.breaker) {
			continue
		}
		at := annotation(mm.method.Desc, mm.method.Location.Path, methodOptionsNumber, goaiv1.E_Call).at("breaker")
		a.errorf(at, "rpc %s has another breaker than rpc %s, which calls %s too: a model has one breaker, set by the first rpc that calls it, so this rpc's would be ignored; give the rpcs the same breaker (in default_call, say), or call another model",
			mm.method.Desc.Name(), f.method.Desc.Name(), modelPhrase(mm.model))
	}
}

// sameBreaker reports whether two merged breaker policies are the same
// to the runtime, where an unset disabled is false.
func sameBreaker(x, y breakerPolicy) bool {
	on := new(true)
	norm := func(p breakerPolicy) breakerPolicy {
		p.disabled = nil
		if p.off() {
			p.disabled = on
		}
		return p
	}
	return norm(x) == norm(y)
}

// signatures reports rpcs that call a model, or fall back to the service's
// fallback, with other tensors than an earlier rpc that calls it: a model
// has one signature, which CheckModel compares every rpc's tensors with,
// and the fake serves a model with the tensors of its first rpc. With
// fakes, a model's versions count as one model, as the fake serves every
// version with one signature.
func (a *analysis) signatures(sm *serviceModel) {
	type signature struct {
		mm      *methodModel
		in, out []tensorDesc
	}
	key := func(r modelRef) string {
		if a.opts.Fakes {
			return r.name
		}
		return r.name + "\x00" + r.version
	}
	first := map[string]signature{}
	for _, mm := range sm.methods {
		if mm.inputs == nil || mm.outputs == nil || streaming(mm.method) && !mm.stream {
			continue // reported by method
		}
		sig := signature{mm, a.model(mm.inputs).tensors, a.model(mm.outputs).tensors}
		if len(sig.in) == 0 || len(sig.out) == 0 {
			continue // the messages have mistakes, reported with their file
		}
		refs := []modelRef{mm.model}
		if f := sm.desc.fallback; f != nil && *f != mm.model {
			refs = append(refs, *f)
		}
		for i, ref := range refs {
			f, ok := first[key(ref)]
			if !ok {
				first[key(ref)] = sig
				continue
			}
			if f.mm.stream != mm.stream {
				a.decoupled(mm, f.mm, ref, i > 0)
				break
			}
			kind, diff := "input", tensorsDiff(f.mm, f.in, sig.in)
			if diff == "" {
				kind, diff = "output", tensorsDiff(f.mm, f.out, sig.out)
			}
			if diff == "" {
				continue
			}
			other := f.mm.method.Desc.Name()
			at := declaration(mm.method.Desc, mm.method.Location.Path)
			switch {
			case i > 0:
				a.errorf(at, "rpc %s has other %s tensors than rpc %s (%s), and every rpc falls back to %s, which has one signature; give the rpcs the same tensors, or remove fallback",
					mm.method.Desc.Name(), kind, other, diff, modelPhrase(ref))
			case f.mm.model.version != ref.version:
				a.errorf(at, "rpc %s calls %s, and rpc %s its version %q, with other %s tensors (%s), but the fake serves every version of a model with one signature, its first rpc's; give the rpcs the same tensors, or generate with fakes=false",
					mm.method.Desc.Name(), modelPhrase(ref), other, f.mm.model.version, kind, diff)
			default:
				a.errorf(at, "rpc %s calls %s, as rpc %s does, with other %s tensors (%s), but a model has one signature; give the rpcs the same tensors, or call another model",
					mm.method.Desc.Name(), modelPhrase(ref), other, kind, diff)
			}
			break // one problem per rpc
		}
	}
}

// decoupled reports rpc mm, which calls model ref (the service's fallback
// when fallback is true) as rpc other does, but streams where other does
// not or the other way round: Triton serves a decoupled model over
// ModelStreamInfer alone, and any other model over ModelInfer too, so the
// fake serves a model one way, and so must the server.
func (a *analysis) decoupled(mm, other *methodModel, ref modelRef, fallback bool) {
	streams, unary := mm, other
	if !mm.stream {
		streams, unary = other, mm
	}
	at := declaration(mm.method.Desc, mm.method.Location.Path)
	if fallback {
		a.errorf(at, "rpc %s returns a stream and rpc %s does not, and every rpc falls back to %s, which is a decoupled model or not; give the service's rpcs one kind, or remove fallback",
			streams.method.Desc.Name(), unary.method.Desc.Name(), modelPhrase(ref))
		return
	}
	a.errorf(at, "rpc %s returns a stream and rpc %s does not, but both call %s, which is a decoupled model (answering a request with a stream of responses) or not; call another model from one of them, or make both return a stream or neither",
		streams.method.Desc.Name(), unary.method.Desc.Name(), modelPhrase(ref))
}

// tensorsDiff returns the first difference between want, the tensors of
// rpc other, and got, those of another rpc, as servers see tensors: by
// name, with their dtype and shape; "" when they are the same.
func tensorsDiff(other *methodModel, want, got []tensorDesc) string {
	name := other.method.Desc.Name()
	byName := map[string]tensorDesc{}
	for _, t := range want {
		byName[t.name] = t
	}
	for _, t := range got {
		w, ok := byName[t.name]
		switch {
		case !ok:
			return fmt.Sprintf("its tensor %q is not one of %s's", t.name, name)
		case w.dtype != t.dtype || formatShape(w.shape) != formatShape(t.shape):
			return fmt.Sprintf("its tensor %q is %s, %s's %s", t.name, describeTensor(t), name, describeTensor(w))
		}
		delete(byName, t.name)
	}
	for _, t := range want {
		if _, ok := byName[t.name]; ok {
			return fmt.Sprintf("it lacks %s's tensor %q", name, t.name)
		}
	}
	return ""
}

// describeTensor says a tensor's dtype and shape: FP32 [3, 224, 224], or
// INT64 scalar.
func describeTensor(t tensorDesc) string {
	if t.shape == nil {
		return t.dtype.String() + " scalar"
	}
	return t.dtype.String() + " " + formatShape(t.shape)
}

// batchElements reports tensors of which a full batch, max_batch_size
// items, holds more elements than one request can carry.
func (a *analysis) batchElements(s site, sm *serviceModel) {
	b := int64(sm.desc.maxBatchSize)
	if b <= 0 {
		return
	}
	seen := map[*messageModel]bool{}
	for _, mm := range sm.methods {
		for _, m := range []*messageModel{a.modelOrNil(mm.inputs), a.modelOrNil(mm.outputs)} {
			if m == nil || seen[m] {
				continue
			}
			seen[m] = true
			for _, t := range m.tensors {
				n, ok := staticElements(t.shape)
				if !ok || n <= maxElements/b {
					continue // too many for one item is reported with the tensor
				}
				a.errorf(s.at("max_batch_size"), "max_batch_size %d makes a full batch of tensor %q of %s hold %d × %d elements, more than the %d one request can carry; lower max_batch_size to %d or less",
					b, t.name, m.message.Desc.FullName(), b, n, maxElements, maxElements/n)
			}
		}
	}
}

// modelOrNil is model, or nil for a nil message.
func (a *analysis) modelOrNil(m *protogen.Message) *messageModel {
	if m == nil {
		return nil
	}
	return a.model(m)
}

// batchDelay warns of rpcs whose timeout is shorter than the batching
// delay: the timeout bounds a call of the rpc's micro-batcher from the
// moment it is made, the wait for its batch included, so a call whose
// batch does not fill within the timeout fails. Under a load that always
// fills batches first that can be right, so it is a warning.
func (a *analysis) batchDelay(s site, sm *serviceModel) {
	d := sm.desc.batching.maxDelay
	if d <= 0 || sm.desc.maxBatchSize <= 0 {
		return
	}
	for _, mm := range sm.methods {
		if t := mm.policy.timeout; t > 0 && d > t && !streaming(mm.method) {
			a.warnf(s.at("batching.max_delay"), "batching.max_delay %q is longer than the timeout %q of rpc %s: the timeout bounds a call of its micro-batcher from the moment it is made, so a call whose batch does not fill fails before the batch goes; lower max_delay below the timeout, or keep it only if batches always fill first",
				d, t, mm.method.Desc.Name())
		}
	}
}

// wireChars are the characters besides ASCII letters and digits that a
// model name or version may hold: those that a URL path segment holds
// without percent-encoding (RFC 3986: unreserved, sub-delims, ':' and
// '@'). Servers hold a name or version as one path segment: Triton as a
// directory of its model repository, and REST endpoints of the Open
// Inference Protocol in /v2/models/<name>/versions/<version>, which
// Triton matches without decoding the path.
const wireChars = "-._~!$&'()*+,;=:@"

// wireName checks a model name or version that goes on the wire; "" is
// unset, and checked elsewhere where it must be set.
func (a *analysis) wireName(p protocol, at site, v string) {
	if v == "." || v == ".." {
		a.errorf(at, "%s %q names a directory relative to the model repository, not a model or version; use another name", at.label, v)
		return
	}
	for _, r := range v {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(wireChars, r)) {
			continue
		}
		what, where := "a model name or version", "servers hold each as one path segment, a directory of Triton's model repository and a segment of /v2/models/<name>/versions/<version>"
		if p == protocolTFServing {
			what, where = "a model name or version label", "TF Serving holds each as one path segment, a directory of its model base path and a segment of /v1/models/<name>/labels/<label>"
		}
		a.errorf(at, "%s %q holds %q, which %s cannot: %s; use only ASCII letters, digits and %s",
			at.label, v, r, what, where, strings.Join(strings.Split(wireChars, ""), " "))
		return
	}
}
