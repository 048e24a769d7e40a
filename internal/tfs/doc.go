// Package tfs is goai's TensorFlow Serving wire layer: the translation
// between goai's protocol-neutral requests ([wire.Request],
// [wire.Response], [wire.ModelMetadata]) and TF Serving's gRPC and REST
// APIs, the two [wire.Transport] values that carry them ([GRPC] and
// [REST]), and a [Server] that serves models as TF Serving does, for
// tests.
//
// The codec is pure functions, shared by both directions:
//
//   - Tensors: [EncodeTensor] (tensor_content for numeric types, string_val
//     for BYTES, aliasing the tensor's bytes), [EncodeTensorTyped] and
//     [EncodeTensorContent] (TF Serving's two answer forms), and
//     [DecodeTensor], which reads every form a server may send, applies
//     TensorFlow's repeat-the-last-value rule and refuses hostile protos
//     with typed errors, its allocation bounded by a size limit.
//   - Datatypes: [ToTF], [FromTF] and [DatatypeName] between the Open
//     Inference Protocol's datatypes and TensorFlow's DataType.
//   - Metadata and readiness: [ModelMetadata] from a SignatureDefMap,
//     [Ready] from a GetModelStatusResponse.
//   - REST JSON: [EncodePredictRequest], [DecodePredictResponse],
//     [DecodePredictRequest] and [EncodePredictResponse] in TF Serving's
//     row ("instances"/"predictions") and columnar ("inputs"/"outputs")
//     formats, with NaN and Infinity tokens and {"b64": ...} strings;
//     [DecodeMetadataBody], [DecodeStatusBody] and their encoders; error
//     bodies and [HTTPStatusForCode] (a client reads statuses through
//     internal/oiphttp's mapping).
//
// Messages are tfspb's private copies, so nothing here touches
// protobuf-go's global registry by the real TensorFlow names.
//
// Errors follow [wire.Transport]: a server's errors keep their gRPC
// codes; an answer goai cannot read is INTERNAL (RESOURCE_EXHAUSTED when
// over a size limit), as an [*Error] wrapping one of package tensor's
// sentinels or [ErrTooLarge]; what goes wrong on the client before
// anything is sent (an input goai cannot encode, a version that is no
// number) is a plain error.
package tfs
