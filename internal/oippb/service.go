package oippb

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ServiceName is the Open Inference Protocol's gRPC service, as Triton and
// KServe register it. It is fixed by the protocol, not by this package's
// proto package (goai.internal.oip.v1): method paths carry it on the wire.
const ServiceName = "inference.GRPCInferenceService"

// Method paths of the service's RPCs.
const (
	ServerLiveMethod       = "/" + ServiceName + "/ServerLive"
	ServerReadyMethod      = "/" + ServiceName + "/ServerReady"
	ModelReadyMethod       = "/" + ServiceName + "/ModelReady"
	ServerMetadataMethod   = "/" + ServiceName + "/ServerMetadata"
	ModelMetadataMethod    = "/" + ServiceName + "/ModelMetadata"
	ModelInferMethod       = "/" + ServiceName + "/ModelInfer"
	ModelStreamInferMethod = "/" + ServiceName + "/ModelStreamInfer"
)

// Client calls the service's RPCs over a connection, by their literal
// method paths.
type Client struct{ cc grpc.ClientConnInterface }

// NewClient returns a Client calling through cc.
func NewClient(cc grpc.ClientConnInterface) Client { return Client{cc: cc} }

// ServerLive reports whether the server is alive.
func (c Client) ServerLive(ctx context.Context, in *ServerLiveRequest, opts ...grpc.CallOption) (*ServerLiveResponse, error) {
	out := new(ServerLiveResponse)
	return out, c.cc.Invoke(ctx, ServerLiveMethod, in, out, opts...)
}

// ServerReady reports whether the server is ready for inferencing.
func (c Client) ServerReady(ctx context.Context, in *ServerReadyRequest, opts ...grpc.CallOption) (*ServerReadyResponse, error) {
	out := new(ServerReadyResponse)
	return out, c.cc.Invoke(ctx, ServerReadyMethod, in, out, opts...)
}

// ModelReady reports whether a model is ready for inferencing.
func (c Client) ModelReady(ctx context.Context, in *ModelReadyRequest, opts ...grpc.CallOption) (*ModelReadyResponse, error) {
	out := new(ModelReadyResponse)
	return out, c.cc.Invoke(ctx, ModelReadyMethod, in, out, opts...)
}

// ServerMetadata returns the server's name, version and extensions.
func (c Client) ServerMetadata(ctx context.Context, in *ServerMetadataRequest, opts ...grpc.CallOption) (*ServerMetadataResponse, error) {
	out := new(ServerMetadataResponse)
	return out, c.cc.Invoke(ctx, ServerMetadataMethod, in, out, opts...)
}

// ModelMetadata returns a model's versions, platform and tensors.
func (c Client) ModelMetadata(ctx context.Context, in *ModelMetadataRequest, opts ...grpc.CallOption) (*ModelMetadataResponse, error) {
	out := new(ModelMetadataResponse)
	return out, c.cc.Invoke(ctx, ModelMetadataMethod, in, out, opts...)
}

// ModelInfer runs one inference.
func (c Client) ModelInfer(ctx context.Context, in *ModelInferRequest, opts ...grpc.CallOption) (*ModelInferResponse, error) {
	out := new(ModelInferResponse)
	return out, c.cc.Invoke(ctx, ModelInferMethod, in, out, opts...)
}

// ModelStreamInfer opens Triton's bidirectional inference stream.
func (c Client) ModelStreamInfer(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[ModelInferRequest, ModelStreamInferResponse], error) {
	s, err := c.cc.NewStream(ctx, &ServiceDesc.Streams[0], ModelStreamInferMethod, opts...)
	if err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[ModelInferRequest, ModelStreamInferResponse]{ClientStream: s}, nil
}

