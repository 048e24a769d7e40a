package wirecodec

import (
	"bytes"
	"fmt"

	"github.com/goai-dev/goai/internal/bufpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
)

// marshalPool holds the buffers of marshaled messages, from Marshal until
// grpc's transport has written them.
var marshalPool bufpool.Pool

// Name is the codec's name, the same as grpc-go's default protobuf codec, so
// the wire content-type (application/grpc+proto) does not change.
const Name = "proto"

// Codec is an [encoding.CodecV2] for protobuf messages that decodes bytes
// fields without copying them; see the package documentation. The zero
// value is ready to use and safe for concurrent use.
type Codec struct{}

var _ encoding.CodecV2 = Codec{}

// Name returns [Name].
func (Codec) Name() string { return Name }

// DialOption returns a dial option making every call on a client connection
// use [Codec], in both directions.
func DialOption() grpc.DialOption {
	return grpc.WithDefaultCallOptions(grpc.ForceCodecV2(Codec{}))
}

// ServerOption returns a server option making the server use [Codec] for
// every call, whatever codec the client declares.
func ServerOption() grpc.ServerOption {
	return grpc.ForceServerCodecV2(Codec{})
}

// Register installs [Codec] as the process-wide "proto" codec, replacing
// grpc-go's default for every connection and server that does not force
// another one. Call it from main or an init function before creating any
// connection: grpc's registry is not safe for concurrent use. Prefer
// [DialOption] and [ServerOption], which change nothing outside the
// connections they are given to.
func Register() {
	encoding.RegisterCodecV2(Codec{})
}

// Marshal encodes v, a protobuf message, much as grpc-go's default codec
// does: proto.Size, then proto.MarshalOptions.MarshalAppend into a buffer
// of exactly that size, pooled for messages above grpc's pooling
// threshold. Each tensor is copied once, into that buffer. Unlike the
// default codec's pool, this one does not clear buffers before reuse (see
// package bufpool), which for large tensors halves the memory traffic.
//
// Sending the tensor bytes by reference instead (a mem.BufferSlice
// alternating small headers with the caller's slices, which goai's
// encoders hand over uncopied for a single call) would skip that copy,
// but it cannot be made safe with grpc-go v1.85, not even by waiting for
// grpc to Free the buffers before the call returns:
//
//   - grpc's HTTP/2 writer (loopyWriter) copies a frame's data into its
//     write buffer in a loop that flushes to the socket when the buffer
//     fills; when the peer stops reading, that flush blocks, and once it
//     returns the loop reads the rest of the caller's bytes. A unary call
//     that fails or times out meanwhile has returned to its caller, who
//     may be filling the same slice for its next request: the writer then
//     sends a mix. TestByReferenceOutlivesCall shows the Free coming only
//     when the peer reads again, which may be any time later (keepalive
//     and TCP_USER_TIMEOUT bound it for a dead peer, nothing does for a
//     stalled one), so a wait that ends within the call's deadline can
//     still return memory grpc reads.
//   - When the connection fails mid-message, the writer returns on the
//     write error before its Reader discards the buffer, and the stream's
//     cleanup, which would close that Reader, is dropped by the finished
//     control buffer: the Free never comes, and an unbounded wait hangs.
//
// The one copy, into a warm pooled buffer, costs a memmove of the tensor
// (some 15 µs for 600 KB on a 2-core machine; see the tensor codec's
// memcpy row in BENCHMARKS.md) against the transport's own copies into
// frames and the socket.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	m := messageOf(v)
	if m == nil {
		return nil, fmt.Errorf("wirecodec: cannot marshal %T, not a proto.Message", v)
	}
	// UseCachedSize is safe only because Size has just run on the same,
	// unchanging message; grpc does not let messages change during a send.
	size := proto.Size(m)
	opts := proto.MarshalOptions{UseCachedSize: true}
	if mem.IsBelowBufferPoolingThreshold(size) {
		b, err := opts.MarshalAppend(make([]byte, 0, size), m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	pool := &marshalPool
	buf := pool.Get(size)
	b, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil {
		pool.Put(buf)
		return nil, err
	}
	*buf = b
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// Unmarshal decodes data into v, a protobuf message, replacing its contents
// as proto.Unmarshal does. Bytes fields of 1 KiB or more alias a buffer
// that v then owns; see the package documentation. Messages without bytes fields are decoded
// exactly as by grpc-go's default codec.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m := messageOf(v)
	if m == nil {
		return fmt.Errorf("wirecodec: cannot unmarshal into %T, not a proto.Message", v)
	}
	p := planFor(m.ProtoReflect().Descriptor())
	if p == nil {
		buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
		defer buf.Free()
		return proto.Unmarshal(buf.ReadOnlyData(), m)
	}
	var b []byte
	release := func() {}
	if len(data) == 1 {
		// One buffer: keep it instead of copying. grpc frees data after
		// Unmarshal returns ("if the codec wants its own reference to the
		// data, it can get it", grpc-go rpc_util.go recv); our reference
		// keeps the buffer from going back to the pool while v points into
		// it, and the garbage collector reclaims it with v.
		data[0].Ref()
		b = data[0].ReadOnlyData()
		release = data[0].Free
	} else {
		// Several frames: gather them once, into memory v will own.
		b = gather(data)
	}
	aliased, err := unmarshalAliased(b, m, p)
	if !aliased {
		// Nothing points into the buffer, not even in a message left
		// half-decoded by an error: let grpc's Free return it to the pool.
		release()
	}
	return err
}

// gather copies data into one new slice. It is data.Materialize without
// zeroing the slice first: bytes.Join allocates uninitialized memory, which
// for a 4 MiB tensor saves a pass over it as long as the copy itself.
func gather(data mem.BufferSlice) []byte {
	var small [64][]byte // on the stack: up to 1 MiB in 16 KiB frames
	parts := small[:0]
	for _, buf := range data {
		parts = append(parts, buf.ReadOnlyData())
	}
	return bytes.Join(parts, nil)
}

func messageOf(v any) proto.Message {
	switch v := v.(type) {
	case protoadapt.MessageV2:
		return v
	case protoadapt.MessageV1:
		return protoadapt.MessageV2Of(v)
	}
	return nil
}
