package generator

import (
	"time"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/compiler/protogen"
)

// The checked model of a file: what its annotations say, validated and
// resolved (defaults applied, policies merged), ready to emit. Each part
// keeps its protogen declaration, which carries the source location.
//
// The values are held in the generator's own types, which mirror the
// runtime's descriptor types (goai.ModelDesc and the policies it
// holds) field for field, rather than in the runtime's types themselves:
// the plugin then links neither the runtime nor grpc-go, gobreaker and
// x/time behind it. Tests of the generator prove that the emitted literals
// set every field of the runtime's types.

// fileModel is the checked model of one .proto file. Empty (no services and
// no messages) means the file has no goai annotations and gets no output.
type fileModel struct {
	services []*serviceModel
	messages []*messageModel // messages with tensors, nested ones included
	// mappers are the mapper functions the file declares: those of its
	// package's clients that no earlier file of the package declares, in
	// the order the package first needs them.
	mappers []*mapper
	// fakeMappers are likewise the mapper functions the file declares in
	// its fake package; nil without fakes.
	fakeMappers []*mapper
}

func (m *fileModel) empty() bool {
	return len(m.services) == 0 && len(m.messages) == 0
}

// messageModel is a message with at least one tensor annotation.
type messageModel struct {
	message *protogen.Message
	tensors []tensorDesc      // in field order
	fields  []*protogen.Field // the field holding each tensor
}

// serviceModel is an annotated service.
type serviceModel struct {
	service *protogen.Service
	names   names
	// desc holds everything but Methods, which refer to tensor variables
	// and are emitted from methods.
	desc    modelDesc
	methods []*methodModel
	// inference is true for a service called through a protocol of
	// model servers, whose rpcs become inference calls of a model (the
	// Open Inference Protocol's ModelInfer, TF Serving's Predict; desc
	// says which), and direct for one called through its own rpcs
	// (PROTOCOL_DIRECT); either gets a typed client. Both are false when
	// the protocol is not one goai knows.
	inference, direct bool
	// stub and newStub are protoc-gen-go-grpc's client interface of a
	// DIRECT service and its constructor, which its client calls through.
	stub, newStub protogen.GoIdent
	// fakes are the methods of the service's fake, one per model its rpcs
	// call, and registrations the models RegisterFake registers; both
	// empty without fakes.
	fakes         []*fakeMethod
	registrations []*registration
}

// batched returns the rpcs of sm that get a batch call and a
// micro-batcher when its model has a batch dimension: all but those that
// return a stream, whose decoupled model answers one item per request.
func (sm *serviceModel) batched() []*methodModel {
	var out []*methodModel
	for _, mm := range sm.methods {
		if !mm.stream {
			out = append(out, mm)
		}
	}
	return out
}

// methodModel is one rpc of an annotated service.
type methodModel struct {
	method *protogen.Method
	index  int      // in the service's methods and its ModelDesc.Methods
	model  modelRef // the service's model, or the rpc's override
	// own is what the rpc's (goai.v1.call) sets, and policy the result of
	// merging it over the service's default_call.
	own, policy callPolicy
	// stream is true for an rpc of an inference service that returns a
	// stream: it calls a decoupled model, through the client's Generate
	// path, and has no batch call or micro-batcher.
	stream bool
	// inputs and outputs are the request and response messages when they
	// have tensors, else nil.
	inputs, outputs *protogen.Message
	// encode and decode name the mappers of the client: the request's
	// encoder and the response's decoder. Set for an inference service
	// only, as are fakeDecode and fakeEncode, the fake's request
	// decoder and response encoder, when fakes are generated.
	encode, decode         string
	fakeDecode, fakeEncode string
	// check is what the client of a DIRECT service checks of a unary
	// rpc's request before sending it; nil when it reaches no tensor whose
	// length can be wrong.
	check *lengthCheck
}

// lengthCheck is the tensors whose length a DIRECT client checks in one
// message reached from an rpc's request, and the messages it reaches in
// turn through singular message fields.
type lengthCheck struct {
	// field is the singular message field holding the message, nil for
	// the request itself.
	field   *protogen.Field
	message *messageModel
	// tensors are the indexes, in message.tensors, of the tensors held in
	// repeated fields or raw bytes: a singular field holds one element,
	// which always fits.
	tensors []int
	nested  []*lengthCheck
}

