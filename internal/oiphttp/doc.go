// Package oiphttp carries the Open Inference Protocol over HTTP/REST: the
// JSON form of KServe v2 with Triton's binary tensor extension, as a
// [wire.Transport] over an [*http.Client], and the codec beneath it that
// both goai's client and its in-process test server use.
//
// The codec is a set of pure functions over byte slices:
//
//   - [EncodeRequest] and [DecodeResponse] for a client;
//     [DecodeRequest] and [EncodeResponse] for a server;
//   - [DecodeModelMetadata] and [EncodeModelMetadata];
//   - [DecodeErrorBody], [CodeForHTTPStatus], [HTTPStatusForCode] and
//     [ParseRetryAfter] for the error answers.
//
// A tensor travels as JSON "data" when it is small and JSON can carry it,
// and as a binary chunk after the JSON header otherwise; see
// [DefaultBinaryThreshold]. Outputs are asked for binary by default:
// decoding JSON numbers is the costly direction, and FP16 and BF16 cannot
// travel any other way.
//
// Decoders treat their input as hostile. Every failure is an [*Error]
// carrying a gRPC status code (INTERNAL for a response the client cannot
// decode, INVALID_ARGUMENT for a request a server cannot), wrapping
// [ErrMalformed] or one of package tensor's sentinels, and nothing is
// allocated in proportion to a size or shape the body claims, only to the
// bytes it holds. Decoded tensors alias the body they were decoded from
// wherever the protocol carried them raw.
//
// The JSON reader and writer are this package's own (jsonscan.go,
// jsonwrite.go) rather than encoding/json: the data arrays dominate the
// cost, they must be parsed straight into raw little-endian contents of
// the tensor's datatype with range checks, flat or nested, and
// encoding/json would first scan the whole body and copy each array as a
// json.RawMessage. BenchmarkJSON in this package and the library
// comparison in ./jsonbench hold the figures behind that choice.
package oiphttp
