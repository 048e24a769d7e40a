package oip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/internal/wirecodec"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// DefaultMaxInFlight is how many requests a [Pipeline] has in flight on
// one stream at most unless PipelineOptions.MaxInFlight says otherwise.
const DefaultMaxInFlight = 128

// PipelineOptions configure a [Pipeline].
type PipelineOptions struct {
	// Streams is how many ModelStreamInfer streams the pipeline keeps
	// open; below 1, one.
	Streams int
	// MaxInFlight bounds the requests in flight on one stream: a request
	// finding every stream full waits for room, within its context. Below
	// 1, [DefaultMaxInFlight].
	MaxInFlight int
	// MaxSend is the largest request, in bytes, sent; a larger one fails
	// with TooLarge's error and is not sent (grpc's own check would end
	// the stream, and every request on it). 0: no check.
	MaxSend int
	// TooLarge returns the error of a request of size bytes over MaxSend.
	// Nil: a RESOURCE_EXHAUSTED status.
	TooLarge func(size, limit int) error
}

// Pipeline is the Open Inference Protocol over gRPC with inference
// requests multiplexed, as messages matched by request id, over a few
// long-lived ModelStreamInfer streams of Triton's, instead of one HTTP/2
// stream per call: a request then costs the server and the client a
// message on an open stream, not a stream's headers, flow-control state
// and goroutine on each side. It implements [wire.Transport]; metadata and
// readiness go as unary calls, as with [Transport].
//
// Streams open on first use, each a call of its own on the connection (a
// goai Pool spreads them over its connections), and are replaced when
// they fail. A request lost with its stream fails with UNAVAILABLE, for
// the caller's retry policy to decide on; a request whose context ends
// fails with the context's code, and its answer, should it arrive later,
// is dropped: no request is answered twice, or after its caller gave up.
//
// Triton answers the requests of one stream in the order they arrived,
// so a request the server holds up holds up the stream's later answers.
// When the oldest request of a stream runs out of time, the pipeline
// takes the stream out of use: it half-closes it, sends new requests on a
// new one, and cancels it once no request of its is waited for.
//
// Per-call gRPC options ([wire.Attempt]) do not apply: the streams are
// the pipeline's, opened with the options given to [NewPipeline].
type Pipeline struct {
	cc       grpc.ClientConnInterface
	unary    *Transport
	opts     PipelineOptions
	callOpts []grpc.CallOption
	slots    []slot
	sem      chan struct{} // one token per request in flight
	next     atomic.Uint64 // request ids
	rr       atomic.Uint64 // where the scan for a stream starts

	base    context.Context
	stop    context.CancelFunc
	closed  atomic.Bool
	workers sync.WaitGroup
}

var _ wire.Transport = (*Pipeline)(nil)

// NewPipeline returns a Pipeline opening its streams on cc with opts,
// and calling cc directly for everything but inference.
func NewPipeline(cc grpc.ClientConnInterface, o PipelineOptions, opts ...grpc.CallOption) *Pipeline {
	o.Streams = max(o.Streams, 1)
	if o.MaxInFlight < 1 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	p := &Pipeline{
		cc:    cc,
		unary: New(cc),
		opts:  o,
		slots: make([]slot, o.Streams),
		sem:   make(chan struct{}, o.Streams*o.MaxInFlight),
		// The codec passes requests encoded by Infer through and reads
		// responses with goai's codec.
		callOpts: append([]grpc.CallOption{grpc.ForceCodecV2(pipelineCodec{})}, opts...),
	}
	p.base, p.stop = context.WithCancel(context.Background())
	return p
}

// slot holds one of the pipeline's streams.
type slot struct {
	open sync.Mutex // held while opening a stream
	cur  atomic.Pointer[pstream]
}

// pstream is one stream of a Pipeline and the requests waiting on it.
type pstream struct {
	p      *Pipeline
	slot   *slot
	s      grpc.ClientStream
	cancel context.CancelFunc
	wake   chan struct{} // the queue has requests, or the stream retired
	done   chan struct{} // closed when the stream has failed

	mu      sync.Mutex
	pending map[uint64]*pcall
	queue   []*pcall // to send, in order
	seq     uint64   // order of arrival, for finding the oldest pending
	dead    bool     // failed: takes no request, answers none
	retired bool     // out of use: takes no request, still answers
}

