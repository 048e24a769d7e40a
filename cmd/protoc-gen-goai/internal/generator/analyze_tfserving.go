package generator

import (
	"slices"
	"strconv"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
)

// TF Serving: what a PROTOCOL_TF_SERVING service names besides a model,
// and what TF Serving cannot take. Its datatypes are no concern here:
// TensorFlow's DataType has a type for each of goai's, UINT16, UINT32,
// UINT64 and BF16 included (internal/tfs maps them), and every one
// travels in tensor_content over gRPC. A fallback cannot cross protocols
// either: ModelRef names no protocol, so the fallback is a model of the
// same server, called through the service's protocol.

// tfServing checks the tf_serving options of a service, which apply to
// PROTOCOL_TF_SERVING alone, and resolves them into desc.
func (a *analysis) tfServing(s site, sm *serviceModel, opts *goaiv1.ModelOptions) {
	tf, desc := opts.GetTfServing(), &sm.desc
	if desc.protocol != protocolTFServing {
		if tf != nil && (sm.inference || sm.direct) {
			a.errorf(s.at("tf_serving"), "tf_serving applies to PROTOCOL_TF_SERVING alone, and the service's protocol is %s; set protocol: PROTOCOL_TF_SERVING, or remove tf_serving", desc.protocol.option())
		}
		return
	}
	desc.signatureName, desc.versionLabel = tf.GetSignatureName(), tf.GetVersionLabel()
	label := desc.versionLabel
	if label == "" {
		return
	}
	a.wireName(desc.protocol, s.at("tf_serving.version_label"), label)
	if v := desc.model.version; v != "" {
		a.errorf(s.at("tf_serving.version_label"), "tf_serving.version_label %q and version %q both name the version to call, but TF Serving takes one or the other (ModelSpec's version_choice is a oneof); keep one of them", label, v)
	}
}

// version checks a model version that goes on the wire: one path segment
// (wireName), and for TF Serving a number.
func (a *analysis) version(sm *serviceModel, at site, v string) {
	if sm.desc.protocol != protocolTFServing || v == "" {
		a.wireName(sm.desc.protocol, at, v)
		return
	}
	if digits(v) {
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			return
		}
		a.errorf(at, "%s %q is above the largest version TF Serving has, 9223372036854775807 (an int64); write the version's number", at.label, v)
		return
	}
	fix := "write the version's number, or remove it for the server's latest"
	if at.label == "version" {
		fix = "write the version's number, or set tf_serving: {version_label: " + strconv.Quote(v) + "} to call the version that label names"
	}
	a.errorf(at, "%s %q is not a version number, and TF Serving's versions are numbers; %s", at.label, v, fix)
}

// digits reports whether s is decimal digits, at least one.
func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// labelEffect reports a version label that no call can use: it names a
// version of the service's model, and every rpc calls another model, or a
// version of its own.
func (a *analysis) labelEffect(s site, sm *serviceModel) {
	label := sm.desc.versionLabel
	if label == "" || slices.ContainsFunc(sm.methods, func(mm *methodModel) bool { return mm.model == sm.desc.model }) {
		return
	}
	a.errorf(s.at("tf_serving.version_label"), "tf_serving.version_label %q has no effect, as no rpc calls %s: the label names a version of the service's own model, and every rpc sets a model of its own; remove version_label, or let an rpc call the service's model",
		label, modelPhrase(sm.desc.model))
}

// tfRegistrations gives the models a TF_SERVING service's fake registers
// the service's signature, and its model the version label: the fake's
// latest version, or 1, the fake server's only version when none is
// named.
func tfRegistrations(sm *serviceModel) {
	if sm.desc.protocol != protocolTFServing {
		return
	}
	for _, r := range sm.registrations {
		r.signature = sm.desc.signatureName
		if label := sm.desc.versionLabel; label != "" && r.model == sm.desc.model.name {
			r.label, r.labeled = label, "1"
			if n := len(r.versions); n > 0 {
				r.labeled = r.versions[n-1]
			}
		}
	}
}
