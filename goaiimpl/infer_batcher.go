package goaiimpl

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/goai-dev/goai"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// InferBatcher coalesces concurrent single calls of one method of an
// Open Inference Protocol model into batch requests: calls of
// [InferBatcher.Do] that arrive within the batching delay are stacked
// along the batch dimension into one ModelInfer call, and each caller gets
// the output of its own item. The generated clients make one per rpc of a
// model with a batch dimension, with New<Rpc>Batcher; it is a
// [goai.MicroBatcher] whose batch function is the request path of [InferBatch]
// for one request.
//
// Batches hold at most [goai.BatchingPolicy.MaxSize] items (and never more than
// the model's MaxBatchSize) and [goai.BatchingPolicy.MaxBytes] bytes of tensor
// data, and only items that agree in every dynamic dimension, as one
// request must; see [goai.MicroBatcher] for when a batch goes and what a caller
// whose context ends gets. Each batch is one call through the client's call path,
// under the method's policy and the options of
// [goai.WithBatcherCallOptions], with a context of the batcher's own that
// carries none of its callers' values.
//
// # Deadlines
//
// The call's timeout (CallPolicy.Timeout, or a [goai.WithTimeout] among the
// batcher's call options) bounds each call of Do from the moment Do is
// called: the wait in the queue, the batching delay and the batch's
// request all count against it, and Do returns DEADLINE_EXCEEDED once it
// has passed, or once its context's own deadline has if that is earlier.
// A batch's request runs until the latest of its callers' deadlines (none
// if one of them has none), so that no caller is failed by another's
// shorter timeout, and it is cancelled once every one of its callers has
// gone before it, so that it never runs for nobody. When that latest
// deadline is a caller's timeout rather than its context's deadline, its
// passing is the call's timeout, as for a single call: a server too slow
// for it counts against the model's breaker; a deadline of the callers'
// own does not.
//
// An InferBatcher is safe for concurrent use. Close it before the client
// whose [goai.Client] it calls through.
type InferBatcher[In, Out proto.Message] struct {
	caller  *goai.Client
	method  *goai.MethodDesc
	encode  EncodeFunc[In]
	decode  DecodeFunc[Out]
	batched bool
	opts    []goai.CallOption // each batch's call options, when its deadline is its callers' own
	timed   []goai.CallOption // each batch's call options, when its deadline is a caller's timeout
	timeout time.Duration
	mb      *goai.MicroBatcher[*batchItem, Out]
}

// batchItem is one call of [InferBatcher.Do]: its item, encoded alone,
// and the deadline of its call's timeout.
type batchItem struct {
	e       *Encoder
	timeout time.Time // zero: no timeout
}

// NewInferBatcher returns an [InferBatcher] of calls of method, one of the
// Methods of c's ModelDesc, encoding requests with encode and decoding
// responses with decode, as [Infer] does.
//
// Its batching policy is the ModelDesc's Batching, each non-zero field of
// a [goai.WithBatcherPolicy] replacing the model's; zero fields then take the
// defaults of [goai.NewMicroBatcher], the model's MaxBatchSize bounding the
// batch size. A model without a batch dimension gets one request per call.
// It reads [goai.WithBatcherPolicy], [goai.WithBatcherCallOptions] and the options
// of [goai.NewMicroBatcher], except [goai.WithItemBytes] and [goai.WithShapeKey]: it
// measures items itself, by their encoded tensors.
func NewInferBatcher[In, Out proto.Message](c *goai.Client, method *goai.MethodDesc, encode EncodeFunc[In], decode DecodeFunc[Out], opts ...goai.MicroBatchOption) *InferBatcher[In, Out] {
	desc := descOf(c)
	b := &InferBatcher[In, Out]{caller: c, method: method, encode: encode, decode: decode, batched: desc.MaxBatchSize > 0}
	policy, timeout, untimed, timed, rest := batcherSetup(c, method, opts)
	b.opts, b.timed, b.timeout = untimed, timed, timeout
	rest = append(rest, goai.WithItemBytes(itemBytes), goai.WithShapeKey(shapeKey))
	maxBatchSize := desc.MaxBatchSize
	if !b.batched {
		maxBatchSize = 1
	}
	b.mb = goai.NewMicroBatcher(policy, maxBatchSize, b.run, rest...)
	return b
}