// pcall is one request on a stream.
type pcall struct {
	id     uint64
	seq    uint64
	msg    *[]byte      // from mem.DefaultBufferPool, which grpc returns it to once sent
	done   chan presult // receives exactly one result
	gaveUp atomic.Bool  // the caller stopped waiting: do not send
}

type presult struct {
	resp *oippb.ModelStreamInferResponse
	err  error
}

// encodedRequest is a ModelInferRequest already encoded, in a buffer of
// mem.DefaultBufferPool that the codec hands to grpc, which puts it back
// once the message is written: a request costs no allocation of its size.
type encodedRequest *[]byte

// Infer sends req on one of the pipeline's streams and waits for its
// answer. The request is encoded before it is queued, so that req's
// tensor data is the caller's again whenever Infer returns.
func (p *Pipeline) Infer(ctx context.Context, req *wire.Request, _ *wire.Attempt) (*wire.Response, error) {
	if p.closed.Load() {
		return nil, errClosed
	}
	c := &pcall{id: p.next.Add(1), done: make(chan presult, 1)}
	m := Request(req)
	m.Id = strconv.FormatUint(c.id, 10)
	size := proto.Size(m)
	if p.opts.MaxSend > 0 && size > p.opts.MaxSend {
		if p.opts.TooLarge != nil {
			return nil, p.opts.TooLarge(size, p.opts.MaxSend)
		}
		return nil, status.Errorf(codes.ResourceExhausted, "goai: trying to send message larger than max (%d vs. %d)", size, p.opts.MaxSend)
	}
	buf := mem.DefaultBufferPool().Get(size)
	// UseCachedSize: Size has just run on the same, unchanging message.
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend((*buf)[:0], m)
	if err != nil {
		mem.DefaultBufferPool().Put(buf)
		return nil, fmt.Errorf("goai: encoding the request: %w", err)
	}
	*buf = b
	// A request never sent (its caller gave up, its stream broke) leaves
	// its buffer to the garbage collector, as the pool allows.
	c.msg = buf

	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	defer func() { <-p.sem }()

	st, err := p.place(ctx, c)
	if err != nil {
		return nil, err
	}
	var r presult
	select {
	case r = <-c.done:
	case <-ctx.Done():
		if st.abandon(c, ctx.Err()) {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		r = <-c.done // answered meanwhile
	}
	if r.err != nil {
		return nil, r.err
	}
	if e := r.resp.GetErrorMessage(); e != "" {
		return nil, &wire.ResponseError{Message: cut(e, maxStatusMessage)}
	}
	resp, err := Response(r.resp.GetInferResponse(), req.Outputs)
	if err != nil {
		return nil, err
	}
	resp.ID = req.ID
	return resp, nil
}

// place puts c on a stream with room, opening one if a slot has none: an
// idle stream first, then a slot without one, then the least loaded.
// The semaphore leaves every live stream at most MaxInFlight requests
// altogether, so some slot always has room.
func (p *Pipeline) place(ctx context.Context, c *pcall) (*pstream, error) {
	n := len(p.slots)
	for {
		start := int(p.rr.Add(1) % uint64(n))
		var best, idle *pstream
		var empty *slot
		bestLoad := p.opts.MaxInFlight
		for k := range n {
			sl := &p.slots[(start+k)%n]
			st := sl.cur.Load()
			if st == nil {
				if empty == nil {
					empty = sl
				}
				continue
			}
			load := st.load()
			if load == 0 {
				idle = st
				break
			}
			if load < bestLoad {
				best, bestLoad = st, load
			}
		}
		switch {
		case idle != nil:
			best = idle
		case empty != nil:
			st, err := p.open(ctx, empty)
			if err != nil {
				return nil, err
			}
			best = st
		case best == nil:
			// Every stream is full, which the semaphore allows only for
			// the moment a stream fails or retires; look again.
			if err := ctx.Err(); err != nil {
				return nil, status.FromContextError(err).Err()
			}
			runtime.Gosched()
			continue
		}
		if best.add(c) {
			return best, nil
		}
		if p.closed.Load() {
			return nil, errClosed
		}
		// best failed or retired since it was looked at; if it is still
		// in its slot, take it out rather than find it again.
		best.slot.cur.CompareAndSwap(best, nil)
	}
}

// open returns the stream of sl, opening one if it has none. The stream
// lives in the pipeline's context, not in ctx, which only bounds the wait
// for it to open.
func (p *Pipeline) open(ctx context.Context, sl *slot) (*pstream, error) {
	sl.open.Lock()
	defer sl.open.Unlock()
	if st := sl.cur.Load(); st != nil {
		return st, nil
	}
	if p.closed.Load() {
		return nil, errClosed
	}
	sctx, cancel := context.WithCancel(p.base)
	stop := context.AfterFunc(ctx, cancel)
	s, err := p.cc.NewStream(sctx, &oippb.ServiceDesc.Streams[0], oippb.ModelStreamInferMethod, p.callOpts...)
	if !stop() {
		cancel()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if err != nil {
		cancel()
		return nil, boundStatus(err)
	}
	st := &pstream{
		p: p, slot: sl, s: s, cancel: cancel,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		pending: make(map[uint64]*pcall, p.opts.MaxInFlight),
	}
	p.workers.Add(2)
	go st.sendLoop()
	go st.recvLoop()
	sl.cur.Store(st)
	if p.closed.Load() {
		// Close ran meanwhile and may have missed the stream.
		st.fail(errClosed)
	}
	return st, nil
}

// load returns the requests in flight on st.
func (st *pstream) load() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.pending)
}

