package generator

import (
	"google.golang.org/protobuf/compiler/protogen"
)

// Version is the version of protoc-gen-goai, written into the header of
// every generated file.
const Version = "v0.1.0"

// GenerateFile checks the goai annotations of file and writes its
// <name>_goai.pb.go, in the Go package of its .pb.go. A file without goai
// annotations gets no output. The error joins every annotation mistake,
// each as "file.proto:line:col: full.Name: what is wrong; how to fix it".
func GenerateFile(gen *protogen.Plugin, file *protogen.File) error {
	m, err := analyze(gen, file)
	if err != nil {
		return err
	}
	if m.empty() {
		return nil
	}
	g := gen.NewGeneratedFile(file.GeneratedFilenamePrefix+fileSuffix, file.GoImportPath)
	generateHeader(g, file)
	for _, sm := range m.services {
		generateModelDesc(g, sm)
	}
	for _, mm := range m.messages {
		generateTensorDescs(g, mm)
	}
	return nil
}