var _ goai.Batcher[proto.Message, proto.Message] = (*InferBatcher[proto.Message, proto.Message])(nil)

// Do encodes in, adds it to a batch, and returns its output once the
// batch has run. Data in that does not fit its tensor, or a nil in, fails
// at once with INVALID_ARGUMENT, as for [Infer], before joining a batch,
// so that it cannot fail the calls it would have shared a request with.
// Otherwise Do returns as [goai.MicroBatcher.Do] does: the batch's error (the
// call's, or a [*goai.TensorError] about the response) or its context's, or an
// error matching [goai.ErrBatcherClosed] or [goai.ErrBatcherFull].
func (b *InferBatcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, contextError(err)
	}
	it := &batchItem{}
	if b.timeout > 0 {
		it.timeout = now(b.caller).Add(b.timeout)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, it.timeout)
		defer cancel()
	}
	if !in.ProtoReflect().IsValid() {
		return zero, status.Errorf(codes.InvalidArgument, "goai: %s: the request is nil", b.method.Name)
	}
	it.e = newEncoder(b.method.Inputs, 1, b.batched, false)
	b.encode(it.e, []In{in})
	if err := it.e.finish(); err != nil {
		return zero, err
	}
	return b.mb.Do(ctx, it)
}

// Close sends every waiting call's batch at once, waits until each has
// run and its callers have their answers, and returns nil; after it, Do
// fails with [goai.ErrBatcherClosed]. See [goai.MicroBatcher.Close].
func (b *InferBatcher[In, Out]) Close() error { return b.mb.Close() }

// run makes one ModelInfer call of the items, each encoded alone by Do,
// and decodes one output per item. ctx carries the latest of the items'
// deadlines; the call counts it as its timeout when it is one.
func (b *InferBatcher[In, Out]) run(ctx context.Context, items []*batchItem) ([]Out, error) {
	n := len(items)
	opts := b.opts
	if dl, ok := ctx.Deadline(); ok {
		for _, it := range items {
			if it.timeout.Equal(dl) {
				opts = b.timed
				break
			}
		}
	}
	e := newEncoder(b.method.Inputs, n, b.batched, false)
	// The batch's request is sent when infer returns: its stacked data
	// reuses pooled buffers. Each item's own data is not the caller's
	// memory but a copy Do made, for Do can return (its caller gone)
	// while the batch still runs.
	e.pooled = true
	defer e.release()
	for i := range e.tensors {
		t, first := &e.tensors[i], &items[0].e.tensors[i]
		t.items = n
		t.setShape(first.shape) // the batch's items agree in shape
		if n == 1 {
			t.raw = first.raw
			continue
		}
		for _, it := range items {
			t.want += len(it.e.tensors[i].raw)
		}
		t.reserve()
		for _, it := range items {
			t.raw = append(t.raw, it.e.tensors[i].raw...)
		}
	}
	req, err := e.request(b.method.Outputs)
	if err != nil {
		return nil, err
	}
	resp, err := infer(b.caller, ctx, b.method, req, opts)
	if err != nil {
		return nil, err
	}
	d, err := decodeResponse(b.method.Outputs, n, b.batched, resp)
	if err != nil {
		return nil, err
	}
	out := make([]Out, n)
	b.decode(d, out)
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}

// itemBytes is the tensor data size of an item encoded alone.
func itemBytes(it *batchItem) int {
	n := 0
	for i := range it.e.tensors {
		n += len(it.e.tensors[i].raw)
	}
	return n
}

// shapeKey identifies the dynamic dimensions of an item encoded alone, as
// the measuring Encoder of [InferBatch] does: items of equal keys can
// share a request.
func shapeKey(it *batchItem) string {
	var key []byte
	for i := range it.e.tensors {
		if t := &it.e.tensors[i]; t.dynamic >= 0 {
			key = binary.AppendUvarint(key, uint64(t.shape[t.dynamic]))
		}
	}
	return string(key)
}