// add registers c on st and queues it, unless st is out of use or full.
func (st *pstream) add(c *pcall) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.dead || st.retired || len(st.pending) >= st.p.opts.MaxInFlight {
		return false
	}
	st.seq++
	c.seq = st.seq
	st.pending[c.id] = c
	st.queue = append(st.queue, c)
	st.signal()
	return true
}

// signal wakes the sender.
func (st *pstream) signal() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// abandon takes c off st when its caller gives up with err, and reports
// whether it did: false means c has been answered. A caller that ran out
// of time on the oldest request of the stream retires the stream, which
// a server answering in order has stopped answering.
func (st *pstream) abandon(c *pcall, err error) bool {
	c.gaveUp.Store(true)
	st.mu.Lock()
	if _, ok := st.pending[c.id]; !ok {
		st.mu.Unlock()
		return false
	}
	oldest := errors.Is(err, context.DeadlineExceeded)
	for _, o := range st.pending {
		if !oldest {
			break
		}
		oldest = o.seq >= c.seq
	}
	delete(st.pending, c.id)
	if oldest && !st.dead && !st.retired {
		// Out of its slot, for a new stream; the sender half-closes it
		// once its queue is sent.
		st.retired = true
		st.slot.cur.CompareAndSwap(st, nil)
		st.signal()
	}
	empty := st.retired && len(st.pending) == 0
	st.mu.Unlock()
	if empty {
		st.cancel()
	}
	return true
}

// sendLoop sends the queued requests in order, skipping those whose
// callers gave up, and half-closes a retired stream once its queue is
// sent.
func (st *pstream) sendLoop() {
	defer st.p.workers.Done()
	var batch []*pcall
	for {
		st.mu.Lock()
		batch, st.queue = st.queue, batch[:0]
		halfClose := st.retired && len(batch) == 0
		st.mu.Unlock()
		if halfClose {
			if err := st.s.CloseSend(); err != nil {
				st.fail(err)
			}
			return
		}
		if len(batch) == 0 {
			select {
			case <-st.wake:
				continue
			case <-st.done:
				return
			}
		}
		for i, c := range batch {
			batch[i] = nil
			if c.gaveUp.Load() {
				continue
			}
			if err := st.s.SendMsg(encodedRequest(c.msg)); err != nil {
				if !errors.Is(err, io.EOF) {
					// A local error; io.EOF means the stream broke, and
					// recvLoop gets its status.
					st.fail(err)
				}
				return
			}
		}
	}
}

// recvLoop hands each response to the request of its id, and fails the
// stream when it ends.
func (st *pstream) recvLoop() {
	defer st.p.workers.Done()
	for {
		msg := new(oippb.ModelStreamInferResponse)
		if err := st.s.RecvMsg(msg); err != nil {
			st.fail(err)
			return
		}
		id, err := strconv.ParseUint(msg.GetInferResponse().GetId(), 10, 64)
		if err != nil {
			continue // not a request of ours
		}
		st.mu.Lock()
		c := st.pending[id]
		delete(st.pending, id)
		empty := st.retired && len(st.pending) == 0
		st.mu.Unlock()
		if c != nil {
			c.done <- presult{resp: msg}
		}
		if empty {
			st.cancel()
		}
	}
}

