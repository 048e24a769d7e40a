package goai

import (
	"errors"
	"fmt"
	"io"

	"github.com/goai-dev/goai/internal/oip"
	"google.golang.org/grpc/codes"
)

// WithStreamTransport makes a client that dials its own connections
// (New<Service>ModelClient) send its inference calls of an Open Inference
// model as messages on n long-lived ModelStreamInfer streams of Triton's,
// matched by request id, instead of as one ModelInfer call, one HTTP/2
// stream, each: that saves the client and the server most of what a small
// request costs them (a stream's headers, its flow-control state, a
// goroutine on each side). n < 1 means one stream; the streams are spread
// over the pool's connections, and each carries at most
// [DefaultStreamInFlight] requests at a time, further calls waiting for
// room within their deadline.
//
// The call policies stay those of each call: its deadline, attempt
// timeout, retries, breaker and limits. A stream that breaks is replaced,
// and the requests it carried fail with UNAVAILABLE, for the call's retry
// policy to retry; a request whose caller gave up is never answered
// later. What differs: the server reports a request's failure in the
// stream, as a [*ResponseError] of code UNKNOWN, since Triton sends no code
// there; per-call gRPC options ([WithGRPCCallOptions]) and server
// pushback do not apply; and Triton answers the requests of a stream in
// the order they arrived, so a request the server holds up delays those
// behind it (a stream whose oldest request runs out of time is replaced).
// The server must serve ModelStreamInfer (Triton does; KServe's servers
// do not: their calls fail with UNIMPLEMENTED). Streaming rpcs keep a
// stream of their own per call. See BENCHMARKS.md for what it saves.
func WithStreamTransport(n int) Option { return streamTransportOption(max(n, 1)) }

// DefaultStreamInFlight is how many requests one stream of
// [WithStreamTransport] carries at a time at most.
const DefaultStreamInFlight = oip.DefaultMaxInFlight

// TransportGRPCStream names, in events ([CallEvent.Transport]), the
// stream transport of [WithStreamTransport].
const TransportGRPCStream = "grpc-stream"

type streamTransportOption int

func (n streamTransportOption) applyOption(o *options) { o.streams = int(n) }

// useStreamTransport makes c, an Open Inference client dialed on pool,
// call through n streams instead of one call per request.
func (c *Client) useStreamTransport(pool *Pool, n int) {
	if c.desc.Protocol != ProtocolOpenInference {
		return
	}
	p := oip.NewPipeline(pool, oip.PipelineOptions{
		Streams:     n,
		MaxInFlight: DefaultStreamInFlight,
		MaxSend:     pool.maxSend,
		TooLarge: func(size, limit int) error {
			return newCallError(codes.ResourceExhausted,
				fmt.Sprintf("goai: trying to send message larger than max (%d vs. %d)", size, limit), ErrMessageTooLarge)
		},
	})
	c.transport = p
	c.transportName = TransportGRPCStream
	c.owned = closers{p, pool}
}

// closers closes each of its elements, in order.
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
