package tfs

import (
	"net/http"

	"google.golang.org/grpc/codes"
)

// A REST client reads an error answer's status and Retry-After as
// internal/oiphttp does for the Open Inference Protocol
// (oiphttp.CodeForHTTPStatus, oiphttp.ParseRetryAfter), so that one
// overloaded or failing server looks the same to the call path whatever
// protocol it speaks: TF Serving's statuses (HTTPStatusForCode) read
// back as their codes, but for those TF Serving folds together and 429,
// which reads as UNAVAILABLE, as gRPC's own HTTP mapping reads it.

// HTTPStatusForCode returns the HTTP status TF Serving answers a REST
// request failing with code c with (model_servers/http_server.cc
// ToHTTPStatusCode), for a server that answers as TF Serving does; OK is
// 200.
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
