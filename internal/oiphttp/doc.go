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
// jsonwrite.go, jsonfloat.go), strconv doing the number formatting,
// rather than encoding/json or a faster library. The data arrays are
// the cost, and they must go straight between JSON and raw
// little-endian contents of a datatype known only from the same object,
// flat or nested, with range checks, which no library does without a
// second pass. Measured on one FP32 tensor of 16, 784 and 150528
// elements (./jsonbench, against encoding/json, goccy/go-json v0.12.0
// and bytedance/sonic v1.15.5; 2-core Xeon, Go 1.26):
//
//   - encode: 1.3 µs, 52 µs, 12.3 ms; encoding/json is 1.4 to 2.2 times
//     slower, goccy 1.1 to 1.3 times, sonic about even (1.8 times faster
//     at 784 elements); no allocation at all, against 3 or more.
//   - decode: 2.9 µs, 76 µs, 12.8 ms; encoding/json is 3.4 to 4.4 times
//     slower, goccy 1.3 to 1.6 times faster, sonic 1.1 to 1.6 times
//     faster.
//
// That margin does not pay for a dependency: above DefaultBinaryThreshold
// tensors travel binary, where JSON costs nothing, and outputs are asked
// for binary. goccy also panics on some malformed input (goccy/go-json
// issues 575 and 604, open), which a decoder of a server's answers
// cannot have, and sonic needs amd64 or arm64 assembly and a JIT.
package oiphttp
