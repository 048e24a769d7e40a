package tfspb

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// The TF Serving gRPC services, as TF Serving registers them. They are
// fixed by the protocol, not by this package's proto package
// (goai.internal.tfs.v1): method paths carry them on the wire.
const (
	PredictionServiceName = "tensorflow.serving.PredictionService"
	ModelServiceName      = "tensorflow.serving.ModelService"
)

// Method paths of the RPCs a Predict client calls.
const (
	PredictMethod          = "/" + PredictionServiceName + "/Predict"
	GetModelMetadataMethod = "/" + PredictionServiceName + "/GetModelMetadata"
	GetModelStatusMethod   = "/" + ModelServiceName + "/GetModelStatus"
)

// SignatureDefMapTypeURL is the type URL TF Serving packs a model's
// signatures under, in GetModelMetadataResponse.metadata["signature_def"]:
// the real message name, tensorflow.serving.SignatureDefMap.
const SignatureDefMapTypeURL = "type.googleapis.com/tensorflow.serving.SignatureDefMap"

// SignatureDefKey is the metadata field, and the key of
// GetModelMetadataResponse.metadata, of a model's signatures.
const SignatureDefKey = "signature_def"

// UnpackSignatureDefMap decodes a into m. It accepts any type URL whose
// last segment, after its last '/', is tensorflow.serving.SignatureDefMap
// (Any allows any host and path before it) and decodes the bytes into this package's copy directly,
// never through protobuf-go's registry, where the real name may be
// registered by a team's own stubs or by nobody.
func UnpackSignatureDefMap(a *anypb.Any, m *SignatureDefMap) error {
	url := a.GetTypeUrl()
	const name = "tensorflow.serving.SignatureDefMap"
	if i := strings.LastIndexByte(url, '/'); i < 0 || url[i+1:] != name {
		return status.Errorf(codes.Internal, "metadata %q holds %q, not a %s", SignatureDefKey, url, name)
	}
	if err := proto.Unmarshal(a.GetValue(), m); err != nil {
		return status.Errorf(codes.Internal, "metadata %q: %v", SignatureDefKey, err)
	}
	return nil
}

// PackSignatureDefMap returns m packed in an Any under
// [SignatureDefMapTypeURL], as TF Serving packs it.
func PackSignatureDefMap(m *SignatureDefMap) (*anypb.Any, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &anypb.Any{TypeUrl: SignatureDefMapTypeURL, Value: b}, nil
}

// Client calls the RPCs over a connection, by their literal method paths.
type Client struct{ cc grpc.ClientConnInterface }

// NewClient returns a Client calling through cc.
func NewClient(cc grpc.ClientConnInterface) Client { return Client{cc: cc} }

// Predict runs a model's signature.
func (c Client) Predict(ctx context.Context, in *PredictRequest, opts ...grpc.CallOption) (*PredictResponse, error) {
	out := new(PredictResponse)
	return out, c.cc.Invoke(ctx, PredictMethod, in, out, opts...)
}

// GetModelMetadata returns a model's signatures.
func (c Client) GetModelMetadata(ctx context.Context, in *GetModelMetadataRequest, opts ...grpc.CallOption) (*GetModelMetadataResponse, error) {
	out := new(GetModelMetadataResponse)
	return out, c.cc.Invoke(ctx, GetModelMetadataMethod, in, out, opts...)
}

// GetModelStatus returns the state of a model's versions.
func (c Client) GetModelStatus(ctx context.Context, in *GetModelStatusRequest, opts ...grpc.CallOption) (*GetModelStatusResponse, error) {
	out := new(GetModelStatusResponse)
	return out, c.cc.Invoke(ctx, GetModelStatusMethod, in, out, opts...)
}

// PredictionServer serves the Predict and GetModelMetadata RPCs of
// PredictionService; the service's other RPCs (Classify, Regress,
// MultiInference) are not registered and answer UNIMPLEMENTED.
type PredictionServer interface {
	Predict(context.Context, *PredictRequest) (*PredictResponse, error)
	GetModelMetadata(context.Context, *GetModelMetadataRequest) (*GetModelMetadataResponse, error)
}

// ModelServer serves the GetModelStatus RPC of ModelService;
// HandleReloadConfigRequest is not registered and answers UNIMPLEMENTED.
type ModelServer interface {
	GetModelStatus(context.Context, *GetModelStatusRequest) (*GetModelStatusResponse, error)
}

// RegisterPredictionServer registers srv on s under
// [PredictionServiceName].
func RegisterPredictionServer(s grpc.ServiceRegistrar, srv PredictionServer) {
	s.RegisterService(&PredictionServiceDesc, srv)
}

// RegisterModelServer registers srv on s under [ModelServiceName].
func RegisterModelServer(s grpc.ServiceRegistrar, srv ModelServer) {
	s.RegisterService(&ModelServiceDesc, srv)
}

// unary returns the grpc.MethodDesc of one unary RPC of service, served by
// call on a server of type S.
func unary[S any, Req, Resp any](service, name string, call func(S, context.Context, *Req) (*Resp, error)) grpc.MethodDesc {
	full := "/" + service + "/" + name
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(Req)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return call(srv.(S), ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: full}
			return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
				return call(srv.(S), ctx, req.(*Req))
			})
		},
	}
}

// PredictionServiceDesc describes PredictionService's Predict and
// GetModelMetadata for a grpc.Server, under the protocol's service name.
var PredictionServiceDesc = grpc.ServiceDesc{
	ServiceName: PredictionServiceName,
	HandlerType: (*PredictionServer)(nil),
	Methods: []grpc.MethodDesc{
		unary(PredictionServiceName, "Predict", PredictionServer.Predict),
		unary(PredictionServiceName, "GetModelMetadata", PredictionServer.GetModelMetadata),
	},
	Metadata: "goai/internal/tfs/v1/predict.proto",
}

// ModelServiceDesc describes ModelService's GetModelStatus for a
// grpc.Server, under the protocol's service name.
var ModelServiceDesc = grpc.ServiceDesc{
	ServiceName: ModelServiceName,
	HandlerType: (*ModelServer)(nil),
	Methods: []grpc.MethodDesc{
		unary(ModelServiceName, "GetModelStatus", ModelServer.GetModelStatus),
	},
	Metadata: "goai/internal/tfs/v1/get_model_status.proto",
}
