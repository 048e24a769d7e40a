package generator

import (
	"go/token"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"google.golang.org/protobuf/compiler/protogen"
)

// Import paths of the packages that generated code refers to. Generated code
// names them only through GoImportPath.Ident, so protogen writes the imports.
const (
	goaiPackage          = protogen.GoImportPath("github.com/goai-dev/goai")
	goaiimplPackage      = protogen.GoImportPath("github.com/goai-dev/goai/goaiimpl")
	tensorPackage        = protogen.GoImportPath("github.com/goai-dev/goai/tensor")
	inferencetestPackage = protogen.GoImportPath("github.com/goai-dev/goai/inferencetest")
	codesPackage         = protogen.GoImportPath("google.golang.org/grpc/codes")
	grpcPackage          = protogen.GoImportPath("google.golang.org/grpc")
	contextPackage       = protogen.GoImportPath("context")
	timePackage          = protogen.GoImportPath("time")
	iterPackage          = protogen.GoImportPath("iter")
)

// fileSuffix ends the name of every generated file, after the .proto file's
// GeneratedFilenamePrefix: foo/v1/foo.proto gives foo/v1/foo_goai.pb.go.
const fileSuffix = "_goai.pb.go"

// fakePackageSuffix ends the name of the package that holds the fakes of
// a Go package's services, beside it: package foov1 gets foov1goaitest,
// in foo/v1/foov1goaitest/, as connect-go puts its code in foov1connect.
// Only tests import it, so production code never links the test server.
const fakePackageSuffix = "goaitest"

// fakeFileSuffix ends the name of the fake file of foo/v1/foo.proto:
// foo/v1/foov1goaitest/foo_goaitest.pb.go.
const fakeFileSuffix = "_goaitest.pb.go"

// fakePackage returns the import path, package name and file name of the
// fakes of file's services.
func fakePackage(file *protogen.File) (protogen.GoImportPath, protogen.GoPackageName, string) {
	name := string(file.GoPackageName) + fakePackageSuffix
	dir, base := path.Split(file.GeneratedFilenamePrefix)
	return protogen.GoImportPath(path.Join(string(file.GoImportPath), name)), protogen.GoPackageName(name),
		path.Join(dir, name, base+fakeFileSuffix)
}

// names holds the exported Go identifiers generated for one service, so
// that every naming rule lives here. A DIRECT service gets Model and the
// client's names; the fake's are reserved for it all the same, so that a
// later protocol change cannot break a package.
//
// protoc-gen-go-grpc declares <Service>Client and New<Service>Client in the
// same package, so the typed client takes the name of the descriptor it
// calls through: <Service>ModelClient.
type names struct {
	// Model is the variable holding the service's *goai.ModelDesc:
	// ImageClassifier gives ImageClassifierModel.
	Model string
	// Client is the typed client, ImageClassifierModelClient; NewClient
	// and NewClientFromConn are its constructors,
	// NewImageClassifierModelClient and
	// NewImageClassifierModelClientFromConn.
	Client, NewClient, NewClientFromConn string
	// Fake is the interface a Go implementation of the service's models
	// satisfies, ImageClassifierFake; FakeFunc the function type that
	// satisfies it for a service calling one model,
	// ImageClassifierFakeFunc; RegisterFake the function that serves one
	// on an inferencetest.Server, RegisterImageClassifierFake.
	Fake, FakeFunc, RegisterFake string
}

func newNames(service *protogen.Service) names {
	base := service.GoName
	return names{
		Model:             base + "Model",
		Client:            base + "ModelClient",
		NewClient:         "New" + base + "ModelClient",
		NewClientFromConn: "New" + base + "ModelClientFromConn",
		Fake:              base + "Fake",
		FakeFunc:          base + "FakeFunc",
		RegisterFake:      "Register" + base + "Fake",
	}
}

// all returns every name in n.
func (n names) all() []string {
	return []string{n.Model, n.Client, n.NewClient, n.NewClientFromConn, n.Fake, n.FakeFunc, n.RegisterFake}
}

// grpcNames returns the exported names that protoc-gen-go-grpc declares
// for service, which generated names must not take.
func grpcNames(service *protogen.Service) []string {
	s := service.GoName
	out := []string{
		s + "Client", "New" + s + "Client", s + "Server", "Register" + s + "Server",
		"Unimplemented" + s + "Server", "Unsafe" + s + "Server", s + "_ServiceDesc",
	}
	for _, m := range service.Methods {
		out = append(out, s+"_"+m.GoName+"_FullMethodName")
		if m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer() {
			out = append(out, s+"_"+m.GoName+"Client", s+"_"+m.GoName+"Server")
		}
	}
	return out
}

