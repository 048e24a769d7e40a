// Package tfspb is goai's private, wire-compatible copy of the TF Serving
// messages a Predict client needs (PredictRequest and PredictResponse,
// ModelSpec, model metadata and status) and of the TensorFlow messages
// they carry (TensorProto, TensorShapeProto, DataType, SignatureDef,
// TensorInfo), generated from internal/proto/goai/internal/tfs/v1, and the
// services' method paths, client and grpc.ServiceDesc values, written by
// hand in service.go.
//
// The messages live under goai's own proto package and file paths, so a
// binary can link them beside a team's own Go stubs of TensorFlow's and TF
// Serving's protos (package tensorflow and tensorflow.serving) without a
// registration conflict in protobuf-go's global registry; only field
// numbers and the method paths, /tensorflow.serving.PredictionService/<Rpc>
// and /tensorflow.serving.ModelService/<Rpc>, travel on the wire. The one
// place the real names matter is the google.protobuf.Any of model
// metadata, whose type URL is [SignatureDefMapTypeURL].
package tfspb
