package runtime

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// outcome is how an attempt ended, as the breaker and fallback see it.
type outcome uint8

const (
	// outcomeOK: the attempt succeeded.
	outcomeOK outcome = iota
	// outcomeServerFailure: the server failed or was too slow: UNAVAILABLE,
	// DEADLINE_EXCEEDED not of the caller's making, RESOURCE_EXHAUSTED set
	// by the server, INTERNAL, UNKNOWN.
	outcomeServerFailure
	// outcomeClientError: the server answered with a client error
	// (INVALID_ARGUMENT, NOT_FOUND, ...), or the attempt failed with an
	// error that carries no gRPC status, such as a local encoding error.
	outcomeClientError
	// outcomeIgnored: the caller's own cancellation or deadline, a
	// CANCELED status, or a message over grpc's size limit.
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

// classify sorts an attempt's error. callerCtx is the context the caller
// passed in, before the runtime's own timeouts; timedOut says the
// attempt's own timeout cut it.
func classify(err error, callerCtx context.Context, timedOut bool) outcome {
	if err == nil {
		return outcomeOK
	}
	st, ok := status.FromError(err)
	if callerCtx.Err() != nil || st.Code() == codes.DeadlineExceeded && deadlinePassed(callerCtx) {
		return outcomeIgnored
	}
	if timedOut {
		return outcomeServerFailure
	}
	if !ok {
		return outcomeClientError
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Unknown:
		return outcomeServerFailure
	case codes.ResourceExhausted:
		if tooLarge(st) {
			return outcomeIgnored
		}
		return outcomeServerFailure
	case codes.Canceled:
		return outcomeIgnored
	}
	return outcomeClientError
}

// tooLarge reports whether st is grpc's "message larger than max" error,
// on either side: retrying the same message cannot help.
func tooLarge(st *status.Status) bool {
	return st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), "larger than max")
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
