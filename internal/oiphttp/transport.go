package oiphttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goai-dev/goai/internal/wire"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DefaultMaxMessageSize is the default limit of a request body and of a
// response body: 64 MiB, the gRPC path's default message limit, so that
// a model that works over one transport works over the other.
const DefaultMaxMessageSize = 64 << 20

// Options configure a [Transport]. The zero value is the default.
type Options struct {
	// EncodeOptions choose binary or JSON for inputs and outputs.
	EncodeOptions

	// MaxRequestSize and MaxResponseSize limit a request body and a
	// response body, in bytes; 0 means [DefaultMaxMessageSize]. A call's
	// grpc.MaxCallSendMsgSize and grpc.MaxCallRecvMsgSize options, passed
	// in [wire.Attempt.GRPC], override them for that call, as they do on
	// the gRPC transport.
	MaxRequestSize, MaxResponseSize int

	// Headers, if set, returns headers to add to each request, given the
	// request's URL without query; it has the form of grpc's
	// credentials.PerRPCCredentials.GetRequestMetadata, so per-RPC
	// credentials plug in as they are. An error fails the attempt: with
	// its own gRPC code if it has one (codes a control plane may not send,
	// such as INVALID_ARGUMENT, become INTERNAL, as gRFC A54 has it), else
	// UNAUTHENTICATED, as grpc-go reports failing credentials.
	Headers func(ctx context.Context, uri string) (map[string]string, error)
	// HeadersRequireTLS refuses to send Headers' headers over plain HTTP,
	// like PerRPCCredentials.RequireTransportSecurity: [New] fails for an
	// http:// base URL.
	HeadersRequireTLS bool

	// UserAgent, if set, is sent as the User-Agent header.
	UserAgent string

	// Client tunes the *http.Client that [New] makes when it is given
	// none.
	Client ClientOptions
}

// Transport is a [wire.Transport] over HTTP/REST: the Open Inference
// Protocol's endpoints (§A7 of the protocol notes) with the JSON of §A8
// and Triton's binary extension of §A9. It is safe for concurrent use.
type Transport struct {
	client  *http.Client
	owned   bool // client made by New: Close closes its connections
	closed  atomic.Bool
	prefix  string // base URL, no trailing slash
	secure  bool   // https
	opts    Options
	maxSend int
	maxRecv int
	now     func() time.Time
}

var _ wire.Transport = (*Transport)(nil)

// New returns a Transport to the server at base, an http:// or https://
// URL with an optional path prefix (https://gateway/triton), using client
// (nil for [NewHTTPClient] of opts.Client, which Close then closes).
func New(base *url.URL, client *http.Client, opts Options) (*Transport, error) {
	if base == nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("oiphttp: base URL %v is not an http:// or https:// URL with a host", base)
	}
	if base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("oiphttp: base URL %v has a query or fragment", base)
	}
	secure := base.Scheme == "https"
	if opts.HeadersRequireTLS && !secure {
		return nil, fmt.Errorf("oiphttp: the request headers require transport security, and %v is plain HTTP", base.Redacted())
	}
	t := &Transport{client: client, secure: secure, opts: opts, now: time.Now}
	if client == nil {
		t.client, t.owned = NewHTTPClient(opts.Client), true
	}
	t.prefix = strings.TrimSuffix(base.String(), "/")
	t.maxSend = orDefault(opts.MaxRequestSize, DefaultMaxMessageSize)
	t.maxRecv = orDefault(opts.MaxResponseSize, DefaultMaxMessageSize)
	return t, nil
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Close makes later calls fail with CANCELED, as a closed gRPC connection
// does, and closes the idle connections of a client New made; a client
// passed to New is the caller's to close. Calls in flight finish, and
// net/http closes their connections as they release them, since no call
// follows (http.Transport.CloseIdleConnections closes newly idle
// connections until a request asks for one).
func (t *Transport) Close() error {
	t.closed.Store(true)
	if t.owned {
		t.client.CloseIdleConnections()
	}
	return nil
}

