// The protoc plugins goai's own code is generated with, pinned. They live
// in a module of their own, apart from buf's in ../, so that buf's
// requirements cannot move the protobuf-go version they are built at
// (which the generated files' headers name).
module github.com/goai-dev/goai/tools/plugins

go 1.26.0

tool (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc
	google.golang.org/protobuf/cmd/protoc-gen-go
)

require (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.6.2 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
