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
//     AppendBytesElements, AppendStringElements, DecodeBytesElements,
//     DecodeStringElements, BytesToStrings and CheckUTF8 for BYTES.
//   - [AppendAs] and [DecodeAs], generic over the Go element types, for
//     every other pairing of Go type and datatype that loses nothing (or,
//     for floats, rounds to nearest even).
//   - [FromContents] and [ToContents] between raw and the typed
//     InferTensorContents fields, [BytesFromContents] for BYTES elements.
//   - [NumElements], [InferShape] and [Tensor.Validate] for shapes,
//     [FormatShape] to print them.
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
// actually received, at a bounded cost per byte: at most 8 bytes per byte
// for fixed-size data (INT8 decoded into int64 widens eightfold), 4 for
// BYTES decoded into strings and 6 into byte slices (a string header is
// 16 bytes, a slice header 24, and every element takes at least its 4-byte
// length prefix). Error messages print at most [MaxFormattedDims]
// dimensions of a shape. Errors wrap one of [ErrShape], [ErrLength],
// [ErrDType], [ErrRange] and [ErrUTF8]; [Tensor.Validate] wraps them in an
// [*Error] naming the tensor.
package tensor
