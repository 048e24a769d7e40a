package generator

import (
	"github.com/goai-dev/goai/runtime"
	"google.golang.org/protobuf/compiler/protogen"
)

// The checked model of a file: what its annotations say, validated and
// resolved (defaults applied, policies merged), ready to emit. Values are
// held in the runtime's own descriptor types, so that the model and the
// code emitted from it cannot drift apart; each part keeps its protogen
// declaration, which carries the source location.

// fileModel is the checked model of one .proto file. Empty (no services and
// no messages) means the file has no goai annotations and gets no output.
type fileModel struct {
	services []*serviceModel
	messages []*messageModel // messages with tensors, nested ones included
	// mappers are the mapper functions the file declares: those of its
	// package's clients and fakes that no earlier file of the package
	// declares, in the order the package first needs them.
	mappers []*mapper
}

func (m *fileModel) empty() bool {
	return len(m.services) == 0 && len(m.messages) == 0
}

// messageModel is a message with at least one tensor annotation.
type messageModel struct {
	message *protogen.Message
	tensors []runtime.TensorDesc // in field order
	fields  []*protogen.Field    // the field holding each tensor
}

// serviceModel is an annotated service.
type serviceModel struct {
	service *protogen.Service
	names   names
	// desc holds everything but Methods, which refer to tensor variables
	// and are emitted from methods.
	desc    runtime.ModelDesc
	methods []*methodModel
	// openInference is true for a service called through the Open
	// Inference Protocol, and direct for one called through its own rpcs
	// (PROTOCOL_DIRECT); either gets a typed client. Both are false when
	// the protocol is not one goai knows.
	openInference, direct bool
	// stub and newStub are protoc-gen-go-grpc's client interface of a
	// DIRECT service and its constructor, which its client calls through.
	stub, newStub protogen.GoIdent
	// fakes are the methods of the service's fake, one per model its rpcs
	// call, and registrations the models RegisterFake registers; both
	// empty without fakes.
	fakes         []*fakeMethod
	registrations []*registration
}

// methodModel is one rpc of an annotated service.
type methodModel struct {
	method *protogen.Method
	index  int              // in the service's methods and its ModelDesc.Methods
	model  runtime.ModelRef // the service's model, or the rpc's override
	policy runtime.CallPolicy
	// inputs and outputs are the request and response messages when they
	// have tensors, else nil.
	inputs, outputs *protogen.Message
	// encode and decode name the mappers of the client: the request's
	// encoder and the response's decoder. Set for an OPEN_INFERENCE
	// service only, as are fakeDecode and fakeEncode, the fake's request
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
}

// mapper is a function mapping the messages of a batch to tensors
// (encode) or tensors to messages (decode).
type mapper struct {
	name    string
	encode  bool
	message *messageModel
}
