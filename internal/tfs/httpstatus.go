package tfs

import (
	"math"
	"net/http"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// CodeForHTTPStatus returns the gRPC code of a TF Serving REST error
// answer with HTTP status st: the code TF Serving's gRPC API sends for
// the same failure, so that retries and the breaker treat both APIs
// alike. TF Serving's table (model_servers/http_server.cc
// ToHTTPStatusCode) is read backwards, each status to the code most of
// its failures have: 400 INVALID_ARGUMENT (TF Serving also sends
// FAILED_PRECONDITION and OUT_OF_RANGE as 400), 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, 404 NOT_FOUND, 409 ABORTED (and ALREADY_EXISTS), 429
// RESOURCE_EXHAUSTED (out of memory, in TF), 499 CANCELLED, 500 INTERNAL
// (and UNKNOWN, DATA_LOSS), 501 UNIMPLEMENTED, 503 UNAVAILABLE, 504
// DEADLINE_EXCEEDED. Statuses TF Serving does not send come from proxies
// in front of it and follow HTTP's meaning: 502 UNAVAILABLE, 408
// DEADLINE_EXCEEDED, 413 RESOURCE_EXHAUSTED, any other 4xx
// INVALID_ARGUMENT and anything else UNKNOWN.
func CodeForHTTPStatus(st int) codes.Code {
	switch st {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusTooManyRequests, http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case 499: // client closed request
		return codes.Canceled
	case http.StatusInternalServerError:
		return codes.Internal
	case http.StatusNotImplemented:
		return codes.Unimplemented
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return codes.Unavailable
	case http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return codes.DeadlineExceeded
	}
	if st >= 400 && st < 500 {
		return codes.InvalidArgument
	}
	return codes.Unknown
}

// HTTPStatusForCode returns the HTTP status TF Serving answers a REST
// request failing with code c with (model_servers/http_server.cc
// ToHTTPStatusCode); OK is 200.
func HTTPStatusForCode(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.Canceled:
		return 499
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// maxPushback is the longest Retry-After read as a delay: a longer one is
// no retry delay for a call, and reads as a request not to retry.
const maxPushback = 24 * time.Hour

// ParseRetryAfter reads an answer's Retry-After values (RFC 9110
// §10.2.3): none (has and stop false), a delay (has true) in seconds or
// until an HTTP date after now (a past date is no delay), or anything
// else, a malformed, repeated or over a day long value, which asks not
// to retry (stop true), as gRFC A6 reads a malformed
// grpc-retry-pushback-ms.
func ParseRetryAfter(values []string, now time.Time) (d time.Duration, has, stop bool) {
	switch len(values) {
	case 0:
		return 0, false, false
	case 1:
	default:
		return 0, false, true
	}
	v := strings.TrimSpace(values[0])
	if digits(v) {
		var secs uint64
		for i := 0; i < len(v); i++ {
			secs = min(secs*10+uint64(v[i]-'0'), math.MaxUint32)
		}
		if secs > uint64(maxPushback/time.Second) {
			return 0, false, true
		}
		return time.Duration(secs) * time.Second, true, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false, true
	}
	switch d = t.Sub(now); {
	case d <= 0:
		return 0, true, false
	case d > maxPushback:
		return 0, false, true
	}
	return d, true, false
}
