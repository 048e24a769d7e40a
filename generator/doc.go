// Package generator is protoc-gen-goai's code generator: it reads the goai
// annotations of a .proto file (proto/goai/v1/options.proto), checks them,
// and writes <name>_goai.pb.go beside the file's .pb.go.
//
// It works in two passes. Analysis ([analyze]) turns descriptors and options
// into a checked model: tensors with their defaults resolved, and services
// with their policies merged, each part keeping its declaration and so its
// source position. It reports every mistake it finds, all at once, as
// "file.proto:line:col: full.Name: what is wrong; how to fix it", and never
// fails on a file without annotations. Emission then writes the model as Go,
// naming other packages only through protogen, so imports stay automatic.
//
// # What is generated
//
// For each annotated service, a *runtime.ModelDesc variable named
// <Service>Model; for each message with tensor annotations, a
// []runtime.TensorDesc variable named <Message>Tensors, which the methods of
// the ModelDesc refer to. A file without annotations gets no output. A
// request or response message from another file is referred to in that
// file's Go package, which protoc-gen-goai must generate too.
//
// # Tensors
//
// A tensor's name defaults to the field's proto name, and its dtype to the
// field type's: float FP32, double FP64, int32, sint32 and sfixed32 INT32,
// int64, sint64 and sfixed64 INT64, uint32 and fixed32 UINT32, uint64 and
// fixed64 UINT64, bool BOOL, string and bytes BYTES. A dtype may also be
// narrower than its field (INT8 and INT16 in int32 fields, UINT8 and UINT16
// in uint32 fields, FP16 and BF16 in float fields, converted), and a
// singular bytes field holds raw little-endian data of any dtype. Repeated
// string and bytes fields hold BYTES elements. Maps, messages, groups, enums
// and extension fields cannot hold tensors.
//
// A shape's dimensions are sizes of 1 or more, or -1 for a dynamic size; at
// most one is dynamic, as the data's length can tell only one size. A field
// that holds one element (a singular numeric, bool or string field, or a
// singular bytes field holding one BYTES element) may have a shape whose
// dimensions are all 1, such as the [1] that Triton models often declare for
// a scalar; any other shape on it is an error.
//
// # Services
//
// The protocol defaults to PROTOCOL_OPEN_INFERENCE, where the model name is
// required, rpcs must be unary and their request and response messages must
// each have a tensor. In PROTOCOL_DIRECT the name is optional and messages
// need no tensors. A service counts as annotated when it has a
// (goai.v1.model) option or one of its rpcs a (goai.v1.call) option.
//
// An rpc's policy is the service's default_call merged with the rpc's
// (goai.v1.call) field by field: a zero value is unset, a set value of the
// rpc wins, and a non-empty retryable_codes of the rpc replaces the list.
// Rules that tie two options together (max_backoff not below
// initial_backoff, failure_ratio with min_requests, attempt_timeout not above
// timeout) are checked on the merged policy, where the rpc sets one of them.
package generator