// fakeMethod is a method of a service's fake interface: it serves one
// model, for every rpc that calls it.
type fakeMethod struct {
	// method is the first rpc that calls the model, which names the fake's
	// method and gives its messages.
	method *methodModel
	// rpcs are the rpcs that call the model, method first.
	rpcs []*methodModel
}

// registration is a model that a fake registers on an inferencetest.Server.
type registration struct {
	model string
	// inputs and outputs are the tensors of the serving rpc's messages.
	inputs, outputs *messageModel
	versions        []string    // the versions called, in order; none: the server's default
	serve           *fakeMethod // the fake method that serves it
	fallback        bool        // the model is the service's fallback
	// signature is the TF Serving signature the model serves, "" for the
	// default; label a version label and labeled the version it names.
	signature, label, labeled string
}

// mapper is a function mapping the messages of a batch to tensors
// (encode) or tensors to messages (decode).
type mapper struct {
	name    string
	encode  bool
	message *messageModel
}

// modelDesc is a service's goai.ModelDesc but for its Methods, which
// methodModel holds.
type modelDesc struct {
	service      string // the service's full name
	model        modelRef
	protocol     protocol
	maxBatchSize int
	batching     batchingPolicy
	limits       limitPolicy
	fallback     *modelRef // nil for none
	// signatureName and versionLabel are a TF_SERVING service's
	// tf_serving options; "" for the default signature and no label.
	signatureName, versionLabel string
}

// protocol is goai.Protocol: how a service is called.
type protocol int

const (
	protocolOpenInference protocol = iota
	protocolDirect
	protocolTFServing
)

// option returns the protocol as an annotation spells it.
func (p protocol) option() string {
	switch p {
	case protocolOpenInference:
		return "PROTOCOL_OPEN_INFERENCE"
	case protocolDirect:
		return "PROTOCOL_DIRECT"
	case protocolTFServing:
		return "PROTOCOL_TF_SERVING"
	}
	return "an unknown protocol"
}

// inferenceRPC returns the RPC that each call of an inference protocol's
// service makes: ModelInfer, or TF Serving's Predict.
func (p protocol) inferenceRPC() string {
	if p == protocolTFServing {
		return "Predict"
	}
	return "ModelInfer"
}

// modelRef is goai.ModelRef: a served model and, optionally, its
// version.
type modelRef struct {
	name, version string
}

// tensorDesc is goai.TensorDesc: one tensor of a message.
type tensorDesc struct {
	name  string       // the tensor's name on the server
	field string       // the proto name of the field holding it
	dtype goaiv1.DType // never DTYPE_UNSPECIFIED once checked
	shape []int64      // nil: any length, or a scalar for a singular field
}

// callPolicy is goai.CallPolicy: the policy of an rpc's calls. Zero
// values are unset, and take the runtime's defaults.
type callPolicy struct {
	timeout, attemptTimeout time.Duration
	idleTimeout             time.Duration // for streaming rpcs only
	retry                   retryPolicy
	breaker                 breakerPolicy
	idempotent              *bool // nil: by protocol
}

// retryPolicy is goai.RetryPolicy.
type retryPolicy struct {
	maxAttempts                int
	initialBackoff, maxBackoff time.Duration
	multiplier                 float64
	// jitter is nil when unset, for the runtime's default; a set 0 turns
	// jitter off, which the runtime spells as a negative Jitter.
	jitter         *float64
	retryableCodes []code // nil: the runtime's default
}

// breakerPolicy is goai.BreakerPolicy.
type breakerPolicy struct {
	consecutiveFailures uint32
	failureRatio        float64
	minRequests         uint32
	interval            time.Duration
	openTimeout         time.Duration
	halfOpenProbes      uint32
	// disabled is nil when unset, so that an rpc's disabled: false can
	// turn back on a breaker that default_call disabled.
	disabled *bool
}

// off reports whether the breaker is disabled.
func (p breakerPolicy) off() bool { return p.disabled != nil && *p.disabled }

// batchingPolicy is runtime.BatchingPolicy.
type batchingPolicy struct {
	maxSize  int
	maxDelay time.Duration
	maxBytes int64
	maxQueue int
}

// limitPolicy is runtime.LimitPolicy.
type limitPolicy struct {
	ratePerSecond float64
	burst         int
	maxConcurrent int
	failFast      bool
}
