package oiphttp

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
)

// MaxErrorBody is how much of an error answer's body is read: enough for
// any message a server writes by hand, small enough that a hostile or
// broken server cannot make an error cost memory.
const MaxErrorBody = 64 << 10

// CodeForHTTPStatus returns the gRPC code for an error answer with HTTP
// status st, the code a gRPC server would have sent for the same failure,
// so that the call path retries and counts it against the breaker as it
// does on gRPC.
//
// Triton sends 400 for every error it has no better status for
// (INVALID_ARGUMENT and the like), 404 for NOT_FOUND, 501 for
// UNIMPLEMENTED, 500 for INTERNAL and 503 for UNAVAILABLE; those map
// back. The rest follow HTTP's meaning:
//
//   - 429 Too Many Requests is UNAVAILABLE, not RESOURCE_EXHAUSTED: it is
//     what gRPC's own HTTP-to-gRPC mapping (grpc/grpc
//     doc/http-grpc-status-mapping.md) and grpc-go answer when a proxy
//     sends 429 to a gRPC call, and what Envoy's rate limit filter sends
//     gRPC clients by default, so the same overloaded deployment looks
//     the same on both transports: retried by the default policy (which
//     retries UNAVAILABLE only), after the Retry-After the server gave,
//     and a server failure for the breaker. Triton itself answers an
//     overloaded queue with UNAVAILABLE on gRPC and 503 on HTTP.
//   - 502 Bad Gateway is UNAVAILABLE (the proxy could not reach the
//     server), 504 Gateway Timeout and 408 Request Timeout are
//     DEADLINE_EXCEEDED.
//   - 413 Content Too Large is RESOURCE_EXHAUSTED "larger than max", as
//     grpc-go reports a message over the server's limit: retrying the
//     same request cannot help.
//   - 401, 403, 409, 412 and 499 are UNAUTHENTICATED, PERMISSION_DENIED,
//     ABORTED, FAILED_PRECONDITION and CANCELED.
//   - Any other 4xx is INVALID_ARGUMENT (a client error: not retried, not
//     held against the server), any other status UNKNOWN (which the
//     breaker counts as a server failure), as gRPC maps statuses it does
//     not know.
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
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusConflict:
		return codes.Aborted
	case http.StatusPreconditionFailed:
		return codes.FailedPrecondition
	case http.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable:
		return codes.Unavailable
	case 499: // nginx: client closed request
		return codes.Canceled
	case http.StatusInternalServerError:
		return codes.Internal
	case http.StatusNotImplemented:
		return codes.Unimplemented
	}
	if st >= 400 && st < 500 {
		return codes.InvalidArgument
	}
	return codes.Unknown
}

// HTTPStatusForCode returns the HTTP status a server answers an error of
// gRPC code c with. It is Triton's mapping (NOT_FOUND 404, UNAVAILABLE
// 503, UNIMPLEMENTED 501, INTERNAL 500, the rest 400) with the codes
// Triton folds into 400 given the status that [CodeForHTTPStatus] reads
// back as the same kind of failure: UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, DEADLINE_EXCEEDED 504, RESOURCE_EXHAUSTED 429
// (read back as UNAVAILABLE: an overloaded server, retried), ABORTED and
// ALREADY_EXISTS 409, FAILED_PRECONDITION 412, CANCELED 499, UNKNOWN and
// DATA_LOSS 500. OK is 200.
func HTTPStatusForCode(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.NotFound:
		return http.StatusNotFound
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return http.StatusInternalServerError
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Aborted, codes.AlreadyExists:
		return http.StatusConflict
	case codes.FailedPrecondition:
		return http.StatusPreconditionFailed
	case codes.Canceled:
		return 499
	}
	return http.StatusBadRequest
}

// DecodeErrorBody returns the error of an answer with HTTP status st and
// body, its first [MaxErrorBody] bytes or fewer: the "error" member of a
// JSON object as Triton and KServe send it, or else the body itself as
// text (a proxy's HTML page, a plain message), cut short and made valid
// UTF-8. The error's code is [CodeForHTTPStatus] of st, except that a 413
// says "larger than max" so that the call path does not retry it.
func DecodeErrorBody(st int, body []byte) *Error {
	code := CodeForHTTPStatus(st)
	msg := errorMessage(body)
	if msg == "" {
		msg = http.StatusText(st)
		if msg == "" {
			msg = "status " + strconv.Itoa(st)
		}
	}
	e := &Error{Code: code, HTTPStatus: st, Message: msg}
	if st == http.StatusRequestEntityTooLarge {
		e.Message = "request larger than max the server accepts: " + msg
		e.Err = ErrTooLarge
	}
	return e
}

// maxErrorMessage caps the message kept from an error body that is not
// the protocol's JSON: a proxy's error page is not worth more.
const maxErrorMessage = 512

func errorMessage(body []byte) string {
	var v struct {
		Error *string `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && v.Error != nil {
		return *v.Error
	}
	body = bytes.TrimSpace(body)
	cut := len(body) > maxErrorMessage
	if cut {
		body = body[:maxErrorMessage]
	}
	s := strings.ToValidUTF8(string(body), string(utf8.RuneError))
	if cut {
		s += "..."
	}
	return s
}

// EncodeErrorBody returns the body a server answers an error with:
// {"error": msg}, as Triton writes it.
func EncodeErrorBody(msg string) []byte {
	b := append([]byte(nil), `{"error":`...)
	b = AppendJSONString(b, strings.ToValidUTF8(msg, string(utf8.RuneError)))
	return append(b, '}')
}

// maxPushback is the longest Retry-After taken as a delay. A longer one
// cannot be a retry delay of this call (and would not fit
// time.Duration's nanoseconds much further on), so it is read as the
// server asking not to retry, as gRPC reads a malformed pushback.
const maxPushback = 24 * time.Hour

// ParseRetryAfter reads an answer's Retry-After header values (RFC 9110
// §10.2.3): absent (has and stop false), a delay (has true) given as
// delay-seconds or as an HTTP-date after now (a date already past is a
// zero delay), or anything else (stop true): a malformed, negative,
// repeated or longer than a day's value asks the client not to retry, as
// gRFC A6 reads a malformed grpc-retry-pushback-ms.
func ParseRetryAfter(values []string, now time.Time) (d time.Duration, has, stop bool) {
	switch len(values) {
	case 0:
		return 0, false, false
	case 1:
	default:
		return 0, false, true
	}
	v := strings.TrimSpace(values[0])
	if v == "" {
		return 0, false, true
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, ok := parseDigits(v)
		if !ok || secs > uint64(maxPushback/time.Second) {
			return 0, false, true
		}
		return time.Duration(secs) * time.Second, true, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false, true
	}
	d = t.Sub(now) // saturates instead of overflowing
	switch {
	case d <= 0:
		return 0, true, false
	case d > maxPushback:
		return 0, false, true
	}
	return d, true, false
}

// parseDigits parses a run of decimal digits, saturating at MaxUint64
// instead of overflowing.
func parseDigits(s string) (uint64, bool) {
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxUint64-9)/10 {
			n = math.MaxUint64
			continue
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
