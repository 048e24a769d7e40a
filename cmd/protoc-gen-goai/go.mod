module github.com/goai-dev/goai/cmd/protoc-gen-goai

go 1.26.0

require (
	github.com/bufbuild/protocompile v0.14.1
	github.com/goai-dev/goai v0.0.0-00010101000000-000000000000
	github.com/google/go-cmp v0.7.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/sony/gobreaker/v2 v2.4.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sync v0.23.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
)

// The plugin ships from the same repository as the runtime whose
// annotation schema (proto/goai/v1) it reads.
replace github.com/goai-dev/goai => ../..
