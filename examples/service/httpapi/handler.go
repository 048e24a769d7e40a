// Package httpapi is the digits service's HTTP layer: POST /classify
// (JSON in, JSON out), /healthz, /readyz and /metrics, and [Serve], which
// runs it and shuts it down without losing an accepted request.
//
// It calls the model through the [Classifier] interface, not through goai
// directly, so that it is tested against a fake and stays independent of
// the client's API: the service's main package adapts the generated
// DigitClassifierModelClient to Classifier.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	k8sjson "sigs.k8s.io/json"
)

// Shape of the model's tensors, from examples/proto/digits/v1/digits.proto.
const (
	// Pixels is the number of values of one glyph: 8×8, row-major.
	Pixels = 64
	// Classes is the number of probabilities the model returns.
	Classes = 10
)

// Defaults of [Options].
const (
	// DefaultMaxBodyBytes bounds a /classify request body. 64 numbers
	// written out in full (0.12345678901234567) with pretty-printing take
	// under 2 KiB.
	DefaultMaxBodyBytes = 16 << 10
	// DefaultReadyTimeout bounds one readiness check; keep it under the
	// readiness probe's timeoutSeconds so that the probe sees our 503, not
	// its own timeout.
	DefaultReadyTimeout = time.Second
)

// Classifier is what the HTTP layer needs from the model client.
type Classifier interface {
	// Classify returns the model's answer for one glyph of [Pixels]
	// values in [0, 1]. Its errors keep their gRPC codes (goai's do),
	// which decide the HTTP status.
	Classify(ctx context.Context, pixels []float32) (Result, error)
	// Ready returns nil when calls can go through now: the model server
	// is reachable and ready, and the client's circuit breaker is not
	// open (half-open is ready, so that probe calls can close it).
	Ready(ctx context.Context) error
}

// Result is the model's answer for one glyph.
type Result struct {
	// Probs holds [Classes] probabilities, one per digit.
	Probs []float32
	// ModelVersion is the version that answered, as the canary routing
	// chose it.
	ModelVersion string
}

// Options configure a [Handler]; the zero value is usable.
type Options struct {
	// Logger receives one line per failed call, with the error in full;
	// responses carry only a generic message. Nil means slog.Default().
	Logger *slog.Logger
	// Metrics, if set, serves GET /metrics.
	Metrics http.Handler
	// CallTimeout, if positive, bounds each /classify call, on top of the
	// deadline the client's call policy sets.
	CallTimeout time.Duration
	// ReadyTimeout bounds a /readyz check; zero means
	// [DefaultReadyTimeout].
	ReadyTimeout time.Duration
	// MaxBodyBytes bounds a /classify body; zero means
	// [DefaultMaxBodyBytes].
	MaxBodyBytes int64
}

// Handler serves the service's endpoints. It is safe for concurrent use.
type Handler struct {
	c        Classifier
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	draining atomic.Bool
}

// New returns a Handler that calls c.
func New(c Classifier, opts Options) *Handler {
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &Handler{c: c, opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.mux.HandleFunc("POST /classify", h.classify)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	if opts.Metrics != nil {
		h.mux.Handle("GET /metrics", opts.Metrics)
	}
	return h
}

// ServeHTTP routes r. A method an endpoint does not take gets 405 with an
// Allow header; an unknown path gets 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// StartDrain makes /readyz fail from now on, so that load balancers that
// probe readiness stop sending new requests while those in flight finish.
// [Serve] calls it when its context ends.
func (h *Handler) StartDrain() { h.draining.Store(true) }

// Draining reports whether [Handler.StartDrain] was called.
func (h *Handler) Draining() bool { return h.draining.Load() }

// classifyRequest is the body of POST /classify.
type classifyRequest struct {
	Pixels *[]pixel `json:"pixels"`
}

// pixel is one value of "pixels". encoding/json leaves a float32 alone
// when it reads null, which would turn [null, ...] into a black pixel;
// pixel refuses null instead, and numbers beyond float32's range.
type pixel float32

// UnmarshalJSON reads a JSON number into p.
func (p *pixel) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return errors.New("null is not a pixel value")
	}
	v, err := strconv.ParseFloat(string(b), 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("%s is out of range", b)
		}
		return fmt.Errorf("%s is not a number", b)
	}
	*p = pixel(v)
	return nil
}

// classifyResponse is the body of a successful POST /classify.
type classifyResponse struct {
	Digit        int       `json:"digit"`
	Probs        []float32 `json:"probs"`
	ModelVersion string    `json:"model_version"`
}

// errorResponse is the body of every error this package writes.
type errorResponse struct {
	Error string `json:"error"`
	// Code is the canonical gRPC code name (INVALID_ARGUMENT, UNAVAILABLE,
	// ...), for clients that branch on the kind of failure.
	Code string `json:"code"`
}

func (h *Handler) classify(w http.ResponseWriter, r *http.Request) {
	pixels, err := h.readPixels(w, r)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			writeError(w, re.status, codes.InvalidArgument, re.msg)
			return
		}
		writeError(w, http.StatusBadRequest, codes.InvalidArgument, err.Error())
		return
	}
	ctx := r.Context()
	if h.opts.CallTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.opts.CallTimeout)
		defer cancel()
	}
	res, err := h.c.Classify(ctx, pixels)
	if err != nil {
		h.callFailed(w, r, err)
		return
	}
	digit, err := checkResult(res)
	if err != nil {
		h.log.ErrorContext(r.Context(), "classify: bad model answer", "err", err, "model_version", res.ModelVersion)
		writeError(w, http.StatusBadGateway, codes.Internal, "the model returned a malformed answer")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, classifyResponse{Digit: digit, Probs: res.Probs, ModelVersion: res.ModelVersion})
}

