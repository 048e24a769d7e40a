package goai

import (
	"fmt"
	"reflect"
)

// MicroBatchOption configures a [MicroBatcher] at [NewMicroBatcher].
type MicroBatchOption interface{ applyMicroBatch(*microBatchConfig) }

type microBatchOptionFunc func(*microBatchConfig)

func (f microBatchOptionFunc) applyMicroBatch(c *microBatchConfig) { f(c) }

// microBatchConfig holds the options of a MicroBatcher. The item functions
// are kept untyped, since an option is not generic, and checked against
// the batcher's item type by NewMicroBatcher.
type microBatchConfig struct {
	itemBytes any // func(In) int
	shapeKey  any // func(In) string
	clock     Clock
	failFast  bool
	inFlight  int
	// batchEvent, if set, is called as each batch starts; set by a
	// generated micro-batcher from its client's Hooks.Batch, with the
	// method and model filled in.
	batchEvent func(BatchEvent)
}

// batchHook is the MicroBatchOption by which a client's micro-batcher
// reports its batches to the client's [Hooks.Batch].
func batchHook(method string, model ModelRef, h func(BatchEvent)) MicroBatchOption {
	return microBatchOptionFunc(func(c *microBatchConfig) {
		c.batchEvent = func(e BatchEvent) {
			e.Method, e.Model = method, model
			h(e)
		}
	})
}

// WithItemBytes makes a [MicroBatcher] measure each item with f, in tensor
// bytes, so that no batch holds more than [BatchingPolicy.MaxBytes]; an item
// larger than that goes alone. Without it MaxBytes does not apply. f runs
// once per call, on the caller's goroutine. In must be the batcher's item
// type: [NewMicroBatcher] panics otherwise.
func WithItemBytes[In any](f func(In) int) MicroBatchOption {
	return microBatchOptionFunc(func(c *microBatchConfig) {
		c.itemBytes = nil
		if f != nil {
			c.itemBytes = f
		}
	})
}

// WithShapeKey makes a [MicroBatcher] put items in the same batch only when
// f gives them the same key, such as the sizes of their dynamic dimensions
// ("7x128"), like [BatchItem.Shape]. Without it every item may share a
// batch with any other. f runs once per call, on the caller's goroutine. In
// must be the batcher's item type: [NewMicroBatcher] panics otherwise.
func WithShapeKey[In any](f func(In) string) MicroBatchOption {
	return microBatchOptionFunc(func(c *microBatchConfig) {
		c.shapeKey = nil
		if f != nil {
			c.shapeKey = f
		}
	})
}

// WithBatcherClock makes a [MicroBatcher] time [BatchingPolicy.MaxDelay]
// with clk instead of [SystemClock]. Callers' deadlines, and the deadline of
// the context a batch runs with, still expire by the real clock.
func WithBatcherClock(clk Clock) MicroBatchOption {
	return microBatchOptionFunc(func(c *microBatchConfig) { c.clock = clk })
}

// WithBatcherFailFast makes [MicroBatcher.Do] fail at once with
// [ErrBatcherFull] when the queue is full (failFast true), instead of
// waiting for room, which is the default.
func WithBatcherFailFast(failFast bool) MicroBatchOption {
	return microBatchOptionFunc(func(c *microBatchConfig) { c.failFast = failFast })
}

// WithBatcherInFlight makes a [MicroBatcher] run at most n batches at once;
// n <= 0 means [DefaultBatchParallelism]. Batches ready while n run wait,
// still taking calls until full, and count against the queue.
func WithBatcherInFlight(n int) MicroBatchOption {
	return microBatchOptionFunc(func(c *microBatchConfig) { c.inFlight = n })
}

// itemFunc returns f as the function type F, or panics naming the option
// whose function does not take the batcher's item type.
func itemFunc[F any](option string, f any) F {
	var zero F
	if f == nil {
		return zero
	}
	g, ok := f.(F)
	if !ok {
		panic(fmt.Sprintf("goai: NewMicroBatcher: %s got a %T, want a %v", option, f, reflect.TypeFor[F]()))
	}
	return g
}