// HTTPClient returns the client the transport sends through: the one
// given to [New], or the one New made.
func (t *Transport) HTTPClient() *http.Client { return t.client }

// errClosed is the error of a call after Close.
var errClosed = &Error{Code: codes.Canceled, Message: "the transport is closed"}

// segment escapes a model name or version for one path segment: a '/'
// must not make two, and "." or ".." must not climb.
func segment(s string) string {
	if s == "." || s == ".." {
		return strings.Repeat("%2E", len(s))
	}
	return url.PathEscape(s)
}

// modelPath is /v2/models/{m}[/versions/{v}] with the segments escaped.
func modelPath(model, version string) string {
	p := "/v2/models/" + segment(model)
	if version != "" {
		p += "/versions/" + segment(version)
	}
	return p
}

// callSettings are one attempt's limits and credentials, from the
// Transport's options and the attempt's gRPC call options.
type callSettings struct {
	maxSend, maxRecv int
	creds            []perRPCCreds
}

// perRPCCreds is the part of credentials.PerRPCCredentials used here.
type perRPCCreds interface {
	GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error)
	RequireTransportSecurity() bool
}

func (t *Transport) settings(a *wire.Attempt) callSettings {
	cs := callSettings{maxSend: t.maxSend, maxRecv: t.maxRecv}
	if a == nil {
		return cs
	}
	a.Pushback, a.HasPushback, a.NoRetry = 0, false, false
	for _, o := range a.GRPC {
		switch o := o.(type) {
		case grpc.MaxSendMsgSizeCallOption:
			cs.maxSend = o.MaxSendMsgSize
		case grpc.MaxRecvMsgSizeCallOption:
			cs.maxRecv = o.MaxRecvMsgSize
		case grpc.PerRPCCredsCallOption:
			if o.Creds != nil {
				cs.creds = append(cs.creds, o.Creds)
			}
		}
	}
	return cs
}

// Infer posts req to /v2/models/{m}[/versions/{v}]/infer.
func (t *Transport) Infer(ctx context.Context, req *wire.Request, a *wire.Attempt) (*wire.Response, error) {
	if req.Model == "" {
		return nil, newError(codes.InvalidArgument, nil, "infer: no model name")
	}
	cs := t.settings(a)
	bufs := bufsPool.Get().(*bodyBufs)
	header, chunks, err := EncodeRequest(bufs.header[:0], bufs.chunks[:0], req, t.opts.EncodeOptions)
	if err != nil {
		bufs.header, bufs.chunks = header, chunks
		bufs.put()
		return nil, err
	}
	body := newRequestBody(bufs, header, chunks)
	defer body.release()
	if body.size > int64(cs.maxSend) {
		return nil, ownLimit(tooLarge("trying to send", body.size, cs.maxSend), wire.ErrRequestTooLarge)
	}

	uri := t.prefix + modelPath(req.Model, req.Version) + "/infer"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, body.reader())
	if err != nil {
		return nil, newError(codes.InvalidArgument, err, "infer: %v", err)
	}
	hreq.ContentLength = body.size
	hreq.GetBody = func() (io.ReadCloser, error) { return body.reader(), nil }
	if len(chunks) > 0 {
		hreq.Header.Set("Content-Type", "application/octet-stream")
		hreq.Header.Set(HeaderLength, strconv.Itoa(len(header)))
	} else {
		hreq.Header.Set("Content-Type", "application/json")
	}
	data, h, err := t.fetch(ctx, hreq, cs, a)
	if err != nil {
		return nil, err
	}
	hl, err := ParseHeaderLength(h.Values(HeaderLength), len(data))
	if err != nil {
		return nil, decodeError(codes.Internal, "response", err)
	}
	return DecodeResponse(data, hl)
}

// ModelMetadata gets /v2/models/{m}[/versions/{v}].
func (t *Transport) ModelMetadata(ctx context.Context, model, version string, a *wire.Attempt) (*wire.ModelMetadata, error) {
	if model == "" {
		return nil, newError(codes.InvalidArgument, nil, "model metadata: no model name")
	}
	cs := t.settings(a)
	data, _, err := t.fetch(ctx, t.newGet(ctx, modelPath(model, version)), cs, a)
	if err != nil {
		return nil, err
	}
	return DecodeModelMetadata(data)
}

