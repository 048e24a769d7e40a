package generator

import (
	"go/token"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goai-dev/goai/runtime"
	"github.com/goai-dev/goai/runtime/tensor"
	"google.golang.org/protobuf/compiler/protogen"
)

// Import paths of the packages that generated code refers to. Generated code
// names them only through GoImportPath.Ident, so protogen writes the imports.
const (
	runtimePackage = protogen.GoImportPath("github.com/goai-dev/goai/runtime")
	tensorPackage  = protogen.GoImportPath("github.com/goai-dev/goai/runtime/tensor")
	codesPackage   = protogen.GoImportPath("google.golang.org/grpc/codes")
	timePackage    = protogen.GoImportPath("time")
)

// fileSuffix ends the name of every generated file, after the .proto file's
// GeneratedFilenamePrefix: foo/v1/foo.proto gives foo/v1/foo_goai.pb.go.
const fileSuffix = "_goai.pb.go"

// names holds the Go identifiers generated for one service, so that every
// naming rule lives here.
type names struct {
	// Model is the exported variable holding the service's
	// *runtime.ModelDesc: ImageClassifier gives ImageClassifierModel.
	Model string
	// client is the unexported base name kept for the typed client that
	// builds on Model (imageClassifierClient). It is reserved, not emitted yet.
	client string
}

func newNames(service *protogen.Service) names {
	base := service.GoName
	return names{
		Model:  base + "Model",
		client: unexport(base + "Client"),
	}
}

// tensorsIdent names the []runtime.TensorDesc variable of a message with
// tensor annotations: Image gives ImageTensors, in the message's own package.
func tensorsIdent(message *protogen.Message) protogen.GoIdent {
	return message.GoIdent.GoImportPath.Ident(message.GoIdent.GoName + "Tensors")
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

// protocolNames and dtypeNames name the runtime's constants that generated
// code refers to.
var (
	protocolNames = map[runtime.Protocol]string{
		runtime.ProtocolOpenInference: "ProtocolOpenInference",
		runtime.ProtocolDirect:        "ProtocolDirect",
	}
	dtypeNames = map[tensor.DType]string{
		tensor.Bool:   "Bool",
		tensor.Uint8:  "Uint8",
		tensor.Uint16: "Uint16",
		tensor.Uint32: "Uint32",
		tensor.Uint64: "Uint64",
		tensor.Int8:   "Int8",
		tensor.Int16:  "Int16",
		tensor.Int32:  "Int32",
		tensor.Int64:  "Int64",
		tensor.FP16:   "FP16",
		tensor.BF16:   "BF16",
		tensor.FP32:   "FP32",
		tensor.FP64:   "FP64",
		tensor.Bytes:  "Bytes",
	}
)
