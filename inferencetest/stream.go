package inferencetest

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Triton's parameters of ModelStreamInfer (PROTOCOLS.md A6).
const (
	enableEmptyFinal = "triton_enable_empty_final_response"
	finalResponse    = "triton_final_response"
)

// ModelStreamInfer serves Triton's bidirectional stream as Triton does:
// each request that arrives is served on its own, concurrently with the
// stream's others; the answer to a model that is not decoupled is its one
// response, sent in the order the requests arrived, and a decoupled
// model's responses go as it sends them. Every response carries
// triton_final_response. A request that fails gets an error_message
// response and leaves the stream open. Once the client half-closes, the
// stream ends, with OK, when its requests are complete.
func (h *handler) ModelStreamInfer(stream grpc.BidiStreamingServer[oippb.ModelInferRequest, oippb.ModelStreamInferResponse]) error {
	h.s.rec.call("ModelStreamInfer")
	ss := &serverStream{s: h.s, stream: stream, ordered: make(chan chan streamOut, 64), reset: make(chan error, 1)}
	ss.ctx, ss.cancel = context.WithCancelCause(stream.Context())
	defer ss.cancel(nil)
	return ss.run()
}

// serverStream is one ModelStreamInfer stream being served.
type serverStream struct {
	s      *Server
	stream grpc.BidiStreamingServer[oippb.ModelInferRequest, oippb.ModelStreamInferResponse]
	ctx    context.Context // ends with the stream
	cancel context.CancelCauseFunc

	sendMu sync.Mutex // Send is not safe for concurrent use

	mu       sync.Mutex
	closed   bool           // no more requests are served
	requests sync.WaitGroup // the requests being served

	// ordered holds, in arrival order, the answer of each request to a
	// model that is not decoupled, once it is ready.
	ordered chan chan streamOut
	reset   chan error // a reset's status, ending the stream
}

// streamOut is the answer of a request to a model that is not decoupled:
// its response, then, if reset is set, the end of the stream.
type streamOut struct {
	resp  *oippb.ModelStreamInferResponse
	reset error
}

// run serves the stream until the client half-closes it and its requests
// are complete, it breaks, a fault resets it, or the server stops.
func (ss *serverStream) run() error {
	stopping, _ := ss.ctx.Value(stopKey{}).(context.Context)
	if stopping == nil {
		stopping = context.Background()
	}
	written := make(chan struct{})
	go ss.writeOrdered(written)
	// Recv cannot be interrupted but by the end of the RPC, which comes
	// when this returns: the receiver may outlive it briefly, and then
	// serves nothing.
	received := make(chan error, 1)
	go func() { received <- ss.receive() }()

	var err error
	select {
	case err = <-received:
		if errors.Is(err, io.EOF) {
			err = nil // half-closed: the requests finish
		} else {
			ss.cancel(err)
		}
	case err = <-ss.reset:
		ss.cancel(err)
	case <-stopping.Done():
		// Down, Drain or Stop: the requests being served finish (the waits
		// of faults end at once), and the others are lost with the stream,
		// as when a server shuts down.
		err = status.Error(codes.Unavailable, errStopping.Error())
	}
	ss.mu.Lock()
	ss.closed = true
	ss.mu.Unlock()
	ss.requests.Wait()
	close(ss.ordered)
	<-written
	if err == nil {
		select {
		case err = <-ss.reset: // struck while the requests finished
		default:
		}
	}
	return err
}

// receive reads requests and starts serving each, until the stream ends.
func (ss *serverStream) receive() error {
	for {
		req, err := ss.stream.Recv()
		if err != nil {
			return err
		}
		ss.s.rec.request(recordStreamed(req))
		m, version, lookupErr := ss.s.lookup(req.GetModelName(), req.GetModelVersion())
		decoupled := lookupErr == nil && m.Stream != nil

		ss.mu.Lock()
		if ss.closed {
			ss.mu.Unlock()
			return nil
		}
		ss.requests.Add(1)
		var slot chan streamOut
		if !decoupled {
			slot = make(chan streamOut, 1)
			select {
			case ss.ordered <- slot:
			case <-ss.ctx.Done():
			}
		}
		ss.mu.Unlock()
		r := &streamRequest{ss: ss, req: req, m: m, version: version, lookupErr: lookupErr, slot: slot}
		go r.serve()
	}
}

