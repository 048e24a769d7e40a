// Package wirecodec is a gRPC codec for protobuf messages that keeps large
// bytes fields, such as the raw tensor contents of the Open Inference
// Protocol, from being copied more than once.
//
// grpc-go's default codec (google.golang.org/grpc/encoding/proto) receives a
// ModelInferResponse by first gathering the HTTP/2 frames into one pooled
// buffer and then letting proto.Unmarshal copy every bytes field out of it
// into a fresh allocation: a 4 MiB output tensor is copied twice and
// allocated once more. [Codec] gathers the frames once into a buffer the
// message keeps, and points raw_output_contents (and every other bytes field
// at the top level, or inside singular message fields such as
// ModelStreamInferResponse.infer_response) into it, when the value is 1 KiB
// or longer: a shorter one costs less to copy than to set by reflection.
// The rest of each message goes through proto.Unmarshal as usual, so every
// message type, not only the inference ones, decodes exactly as with the
// default codec, and at no greater cost in memory.
//
// Sending is as the default codec does it: one copy of each tensor, into a
// pooled buffer sized by proto.Size. See [Codec.Marshal] for why it does not
// go further: grpc-go may read a message's buffers after the call that sent
// it returned, so a tensor sent by reference would be read after its owner
// got it back.
//
// The codec keeps the name "proto", so the content-type on the wire stays
// application/grpc+proto and servers such as Triton see no difference. Use
// it per connection, which is what this package recommends:
//
//	conn, err := grpc.NewClient(target, wirecodec.DialOption(), ...)
//	srv := grpc.NewServer(wirecodec.ServerOption())
//
// or for the whole process with [Register].
//
// What to know when holding decoded messages: the aliased fields share one
// buffer, so keeping any of them keeps the whole received message in memory,
// and writing into one writes into that buffer (never into another field:
// each has its capacity capped at its length).
package wirecodec
