// Package coexist holds the tests that link goai beside a team's own Go
// stubs of Triton's Open Inference Protocol protos, as most teams that call
// Triton today have: package tritonpb is generated, unchanged, from the
// grpc_service.proto and model_config.proto of triton-inference-server/common
// (see buf.yaml here). The tests prove that both register in protobuf-go's
// global registry without a conflict, that each calls the same server, and
// that goai's private copy agrees with Triton's messages field for field.
package coexist
