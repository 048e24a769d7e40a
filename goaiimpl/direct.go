package goaiimpl

import (
	"context"
	"fmt"
	"github.com/goai-dev/goai"

	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// DirectRPC is an rpc of a protoc-gen-go-grpc client, such as the method
// value stub.PushParams of a ModelSyncClient: what [CallDirect] calls for
// each attempt.
type DirectRPC[In, Out proto.Message] func(ctx context.Context, in In, opts ...grpc.CallOption) (Out, error)

// CallDirect makes one call of method, an rpc of a [goai.ProtocolDirect]
// service and one of the Methods of c's ModelDesc, as the generated
// clients of such services do: the service is itself the model's gRPC
// API, so each attempt calls rpc, the protoc-gen-go-grpc stub's method,
// with in as it is, through the client's call path. Its policies apply as for any
// call, with the defaults of the direct protocol: a call is retried only
// if its [goai.CallPolicy.Idempotent] is true (or [goai.WithIdempotent] says so).
// The request names no model on the wire, so version routes and the
// fallback model change nothing but the breaker that counts the attempt;
// the generator refuses a fallback on a direct service.
//
// Before anything is sent, a nil in fails with INVALID_ARGUMENT, and then
// check, unless nil, vets in: the generated clients pass a function that
// checks the length of every tensor field reachable from the request with
// [CheckTensorLength] and [CheckRawTensorLength]. Its error is returned
// unchanged, without a call, a retry or a mark on the breaker.
func CallDirect[In, Out proto.Message](ctx context.Context, c *goai.Client, method *goai.MethodDesc, in In, check func(In) error, rpc DirectRPC[In, Out], opts ...goai.CallOption) (Out, error) {
	var zero Out
	if !in.ProtoReflect().IsValid() {
		return zero, status.Errorf(codes.InvalidArgument, "goai: %s: the request is nil", method.Name)
	}
	if check != nil {
		if err := check(in); err != nil {
			return zero, err
		}
	}
	var out Out
	err := invokeDirect(c, ctx, method, func(ctx context.Context, callOpts []grpc.CallOption) error {
		r, err := rpc(ctx, in, callOpts...)
		if err != nil {
			return err
		}
		out = r
		return nil
	}, opts)
	if err != nil {
		return zero, err
	}
	return out, nil
}

// CheckTensorLength checks that n elements, the length of the repeated
// field that holds the tensor desc describes, fit the tensor's shape: n
// must be the product of its dimensions or, when one of them is -1, a
// multiple of the product of the others. A nil shape takes any length. It
// returns nil, or a [*goai.TensorError] for the whole tensor (Item -1), of code
// INVALID_ARGUMENT, whose Err matches [tensor.ErrShape]. It allocates
// nothing when n fits.
func CheckTensorLength(desc *goai.TensorDesc, n int) error {
	if desc.Shape == nil {
		return nil // a vector of any length
	}
	known, dynamic := int64(1), false
	for _, d := range desc.Shape {
		switch {
		case d == -1 && !dynamic:
			dynamic = true
		case d < 1 || d > tensor.MaxElements || known*d > tensor.MaxElements:
			return shapeError(desc, n) // tensor.InferShape says why
		default:
			known *= d
		}
	}
	if dynamic && int64(n)%known == 0 || !dynamic && int64(n) == known {
		return nil
	}
	return shapeError(desc, n)
}

// CheckRawTensorLength checks size bytes of raw little-endian data, held in
// a singular bytes field, against the tensor desc describes: they must be a
// whole number of elements of its fixed-size datatype, whose count fits the
// shape as for [CheckTensorLength]. A datatype without a fixed size
// (BYTES) fails. Errors are [*goai.TensorError]s of code INVALID_ARGUMENT.
func CheckRawTensorLength(desc *goai.TensorDesc, size int) error {
	elem := desc.DType.Size()
	switch {
	case elem == 0:
		return &goai.TensorError{Tensor: desc.Name, Item: -1, Err: tensor.ErrDType,
			Message: fmt.Sprintf("raw data needs a fixed-size datatype, not %v", desc.DType)}
	case size%elem != 0:
		return &goai.TensorError{Tensor: desc.Name, Item: -1, Err: tensor.ErrLength,
			Message: fmt.Sprintf("%d bytes are not a whole number of %v elements of %d bytes", size, desc.DType, elem)}
	}
	return CheckTensorLength(desc, size/elem)
}

// shapeError is the error of n elements that do not fit desc's shape.
func shapeError(desc *goai.TensorDesc, n int) error {
	shape := desc.Shape
	_, err := tensor.InferShape(shape, n)
	if err == nil { // only a malformed shape gets here with n fitting
		err = tensor.ErrShape
	}
	return &goai.TensorError{Tensor: desc.Name, Item: -1, Err: err,
		Message: fmt.Sprintf("%d elements do not fit shape %v", n, shape)}
}