// requestError is a request the service refuses, with its HTTP status.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// readPixels reads and checks the body of POST /classify: JSON with
// exactly one field, "pixels", holding exactly Pixels finite numbers in
// [0, 1]. Keys are matched case-sensitively and duplicates refused, as in
// the routing file.
func (h *Handler) readPixels(w http.ResponseWriter, r *http.Request) ([]float32, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &requestError{status: http.StatusUnsupportedMediaType, msg: "send the body as Content-Type: application/json"}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("the body is over %d bytes", mbe.Limit)}
		}
		return nil, badRequest("reading the body: %v", err)
	}
	var req classifyRequest
	strict, err := k8sjson.UnmarshalStrict(data, &req)
	if err != nil {
		return nil, badRequest("the body is not a valid request: %v", err)
	}
	if len(strict) > 0 {
		return nil, badRequest("the body is not a valid request: %v", errors.Join(strict...))
	}
	if req.Pixels == nil {
		return nil, badRequest(`the body has no "pixels"`)
	}
	in := *req.Pixels
	if len(in) != Pixels {
		return nil, badRequest(`"pixels" has %d values; want %d (8×8, row-major)`, len(in), Pixels)
	}
	px := make([]float32, Pixels)
	for i, v := range in {
		// JSON has no NaN or infinity; the comparison refuses them too.
		if !(v >= 0 && v <= 1) {
			return nil, badRequest(`"pixels"[%d] is %v; want a value in [0, 1]`, i, v)
		}
		px[i] = float32(v)
	}
	return px, nil
}

// checkResult returns the digit of a well-formed result.
func checkResult(res Result) (int, error) {
	if len(res.Probs) != Classes {
		return 0, fmt.Errorf("%d probabilities, want %d", len(res.Probs), Classes)
	}
	best := 0
	for i, p := range res.Probs {
		if math.IsNaN(float64(p)) || math.IsInf(float64(p), 0) {
			return 0, fmt.Errorf("probability %d is %v", i, p)
		}
		if p > res.Probs[best] {
			best = i
		}
	}
	return best, nil
}

// callFailed logs a failed Classify in full and answers with the status
// its gRPC code maps to, without the upstream message, which may name
// internal hosts or model-server details.
func (h *Handler) callFailed(w http.ResponseWriter, r *http.Request, err error) {
	httpStatus, code := statusOf(err)
	level := slog.LevelError
	if code == codes.Canceled {
		level = slog.LevelInfo // the caller went away; nothing is wrong here
	}
	h.log.Log(r.Context(), level, "classify failed", "err", err, "code", code.String(), "http_status", httpStatus)
	if httpStatus == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, httpStatus, code, messages[httpStatus])
}

// StatusClientClosedRequest is the status logged and written when the
// caller cancelled its request before the answer (nginx's 499); the caller
// never reads it, but access logs and metrics do.
const StatusClientClosedRequest = 499

// statusOf maps the error of a call to the model to an HTTP status.
//
// The request was checked before the call, so a code that would be the
// caller's fault on a public gRPC API (INVALID_ARGUMENT, NOT_FOUND,
// PERMISSION_DENIED, ...) means here that the service and the model server
// disagree, about the contract, the version routed to, or credentials:
// 502, a bad gateway, not the caller's 4xx. Overload and unavailability,
// goai's open breaker, exhausted retry budget, rate limit and bulkhead
// included, are 503, which tells load balancers and clients to try
// elsewhere or later.
func statusOf(err error) (int, codes.Code) {
	code := status.Code(err)
	if code == codes.Unknown {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			code = codes.DeadlineExceeded
		case errors.Is(err, context.Canceled):
			code = codes.Canceled
		}
	}
	switch code {
	case codes.Canceled:
		return StatusClientClosedRequest, code
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout, code
	case codes.Unavailable, codes.ResourceExhausted:
		return http.StatusServiceUnavailable, code
	case codes.Unknown:
		return http.StatusInternalServerError, code
	default:
		return http.StatusBadGateway, code
	}
}

// messages are the generic texts of failed calls, by HTTP status.
var messages = map[int]string{
	StatusClientClosedRequest:      "the request was cancelled",
	http.StatusGatewayTimeout:      "the model did not answer in time",
	http.StatusServiceUnavailable:  "the model is unavailable or overloaded; retry later",
	http.StatusInternalServerError: "internal error",
	http.StatusBadGateway:          "the model server refused or failed the call",
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	// Liveness says only that this process serves HTTP. It must not
	// depend on the model server: if it did, a model-server outage would
	// make the kubelet restart every replica of this service at once.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.Draining() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "draining\n")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.ReadyTimeout)
	defer cancel()
	if err := h.c.Ready(ctx); err != nil {
		h.log.WarnContext(r.Context(), "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "not ready\n")
		return
	}
	io.WriteString(w, "ok\n")
}

// codeNames are the canonical names of gRPC codes, as google.rpc.Code
// spells them; codes.Code's String gives Go-style names instead.
var codeNames = [...]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}

func codeName(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "UNKNOWN"
}

func writeError(w http.ResponseWriter, httpStatus int, code codes.Code, msg string) {
	writeJSON(w, httpStatus, errorResponse{Error: msg, Code: codeName(code)})
}

func writeJSON(w http.ResponseWriter, httpStatus int, v any) {
	body, err := json.Marshal(v)
	if err != nil { // only finite float32s and strings get here
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus)
	w.Write(append(body, '\n'))
}
