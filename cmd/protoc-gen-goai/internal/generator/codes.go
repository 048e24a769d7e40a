package generator

// code is a gRPC status code, its number in google.rpc.Code and in
// grpc-go's codes.Code. The generator names codes rather than importing
// grpc-go's codes package, which would link grpc-go into the plugin.
type code uint32

// codeOK is the code of success, which no retry policy may list.
const codeOK code = 0

// codeNames spells each code, in order of number: as google.rpc.Code
// does, which annotations use, and as the Go constant of grpc-go's codes
// package, which generated code refers to. A test checks the table
// against grpc-go.
var codeNames = [...]struct{ proto, goName string }{
	{"OK", "OK"},
	{"CANCELLED", "Canceled"},
	{"UNKNOWN", "Unknown"},
	{"INVALID_ARGUMENT", "InvalidArgument"},
	{"DEADLINE_EXCEEDED", "DeadlineExceeded"},
	{"NOT_FOUND", "NotFound"},
	{"ALREADY_EXISTS", "AlreadyExists"},
	{"PERMISSION_DENIED", "PermissionDenied"},
	{"RESOURCE_EXHAUSTED", "ResourceExhausted"},
	{"FAILED_PRECONDITION", "FailedPrecondition"},
	{"ABORTED", "Aborted"},
	{"OUT_OF_RANGE", "OutOfRange"},
	{"UNIMPLEMENTED", "Unimplemented"},
	{"INTERNAL", "Internal"},
	{"UNAVAILABLE", "Unavailable"},
	{"DATA_LOSS", "DataLoss"},
	{"UNAUTHENTICATED", "Unauthenticated"},
}

// parseCode returns the code named as in google.rpc.Code, such as
// UNAVAILABLE.
func parseCode(name string) (code, bool) {
	for i, n := range codeNames {
		if n.proto == name {
			return code(i), true
		}
	}
	return 0, false
}

// goName returns the name of c's constant in grpc-go's codes package.
func (c code) goName() string { return codeNames[c].goName }
