// Package tensor encodes and decodes tensors of the Open Inference Protocol:
// raw little-endian contents for every datatype, BYTES framing, FP16 and BF16
// conversion, shape checks, and typed contents.
//
// A [Tensor] is a name, a [DType], a shape and raw bytes: the form tensors
// take in raw_input_contents and raw_output_contents, which is what Triton
// always answers with. The functions come in families:
//
//   - AppendFloat32, AppendInt64, ... and DecodeFloat32, DecodeInt64, ... for
//     the Go type that matches a datatype exactly; AppendFP16, AppendBF16,
//     DecodeFP16 and DecodeBF16 for half precision held as float32;
//     AppendBytesElements, AppendStringElements, DecodeBytesElements and
//     DecodeStringElements for BYTES.
//   - [AppendAs] and [DecodeAs], generic over the Go element types, for
//     every other pairing of Go type and datatype that loses nothing (or,
//     for floats, rounds to nearest even).
//   - [FromContents] and [ToContents] between raw and the typed
//     InferTensorContents fields.
//   - [NumElements], [InferShape] and [Tensor.Validate] for shapes.
//
// Encoders append to a caller's buffer and decoders append to a caller's
// slice, like the append builtin, so a client that keeps its buffers
// allocates nothing per request. On little-endian hosts (every common Go
// port) a fixed-width tensor is encoded and decoded as one memmove; other
// hosts take a portable path with the same results.
//
// Decoders treat their input as hostile: a short buffer, a BYTES length
// that runs past the end, a shape with a negative dimension or more than
// [MaxElements] elements all return errors, never panic, and nothing is
// allocated in proportion to what a header claims, only to the bytes
// actually received. Errors wrap one of [ErrShape], [ErrLength], [ErrDType]
// and [ErrRange]; [Tensor.Validate] wraps them in an [*Error] naming the
// tensor.
package tensor
