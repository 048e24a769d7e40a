package oiphttp

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The server side: what a REST model server (goai's in-process test
// server) needs around the codec, so that it and the client share one
// implementation of the protocol's rules. Routing is left to the
// server's mux; Go's patterns match escaped segments, so
// "/v2/models/{model}/versions/{version}/infer" and r.PathValue undo the
// escaping [Transport] applies.

// ReadRequest reads and decodes the body of an infer request to model
// and version, of at most limit bytes (0 for [DefaultMaxMessageSize]).
// Errors are [*Error]s: RESOURCE_EXHAUSTED wrapping [ErrTooLarge] for a
// body over the limit (which [WriteError] answers with 413),
// INVALID_ARGUMENT for one that does not decode, UNAVAILABLE for one cut
// short.
func ReadRequest(r *http.Request, model, version string, limit int) (*ServerRequest, error) {
	limit = orDefault(limit, DefaultMaxMessageSize)
	body, err := readBody(r.Body, r.ContentLength, limit)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, newError(codes.Unavailable, err, "reading the request: %v", err)
	}
	hl, err := ParseHeaderLength(r.Header.Values(HeaderLength), len(body))
	if err != nil {
		return nil, decodeError(codes.InvalidArgument, "request", err)
	}
	return DecodeRequest(body, hl, model, version)
}

// WriteResponse answers with resp, each output binary when binary says
// the client asked for it (nil for none; see [ServerRequest.BinaryOutput])
// or JSON cannot carry it: Content-Type application/json for a JSON-only
// body, application/octet-stream with [HeaderLength] when binary chunks
// follow, as Triton answers. An output that does not encode is answered
// with [WriteError] and returned.
func WriteResponse(w http.ResponseWriter, resp *wire.Response, binary func(name string) bool) error {
	bufs := bufsPool.Get().(*bodyBufs)
	header, chunks, err := EncodeResponse(bufs.header[:0], bufs.chunks[:0], resp, binary)
	bufs.header, bufs.chunks = header, chunks
	defer bufs.put()
	if err != nil {
		WriteError(w, err)
		return err
	}
	h := w.Header()
	size := len(header)
	for _, c := range chunks {
		size += len(c)
	}
	if len(chunks) > 0 {
		h.Set("Content-Type", "application/octet-stream")
		h.Set(HeaderLength, strconv.Itoa(len(header)))
	} else {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(header); err != nil {
		return err
	}
	for _, c := range chunks {
		if _, err := w.Write(c); err != nil {
			return err
		}
	}
	return nil
}

// WriteError answers with err: the HTTP status [HTTPStatusForCode] gives
// its gRPC code (413 for an error wrapping [ErrTooLarge]), and the body
// {"error": message}. Set a Retry-After header on w first to ask for a
// retry delay.
func WriteError(w http.ResponseWriter, err error) {
	st := status.Convert(err)
	code := HTTPStatusForCode(st.Code())
	if errors.Is(err, ErrTooLarge) {
		code = http.StatusRequestEntityTooLarge
	}
	if code == http.StatusOK {
		code = http.StatusInternalServerError
	}
	body := EncodeErrorBody(st.Message())
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// WriteModelMetadata answers with md's metadata body.
func WriteModelMetadata(w http.ResponseWriter, md *wire.ModelMetadata) {
	body := EncodeModelMetadata(md)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
