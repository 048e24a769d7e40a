package generator

import (
	"google.golang.org/protobuf/compiler/protogen"
)

// Field numbers of the options field in descriptor.proto's
// FieldDescriptorProto, ServiceDescriptorProto and MethodDescriptorProto:
// source paths of annotations go through them.
const (
	fieldOptionsNumber   = 8
	serviceOptionsNumber = 3
	methodOptionsNumber  = 4
)

// analysis checks the annotations of one file and builds its model,
// collecting every problem instead of stopping at the first. Its checks
// live by concern: analyze_tensors.go (tensor annotations),
// analyze_services.go (services, their protocol and rpcs),
// analyze_direct.go (a DIRECT client's length checks),
// analyze_policies.go (call, retry, breaker, batching and limit options,
// and their merge), analyze_names.go (name collisions), plan.go (mappers).
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
// annotations have, and its warnings either way. It never fails on a file
// without annotations.
func analyze(gen *protogen.Plugin, file *protogen.File, opts Options) (_ *fileModel, warnings []string, _ error) {
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
		return nil, a.warningLines(), err
	}
	return m, a.warningLines(), nil
}

func walkMessages(messages []*protogen.Message, f func(*protogen.Message)) {
	for _, message := range messages {
		f(message)
		walkMessages(message.Messages, f)
	}
}
