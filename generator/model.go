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
}

func (m *fileModel) empty() bool {
	return len(m.services) == 0 && len(m.messages) == 0
}

// messageModel is a message with at least one tensor annotation.
type messageModel struct {
	message *protogen.Message
	tensors []runtime.TensorDesc // in field order
}

// serviceModel is an annotated service.
type serviceModel struct {
	service *protogen.Service
	names   names
	// desc holds everything but Methods, which refer to tensor variables
	// and are emitted from methods.
	desc    runtime.ModelDesc
	methods []*methodModel
}

// methodModel is one rpc of an annotated service.
type methodModel struct {
	method *protogen.Method
	model  runtime.ModelRef   // the service's model, or the rpc's override
	policy runtime.CallPolicy // default_call merged with the rpc's call
	// inputs and outputs are the request and response messages when they
	// have tensors, else nil.
	inputs, outputs *protogen.Message
}
