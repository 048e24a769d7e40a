package goai

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// outcome is how an attempt ended, as the breaker and fallback see it.
type outcome uint8

const (
	// outcomeOK: the attempt succeeded.
	outcomeOK outcome = iota
	// outcomeServerFailure: the server failed or was too slow: UNAVAILABLE,
	// DEADLINE_EXCEEDED not of the caller's making, RESOURCE_EXHAUSTED
	// other than a local size limit, INTERNAL, UNKNOWN, and codes outside
	// gRPC's range.
	outcomeServerFailure
	// outcomeClientError: the server answered with a client error
	// (INVALID_ARGUMENT, NOT_FOUND, ...), or the attempt failed with an
	// error that carries no gRPC status, such as a local encoding error.
	outcomeClientError
	// outcomeIgnored: the caller's own cancellation or deadline, a
	// CANCELED status, or a message over a size limit of this client's
	// own, which says nothing of the server's health.
	outcomeIgnored
)

func (o outcome) breakerErr() error {
	switch o {
	case outcomeOK:
		return nil
	case outcomeServerFailure:
		return errOutcomeFailure
	case outcomeClientError:
		return errOutcomeClient
	}
	return errOutcomeIgnored
}

// classify sorts an attempt's error. callerGone says the caller's own
// cancellation or deadline ended the call; timedOut says the attempt's own
// timeout cut it; trailer is the attempt's trailer, nil if not captured.
func classify(err error, callerGone, timedOut bool, trailer metadata.MD) outcome {
	if err == nil {
		return outcomeOK
	}
	if callerGone {
		return outcomeIgnored
	}
	if timedOut {
		return outcomeServerFailure
	}
	st, ok := status.FromError(err)
	if !ok {
		return outcomeClientError
	}
	switch knownCode(st.Code()) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Unknown:
		return outcomeServerFailure
	case codes.ResourceExhausted:
		if localTooLarge(err, st, trailer) {
			return outcomeIgnored
		}
		return outcomeServerFailure
	case codes.Canceled:
		return outcomeIgnored
	}
	return outcomeClientError
}

// localTooLarge reports whether err, of status st, is a message over a
// size limit of this client's own: a request goai did not send, or a
// response the transport would not read. Retrying cannot help, and the
// server has not failed. It decides by where the error came from, not by
// what its text says, since a server may send any text, grpc's own
// included:
//
//   - [ErrMessageTooLarge] is goai's own check of a request against its
//     send limit ([Pool] makes it before each send, so grpc's send limit,
//     whose error reads like the server's own, does not fire first; the
//     REST transport before sending, its error wrapping
//     wire.ErrRequestTooLarge, which transportError makes match it);
//   - wire.ErrResponseTooLarge is the REST transport's own receive limit,
//     which it checks as the body arrives (a server's 413 wraps neither:
//     it counts, as a gRPC server's RESOURCE_EXHAUSTED does);
//   - grpc's receive limit, which goai cannot check before grpc reads the
//     response, fails a response message that has started to arrive,
//     after its headers. A server's status, by contrast, arrives in the
//     trailers, and a server that fails before answering, as it does on
//     its own size limits, sends a Trailers-Only response (gRFC A6 asks
//     servers to, and grpc-go and grpc core do); grpc-go then hands the
//     response's headers over with the trailer, so the captured trailer
//     holds content-type. An error that did not come Trailers-Only and
//     reads as grpc's receive-limit error is grpc's: only then does the
//     text decide, between grpc's own local errors.
//
// grpc's send-limit error is counted by its code: it is either a server's
// (its response over its own limit) or, when goai's check was bypassed, a
// local one goai cannot tell from it, and counting it is the safe side.
// Without a captured trailer (trailer nil: the attempt did not pass
// Attempt.CallOptions) grpc's receive-limit error cannot be told apart
// either, and counts.
func localTooLarge(err error, st *status.Status, trailer metadata.MD) bool {
	if errors.Is(err, ErrMessageTooLarge) || errors.Is(err, wire.ErrResponseTooLarge) {
		return true
	}
	if st.Code() != codes.ResourceExhausted || trailer == nil || len(trailer.Get("content-type")) > 0 {
		return false
	}
	msg := st.Message()
	for _, p := range grpcReceiveLimit {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// grpcReceiveLimit are the beginnings of the messages of grpc-go's
// receive-limit errors (rpc_util.go: recvMsg, decompress).
var grpcReceiveLimit = []string{
	"grpc: received message larger than max",
	"grpc: received message after decompression larger than max",
	"grpc: message after decompression larger than max",
}

// deadlineSlack is how close to its deadline a context counts as expired
// when a DEADLINE_EXCEEDED arrives: a server that got the deadline through
// grpc-timeout may answer just before the client's own timer fires.
const deadlineSlack = time.Millisecond

// deadlinePassed reports whether ctx is done or its deadline is within
// deadlineSlack. Contexts expire by the real clock, so it reads time.Now.
func deadlinePassed(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < deadlineSlack
}