// clientMethods are the methods of every typed client besides one per rpc
// and one per batch call, which forward to its goai.Client; an rpc must
// not take their names. A DIRECT client has no CheckModel, Ready or Live,
// which stay reserved.
var clientMethods = []string{"CheckModel", "Ready", "Live", "Close", "SetRoutes", "Routes", "BreakerState", "Model"}

// batchMethod names the batch call of an rpc: Classify gives ClassifyBatch.
func batchMethod(rpc string) string { return rpc + "Batch" }

// batcherMethod names the client method that makes a micro-batcher of an
// rpc's calls: Classify gives NewClassifyBatcher.
func batcherMethod(rpc string) string { return "New" + rpc + "Batcher" }

// checkMethod names the unexported client method of a DIRECT service that
// checks the tensors of an rpc's request: PushParams gives
// checkPushParams. Being a method, it cannot collide with the package's
// other names; being unexported, with the client's other methods.
func checkMethod(rpc string) string { return "check" + rpc }

// grpcClient returns protoc-gen-go-grpc's client interface of service and
// its constructor, <Service>Client and New<Service>Client, in the
// service's Go package: a DIRECT client calls through them.
func grpcClient(service *protogen.Service, file *protogen.File) (client, newClient protogen.GoIdent) {
	return file.GoImportPath.Ident(service.GoName + "Client"), file.GoImportPath.Ident("New" + service.GoName + "Client")
}

// mapperName returns the base name of the mappers of message, declared in
// file, for code in the package importPath: the message's Go name,
// prefixed by its package's name when that is another package.
// encodeMapper and decodeMapper complete it.
func mapperName(message *protogen.Message, file *protogen.File, importPath protogen.GoImportPath) string {
	if file.GoImportPath == importPath {
		return message.GoIdent.GoName
	}
	return export(string(file.GoPackageName)) + message.GoIdent.GoName
}

// encodeMapper and decodeMapper name the functions that map a message to
// tensors and back: Image gives encodeImage and decodeImage.
func encodeMapper(base string) string { return "encode" + base }
func decodeMapper(base string) string { return "decode" + base }

// export returns s with its first letter upper-cased.
func export(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}

// unexport returns s with its leading capital, or leading initialism,
// lower-cased: Model gives model, HTTPServer gives httpServer, ID gives id.
// A result that is a Go keyword gets a trailing underscore (Type gives type_),
// so the result is always usable as an identifier.
func unexport(s string) string {
	// n counts the leading upper-case runes; when more follow, the last of
	// them starts the next word (the S of HTTPServer) and stays upper-case.
	n, end := 0, 0
	for i, r := range s {
		if !unicode.IsUpper(r) {
			if n > 1 && unicode.IsLower(r) {
				_, size := utf8.DecodeLastRuneInString(s[:i])
				end -= size
			}
			break
		}
		n++
		end = i + utf8.RuneLen(r)
	}
	lowered := strings.ToLower(s[:end]) + s[end:]
	if token.IsKeyword(lowered) {
		return lowered + "_"
	}
	return lowered
}

// tensorsIdent names the []goai.TensorDesc variable of a message with
// tensor annotations: Image gives ImageTensors, in the message's own package.
func tensorsIdent(message *protogen.Message) protogen.GoIdent {
	return message.GoIdent.GoImportPath.Ident(message.GoIdent.GoName + "Tensors")
}

// protocolNames and dtypeNames name the runtime's constants that generated
// code refers to: those of goai.Protocol, and those of tensor.DType for
// each goai.v1.DType. A test checks them against the goai.
var (
	protocolNames = map[protocol]string{
		protocolOpenInference: "ProtocolOpenInference",
		protocolDirect:        "ProtocolDirect",
		protocolTFServing:     "ProtocolTFServing",
	}
	dtypeNames = map[goaiv1.DType]string{
		goaiv1.DType_BOOL:   "Bool",
		goaiv1.DType_UINT8:  "Uint8",
		goaiv1.DType_UINT16: "Uint16",
		goaiv1.DType_UINT32: "Uint32",
		goaiv1.DType_UINT64: "Uint64",
		goaiv1.DType_INT8:   "Int8",
		goaiv1.DType_INT16:  "Int16",
		goaiv1.DType_INT32:  "Int32",
		goaiv1.DType_INT64:  "Int64",
		goaiv1.DType_FP16:   "FP16",
		goaiv1.DType_BF16:   "BF16",
		goaiv1.DType_FP32:   "FP32",
		goaiv1.DType_FP64:   "FP64",
		goaiv1.DType_BYTES:  "Bytes",
	}
)
