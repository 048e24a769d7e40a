// Package oippb is goai's private, wire-compatible copy of the Open
// Inference Protocol's gRPC messages (KServe v2, as Triton serves it),
// generated from internal/proto/goai/internal/oip/v1/inference.proto, and
// the service's method paths, client and grpc.ServiceDesc, written by hand
// in service.go.
//
// The messages live under goai's own proto package and file path, so a
// binary can link them beside any other copy of Triton's or KServe's protos
// without a registration conflict in protobuf-go's global registry; only
// field numbers and the method paths, /inference.GRPCInferenceService/<Rpc>,
// travel on the wire.
package oippb