// writeOrdered sends the answers of the requests to models that are not
// decoupled, in the order the requests arrived.
func (ss *serverStream) writeOrdered(done chan<- struct{}) {
	defer close(done)
	for slot := range ss.ordered {
		select {
		case out := <-slot:
			if out.resp != nil {
				_ = ss.send(out.resp) // a failure ends the stream
			}
			if out.reset != nil {
				ss.strikeReset(out.reset)
			}
		case <-ss.ctx.Done():
		}
	}
}

// send sends one response; a failure means the client is gone, and ends
// the stream.
func (ss *serverStream) send(resp *oippb.ModelStreamInferResponse) error {
	ss.sendMu.Lock()
	defer ss.sendMu.Unlock()
	if err := ss.ctx.Err(); err != nil {
		return err
	}
	if err := ss.stream.Send(resp); err != nil {
		ss.cancel(err)
		return err
	}
	return nil
}

// strikeReset ends the stream with err.
func (ss *serverStream) strikeReset(err error) {
	select {
	case ss.reset <- err:
	default:
	}
	ss.cancel(err)
}

// streamRequest is one request of a stream being served.
type streamRequest struct {
	ss        *serverStream
	req       *oippb.ModelInferRequest
	m         *model
	version   string
	lookupErr error
	slot      chan streamOut // nil for a decoupled model

	plan     plan
	injected bool
	code     codes.Code
	sent     int  // responses sent
	final    bool // the final response has been sent
}

// serve serves the request: faults first, then the model.
func (r *streamRequest) serve() {
	ss := r.ss
	defer ss.requests.Done()
	defer func() { ss.s.rec.outcome(r.req.GetModelName(), r.code, r.injected) }()
	ctx, cancel := context.WithCancel(ss.ctx)
	defer cancel()

	p, applies := ss.s.faults.plan("ModelStreamInfer")
	if applies {
		r.plan = p
		d := p.latency
		if p.latencyFunc != nil {
			d += p.latencyFunc(Call{Method: "ModelStreamInfer", Request: r.req})
		}
		if p.outcome.After == 0 {
			d += p.outcome.Delay
		}
		if err := r.wait(ctx, d); err != nil {
			r.injected = true
			r.fail(err, false)
			return
		}
		if p.outcome.After == 0 && r.strike(ctx) {
			return
		}
	}
	if r.lookupErr != nil {
		r.fail(r.lookupErr, false)
		return
	}
	in, err := decodeRequest(r.m, r.version, r.req)
	if err != nil {
		r.fail(err, false)
		return
	}
	if r.m.Stream == nil {
		outs, err := ss.s.run(ctx, r.m, in)
		if err != nil {
			r.fail(err, true)
			return
		}
		resp, err := encodeResponse(r.m, in, outs, r.m.TypedOutputs || ss.s.cfg.typed)
		if err != nil {
			r.fail(err, true)
			return
		}
		r.sent = 1
		out := streamOut{resp: final(resp, true)}
		if r.pending() && r.plan.outcome.Reset && r.plan.outcome.After == 1 {
			out.reset = r.resetError()
			r.injected, r.code = true, status.Code(out.reset)
		}
		r.slot <- out
		return
	}
	r.serveDecoupled(ctx, cancel, in)
}

// serveDecoupled runs a decoupled model, sending its responses as it
// sends them.
func (r *streamRequest) serveDecoupled(ctx context.Context, cancel context.CancelFunc, in *Request) {
	ss, m := r.ss, r.m
	var struck error // the outcome that ended the request, if any
	send := func(outputs []tensor.Tensor, last bool) error {
		if r.final {
			return status.Error(codes.FailedPrecondition, "inferencetest: a response after the final one")
		}
		if struck != nil {
			return struck
		}
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		resp, err := encodeResponse(m, in, outputs, m.TypedOutputs || ss.s.cfg.typed)
		if err != nil {
			return err
		}
		if err := ss.send(final(resp, last)); err != nil {
			return status.Error(codes.Canceled, "inferencetest: the stream has ended")
		}
		r.sent++
		r.final = last
		if r.pending() && r.sent == r.plan.outcome.After {
			if err := r.wait(ctx, r.plan.outcome.Delay); err != nil {
				struck = err
				cancel()
				return err
			}
			if r.strike(ctx) {
				struck = status.Error(codes.Aborted, "inferencetest: the request was ended by a fault")
				cancel()
				return struck
			}
		}
		return nil
	}
	err := m.Stream(ctx, in, send)
	switch {
	case struck != nil:
		// The fault has answered.
	case err != nil:
		r.fail(modelError(m.Name, err), true)
	case !r.final && enabled(r.req.GetParameters()[enableEmptyFinal]):
		resp := &oippb.ModelInferResponse{ModelName: m.Name, ModelVersion: r.version, Id: r.req.GetId()}
		_ = ss.send(final(resp, true))
	}
}

