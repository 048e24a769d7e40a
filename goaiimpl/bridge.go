package goaiimpl

import (
	"context"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/internal/bridge"
	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc"
)

// The call path of package goai, asserted once (see internal/bridge).
var (
	newClient         = bridge.NewClient.(func(string, *goai.ModelDesc, []goai.Option) (*goai.Client, error))
	newClientFromConn = bridge.NewClientFromConn.(func(grpc.ClientConnInterface, *goai.ModelDesc, []goai.ClientOption) *goai.Client)
	infer             = bridge.Infer.(func(*goai.Client, context.Context, *goai.MethodDesc, *wire.Request, []goai.CallOption) (*wire.Response, error))
	inferStream       = bridge.InferStream.(func(*goai.Client, context.Context, *goai.MethodDesc, *wire.Request, []goai.CallOption, func(*wire.Response) (bool, error)) error)
	invokeDirect      = bridge.InvokeDirect.(func(*goai.Client, context.Context, *goai.MethodDesc, func(context.Context, []grpc.CallOption) error, []goai.CallOption) error)
	conn              = bridge.Conn.(func(*goai.Client) grpc.ClientConnInterface)
	descOf            = bridge.Desc.(func(*goai.Client) *goai.ModelDesc)
	now               = bridge.Now.(func(*goai.Client) time.Time)
	callOptionsInfo   = bridge.CallOptions.(func([]goai.CallOption) (int, *goai.CallInfo))
	batcherSetup      = bridge.Batcher.(func(*goai.Client, *goai.MethodDesc, []goai.MicroBatchOption) (goai.BatchingPolicy, time.Duration, []goai.CallOption, []goai.CallOption, []goai.MicroBatchOption))
	contextError      = bridge.ContextError.(func(error) error)
)

// NewClient returns the [goai.Client] of a generated client of the model
// desc describes, on connections to target that it dials and owns, as
// New<Service>ModelClient makes it.
func NewClient(target string, desc *goai.ModelDesc, opts ...goai.Option) (*goai.Client, error) {
	return newClient(target, desc, opts)
}

// NewClientFromConn returns the [goai.Client] of a generated client of the
// model desc describes, calling through cc, which stays the caller's, as
// New<Service>ModelClientFromConn makes it.
func NewClientFromConn(cc grpc.ClientConnInterface, desc *goai.ModelDesc, opts ...goai.ClientOption) *goai.Client {
	return newClientFromConn(cc, desc, opts)
}

// Conn returns the gRPC connection c calls through, for the
// protoc-gen-go-grpc stub of a direct service.
func Conn(c *goai.Client) grpc.ClientConnInterface { return conn(c) }