// Server is what serves the service; embed [UnimplementedServer] for the
// RPCs not served.
type Server interface {
	ServerLive(context.Context, *ServerLiveRequest) (*ServerLiveResponse, error)
	ServerReady(context.Context, *ServerReadyRequest) (*ServerReadyResponse, error)
	ModelReady(context.Context, *ModelReadyRequest) (*ModelReadyResponse, error)
	ServerMetadata(context.Context, *ServerMetadataRequest) (*ServerMetadataResponse, error)
	ModelMetadata(context.Context, *ModelMetadataRequest) (*ModelMetadataResponse, error)
	ModelInfer(context.Context, *ModelInferRequest) (*ModelInferResponse, error)
	ModelStreamInfer(grpc.BidiStreamingServer[ModelInferRequest, ModelStreamInferResponse]) error
}

// UnimplementedServer answers UNIMPLEMENTED to every RPC.
type UnimplementedServer struct{}

func unimplemented(rpc string) error {
	return status.Errorf(codes.Unimplemented, "method %s not implemented", rpc)
}

// ServerLive answers UNIMPLEMENTED.
func (UnimplementedServer) ServerLive(context.Context, *ServerLiveRequest) (*ServerLiveResponse, error) {
	return nil, unimplemented("ServerLive")
}

// ServerReady answers UNIMPLEMENTED.
func (UnimplementedServer) ServerReady(context.Context, *ServerReadyRequest) (*ServerReadyResponse, error) {
	return nil, unimplemented("ServerReady")
}

// ModelReady answers UNIMPLEMENTED.
func (UnimplementedServer) ModelReady(context.Context, *ModelReadyRequest) (*ModelReadyResponse, error) {
	return nil, unimplemented("ModelReady")
}

// ServerMetadata answers UNIMPLEMENTED.
func (UnimplementedServer) ServerMetadata(context.Context, *ServerMetadataRequest) (*ServerMetadataResponse, error) {
	return nil, unimplemented("ServerMetadata")
}

// ModelMetadata answers UNIMPLEMENTED.
func (UnimplementedServer) ModelMetadata(context.Context, *ModelMetadataRequest) (*ModelMetadataResponse, error) {
	return nil, unimplemented("ModelMetadata")
}

// ModelInfer answers UNIMPLEMENTED.
func (UnimplementedServer) ModelInfer(context.Context, *ModelInferRequest) (*ModelInferResponse, error) {
	return nil, unimplemented("ModelInfer")
}

// ModelStreamInfer answers UNIMPLEMENTED.
func (UnimplementedServer) ModelStreamInfer(grpc.BidiStreamingServer[ModelInferRequest, ModelStreamInferResponse]) error {
	return unimplemented("ModelStreamInfer")
}

// Register registers srv on s under [ServiceName].
func Register(s grpc.ServiceRegistrar, srv Server) { s.RegisterService(&ServiceDesc, srv) }

// unary returns the grpc.MethodDesc of one unary RPC served by call.
func unary[Req, Resp any](name string, call func(Server, context.Context, *Req) (*Resp, error)) grpc.MethodDesc {
	full := "/" + ServiceName + "/" + name
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(Req)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return call(srv.(Server), ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: full}
			return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return call(srv.(Server), ctx, req.(*Req))
			})
		},
	}
}

// ServiceDesc describes the service for a grpc.Server, under the
// protocol's service name.
var ServiceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*Server)(nil),
	Methods: []grpc.MethodDesc{
		unary("ServerLive", Server.ServerLive),
		unary("ServerReady", Server.ServerReady),
		unary("ModelReady", Server.ModelReady),
		unary("ServerMetadata", Server.ServerMetadata),
		unary("ModelMetadata", Server.ModelMetadata),
		unary("ModelInfer", Server.ModelInfer),
	},
	Streams: []grpc.StreamDesc{{
		StreamName: "ModelStreamInfer",
		Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(Server).ModelStreamInfer(&grpc.GenericServerStream[ModelInferRequest, ModelStreamInferResponse]{ServerStream: stream})
		},
		ServerStreams: true,
		ClientStreams: true,
	}},
	Metadata: "goai/internal/oip/v1/inference.proto",
}