// fail ends st with cause: its waiting requests fail, and its slot opens
// a new stream for the next request.
func (st *pstream) fail(cause error) {
	st.mu.Lock()
	if st.dead {
		st.mu.Unlock()
		return
	}
	st.dead = true
	calls := st.pending
	st.pending = nil
	st.mu.Unlock()
	st.slot.cur.CompareAndSwap(st, nil)
	st.cancel()
	close(st.done)
	if len(calls) == 0 {
		return
	}
	err := st.p.lostError(cause)
	for _, c := range calls {
		c.done <- presult{err: err}
	}
}

// lostError is the error of the requests that a stream ending with cause
// took with it: UNAVAILABLE, for the caller to retry them elsewhere,
// unless the server refused the stream itself (UNIMPLEMENTED: a server
// without ModelStreamInfer; UNAUTHENTICATED; PERMISSION_DENIED), which a
// retry would not change.
func (p *Pipeline) lostError(cause error) error {
	if p.closed.Load() {
		return errClosed
	}
	if errors.Is(cause, io.EOF) {
		return status.Error(codes.Unavailable, "goai: the server ended the stream carrying the request before answering it")
	}
	st, ok := status.FromError(cause)
	if ok {
		switch st.Code() {
		case codes.Unimplemented, codes.Unauthenticated, codes.PermissionDenied:
			return boundStatus(cause)
		}
	}
	return status.Error(codes.Unavailable, "goai: the stream carrying the request broke: "+cut(cause.Error(), maxStatusMessage))
}

var errClosed = status.Error(codes.Canceled, "goai: the stream transport is closed")

// Close ends every stream, failing the requests waiting on them, and
// waits for the pipeline's goroutines. Later requests fail.
func (p *Pipeline) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	p.stop()
	for i := range p.slots {
		sl := &p.slots[i]
		sl.open.Lock() // no stream opens from here on
		if st := sl.cur.Load(); st != nil {
			st.fail(errClosed)
		}
		sl.open.Unlock()
	}
	p.workers.Wait()
	return nil
}

// ModelMetadata is [Transport.ModelMetadata].
func (p *Pipeline) ModelMetadata(ctx context.Context, model, version string, a *wire.Attempt) (*wire.ModelMetadata, error) {
	return p.unary.ModelMetadata(ctx, model, version, a)
}

// ModelReady is [Transport.ModelReady].
func (p *Pipeline) ModelReady(ctx context.Context, model, version string, a *wire.Attempt) (bool, error) {
	return p.unary.ModelReady(ctx, model, version, a)
}

// ServerReady is [Transport.ServerReady].
func (p *Pipeline) ServerReady(ctx context.Context, a *wire.Attempt) (bool, error) {
	return p.unary.ServerReady(ctx, a)
}

// ServerLive is [Transport.ServerLive].
func (p *Pipeline) ServerLive(ctx context.Context, a *wire.Attempt) (bool, error) {
	return p.unary.ServerLive(ctx, a)
}

// pipelineCodec sends requests that Infer encoded as they are, and reads
// responses with goai's codec, which keeps raw outputs in the received
// buffer.
type pipelineCodec struct{}

var _ encoding.CodecV2 = pipelineCodec{}

func (pipelineCodec) Name() string { return wirecodec.Name }

func (pipelineCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(encodedRequest); ok {
		return mem.BufferSlice{mem.NewBuffer(b, mem.DefaultBufferPool())}, nil
	}
	return wirecodec.Codec{}.Marshal(v)
}

func (pipelineCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return wirecodec.Codec{}.Unmarshal(data, v)
}

var _ wire.StreamTransport = (*Pipeline)(nil)

// InferStream is [Transport.InferStream]: a request to a decoupled model
// takes a stream of its own, which ends with its responses, and whose
// cancellation cancels it on the server.
func (p *Pipeline) InferStream(ctx context.Context, req *wire.Request, a *wire.Attempt) (wire.Stream, error) {
	return p.unary.InferStream(ctx, req, a)
}