// pending reports whether the request's fault strikes after some of its
// responses and has not struck yet.
func (r *streamRequest) pending() bool {
	o := r.plan.outcome
	return o.After > 0 && (o.Reset || o.Hang || o.Code != codes.OK)
}

// strike applies the request's outcome now, and reports whether it ended
// the request: a reset ends the stream, a hang waits for the client to
// give up, a failure sends an error_message.
func (r *streamRequest) strike(ctx context.Context) bool {
	o := r.plan.outcome
	switch {
	case o.Reset:
		err := r.resetError()
		r.injected, r.code = true, status.Code(err)
		if r.slot != nil {
			r.slot <- streamOut{reset: err}
		} else {
			r.ss.strikeReset(err)
		}
		return true
	case o.Hang:
		r.injected = true
		err := r.wait(ctx, -1)
		r.fail(err, false)
		return true
	case o.Code != codes.OK:
		r.injected = true
		msg := o.Message
		if msg == "" {
			msg = "inferencetest: injected " + o.Code.String()
		}
		r.fail(status.Error(o.Code, msg), true)
		return true
	}
	return false
}

// resetError is the status a reset ends the stream with, its trailer set.
func (r *streamRequest) resetError() error {
	o := r.plan.outcome
	code := o.Code
	if code == codes.OK {
		code = codes.Unavailable
	}
	if len(o.Trailer) > 0 {
		r.ss.stream.SetTrailer(o.Trailer)
	}
	msg := o.Message
	if msg == "" {
		msg = "inferencetest: injected stream reset"
	}
	return status.Error(code, msg)
}

// wait waits d, or until the request or the server ends (d < 0: only
// that), and returns the status of what cut it short.
func (r *streamRequest) wait(ctx context.Context, d time.Duration) error {
	if d == 0 {
		return nil
	}
	wctx, done := waitContext(ctx)
	defer done()
	var err error
	if d < 0 {
		<-wctx.Done()
		err = wctx.Err()
	} else if err = r.ss.s.cfg.sleep(wctx, d); err == nil {
		return nil
	}
	if errors.Is(context.Cause(wctx), errStopping) {
		return errLostWithStream
	}
	return waitError(wctx, err)
}

// errLostWithStream is the end of a request that the server's stopping
// cut short: it gets no answer, and is lost with its stream, which ends
// with UNAVAILABLE, as when a server shuts down.
var errLostWithStream = status.Error(codes.Unavailable, errStopping.Error())

// fail answers the request with err as Triton does, in an error_message
// response holding the request's id; ran says the model was run, after
// which Triton also names the model and marks the response final.
func (r *streamRequest) fail(err error, ran bool) {
	r.code = status.Code(err)
	if err == errLostWithStream {
		if r.slot != nil {
			r.slot <- streamOut{}
		}
		return
	}
	if r.code == codes.OK {
		r.code = codes.Unknown
	}
	msg := err.Error()
	if st, ok := status.FromError(err); ok {
		msg = st.Message()
	}
	ir := &oippb.ModelInferResponse{Id: r.req.GetId()}
	if ran {
		ir.ModelName, ir.ModelVersion = r.req.GetModelName(), r.req.GetModelVersion()
		markFinal(ir, true)
	}
	resp := &oippb.ModelStreamInferResponse{ErrorMessage: msg, InferResponse: ir}
	if r.slot != nil {
		r.slot <- streamOut{resp: resp}
		return
	}
	_ = r.ss.send(resp)
}

// final returns resp as a stream response, marked final or not.
func final(resp *oippb.ModelInferResponse, last bool) *oippb.ModelStreamInferResponse {
	markFinal(resp, last)
	return &oippb.ModelStreamInferResponse{InferResponse: resp}
}

// markFinal sets resp's triton_final_response.
func markFinal(resp *oippb.ModelInferResponse, last bool) {
	if resp.Parameters == nil {
		resp.Parameters = map[string]*oippb.InferParameter{}
	}
	resp.Parameters[finalResponse] = &oippb.InferParameter{ParameterChoice: &oippb.InferParameter_BoolParam{BoolParam: last}}
}

// enabled reports whether p is a bool parameter set to true.
func enabled(p *oippb.InferParameter) bool {
	return p.GetBoolParam()
}
