package goaiimpl

import (
	"context"
	"github.com/goai-dev/goai"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// EncodeFunc appends the tensors of every message of batch to e, item by
// item, in the order of the []TensorDesc that e was made for: the message's
// own <Message>Tensors. protoc-gen-goai generates one per message that a
// generated client sends (or, for a fake, answers); it is straight-line
// code calling [AppendTensor] and its siblings.
type EncodeFunc[M proto.Message] func(e *Encoder, batch []M)

// DecodeFunc sets every element of batch to a new message holding the
// tensors of the same batch item in d, in the order of the message's
// <Message>Tensors. protoc-gen-goai generates one per message that a
// generated client receives (or, for a fake, is sent).
type DecodeFunc[M proto.Message] func(d *Decoder, batch []M)

// Infer makes one call of method, one of the Methods of c's ModelDesc, as
// the generated clients do: it encodes in with encode into a
// ModelInferRequest, calls the model through the client's call path (each
// attempt naming the model the attempt is for), and decodes the response
// with decode.
//
// When the model has a batch dimension (ModelDesc.MaxBatchSize > 0) the
// request is a batch of one item. Requested outputs are exactly the
// method's Outputs.
//
// Data in that does not fit its tensor fails with a [*goai.TensorError] of code
// INVALID_ARGUMENT before anything is sent; a nil in fails with
// INVALID_ARGUMENT too. A response that lacks an output, or has one of
// another datatype or shape than declared, or data that does not match its
// shape, fails with a [*goai.TensorError] of code INTERNAL; the response is
// decoded after Invoke returns, so such an error is not retried and does
// not count against the model's breaker. Responses with typed contents are
// decoded as well as raw ones; a response that mixes the two, has a number
// of raw_output_contents other than its outputs, or names an output twice
// fails the same way.
func Infer[In, Out proto.Message](ctx context.Context, c *goai.Client, method *goai.MethodDesc, in In, encode EncodeFunc[In], decode DecodeFunc[Out], opts ...goai.CallOption) (Out, error) {
	var zero Out
	if !in.ProtoReflect().IsValid() {
		return zero, status.Errorf(codes.InvalidArgument, "goai: %s: the request is nil", method.Name)
	}
	batched := descOf(c).MaxBatchSize > 0
	// One allocation holds the call's encoding and decoding state.
	call := new(inferCall[In, Out])
	e, d := &call.enc, &call.dec
	e.init(method.Inputs, 1, batched, false)
	// The request is sent, and the transport done with it, before Infer
	// returns: in's memory can be sent as it is, and anything copied is
	// copied into buffers reused across calls.
	e.alias, e.pooled = true, true
	defer e.release()
	call.in[0] = in
	encode(e, call.in[:])
	if err := e.requestInto(&call.req, method.Outputs); err != nil {
		return zero, err
	}
	resp, err := infer(c, ctx, method, &call.req, opts)
	if err != nil {
		return zero, err
	}
	if err := d.readResponse(method.Outputs, 1, batched, resp); err != nil {
		return zero, err
	}
	decode(d, call.out[:])
	if d.err != nil {
		return zero, d.err
	}
	return call.out[0], nil
}

// inferCall is the state of one call of [Infer].
type inferCall[In, Out proto.Message] struct {
	in  [1]In
	out [1]Out
	req wire.Request
	enc Encoder
	dec Decoder
}

// InferBatch is [Infer] for many messages: it returns the responses to in,
// in the order of in. Items are stacked along the batch dimension into as
// few requests as the model's limits allow: at most
// [goai.BatchingPolicy.MaxSize] items (default ModelDesc.MaxBatchSize) and
// [goai.BatchingPolicy.MaxBytes] bytes of tensor data (default
// [goai.DefaultMaxRequestBytes]) each, items whose dynamic dimensions differ in
// separate requests (see [PlanBatches]). A model without a batch dimension
// gets one request per item. The requests run at most
// [goai.DefaultBatchParallelism] at a time ([goai.WithBatchParallelism]), each a call
// of its own through the client's call path; the first failure cancels the rest
// and is returned.
//
// Every item is encoded before any request is sent, so data that does not
// fit its tensor fails the whole call with INVALID_ARGUMENT and sends
// nothing; the error's [goai.TensorError.Item] is the item's index in in. An
// empty in returns an empty slice without a call. [goai.Report] describes the
// batch call as a whole: attempts summed, the model of the last request,
// the time taken.
func InferBatch[In, Out proto.Message](ctx context.Context, c *goai.Client, method *goai.MethodDesc, in []In, encode EncodeFunc[In], decode DecodeFunc[Out], opts ...goai.CallOption) ([]Out, error) {
	if len(in) == 0 {
		return []Out{}, nil
	}
	for i, x := range in {
		if !x.ProtoReflect().IsValid() {
			return nil, status.Errorf(codes.InvalidArgument, "goai: %s: item %d of the batch is nil", method.Name, i)
		}
	}
	start := now(c)
	desc := descOf(c)
	batched := desc.MaxBatchSize > 0
	maxItems := 1
	if batched {
		maxItems = desc.MaxRequestItems()
	}
	m := newMeasurer(method.Inputs, len(in))
	encode(m, in)
	sizes, err := m.measured()
	if err != nil {
		return nil, err
	}
	groups := PlanBatches(sizes, maxItems, desc.Batching.MaxBytes)

	reqs := make([]*wire.Request, len(groups))
	encoders := make([]Encoder, len(groups))
	// Every request has been sent once RunBatches returns, and in's
	// memory is the caller's until InferBatch does: a request of one item
	// can send it as it is, and the others' data reuse pooled buffers.
	defer func() {
		for g := range encoders {
			encoders[g].release()
		}
	}()
	groupOf := make([]int, len(in)) // the group of each request's first item
	for g, items := range groups {
		batch := make([]In, len(items))
		for j, i := range items {
			batch[j] = in[i]
		}
		e := &encoders[g]
		e.init(method.Inputs, len(items), batched, false)
		e.alias, e.pooled = len(items) == 1, true
		e.index = items
		encode(e, batch)
		if reqs[g], err = e.request(method.Outputs); err != nil {
			return nil, err
		}
		groupOf[items[0]] = g
	}

	parallel, report := callOptionsInfo(opts)
	var infos []goai.CallInfo
	if report != nil {
		infos = make([]goai.CallInfo, len(groups))
	}
	out := make([]Out, len(in))
	err = RunBatches(ctx, groups, parallel, func(ctx context.Context, items []int) error {
		g := groupOf[items[0]]
		req := reqs[g]
		reqs[g] = nil // sent once; let it go with the call
		callOpts := opts
		if report != nil {
			callOpts = append(opts[:len(opts):len(opts)], goai.Report(&infos[g]))
		}
		resp, err := infer(c, ctx, method, req, callOpts)
		if err != nil {
			return err
		}
		d, err := decodeResponse(method.Outputs, len(items), batched, resp)
		if err != nil {
			return err
		}
		d.index = items
		part := make([]Out, len(items))
		decode(d, part)
		if d.err != nil {
			return d.err
		}
		for j, i := range items {
			out[i] = part[j]
		}
		return nil
	})
	if report != nil {
		*report = goai.CallInfo{Latency: now(c).Sub(start)}
		for _, info := range infos {
			report.Attempts += info.Attempts
			report.Fallback = report.Fallback || info.Fallback
			if info.Model != (goai.ModelRef{}) {
				report.Model = info.Model
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ServeFake serves one ModelInfer request in a generated fake: it decodes
// the request's inputs, checked as [Infer] checks a response, into one
// message per batch item with decode, calls serve on each in turn, and
// encodes the answers with encode into the response's outputs. inputs and
// batch are those of the request (for inferencetest, Request.Inputs and
// Request.BatchSize; batch is ignored when the model has no batch
// dimension).
//
// An error from serve is returned unchanged, so a gRPC status reaches the
// client as it is. A batch above the model's MaxBatchSize fails with
// INVALID_ARGUMENT; so do inputs that do not match their declaration (a
// missing or repeated name included, or text that is not UTF-8 for a
// string field that requires it), with a [*goai.TensorError]; answers that do not fit their
// tensors, or that disagree in a dynamic dimension across the batch, with
// one of code INTERNAL.
func ServeFake[In, Out proto.Message](ctx context.Context, desc *goai.ModelDesc, method *goai.MethodDesc, inputs []tensor.Tensor, batch int, decode DecodeFunc[In], encode EncodeFunc[Out], serve func(context.Context, In) (Out, error)) ([]tensor.Tensor, error) {
	batched := desc.MaxBatchSize > 0
	if !batched {
		batch = 1
	}
	if batch < 0 || batch > max(desc.MaxBatchSize, 1) {
		// Every item costs a message, whatever data it holds: a batch of
		// 2^31 empty items must not be believed.
		return nil, status.Errorf(codes.InvalidArgument, "goai: fake %s: a batch of %d items, above the model's max_batch_size %d", method.Name, batch, desc.MaxBatchSize)
	}
	d, err := decodeTensors(method.Inputs, batch, batched, inputs, false)
	if err != nil {
		return nil, err
	}
	in := make([]In, batch)
	decode(d, in)
	if d.err != nil {
		return nil, d.err
	}
	out := make([]Out, batch)
	for i, x := range in {
		y, err := serve(ctx, x)
		if err != nil {
			return nil, err
		}
		if !y.ProtoReflect().IsValid() {
			return nil, status.Errorf(codes.Internal, "goai: fake %s returned nil for item %d", method.Name, i)
		}
		out[i] = y
	}
	e := newEncoder(method.Outputs, batch, batched, true)
	encode(e, out)
	return e.tensorList()
}
