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
// # Why protogen rather than text templates
//
// The emitters write Go through protogen's GeneratedFile, as protoc-gen-go,
// protoc-gen-go-grpc and protoc-gen-connect-go do, not through
// text/template, for three concrete reasons:
//
//   - Generated literals are conditional, field by field: a ModelDesc
//     holds only the options that annotations set (literal.add leaves out
//     zero values), a Fallback only when there is one, an Idempotent only
//     when set, a Shape only for a tensor that has one. In a template each
//     is an {{if}}, and the rule for what is left out would be split
//     between templates and the Go that prepares their data.
//   - Every identifier of another package goes through QualifiedGoIdent,
//     which records the import and picks a package name that clashes with
//     nothing in the file (a user package called runtime or time, say). A
//     template would write import blocks by hand, or call back into Go for
//     each identifier. The emitted packages are named in one place,
//     names.go (goaiPackage and the others), so moving generated code to
//     another runtime package is a one-line change.
//   - protogen gofmts the file, and reports Go that does not parse as the
//     response's error: the tests catch a broken emitter, not users' builds.
//
// # What is generated
//
// For each annotated service, a *goai.ModelDesc variable named
// <Service>Model; for each message with tensor annotations, a
// []goai.TensorDesc variable named <Message>Tensors, which the methods of
// the ModelDesc refer to. Both are read-only. A file without annotations
// gets no output. A request or response message from another file is
// referred to in that file's Go package, which protoc-gen-goai must
// generate too. The generated code calls package goaiimpl, which exists
// for it, and names goai's types.
//
// For each PROTOCOL_OPEN_INFERENCE service, also:
//
//   - a typed client, <Service>ModelClient (protoc-gen-go-grpc takes
//     <Service>Client), made by New<Service>ModelClient(target,
//     ...goai.Option), which dials and owns its connections, or by
//     New<Service>ModelClientFromConn(cc, ...goai.ClientOption). It holds a
//     *goai.Client and has one method per rpc, <Rpc>(ctx, *In,
//     ...goai.CallOption) (*Out, error), making one ModelInfer call through
//     goaiimpl.Infer; for a model with max_batch_size > 0, one
//     <Rpc>Batch(ctx, []*In, ...) ([]*Out, error) per rpc, through
//     goaiimpl.InferBatch, and one New<Rpc>Batcher(...goai.MicroBatchOption)
//     returning a goai.Batcher[*In, *Out], a micro-batcher whose Do
//     coalesces concurrent single calls into ModelInfer calls of up to the
//     batching policy's size and bytes (defaults from the annotation,
//     options on top); for an rpc that returns a stream, which calls a
//     decoupled model (an LLM streaming tokens), <Rpc>(ctx, *In,
//     ...goai.CallOption) iter.Seq2[*Out, error] instead, through
//     goaiimpl.Generate: one ModelStreamInfer request, each response
//     decoded by the same mappers, and no batch call or batcher, as a
//     decoupled model answers one item per request; and the methods it
//     forwards to its goai.Client: CheckModel, Ready, Live, SetRoutes,
//     Routes, BreakerState, Model and Close;
//   - unless the parameter fakes=false, in a package of its own beside the
//     service's, <package>goaitest (in <dir>/<package>goaitest/, as
//     connect-go's <package>connect), so that only tests link the test
//     server: the interface <Service>Fake, with one method per model the
//     rpcs call, named for the first rpc that calls it; <Service>FakeFunc, a
//     function type implementing it, when there is one such model; and
//     Register<Service>Fake, registering an implementation on an
//     inferencetest.Server as every model the service calls (its fallback
//     included), through goaiimpl.ServeFake; a decoupled model's method
//     is <Rpc>(ctx, *In, send func(*Out) error) error, served through
//     goaiimpl.ServeFakeStream as inferencetest's Model.Stream, so that
//     its responses meet inferencetest's mid-stream faults;
//   - the mappers of their messages: unexported functions encode<Message>
//     and decode<Message>, straight-line code between the messages of a
//     batch and a goaiimpl.Encoder or goaiimpl.Decoder: the client's in the
//     service's package, the fake's in the fake package. A Go package
//     declares each mapper once, in the first of its files (in protoc's
//     order) whose services need it, so the files of a package must be
//     generated together. A message from another Go package has its
//     package's name in its mappers' names (encodeCommonv1Embedding).
//
// For each PROTOCOL_DIRECT service, also a typed client, <Service>ModelClient,
// made as above, with one method per unary rpc,
// <Rpc>(ctx, *In, ...goai.CallOption) (*Out, error), calling the
// service's own rpc on the <Service>Client that protoc-gen-go-grpc
// generates into the same Go package (so protoc-gen-go-grpc must run too)
// through goaiimpl.CallDirect, under the rpc's policy: retried only when
// the rpc is idempotent, which a direct rpc is not unless its annotation
// says so. Before sending, the method checks the length of every tensor
// field of the request that not every length fits, against the tensor's
// shape (goaiimpl.CheckTensorLength, goaiimpl.CheckRawTensorLength), with
// straight-line code in an unexported method, check<Rpc>; it follows
// singular message fields that are set (a oneof's included) into the
// messages they hold, but not repeated or map message fields, nor a
// message already on the path. Streaming rpcs get no method: a stream has
// no single attempt for the policies to retry; the caller uses the
// protoc-gen-go-grpc client for them, on a connection of theirs (a
// goai.Pool the typed client can share). The client also forwards
// SetRoutes, Routes, BreakerState, Model and Close to its goai.Client,
// but has no CheckModel, batch calls or fake, which are for the Open
// Inference Protocol; and a fallback model is an error, as the requests of
// a direct service name no model.
//
// Every generated name is checked against the declarations of protoc-gen-go
// and protoc-gen-go-grpc in the same package, and against the other
// services' generated names; an rpc whose client method would take another
// method's name (Close, CheckModel, SetRoutes, Routes, BreakerState,
// Model, or <Rpc>Batch or
// New<Rpc>Batcher of another rpc) is an error too.
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
// and extension fields cannot hold tensors, nor can the fields of a oneof,
// as every tensor goes with every call.
//
// A shape's dimensions are sizes of 1 or more, or -1 for a dynamic size; at
// most one is dynamic, as the data's length can tell only one size. Without
// a shape, a field holding one element holds a scalar, and any other field
// a vector of any length: its TensorDesc says [-1]. A field
// that holds one element (a singular numeric, bool or string field, or a
// singular bytes field holding one BYTES element) may have a shape whose
// dimensions are all 1, such as the [1] that Triton models often declare for
// a scalar; any other shape on it is an error.
//
// # Services
//
// The protocol defaults to PROTOCOL_OPEN_INFERENCE, where the model name is
// required, an rpc takes one request message (returning one message, or a
// stream of them from a decoupled model) and its request and response
// messages must each have a tensor; PROTOCOL_TF_SERVING's rpcs are unary.
// A model is decoupled or not, so rpcs that call one model, or that share
// a fallback, all stream or none does; batching of a service whose rpcs
// all stream has no effect, and is an error. idle_timeout applies to
// streaming rpcs alone (in default_call, to those of the service; a unary
// rpc's policy gets none of it) and may not exceed timeout. In PROTOCOL_DIRECT the name is optional (it keys the
// breaker), messages need no tensors, rpcs may stream, and there is no
// fallback. A service counts as annotated when it has a
// (goai.v1.model) option or one of its rpcs a (goai.v1.call) option.
//
// An rpc's policy is the service's default_call merged with the rpc's
// (goai.v1.call) field by field: a zero value is unset, a set value of the
// rpc wins, and a non-empty retryable_codes of the rpc replaces the list.
// idempotent, retry.jitter and breaker.disabled have explicit presence, so
// that their zero is a value: jitter: 0 turns jitter off (emitted as a
// negative Jitter, the runtime's "none"), and an rpc's disabled: false turns
// on a breaker that default_call disabled. Rules that tie two options
// together (max_backoff not below initial_backoff, attempt_timeout below
// timeout when there are retries, min_requests only with a failure ratio)
// are checked on the merged policy, where the rpc sets one of them.
//
// An option that has no effect on the policy it ends up in is an error,
// with the fix: retry settings without max_attempts above 1, retry of an
// rpc that is not idempotent, settings of a disabled breaker, idle_timeout
// of a unary rpc. In
// default_call it is reported only when it has no effect on any rpc, as an
// rpc may give it one (by setting max_attempts, say).
//
// What the rpcs of a service share at run time must agree: rpcs that call
// one model (with fakes, any version of it) have the same tensors, as a
// model has one signature; every rpc falls back to the fallback, so all
// have the same tensors when there is one, and none calls it as its own
// model; an rpc that sets breaker options calls no model that an earlier
// rpc calls with another breaker, as the runtime keeps one breaker per
// model, configured by its first rpc. A tensor holds at most
// 2147483647 elements (tensor.MaxElements), and so does a full batch of
// max_batch_size items of it. Model names and versions of an
// OPEN_INFERENCE service hold only the characters of a URL path segment
// that need no escaping, as servers hold them as one (a directory of
// Triton's model repository, a segment of /v2/models/<name>), and no
// duration is below a microsecond.
//
// # Warnings
//
// An annotation that works as the runtime defines it, but is likely not
// what was meant, draws a warning instead of an error: GenerateFile
// returns it, and protoc-gen-goai prints it to standard error, which
// protoc and buf show, as CodeGeneratorResponse has a field for an error
// but none for warnings. The one warning is a batching.max_delay longer
// than an rpc's timeout: the micro-batcher's wait comes before the call
// that the timeout bounds, which a batcher meant for throughput may want.
package generator
