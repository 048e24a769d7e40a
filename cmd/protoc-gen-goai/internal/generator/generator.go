package generator

import (
	"google.golang.org/protobuf/compiler/protogen"
)

// Version is the version of protoc-gen-goai, written into the header of
// every generated file.
const Version = "v0.1.0"

// Options are protoc-gen-goai's own parameters.
type Options struct {
	// Fakes generates, for every OPEN_INFERENCE service, a fake: an
	// interface to implement the service's models in Go and a function
	// registering it on an inferencetest.Server, in a package of their own
	// beside the service's (<package>goaitest), which only tests import.
	Fakes bool
}

// GenerateFile checks the goai annotations of file and writes its
// <name>_goai.pb.go, in the Go package of its .pb.go, and, with fakes, its
// <package>goaitest/<name>_goaitest.pb.go. A file without goai
// annotations gets no output. The error joins every annotation mistake,
// each as "file.proto:line:col: full.Name: what is wrong; how to fix it".
//
// The warnings, returned with or without an error, are annotations that
// work as the runtime defines them but are likely not what was meant, each
// as "file.proto:line:col: full.Name: warning: what; what to do". A
// CodeGeneratorResponse has no place for them (only for an error, which
// fails the run), so protoc-gen-goai prints them to its standard error,
// which protoc and buf pass on.
func GenerateFile(gen *protogen.Plugin, file *protogen.File, opts Options) (warnings []string, _ error) {
	m, warnings, err := analyze(gen, file, opts)
	if err != nil {
		return warnings, err
	}
	if m.empty() {
		return warnings, nil
	}
	g := gen.NewGeneratedFile(file.GeneratedFilenamePrefix+fileSuffix, file.GoImportPath)
	generateHeader(g, file)
	for _, sm := range m.services {
		generateModelDesc(g, sm)
		if sm.direct {
			generateDirectClient(g, sm)
		}
		if !sm.inference {
			continue
		}
		generateClient(g, sm)
	}
	byMessage := map[*messageModel][]*mapper{}
	for _, mp := range m.mappers {
		byMessage[mp.message] = append(byMessage[mp.message], mp)
	}
	for _, mm := range m.messages {
		generateTensorDescs(g, mm)
		generateMappers(g, byMessage[mm])
		delete(byMessage, mm)
	}
	// Mappers of messages declared in other files, in the order needed.
	for _, mp := range m.mappers {
		generateMappers(g, byMessage[mp.message])
		delete(byMessage, mp.message)
	}
	generateFakeFile(gen, file, m)
	return warnings, nil
}

// generateFakeFile writes the fakes of file's services, and the mappers
// they need, into the fake package beside file's; nothing if no service
// has a fake.
func generateFakeFile(gen *protogen.Plugin, file *protogen.File, m *fileModel) {
	var services []*serviceModel
	for _, sm := range m.services {
		if sm.inference && len(sm.fakes) > 0 {
			services = append(services, sm)
		}
	}
	if len(services) == 0 && len(m.fakeMappers) == 0 {
		return
	}
	importPath, pkg, name := fakePackage(file)
	g := gen.NewGeneratedFile(name, importPath)
	generateFakeHeader(g, file, pkg)
	for _, sm := range services {
		generateFake(g, sm, file.GoImportPath)
	}
	// The fake package declares the mappers its fakes use: in message
	// order for the file's own messages, then those of other files.
	byMessage := map[*messageModel][]*mapper{}
	for _, mp := range m.fakeMappers {
		byMessage[mp.message] = append(byMessage[mp.message], mp)
	}
	for _, mm := range m.messages {
		generateMappers(g, byMessage[mm])
		delete(byMessage, mm)
	}
	for _, mp := range m.fakeMappers {
		generateMappers(g, byMessage[mp.message])
		delete(byMessage, mp.message)
	}
}