// ModelReady gets /v2/models/{m}[/versions/{v}]/ready: 200 is ready; 400
// (Triton's "not ready"), 404 (an unknown model or version) and 503
// (KServe's "not ready") are not ready, as the protocol's 4xx for false
// and a gRPC server's ready=false for a model it does not have; other
// statuses are errors.
func (t *Transport) ModelReady(ctx context.Context, model, version string, a *wire.Attempt) (bool, error) {
	if model == "" {
		return false, newError(codes.InvalidArgument, nil, "model ready: no model name")
	}
	return t.ready(ctx, modelPath(model, version)+"/ready", a, http.StatusNotFound)
}

// ServerReady gets /v2/health/ready: 200 is ready, 400 and 503 not
// ready, other statuses errors (a 404 there is a server that does not
// speak the protocol, not one that is not ready).
func (t *Transport) ServerReady(ctx context.Context, a *wire.Attempt) (bool, error) {
	return t.ready(ctx, "/v2/health/ready", a, 0)
}

// ServerLive gets /v2/health/live, read as [Transport.ServerReady] reads
// its answer.
func (t *Transport) ServerLive(ctx context.Context, a *wire.Attempt) (bool, error) {
	return t.ready(ctx, "/v2/health/live", a, 0)
}

// maxReadyBody caps what is read of a health answer's body.
const maxReadyBody = 4 << 10

func (t *Transport) ready(ctx context.Context, path string, a *wire.Attempt, alsoFalse int) (bool, error) {
	cs := t.settings(a)
	resp, err := t.do(ctx, t.newGet(ctx, path), cs, a)
	if err == nil {
		defer resp.Body.Close()
		// The status has answered; the body is only a hint, so a read
		// error does not matter.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxReadyBody))
		return readyBody(body), nil
	}
	var e *Error
	if errors.As(err, &e) && e.HTTPStatus != 0 &&
		(e.HTTPStatus == http.StatusBadRequest || e.HTTPStatus == http.StatusServiceUnavailable || e.HTTPStatus == alsoFalse) {
		return false, nil
	}
	return false, err
}

func (t *Transport) newGet(ctx context.Context, path string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.prefix+path, nil)
	if err != nil {
		// prefix parsed once and the path is escaped: cannot happen.
		panic("oiphttp: " + err.Error())
	}
	return req
}

// do sends req with the headers of the options and credentials, and
// returns a 2xx response; any other status is read as an error answer,
// its Retry-After reported in a.
func (t *Transport) do(ctx context.Context, req *http.Request, cs callSettings, a *wire.Attempt) (*http.Response, error) {
	if t.closed.Load() {
		return nil, errClosed
	}
	if t.opts.UserAgent != "" {
		req.Header.Set("User-Agent", t.opts.UserAgent)
	}
	if err := t.addHeaders(ctx, req, cs); err != nil {
		return nil, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, exchangeError(ctx, err, req.Method+" "+req.URL.Path)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	if a != nil {
		a.Pushback, a.HasPushback, a.NoRetry = ParseRetryAfter(resp.Header.Values("Retry-After"), t.now())
	}
	// The status says what happened and the message is a courtesy: a
	// read error just cuts it short.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	// Drain a little of what is left, so a long error page does not cost
	// the connection.
	_, _ = io.CopyN(io.Discard, resp.Body, 4*MaxErrorBody)
	return nil, DecodeErrorBody(resp.StatusCode, body)
}

// addHeaders adds the headers of the context's outgoing gRPC metadata,
// of the Headers option and of the call's per-RPC credentials.
//
// Outgoing metadata is how goai hands an attempt's request headers to
// every transport alike (a trace context from a hook, say): gRPC sends it
// as metadata, this transport as HTTP headers. Binary ("-bin") keys, which
// gRPC base64-encodes, and pseudo-headers are not sent.
func (t *Transport) addHeaders(ctx context.Context, req *http.Request, cs callSettings) error {
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		if err := addMetadata(req.Header, md); err != nil {
			return err
		}
	}
	if t.opts.Headers == nil && len(cs.creds) == 0 {
		return nil
	}
	u := *req.URL
	u.User, u.RawQuery = nil, ""
	uri := u.String()
	if t.opts.Headers != nil {
		md, err := t.opts.Headers(ctx, uri)
		if err != nil {
			return credsError(err, codes.Unauthenticated)
		}
		if err := setHeaders(req.Header, md); err != nil {
			return err
		}
	}
	for _, c := range cs.creds {
		if c.RequireTransportSecurity() && !t.secure {
			return newError(codes.Unauthenticated, nil, "cannot send secure credentials on an insecure connection")
		}
		md, err := c.GetRequestMetadata(ctx, uri)
		if err != nil {
			return credsError(err, codes.Internal)
		}
		if err := setHeaders(req.Header, md); err != nil {
			return err
		}
	}
	return nil
}

