package oip

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Parameters of Triton's ModelStreamInfer (PROTOCOLS.md A6).
const (
	// EnableEmptyFinalResponse, a request's bool parameter, asks Triton
	// to mark the end of a decoupled model's responses with an empty
	// response when the model sent the end on its own, after its last
	// response: without it, a client cannot tell that such a request is
	// complete.
	EnableEmptyFinalResponse = "triton_enable_empty_final_response"
	// FinalResponse, a response's bool parameter, marks the last response
	// to a request.
	FinalResponse = "triton_final_response"
)

var _ wire.StreamTransport = (*Transport)(nil)

// InferStream sends req alone on a ModelStreamInfer stream of its own,
// asking for an empty final response (see [EnableEmptyFinalResponse]),
// and half-closes the stream; the stream then carries the request's
// responses. Ending the stream cancels the request on the server, which
// Triton does for the requests of a stream that its client cancels.
func (t *Transport) InferStream(ctx context.Context, req *wire.Request, a *wire.Attempt) (wire.Stream, error) {
	m := Request(req)
	m.Parameters = map[string]*oippb.InferParameter{EnableEmptyFinalResponse: boolParam(true)}
	ctx, cancel := context.WithCancel(ctx)
	s, err := t.client.ModelStreamInfer(ctx, callOptions(a)...)
	if err != nil {
		cancel()
		return nil, boundStatus(err)
	}
	if err := s.Send(m); err != nil {
		if errors.Is(err, io.EOF) {
			// The stream ended; its status comes with Recv.
			_, err = s.Recv()
		}
		cancel()
		return nil, streamError(err)
	}
	st := &stream{ctx: ctx, s: s, cancel: cancel, wanted: req.Outputs}
	if err := s.CloseSend(); err != nil {
		st.Close()
		return nil, streamError(err)
	}
	return st, nil
}

// stream is the responses to the one request of a ModelStreamInfer stream.
type stream struct {
	ctx context.Context // the stream's
	s   interface {
		Recv() (*oippb.ModelStreamInferResponse, error)
	}
	cancel context.CancelFunc
	wanted []string
	ended  bool // Recv has returned the stream's end
}

// Recv returns the next response, by Triton's rules: an error_message
// fails the request (whatever its final flag says: Triton sets none on a
// request it failed before running it); triton_final_response marks the
// last response, which is empty when the model ended its responses on
// its own; and the server ending the stream, which it does once the
// requests of a half-closed stream are complete, is the end too, unless
// the caller's deadline or cancellation came first: a server whose own
// copy of the deadline fires at the same moment may end the stream
// cleanly before grpc reports the deadline to the client.
func (s *stream) Recv() (*wire.Response, bool, error) {
	msg, err := s.s.Recv()
	if errors.Is(err, io.EOF) {
		s.ended = true
		if err := s.ctx.Err(); err != nil {
			return nil, false, status.FromContextError(err).Err()
		}
		// The deadline's own timer may not have run yet.
		if d, ok := s.ctx.Deadline(); ok && !time.Now().Before(d) {
			return nil, false, status.FromContextError(context.DeadlineExceeded).Err()
		}
		return nil, true, nil
	}
	if err != nil {
		s.ended = true
		return nil, false, boundStatus(err)
	}
	if e := msg.GetErrorMessage(); e != "" {
		return nil, true, &wire.ResponseError{Message: cut(e, maxStatusMessage)}
	}
	ir := msg.GetInferResponse()
	final := IsFinal(ir)
	if final && len(ir.GetOutputs()) == 0 && len(ir.GetRawOutputContents()) == 0 {
		return nil, true, nil
	}
	r, err := Response(ir, s.wanted)
	return r, final, err
}

// Close cancels the stream, and waits for grpc to finish it: grpc runs
// the call options' after-call work (a grpc.Trailer's capture of the
// trailer) when a canceled stream finishes, which without the wait could
// be after the caller has reused what the options point at. Recv returns
// once that is done, after at most the responses already received.
func (s *stream) Close() {
	s.cancel()
	for !s.ended {
		if _, err := s.s.Recv(); err != nil {
			s.ended = true
		}
	}
}

// IsFinal reports whether resp carries triton_final_response true.
func IsFinal(resp *oippb.ModelInferResponse) bool {
	p, ok := resp.GetParameters()[FinalResponse]
	return ok && p.GetBoolParam()
}

func boolParam(v bool) *oippb.InferParameter {
	return &oippb.InferParameter{ParameterChoice: &oippb.InferParameter_BoolParam{BoolParam: v}}
}

// streamError is the error of a send on a stream: its status, or a stream
// that ended without one.
func streamError(err error) error {
	if errors.Is(err, io.EOF) {
		return status.Error(codes.Unavailable, "goai: the stream ended before its request was sent")
	}
	return boundStatus(err)
}
