package goai

import (
	"cmp"
	"context"
	"time"
)

// batchParallelism is the CallOption of WithBatchParallelism. A single call has
// no use for it; a batch call finds it among its options.
type batchParallelism int

func (batchParallelism) applyCall(*callConfig) {}

// WithBatchParallelism lets a batch call (the generated <Rpc>Batch
// methods) run at most n of its requests at once, instead of
// [DefaultBatchParallelism]. Other calls ignore it.
func WithBatchParallelism(n int) CallOption { return batchParallelism(n) }

// callOptionsInfo returns the parallelism that opts set (0 for the
// default) and the CallInfo that [Report] asks to fill, if any.
func callOptionsInfo(opts []CallOption) (parallel int, report *CallInfo) {
	var cfg callConfig
	for _, o := range opts {
		if p, ok := o.(batchParallelism); ok {
			parallel = int(p)
		}
		if o != nil {
			o.applyCall(&cfg)
		}
	}
	return parallel, cfg.report
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

// WithBatcherPolicy makes an generated micro-batcher (New<Rpc>Batcher) batch by p rather than by its
// model's [ModelDesc.Batching], field by field: every non-zero field of p
// replaces the model's. A later WithBatcherPolicy applies on top of an
// earlier one. [NewMicroBatcher], which takes its policy as an argument,
// ignores it.
func WithBatcherPolicy(p BatchingPolicy) MicroBatchOption { return batcherPolicy(p) }

// WithBatcherCallOptions makes an generated micro-batcher (New<Rpc>Batcher) pass opts to the call of
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

// batcher returns what a micro-batcher of m needs of the call path (see
// package internal/bridge): the batching policy as opts set it, each
// call's timeout, the call options of a batch whose deadline is a
// caller's own and of one whose deadline is a call's timeout, and the
// options for the MicroBatcher itself.
//
// The batch's context carries its callers' timeouts, so the batch's own
// call takes none of its own from the batch's start.
func (c *Client) batcher(m *MethodDesc, opts []MicroBatchOption) (policy BatchingPolicy, timeout time.Duration, untimed, timed []CallOption, rest []MicroBatchOption) {
	policy = c.desc.Batching
	rest = make([]MicroBatchOption, 0, len(opts)+2)
	for _, o := range opts {
		switch o := o.(type) {
		case batcherPolicy:
			policy = mergeBatching(policy, BatchingPolicy(o))
		case batcherCallOptions:
			untimed = append(untimed, o...)
		default:
			rest = append(rest, o)
		}
	}
	if h := c.hooks.Batch; h != nil {
		rest = append(rest, batchHook(m.FullMethod, c.methodModel(m), h))
	}
	cfg := c.plan(m).defaults
	for _, o := range untimed {
		if o != nil {
			o.applyCall(&cfg)
		}
	}
	// A batch is one call: one report would be written by every batch.
	untimed = append(untimed, callOptionFunc(func(c *callConfig) { c.report, c.timeout = nil, 0 }))
	timed = append(untimed[:len(untimed):len(untimed)], callOptionFunc(func(c *callConfig) { c.timeoutInContext = true }))
	return policy, cfg.timeout, untimed, timed, rest
}

// Batcher is a micro-batcher of one rpc, as a generated client's
// New<Rpc>Batcher returns it: concurrent calls of Do that arrive within
// the batching delay go to the server as one request, stacked along the
// batch dimension, and each caller gets its own item's result. It is safe
// for concurrent use; Close it before the client.
type Batcher[In, Out any] interface {
	// Do adds in to a batch and returns its output once the batch has
	// run, or an error: in's own (data that does not fit its tensor, at
	// once), its batch's, its context's, or one matching
	// [ErrBatcherClosed] or [ErrBatcherFull]. The call's timeout bounds it
	// from the moment it is called, the wait for a batch included.
	Do(ctx context.Context, in In) (Out, error)
	// Close sends every waiting call's batch at once, waits until each has
	// run and its callers have their answers, and returns nil; after it,
	// Do fails with ErrBatcherClosed.
	Close() error
}
