package goai

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ResponseError is a failure that the server reported for one request in
// band, as a response of a stream that goes on serving its other
// requests: Triton's ModelStreamInferResponse.error_message, on the
// stream of a streaming rpc or of the stream transport
// ([WithStreamTransport]). Triton sends the message alone, without a
// status code, so the error's code is UNKNOWN: the breaker counts it as a
// server failure, and it is retried only if RetryPolicy.RetryableCodes
// lists UNKNOWN, and for a streaming rpc only before its first response.
type ResponseError struct {
	// Message is the server's message, cut short if it was long.
	Message string
}

// Error returns the server's message.
func (e *ResponseError) Error() string { return "goai: the server failed the request: " + e.Message }

// GRPCStatus returns the error's status: UNKNOWN and its message.
func (e *ResponseError) GRPCStatus() *status.Status { return status.New(codes.Unknown, e.Error()) }

// inBand returns err with a transport's in-band failure, a
// [*wire.ResponseError], as goai's [*ResponseError]: within an attempt, so
// that the policies see its code.
func inBand(err error) error {
	var re *wire.ResponseError
	if errors.As(err, &re) {
		return &ResponseError{Message: re.Message}
	}
	return err
}

// tensorError returns err with a transport's [*wire.TensorError] as goai's
// [*TensorError]: once the policies are done with the call, which count
// the former as the server having answered.
func tensorError(err error) error {
	var te *wire.TensorError
	if errors.As(err, &te) {
		return &TensorError{Tensor: te.Tensor, Output: te.Output, Item: -1, Message: te.Message, Err: te.Err}
	}
	return err
}

// streamState is what the attempts of one streaming call share with the
// call path.
type streamState struct {
	// attemptTimeout and idleTimeout are the call's.
	attemptTimeout, idleTimeout time.Duration
	// delivered counts the responses handed to the caller: once there is
	// one, the call is neither retried nor falls back.
	delivered int
	// timedOut is set by an attempt that its own timeout cut, the attempt
	// timeout or the idle timeout, for the call path to treat it as an
	// attempt timeout; the call path clears it.
	timedOut bool
	// err is the error with which the caller's function ended the call.
	err error
}

// inferStream makes one call of method, an rpc of a decoupled model, with
// req: the request goes to the server once, through the transport's
// InferStream, and each response it answers with is handed to each, in
// order, until the server marks the last, each returns false (the caller
// stopped: the stream ends and the server is told to cancel the request)
// or an error (the caller could not take the response, which ends the
// call with that error).
//
// The call goes through the policies of invoke, as one call however many
// responses it gets, with these differences: the limits hold their slot,
// and the call's timeout runs, until the stream ends; an attempt timeout
// bounds each attempt until its first response, and the idle timeout
// every wait for a response (see [WithIdleTimeout]); retries and
// the fallback happen only before the first response; and the breaker
// counts the call by how its stream ended. An error the caller's each
// returned, like a response a unary call cannot decode, counts as the
// server having answered.
func (c *Client) inferStream(ctx context.Context, method *MethodDesc, req *wire.Request, opts []CallOption, each func(*wire.Response) (more bool, err error)) error {
	st, ok := c.transport.(wire.StreamTransport)
	if !ok {
		return status.Errorf(codes.Unimplemented, "goai: %s: the client's transport does not stream responses", method.Name)
	}
	call := &streamAttempts{t: st, req: req, each: each}
	err := c.invokeWith(ctx, method, call, nil, opts)
	if call.state.err != nil {
		return call.state.err
	}
	return tensorError(err)
}

// streamer is the [attempter] of a streaming call, which shares its state
// with the call path.
type streamer interface {
	attempter
	streamState() *streamState
}

// streamOf returns the stream state of fn, nil for a unary call.
func streamOf(fn attempter) *streamState {
	if s, ok := fn.(streamer); ok {
		return s.streamState()
	}
	return nil
}

// streamAttempts makes the attempts of one call of inferStream.
type streamAttempts struct {
	t     wire.StreamTransport
	req   *wire.Request
	each  func(*wire.Response) (bool, error)
	state streamState
}

func (x *streamAttempts) streamState() *streamState { return &x.state }

func (x *streamAttempts) attempt(ctx context.Context, a attemptArgs) error {
	// Attempts run one after another, and the transport is done with req
	// when InferStream returns: it is safe to rename.
	x.req.Model, x.req.Version = a.model.Name, a.model.Version
	return streamAttempt(ctx, x.t, x.req, a, x.each)
}

// streamTimeout is the cause with which a timer of streamAttempt ends the
// stream.
type streamTimeout struct {
	what string
	d    time.Duration
}

func (t *streamTimeout) Error() string {
	return "goai: no response within the " + t.what + " " + t.d.String()
}

// streamAttempt makes one attempt of a streaming call: it opens the
// request's stream and hands its responses to each, bounding each wait
// for a response by a timer, which ends the stream when it fires.
func streamAttempt(ctx context.Context, t wire.StreamTransport, req *wire.Request, a attemptArgs, each func(*wire.Response) (bool, error)) error {
	s := a.stream
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// The first wait is bounded by the attempt timeout and the idle
	// timeout, whichever is shorter; the later ones by the idle timeout.
	idle := &streamTimeout{"idle timeout", s.idleTimeout}
	var bound atomic.Pointer[streamTimeout]
	first := idle
	if d := s.attemptTimeout; d > 0 && (idle.d == 0 || d < idle.d) {
		first = &streamTimeout{"attempt timeout", d}
	}
	var timer *time.Timer
	armed := first.d > 0
	if armed {
		bound.Store(first)
		timer = time.AfterFunc(first.d, func() { cancel(bound.Load()) })
		defer timer.Stop()
	}
	failed := func(err error) error {
		var to *streamTimeout
		if errors.As(context.Cause(sctx), &to) && ctx.Err() == nil {
			s.timedOut = true
			return status.Error(codes.DeadlineExceeded, to.Error())
		}
		return inBand(err)
	}

	stream, err := t.InferStream(sctx, req, a.wire)
	if err != nil {
		return failed(err)
	}
	defer stream.Close()
	for {
		resp, final, err := stream.Recv()
		if err != nil {
			return failed(err)
		}
		if resp != nil {
			// The caller's time with the response is not the server's:
			// the next wait starts when each returns.
			if armed && !timer.Stop() {
				// The timer fired as the response arrived: the stream
				// is ending, once its function has run.
				<-sctx.Done()
				return failed(sctx.Err())
			}
			armed = false
			s.delivered++
			more, err := each(resp)
			if err != nil {
				s.err = err
				return nil
			}
			if !more {
				return nil
			}
			if idle.d > 0 && !final {
				bound.Store(idle)
				timer.Reset(idle.d)
				armed = true
			}
		}
		if final {
			return nil
		}
	}
}
