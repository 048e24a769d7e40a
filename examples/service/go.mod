module github.com/goai-dev/goai/examples/service

go 1.26.0

replace github.com/goai-dev/goai => ../..

require (
	google.golang.org/grpc v1.85.0
	sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730
)

require (
	golang.org/x/sys v0.48.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
