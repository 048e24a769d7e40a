package generator

import (
	"strconv"

	"google.golang.org/protobuf/compiler/protogen"
)

// The mappers of a message (encodeImage, decodeImage) are unexported
// functions of the Go package whose clients and fakes use them, which need
// not be the message's own package. Several files of a package may use one
// message, so every file works out the same plan for the whole package:
// which mappers it needs, in the order of gen.Files (dependencies first,
// as protoc sends them), and their names. Each mapper is declared by the
// first file that needs it, and used by name from the others.

// The fakes live in a package of their own beside the messages' (see
// fakePackage), so that production code never links the test server: the
// fake's mappers are planned the same way, for that package.

// use is one mapper that the package needs: a message, one way.
type use struct {
	message *protogen.Message
	encode  bool
}

// mappers plans the mappers of the file's package and of its fake
// package: it names those the file's clients and fakes use, and declares
// in m those the file is first to need.
func (a *analysis) mappers(m *fileModel) {
	m.mappers = a.plan(m, false)
	if a.opts.Fakes {
		m.fakeMappers = a.plan(m, true)
	}
}

// plan plans the mappers of one package, the file's (fake false) or its
// fake package's, as the package comment describes.
func (a *analysis) plan(m *fileModel, fake bool) []*mapper {
	var (
		order []use
		owner = map[use]*protogen.File{}
	)
	for _, f := range a.gen.Files {
		if f.GoImportPath != a.file.GoImportPath {
			continue
		}
		for _, service := range f.Services {
			if !isInference(service) {
				continue
			}
			for _, method := range service.Methods {
				for _, u := range uses(service, method, fake) {
					if _, ok := owner[u]; !ok {
						owner[u] = f
						order = append(order, u)
					}
				}
			}
		}
	}

	// One base name per message, shared by its encoder and decoder; a
	// second message of the same name, from another package, gets a number.
	base := map[*protogen.Message]string{}
	taken := map[string]bool{}
	for _, u := range order {
		if _, ok := base[u.message]; ok {
			continue
		}
		// The fake package names the messages of its parent package as
		// the parent does: they are the ones it serves.
		name := mapperName(u.message, a.fileOf(u.message), a.file.GoImportPath)
		for i := 2; taken[name]; i++ {
			name = mapperName(u.message, a.fileOf(u.message), a.file.GoImportPath) + strconv.Itoa(i)
		}
		taken[name] = true
		base[u.message] = name
	}

	for _, sm := range m.services {
		if !sm.inference {
			continue
		}
		for _, mm := range sm.methods {
			if mm.inputs == nil || mm.outputs == nil {
				continue // reported by method
			}
			if fake {
				mm.fakeDecode = decodeMapper(base[mm.inputs])
				mm.fakeEncode = encodeMapper(base[mm.outputs])
			} else {
				mm.encode = encodeMapper(base[mm.inputs])
				mm.decode = decodeMapper(base[mm.outputs])
			}
		}
	}

	var declared []*mapper
	for _, u := range order {
		if owner[u] != a.file {
			continue
		}
		name := decodeMapper(base[u.message])
		if u.encode {
			name = encodeMapper(base[u.message])
		}
		declared = append(declared, &mapper{name: name, encode: u.encode, message: a.model(u.message)})
	}
	return declared
}

// uses returns the mappers that the client of an OPEN_INFERENCE rpc
// needs, the request's encoder and the response's decoder, or with fake
// those its fake needs, the request's decoder and the response's encoder.
// An rpc that streams, other than one of a decoupled model, or whose
// messages lack tensors needs none: its own file reports it.
func uses(service *protogen.Service, method *protogen.Method, fake bool) []use {
	if streaming(method) && !decoupledRPC(service, method) ||
		!hasTensors(method.Input) || !hasTensors(method.Output) {
		return nil
	}
	if fake {
		return []use{{method.Input, false}, {method.Output, true}}
	}
	return []use{{method.Input, true}, {method.Output, false}}
}

// fileOf returns the file that declares message.
func (a *analysis) fileOf(message *protogen.Message) *protogen.File {
	return a.gen.FilesByPath[message.Desc.ParentFile().Path()]
}

// model returns the checked tensors of message, which has tensor
// annotations: the file's own, or, for a message of another file, checked
// here with that file's rules. Its mistakes are that file's to report; if
// that file is not being generated, they would go unreported, so they are
// reported here, without detail. A message with mistakes gets a model
// without tensors: the run fails, and nothing is written.
func (a *analysis) model(message *protogen.Message) *messageModel {
	if mm, ok := a.models[message]; ok {
		return mm
	}
	f := a.fileOf(message)
	b := &analysis{gen: a.gen, file: f, opts: a.opts}
	mm := b.message(message)
	if b.err() != nil || mm == nil {
		if !f.Generate {
			a.errorf(declaration(message.Desc, message.Location.Path),
				"the tensor annotations of %s have mistakes; generate %s too, to see them", message.Desc.FullName(), f.Desc.Path())
		}
		mm = &messageModel{message: message}
	}
	a.models[message] = mm
	return mm
}
