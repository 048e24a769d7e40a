package goai

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
)

// DefaultMicroBatchSize is the most items of one micro-batch when neither
// the [BatchingPolicy] nor the model sets a size.
const DefaultMicroBatchSize = 64

// DefaultMicroBatchDelay is how long the first call of a micro-batch waits
// for others when [BatchingPolicy.MaxDelay] is 0.
const DefaultMicroBatchDelay = time.Millisecond

// Errors with which a [MicroBatcher] ends a call on its own. Like the
// sentinels of the call path, each is matched through [errors.Is] and the
// error also keeps the gRPC code named on it.
var (
	// ErrBatcherClosed is matched when [MicroBatcher.Do] was called after,
	// or was still waiting for room in the queue at, [MicroBatcher.Close].
	// Code UNAVAILABLE.
	ErrBatcherClosed = errors.New("goai: micro-batcher is closed")
	// ErrBatcherFull is matched when a call found the micro-batcher's queue
	// full and failed fast ([WithBatcherFailFast]), or its context ended
	// while it waited for room; in the latter case the error has the
	// context's code and matches its error too. Code RESOURCE_EXHAUSTED.
	ErrBatcherFull = errors.New("goai: micro-batcher queue is full")
	// ErrBatchPanic is matched when a micro-batch's function panicked; every
	// call of the batch fails with it. If the panic value is an error, the
	// error matches it too. Code INTERNAL.
	ErrBatchPanic = errors.New("goai: micro-batch function panicked")
	// ErrBatchOutputs is matched when a micro-batch's function returned no
	// error but not one output per item; every call of the batch fails with
	// it. Code INTERNAL.
	ErrBatchOutputs = errors.New("goai: micro-batch function returned the wrong number of outputs")
)

// errBatchAbandoned is the cause with which a running batch's context is
// cancelled when every one of its callers has gone.
var errBatchAbandoned = errors.New("goai: every caller of the micro-batch has gone")

// MicroBatcher coalesces concurrent single calls into batches: calls that
// arrive close together are run as one call of a batch function, and each
// caller gets its own item's output. Create one with [NewMicroBatcher] and
// call [MicroBatcher.Do] from any number of goroutines; stop it with
// [MicroBatcher.Close].
//
// # Batches
//
// Calls gather in a pending batch, one per shape key ([WithShapeKey]):
// items of different keys never share a batch. A pending batch becomes due
// when it holds MaxSize items, when the next item would take it over
// MaxBytes ([WithItemBytes]), or MaxDelay after its first call arrived,
// whichever comes first. Due batches run in the order they became due, at
// most [WithBatcherInFlight] at once, so a slow batch does not hold up the
// others. A batch that is due but waits for a free run slot takes further
// calls of its key until it is full, which is when batching pays most.
//
// # Callers
//
// Each call gets exactly one result: its item's output, its batch's error,
// or an error of its own. A caller whose context ends while its call
// waits for a batch to start is taken out of the batch and gets its
// context's error at once; one whose context ends while its batch runs
// gets its context's error at once too, and the batch runs on for the
// others. The batch function gets a context of its own, not any caller's:
// it carries the latest deadline among the batch's callers when the batch
// starts (none if any of them has none), and it is cancelled once every
// caller of the batch has gone, except when the last goes at that
// deadline, which then ends the context by itself. It carries no caller's
// values.
//
// # Queue
//
// Calls waiting for their batch to start, due or not, count against
// MaxQueue. When it is full, Do waits for room, honouring its context, or
// with [WithBatcherFailFast] fails at once with [ErrBatcherFull].
//
// A MicroBatcher is safe for concurrent use.
type MicroBatcher[In, Out any] struct {
	run       func(context.Context, []In) ([]Out, error)
	itemBytes func(In) int    // nil: items have no size
	shapeKey  func(In) string // nil: one key for all
	clock     Clock
	maxSize   int
	maxBytes  int64
	delay     time.Duration // <= 0: a batch is due as soon as it opens
	failFast  bool
	inFlight  int
	onBatch   func(BatchEvent) // nil: no hook

	queue   chan struct{} // a token per queued call; its capacity is MaxQueue
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup

	mu      sync.Mutex // guards the fields below
	closed  bool
	open    map[string]*microBatch[In, Out] // the batch each key's calls join
	due     []*microBatch[In, Out]          // due batches, oldest first
	running int
}

// callState is where a call of a MicroBatcher stands. Only the batcher's
// mutex holder reads or changes it.
type callState uint8

const (
	callQueued  callState = iota // in a batch that has not started
	callRunning                  // in a running batch
	callDone                     // answered, or its caller has gone
)

