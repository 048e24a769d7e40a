package goaiimpl

import (
	"context"
	"iter"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Generate returns the responses of one call of method, a streaming rpc
// of c's ModelDesc: the call of a decoupled model, which answers one request with any number of
// responses, as Triton's ModelStreamInfer carries them. Each range over
// the sequence makes one call: it encodes in with encode as [Infer] does,
// sends it through the client's call path, and yields each response
// decoded with decode, with a nil error, until the server marks the last.
// A failure is yielded once, as the last element, with the zero Out:
// data in that does not fit its tensor (INVALID_ARGUMENT, before anything
// is sent), the call's policies giving up, the server failing the request
// (a [*goai.ResponseError] when it says so in the stream), or a response
// that does not match the declared outputs ([*goai.TensorError], code
// INTERNAL, which ends the call). Breaking out of the loop, or ctx ending,
// ends the stream, which tells the server to cancel the request.
//
// Policies: see [goai.WithIdleTimeout]. The call's timeout bounds
// the whole stream, the loop's body included; retries and the fallback
// happen only before the first response; the limits and the breaker see
// one call; [goai.Report] fills CallInfo.Responses with the responses
// yielded. protoc-gen-goai emits a call of it for each rpc declared to
// return a stream.
func Generate[In, Out proto.Message](ctx context.Context, c *goai.Client, method *goai.MethodDesc, in In, encode EncodeFunc[In], decode DecodeFunc[Out], opts ...goai.CallOption) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		var zero Out
		if !in.ProtoReflect().IsValid() {
			yield(zero, status.Errorf(codes.InvalidArgument, "goai: %s: the request is nil", method.Name))
			return
		}
		batched := descOf(c).MaxBatchSize > 0
		e := newEncoder(method.Inputs, 1, batched, false)
		encode(e, []In{in})
		req, err := e.request(method.Outputs)
		if err != nil {
			yield(zero, err)
			return
		}
		out := make([]Out, 1)
		err = inferStream(c, ctx, method, req, opts, func(resp *wire.Response) (bool, error) {
			d, err := decodeResponse(method.Outputs, 1, batched, resp)
			if err != nil {
				return false, err
			}
			decode(d, out)
			if d.err != nil {
				return false, d.err
			}
			return yield(out[0], nil), nil
		})
		if err != nil {
			yield(zero, err)
		}
	}
}

// ServeFakeStream serves one request to a decoupled model in a generated
// fake: it decodes the request's inputs as [ServeFake] does, into one
// message (a decoupled model serves one item per request), and calls
// serve with it and a function that sends one response: it encodes the
// message with encode and hands the tensors to send, which inferencetest
// gives the model (see inferencetest.StreamFunc). serve's error is
// returned unchanged, as the request's failure.
//
// A batch of other than one item fails with INVALID_ARGUMENT; a nil
// response, or one that does not fit its tensors, makes send fail with
// INTERNAL without sending it, for serve to return.
func ServeFakeStream[In, Out proto.Message](ctx context.Context, desc *goai.ModelDesc, method *goai.MethodDesc, inputs []tensor.Tensor, batch int, decode DecodeFunc[In], encode EncodeFunc[Out], serve func(context.Context, In, func(Out) error) error, send func([]tensor.Tensor, bool) error) error {
	batched := desc.MaxBatchSize > 0
	if !batched {
		batch = 1
	}
	if batch != 1 {
		return status.Errorf(codes.InvalidArgument, "goai: fake %s: a batch of %d items; a decoupled model serves one item per request", method.Name, batch)
	}
	d, err := decodeTensors(method.Inputs, 1, batched, inputs, false)
	if err != nil {
		return err
	}
	in := make([]In, 1)
	decode(d, in)
	if d.err != nil {
		return d.err
	}
	return serve(ctx, in[0], func(y Out) error {
		if !y.ProtoReflect().IsValid() {
			return status.Errorf(codes.Internal, "goai: fake %s sent nil", method.Name)
		}
		e := newEncoder(method.Outputs, 1, batched, true)
		encode(e, []Out{y})
		ts, err := e.tensorList()
		if err != nil {
			return err
		}
		return send(ts, false)
	})
}
