package wirecodec

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The test below is the evidence behind Codec.Marshal's one copy: it
// shows that grpc-go keeps reading a message's buffers after a unary call
// has returned to its caller, for as long as the peer stops reading, so a
// codec that sent the caller's tensor bytes by reference (a mem.Buffer
// of the caller's slice) would hand grpc memory the caller has been given
// back. No wait on the buffers' Free fixes that within a bound: the Free
// comes when the peer reads again, which can be any time later. And when
// the connection instead dies mid-message, grpc-go v1.85 never calls it:
// loopyWriter.processData returns on the write error before Discard
// reaches the buffer's end, and the stream's cleanupStream, which would
// close its reader, is dropped by the finished control buffer
// (internal/transport/controlbuf.go).

// refCodec marshals a BytesValue of 1 MiB or more by reference: its
// header, then the value's own memory, whose release by grpc closes
// freed. Anything else it marshals as grpc's default codec does.
type refCodec struct {
	encoding.CodecV2
	freed chan struct{}
}

func (c refCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(*wrapperspb.BytesValue)
	if !ok || len(b.Value) < 1<<20 {
		return c.CodecV2.Marshal(v)
	}
	hdr := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.BytesType), uint64(len(b.Value)))
	return mem.BufferSlice{mem.SliceBuffer(hdr), mem.NewBuffer(&b.Value, &notifyPool{freed: c.freed})}, nil
}

// notifyPool closes freed when grpc releases the buffer.
type notifyPool struct {
	once  sync.Once
	freed chan struct{}
}

func (p *notifyPool) Get(n int) *[]byte { b := make([]byte, n); return &b }
func (p *notifyPool) Put(*[]byte)       { p.once.Do(func() { close(p.freed) }) }

// gatedListener's connections stop reading while the gate is closed.
type gatedListener struct {
	net.Listener
	mu   sync.Mutex
	open chan struct{} // closed while reads may go on
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return &gatedConn{Conn: c, l: l}, err
}

func (l *gatedListener) gate() chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

func (l *gatedListener) set(open bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.open:
		if !open {
			l.open = make(chan struct{})
		}
	default:
		if open {
			close(l.open)
		}
	}
}

type gatedConn struct {
	net.Conn
	l *gatedListener
}

func (c *gatedConn) Read(b []byte) (int, error) {
	<-c.l.gate()
	return c.Conn.Read(b)
}

func TestByReferenceOutlivesCall(t *testing.T) {
	const payload = 96 << 20 // far beyond loopback's socket buffers (32 MiB + 4 MiB at most here)
	const window = 128 << 20 // so that flow control never parks the stream
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	close(open)
	lis := &gatedListener{Listener: raw, open: open}
	defer lis.set(true)
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(window), grpc.InitialWindowSize(window), grpc.InitialConnWindowSize(window),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			var v wrapperspb.BytesValue
			if err := stream.RecvMsg(&v); err != nil {
				return err
			}
			return stream.SendMsg(&wrapperspb.BytesValue{})
		}))
	go srv.Serve(lis)
	defer srv.Stop()

	freed := make(chan struct{})
	codec := refCodec{CodecV2: encoding.GetCodecV2("proto"), freed: freed}
	conn, err := grpc.NewClient(raw.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(window),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(codec)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Connect, and exchange settings and windows, with a small call.
	if err := conn.Invoke(context.Background(), "/test.Ref/Call", &wrapperspb.BytesValue{}, new(wrapperspb.BytesValue)); err != nil {
		t.Fatal(err)
	}

	// The server stops reading: grpc's writer fills the socket's buffers
	// and blocks in a write, holding the caller's memory.
	lis.set(false)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = conn.Invoke(ctx, "/test.Ref/Call", &wrapperspb.BytesValue{Value: make([]byte, payload)}, new(wrapperspb.BytesValue))
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("the call ended with %v, want DEADLINE_EXCEEDED", err)
	}
	select {
	case <-freed:
		t.Fatal("grpc released the message's buffer before the call returned: sending by reference may be safe now; see Codec.Marshal")
	default:
	}

	// Only once the server reads again does grpc's writer finish with
	// the buffer, long after the caller got its memory back.
	lis.set(true)
	select {
	case <-freed:
	case <-time.After(time.Minute):
		t.Fatal("grpc never released the buffer after the server read again")
	}
}