// microCall is one call of [MicroBatcher.Do].
type microCall[In, Out any] struct {
	in       In
	bytes    int64
	deadline time.Time // zero: none
	batch    *microBatch[In, Out]
	state    callState
	done     chan struct{} // closed when out or err is set
	out      Out
	err      error
}

// microBatch is a batch of calls, from its first call until it has run.
type microBatch[In, Out any] struct {
	key   string
	calls []*microCall[In, Out] // fixed once the batch starts
	bytes int64
	born  time.Time
	isDue bool                    // in the batcher's due list, or started
	timer context.CancelFunc      // stops the MaxDelay timer; nil once stopped
	live  int                     // callers still waiting, once started
	stop  context.CancelCauseFunc // cancels the batch's context; set when it starts
	until time.Time               // the deadline of the batch's context; zero: none
}

// NewMicroBatcher returns a MicroBatcher that runs batches of calls with
// run, which must return one output per item, in item order, or an error.
// run may be called from several goroutines at once; it must not keep
// items after it returns.
//
// policy sets the batches; maxBatchSize is the model's own limit (see
// [ModelDesc.MaxBatchSize]), 0 for none. Zero fields of policy mean:
//
//   - MaxSize: maxBatchSize, or [DefaultMicroBatchSize] if that is 0 too;
//     a MaxSize above a non-zero maxBatchSize is lowered to it.
//   - MaxDelay: [DefaultMicroBatchDelay]. A negative MaxDelay waits for
//     nothing: a batch is due as soon as its first call arrives and takes
//     calls while it waits for a free run slot, so batches grow only as
//     the batches running hold them up.
//   - MaxBytes: [DefaultMaxRequestBytes]; it applies only with
//     [WithItemBytes].
//   - MaxQueue: 4 × MaxSize, at most math.MaxInt.
//
// Every other value is valid and none can make the batcher panic, block
// for good or overflow: a negative MaxSize, MaxBytes or MaxQueue counts as
// 0, and large ones as large as they say (a MaxDelay of years waits for
// full batches, and a call for its context).
//
// It reads the options [WithItemBytes], [WithShapeKey], [WithBatcherClock],
// [WithBatcherFailFast] and [WithBatcherInFlight], and panics if run is nil
// or an item function does not take In.
func NewMicroBatcher[In, Out any](policy BatchingPolicy, maxBatchSize int, run func(ctx context.Context, items []In) ([]Out, error), opts ...MicroBatchOption) *MicroBatcher[In, Out] {
	if run == nil {
		panic("goai: NewMicroBatcher: run is nil")
	}
	var cfg microBatchConfig
	for _, o := range opts {
		if o != nil {
			o.applyMicroBatch(&cfg)
		}
	}
	b := &MicroBatcher[In, Out]{
		run:       run,
		itemBytes: itemFunc[func(In) int]("WithItemBytes", cfg.itemBytes),
		shapeKey:  itemFunc[func(In) string]("WithShapeKey", cfg.shapeKey),
		clock:     cfg.clock,
		maxBytes:  policy.MaxBytes,
		delay:     policy.MaxDelay,
		failFast:  cfg.failFast,
		inFlight:  cfg.inFlight,
		onBatch:   cfg.batchEvent,
		closing:   make(chan struct{}),
		open:      map[string]*microBatch[In, Out]{},
	}
	if b.clock == nil {
		b.clock = SystemClock()
	}
	b.maxSize = batchItems(policy.MaxSize, maxBatchSize)
	if b.maxBytes <= 0 {
		b.maxBytes = DefaultMaxRequestBytes
	}
	if b.delay == 0 {
		b.delay = DefaultMicroBatchDelay
	}
	if b.inFlight <= 0 {
		b.inFlight = DefaultBatchParallelism
	}
	maxQueue := policy.MaxQueue
	if maxQueue <= 0 {
		maxQueue = math.MaxInt
		if b.maxSize <= math.MaxInt/4 {
			maxQueue = 4 * b.maxSize
		}
	}
	// A token is struct{}: even a queue of math.MaxInt allocates nothing.
	b.queue = make(chan struct{}, maxQueue)
	return b
}

