package generator

import (
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Names: generated names that collide with other declarations of the Go
// package, and client methods that collide with each other.

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
	if sm.inference && sm.desc.maxBatchSize > 0 {
		for _, mm := range sm.batched() {
			claim(mm, batchMethod(mm.method.GoName), "batch method", "rename one of the rpcs")
		}
		for _, mm := range sm.batched() {
			claim(mm, batcherMethod(mm.method.GoName), "batcher method", "rename one of the rpcs")
		}
	}
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