// credsError is the error of failing credentials, as grpc-go makes it:
// the credentials' own status unless a control plane may not send it
// (gRFC A54), else code.
func credsError(err error, code codes.Code) error {
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition,
			codes.Aborted, codes.OutOfRange, codes.DataLoss:
			return newError(codes.Internal, err, "request headers failed with illegal status: %v", err)
		}
		return &Error{Code: st.Code(), Message: "request headers failed: " + st.Message(), Err: err}
	}
	return newError(code, err, "request headers failed: %v", err)
}

// addMetadata adds the values of md to h, as [Transport.addHeaders]
// says.
func addMetadata(h http.Header, md metadata.MD) error {
	for k, vs := range md {
		if strings.HasSuffix(k, "-bin") || strings.HasPrefix(k, ":") {
			continue
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
				return newError(codes.Internal, nil, "outgoing metadata %q has an invalid name or value for an HTTP header", k)
			}
			h.Add(k, v)
		}
	}
	return nil
}

func setHeaders(h http.Header, md map[string]string) error {
	for k, v := range md {
		if !httpguts.ValidHeaderFieldName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return newError(codes.Internal, nil, "request header %q has an invalid name or value", k)
		}
		h.Set(k, v)
	}
	return nil
}

// fetch makes the exchange of req and returns the answer's body, read
// whole into one buffer of at most cs.maxRecv bytes, and its headers. A
// failure to read is mapped as [exchangeError] maps one to send.
func (t *Transport) fetch(ctx context.Context, req *http.Request, cs callSettings, a *wire.Attempt) ([]byte, http.Header, error) {
	resp, err := t.do(ctx, req, cs, a)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := readBody(resp.Body, resp.ContentLength, cs.maxRecv)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			if errors.Is(e, ErrTooLarge) {
				ownLimit(e, wire.ErrResponseTooLarge)
			}
			return nil, nil, err
		}
		return nil, nil, exchangeError(ctx, err, "reading the response")
	}
	return data, resp.Header, nil
}

// exchangeError maps a failed exchange to the code grpc-go reports for
// the same failure: the context's own (DEADLINE_EXCEEDED, CANCELED) when
// it ended, DEADLINE_EXCEEDED for a timeout of the HTTP client, and
// UNAVAILABLE for everything else (refused, reset, TLS failures, a body
// cut short), which is what a broken connection is on gRPC.
func exchangeError(ctx context.Context, err error, what string) error {
	if cerr := ctx.Err(); cerr != nil {
		return &Error{Code: status.FromContextError(cerr).Code(), Message: what + ": " + err.Error(), Err: cerr}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &Error{Code: codes.DeadlineExceeded, Message: what + ": " + err.Error(), Err: err}
	case errors.Is(err, context.Canceled):
		return &Error{Code: codes.Canceled, Message: what + ": " + err.Error(), Err: err}
	}
	return &Error{Code: codes.Unavailable, Message: what + ": " + err.Error(), Err: err}
}
