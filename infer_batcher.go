package goai

import (
	"cmp"
	"context"
	"encoding/binary"
	"time"

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
// [MicroBatcher] whose batch function is the request path of [InferBatch]
// for one request.
//
// Batches hold at most [BatchingPolicy.MaxSize] items (and never more than
// the model's MaxBatchSize) and [BatchingPolicy.MaxBytes] bytes of tensor
// data, and only items that agree in every dynamic dimension, as one
// request must; see [MicroBatcher] for when a batch goes and what a caller
// whose context ends gets. Each batch is one call through [Caller.Invoke],
// under the method's policy and the options of
// [WithBatcherCallOptions], with a context of the batcher's own that
// carries none of its callers' values.
//
// # Deadlines
//
// The call's timeout (CallPolicy.Timeout, or a [WithTimeout] among the
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
// whose [Caller] it calls through.
type InferBatcher[In, Out proto.Message] struct {
	caller  *Caller
	method  *MethodDesc
	encode  EncodeFunc[In]
	decode  DecodeFunc[Out]
	batched bool
	opts    []CallOption // each batch's call options, when its deadline is its callers' own
	timed   []CallOption // each batch's call options, when its deadline is a caller's timeout
	timeout time.Duration
	mb      *MicroBatcher[*batchItem, Out]
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
// a [WithBatcherPolicy] replacing the model's; zero fields then take the
// defaults of [NewMicroBatcher], the model's MaxBatchSize bounding the
// batch size. A model without a batch dimension gets one request per call.
// It reads [WithBatcherPolicy], [WithBatcherCallOptions] and the options
// of [NewMicroBatcher], except [WithItemBytes] and [WithShapeKey]: it
// measures items itself, by their encoded tensors.
func NewInferBatcher[In, Out proto.Message](c *Caller, method *MethodDesc, encode EncodeFunc[In], decode DecodeFunc[Out], opts ...MicroBatchOption) *InferBatcher[In, Out] {
	desc := c.Desc()
	b := &InferBatcher[In, Out]{caller: c, method: method, encode: encode, decode: decode, batched: desc.MaxBatchSize > 0}
	policy := desc.Batching
	mbOpts := make([]MicroBatchOption, 0, len(opts)+2)
	for _, o := range opts {
		switch o := o.(type) {
		case batcherPolicy:
			policy = mergeBatching(policy, BatchingPolicy(o))
		case batcherCallOptions:
			b.opts = append(b.opts, o...)
		default:
			mbOpts = append(mbOpts, o)
		}
	}
	// The batch's context carries its callers' timeouts (see Do), so the
	// batch's own call takes none of its own from the batch's start.
	cfg := c.plan(method).defaults
	for _, o := range b.opts {
		if o != nil {
			o.applyCall(&cfg)
		}
	}
	b.timeout = cfg.timeout
	// A batch is one call: one report would be written by every batch.
	b.opts = append(b.opts, callOptionFunc(func(c *callConfig) { c.report, c.timeout = nil, 0 }))
	b.timed = append(b.opts[:len(b.opts):len(b.opts)], callOptionFunc(func(c *callConfig) { c.timeoutInContext = true }))
	mbOpts = append(mbOpts, WithItemBytes(itemBytes), WithShapeKey(shapeKey))
	maxBatchSize := desc.MaxBatchSize
	if !b.batched {
		maxBatchSize = 1
	}
	b.mb = NewMicroBatcher(policy, maxBatchSize, b.run, mbOpts...)
	return b
}

// Do encodes in, adds it to a batch, and returns its output once the
// batch has run. Data in that does not fit its tensor, or a nil in, fails
// at once with INVALID_ARGUMENT, as for [Infer], before joining a batch,
// so that it cannot fail the calls it would have shared a request with.
// Otherwise Do returns as [MicroBatcher.Do] does: the batch's error (the
// call's, or a [*TensorError] about the response) or its context's, or an
// error matching [ErrBatcherClosed] or [ErrBatcherFull].
func (b *InferBatcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, contextError(err)
	}
	it := &batchItem{}
	if b.timeout > 0 {
		it.timeout = b.caller.clock.Now().Add(b.timeout)
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
// fails with [ErrBatcherClosed]. See [MicroBatcher.Close].
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
	for i := range e.tensors {
		t, first := &e.tensors[i], &items[0].e.tensors[i]
		t.items, t.shape = n, first.shape // the batch's items agree in shape
		if n == 1 {
			t.raw = first.raw
			continue
		}
		size := 0
		for _, it := range items {
			size += len(it.e.tensors[i].raw)
		}
		t.raw = make([]byte, 0, size)
		for _, it := range items {
			t.raw = append(t.raw, it.e.tensors[i].raw...)
		}
	}
	req, err := e.request(b.method.Outputs)
	if err != nil {
		return nil, err
	}
	resp, err := modelInfer(ctx, b.caller, b.method, req, opts)
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

// batcherPolicy is the MicroBatchOption of WithBatcherPolicy, and
// batcherCallOptions that of WithBatcherCallOptions. A MicroBatcher has
// no use for them; NewInferBatcher finds them among its options.
type (
	batcherPolicy      BatchingPolicy
	batcherCallOptions []CallOption
)

func (batcherPolicy) applyMicroBatch(*microBatchConfig)      {}
func (batcherCallOptions) applyMicroBatch(*microBatchConfig) {}

// WithBatcherPolicy makes an [InferBatcher] batch by p rather than by its
// model's [ModelDesc.Batching], field by field: every non-zero field of p
// replaces the model's. A later WithBatcherPolicy applies on top of an
// earlier one. [NewMicroBatcher], which takes its policy as an argument,
// ignores it.
func WithBatcherPolicy(p BatchingPolicy) MicroBatchOption { return batcherPolicy(p) }

// WithBatcherCallOptions makes an [InferBatcher] pass opts to the call of
// every batch, such as [WithModelVersion] or [WithTimeout]; [Report] has
// no effect there. Options of later WithBatcherCallOptions come after
// earlier ones. [NewMicroBatcher] ignores it.
func WithBatcherCallOptions(opts ...CallOption) MicroBatchOption {
	return batcherCallOptions(append([]CallOption(nil), opts...))
}

// mergeBatching returns base with every non-zero field of over replacing
// base's.
func mergeBatching(base, over BatchingPolicy) BatchingPolicy {
	return BatchingPolicy{
		MaxSize:  cmp.Or(over.MaxSize, base.MaxSize),
		MaxDelay: cmp.Or(over.MaxDelay, base.MaxDelay),
		MaxBytes: cmp.Or(over.MaxBytes, base.MaxBytes),
		MaxQueue: cmp.Or(over.MaxQueue, base.MaxQueue),
	}
}