// Do adds in to a batch, waits for the batch to run, and returns in's
// output. It returns early, with an error matching ctx.Err() and carrying
// its code, when ctx ends first. If the batch fails, Do returns the batch
// function's error unchanged, or an error matching [ErrBatchPanic] or
// [ErrBatchOutputs]. It fails with [ErrBatcherFull] when the queue is full
// and the batcher fails fast (or ctx ends while Do waits for room), and
// with [ErrBatcherClosed] after [MicroBatcher.Close].
func (b *MicroBatcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	var zero Out
	if err := ctx.Err(); err != nil {
		return zero, contextError(err)
	}
	c := &microCall[In, Out]{in: in, done: make(chan struct{})}
	if b.itemBytes != nil {
		c.bytes = max(int64(b.itemBytes(in)), 0)
	}
	var key string
	if b.shapeKey != nil {
		key = b.shapeKey(in)
	}
	c.deadline, _ = ctx.Deadline()
	if err := b.admit(ctx); err != nil {
		return zero, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.queue
		return zero, closedError()
	}
	b.enqueueLocked(key, c)
	b.mu.Unlock()

	select {
	case <-c.done:
		return c.out, c.err
	case <-ctx.Done():
	}
	return b.leave(ctx, c)
}

// Close makes the batcher reject new calls with [ErrBatcherClosed], and
// calls still waiting for room in the queue too; it sends every queued
// call's batch at once, without waiting for MaxDelay, waits until every
// batch has run and its callers have their answers, and returns nil. Calls
// of Close after the first also wait. Close does not cancel running
// batches: their contexts end as documented on [MicroBatcher].
func (b *MicroBatcher[In, Out]) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.closing)
		pending := make([]*microBatch[In, Out], 0, len(b.open))
		for _, g := range b.open {
			pending = append(pending, g)
		}
		slices.SortFunc(pending, func(x, y *microBatch[In, Out]) int { return x.born.Compare(y.born) })
		for _, g := range pending {
			b.sealLocked(g)
		}
		b.dispatchLocked()
	}
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

// admit takes a place in the queue for one call, waiting for room unless
// the batcher fails fast.
func (b *MicroBatcher[In, Out]) admit(ctx context.Context) error {
	select {
	case <-b.closing:
		return closedError()
	default:
	}
	select {
	case b.queue <- struct{}{}:
		return nil
	default:
	}
	if b.failFast {
		return newCallError(codes.ResourceExhausted, ErrBatcherFull.Error(), ErrBatcherFull)
	}
	select {
	case b.queue <- struct{}{}:
		return nil
	case <-ctx.Done():
		return waitError(ctx, ErrBatcherFull)
	case <-b.closing:
		return closedError()
	}
}

// enqueueLocked adds c to the open batch of key, opening one if needed,
// and starts what can start.
func (b *MicroBatcher[In, Out]) enqueueLocked(key string, c *microCall[In, Out]) {
	g := b.open[key]
	// An open batch holds less than maxBytes (it is sealed on reaching
	// it), so the subtraction cannot overflow where a sum could.
	if g != nil && len(g.calls) > 0 && c.bytes > b.maxBytes-g.bytes {
		b.sealLocked(g)
		g = nil
	}
	if g == nil {
		g = &microBatch[In, Out]{key: key, born: b.clock.Now()}
		b.open[key] = g
		if b.delay > 0 {
			b.startTimerLocked(g)
		} else {
			b.makeDueLocked(g)
		}
	}
	g.calls = append(g.calls, c)
	g.bytes += c.bytes
	c.batch = g
	if len(g.calls) >= b.maxSize || g.bytes >= b.maxBytes {
		b.sealLocked(g)
	}
	b.dispatchLocked()
}

// startTimerLocked makes g due MaxDelay after it opened, unless something
// else does first.
func (b *MicroBatcher[In, Out]) startTimerLocked(g *microBatch[In, Out]) {
	ctx, stop := context.WithCancel(context.Background())
	g.timer = stop
	at := g.born.Add(b.delay)
	b.wg.Go(func() {
		// Sleeping until a time rather than for a duration counts the
		// time this goroutine took to start.
		if b.clock.Sleep(ctx, at.Sub(b.clock.Now())) != nil || ctx.Err() != nil {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if ctx.Err() != nil { // stopped while taking the lock
			return
		}
		b.stopTimerLocked(g)
		b.makeDueLocked(g)
		b.dispatchLocked()
	})
}

func (b *MicroBatcher[In, Out]) stopTimerLocked(g *microBatch[In, Out]) {
	if g.timer != nil {
		g.timer()
		g.timer = nil
	}
}

// sealLocked closes g to further calls and makes it due.
func (b *MicroBatcher[In, Out]) sealLocked(g *microBatch[In, Out]) {
	if b.open[g.key] == g {
		delete(b.open, g.key)
	}
	b.stopTimerLocked(g)
	b.makeDueLocked(g)
}

func (b *MicroBatcher[In, Out]) makeDueLocked(g *microBatch[In, Out]) {
	if !g.isDue {
		g.isDue = true
		b.due = append(b.due, g)
	}
}

// dispatchLocked starts due batches while run slots are free.
func (b *MicroBatcher[In, Out]) dispatchLocked() {
	for b.running < b.inFlight && len(b.due) > 0 {
		g := b.due[0]
		b.due[0] = nil
		b.due = b.due[1:]
		if b.open[g.key] == g {
			delete(b.open, g.key)
		}
		b.stopTimerLocked(g)
		if len(g.calls) > 0 { // else every caller has gone
			b.startLocked(g)
		}
	}
}

// startLocked runs g on a goroutine of its own, with a context that
// carries the latest deadline of its callers.
func (b *MicroBatcher[In, Out]) startLocked(g *microBatch[In, Out]) {
	b.running++
	var latest time.Time
	bounded := true
	for _, c := range g.calls {
		c.state = callRunning
		<-b.queue
		if c.deadline.IsZero() {
			bounded = false
		} else if c.deadline.After(latest) {
			latest = c.deadline
		}
	}
	g.live = len(g.calls)
	var ev BatchEvent
	if b.onBatch != nil {
		ev = BatchEvent{Items: len(g.calls), Bytes: g.bytes, FillWait: max(b.clock.Now().Sub(g.born), 0), Queued: len(b.queue)}
	}
	ctx, stop := context.WithCancelCause(context.Background())
	g.stop = stop
	release := context.CancelFunc(func() {})
	if bounded {
		g.until = latest
		ctx, release = context.WithDeadline(ctx, latest)
	}
	b.wg.Go(func() {
		var (
			outs []Out
			err  = newCallError(codes.Internal, "goai: micro-batch function exited without returning")
		)
		defer func() {
			release()
			stop(nil)
			b.finish(g, outs, err)
		}()
		if b.onBatch != nil {
			b.onBatch(ev)
		}
		items := make([]In, len(g.calls))
		for i, c := range g.calls {
			items[i] = c.in
		}
		outs, err = b.call(ctx, items)
	})
}

// call runs the batch function, turning a panic or a wrong count of
// outputs into an error.
func (b *MicroBatcher[In, Out]) call(ctx context.Context, items []In) (outs []Out, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, panicError(r)
		}
	}()
	outs, err = b.run(ctx, items)
	if err == nil && len(outs) != len(items) {
		return nil, newCallError(codes.Internal,
			fmt.Sprintf("%v: %d outputs for %d items", ErrBatchOutputs, len(outs), len(items)), ErrBatchOutputs)
	}
	return outs, err
}

// finish answers the callers of g still waiting and starts what can start.
func (b *MicroBatcher[In, Out]) finish(g *microBatch[In, Out], outs []Out, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.running--
	for i, c := range g.calls {
		if c.state != callRunning {
			continue
		}
		c.state = callDone
		if err != nil {
			c.err = err
		} else {
			c.out = outs[i]
		}
		close(c.done)
	}
	b.dispatchLocked()
}

// leave ends the call c whose context ended, unless it was answered
// meanwhile: a queued call leaves its batch, and a running one leaves the
// batch to the others, cancelling it if it was the last.
func (b *MicroBatcher[In, Out]) leave(ctx context.Context, c *microCall[In, Out]) (Out, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	g := c.batch
	switch c.state {
	case callDone:
		return c.out, c.err
	case callQueued:
		i := slices.Index(g.calls, c)
		g.calls = slices.Delete(g.calls, i, i+1)
		g.bytes -= c.bytes
		<-b.queue
		if len(g.calls) == 0 && !g.isDue {
			// Nobody left to wait for: drop the batch and its timer. A due
			// one is dropped when its turn comes.
			delete(b.open, g.key)
			b.stopTimerLocked(g)
		}
	case callRunning:
		// The last caller gone at the batch's own deadline leaves that
		// deadline to end the batch, so that the batch's context ends by
		// its deadline, not by a cancellation racing it.
		atDeadline := ctx.Err() == context.DeadlineExceeded && !g.until.IsZero() && !c.deadline.Before(g.until)
		if g.live--; g.live == 0 && !atDeadline {
			g.stop(errBatchAbandoned)
		}
	}
	c.state = callDone
	var zero Out
	return zero, contextError(ctx.Err())
}

func closedError() error {
	return newCallError(codes.Unavailable, ErrBatcherClosed.Error(), ErrBatcherClosed)
}

// panicError is the error of a batch whose function panicked with r.
func panicError(r any) error {
	err, _ := r.(error)
	return newCallError(codes.Internal, fmt.Sprintf("%v: %v", ErrBatchPanic, r), ErrBatchPanic, err)
}
