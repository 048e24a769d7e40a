package tfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DefaultMaxResponseBytes is the default limit on the body of one REST
// answer: 64 MiB, goai's default gRPC message limit. JSON takes several
// bytes per element where gRPC takes one to eight, so tensors near the
// gRPC limit may need more over REST.
const DefaultMaxResponseBytes = 64 << 20

// maxErrorBody is how much of an error answer's body is read.
const maxErrorBody = 64 << 10

// REST is the [wire.Transport] of TF Serving's REST API:
// POST /v1/models/{model}[/versions/{n}|/labels/{label}]:predict, GET
// .../metadata and GET of the model itself for its status.
//
// A predict answer is JSON, which does not say the outputs' datatypes or,
// for a signature of one output, its name; REST learns both from the
// model's metadata, fetched on the first call for a model and version
// and kept until an answer fails to decode. Errors carry the gRPC code of
// their HTTP status (oiphttp.CodeForHTTPStatus), Retry-After is reported
// as the attempt's pushback, and a request that fails before any answer
// reads as UNAVAILABLE (or the context's error), as gRPC reports it.
type REST struct {
	base string
	hc   *http.Client
	own  bool
	opts Options

	mu      sync.Mutex
	outputs map[modelKey][]TensorSpec
}

type modelKey struct{ model, version string }

var _ wire.Transport = (*REST)(nil)

// NewREST returns a transport calling the TF Serving REST API at base,
// such as "http://127.0.0.1:8501" (a path prefix is kept), through hc; a
// nil hc is a client of REST's own, whose idle connections Close closes.
func NewREST(base string, hc *http.Client, opts Options) (*REST, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("tfs: REST base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("tfs: REST base URL %q: want http(s)://host[:port][/path]", base)
	}
	r := &REST{base: strings.TrimRight(u.String(), "/"), hc: hc, opts: opts, outputs: map[modelKey][]TensorSpec{}}
	if hc == nil {
		r.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		r.own = true
	}
	return r, nil
}

// modelPath is the path of a model, and of a version of it.
func (r *REST) modelPath(model, ver string) (string, error) {
	v, err := r.opts.version(model, ver)
	if err != nil {
		return "", err
	}
	p := r.base + "/v1/models/" + pathSegment(model)
	switch {
	case v.isNumber:
		p += "/versions/" + strconv.FormatInt(v.number, 10)
	case v.label != "":
		p += "/labels/" + pathSegment(v.label)
	}
	return p, nil
}

// pathSegment escapes s for one path segment; ':' too, which TF Serving
// reads as the start of the method.
func pathSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

// Infer posts req to the model's :predict, in the configured format, with
// the configured signature, and reads the outputs named in req.Outputs
// (every output when nil, sorted by name). The REST API has no output
// filter: TF Serving answers with every output of the signature, and REST
// keeps the ones asked for. Outputs whose datatype has no JSON form (FP16,
// BF16, UINT16) fail before anything is sent when asked for by name, and
// are left out of "every output". A REST answer does not say which model
// version served it: the response's Model and Version are empty.
func (r *REST) Infer(ctx context.Context, req *wire.Request, a *wire.Attempt) (*wire.Response, error) {
	path, err := r.modelPath(req.Model, req.Version)
	if err != nil {
		return nil, err
	}
	body, err := EncodePredictRequest(r.opts.signature(), req.Inputs, r.opts.Format)
	if err != nil {
		return nil, fmt.Errorf("tfs: input: %w", err)
	}
	key := modelKey{req.Model, req.Version}
	specs, err := r.outputSpecs(ctx, key, a, false)
	if err == nil && slices.ContainsFunc(req.Outputs, func(name string) bool { return !hasSpec(specs, name) }) {
		// The model may have changed since its metadata was kept.
		specs, err = r.outputSpecs(ctx, key, a, true)
	}
	if err != nil {
		return nil, err
	}
	for _, name := range req.Outputs {
		i := slices.IndexFunc(specs, func(s TensorSpec) bool { return s.Name == name })
		if i < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "tfs: signature %q of model %q has no output %q", r.opts.signature(), req.Model, name)
		}
		if err := jsonDType(specs[i].DType); err != nil {
			return nil, fmt.Errorf("tfs: output %q: %w", name, err)
		}
	}
	answer, err := r.call(ctx, http.MethodPost, path+":predict", body, a)
	if err != nil {
		return nil, err
	}
	ts, err := DecodePredictResponse(answer, specs, r.opts.maxDecoded())
	if err != nil {
		r.forget(key)
		return nil, badResponse(err)
	}
	resp := &wire.Response{Outputs: ts}
	if req.Outputs != nil {
		resp.Outputs = make([]tensor.Tensor, len(req.Outputs))
		for i, name := range req.Outputs {
			j := slices.IndexFunc(ts, func(t tensor.Tensor) bool { return t.Name == name })
			if j < 0 {
				r.forget(key)
				return nil, badResponse(fmt.Errorf("output %q is missing", name))
			}
			resp.Outputs[i] = ts[j]
		}
	}
	return resp, nil
}

func hasSpec(specs []TensorSpec, name string) bool {
	return slices.ContainsFunc(specs, func(s TensorSpec) bool { return s.Name == name })
}

// outputSpecs returns the outputs of the model's signature, sorted by
// name, from its metadata, which it fetches once, or again if refresh.
func (r *REST) outputSpecs(ctx context.Context, key modelKey, a *wire.Attempt, refresh bool) ([]TensorSpec, error) {
	r.mu.Lock()
	specs, ok := r.outputs[key]
	r.mu.Unlock()
	if ok && !refresh {
		return specs, nil
	}
	md, err := r.ModelMetadata(ctx, key.model, key.version, a)
	if err != nil {
		return nil, err
	}
	specs = make([]TensorSpec, len(md.Outputs))
	for i, o := range md.Outputs {
		dt, _ := tensor.ParseDType(o.Datatype) // Invalid: not readable
		specs[i] = TensorSpec{Name: o.Name, DType: dt}
	}
	r.mu.Lock()
	r.outputs[key] = specs
	r.mu.Unlock()
	return specs, nil
}

func (r *REST) forget(key modelKey) {
	r.mu.Lock()
	delete(r.outputs, key)
	r.mu.Unlock()
}

// ModelMetadata gets the model's .../metadata and returns the configured
// signature's (see [ModelMetadata]).
func (r *REST) ModelMetadata(ctx context.Context, model, version string, a *wire.Attempt) (*wire.ModelMetadata, error) {
	path, err := r.modelPath(model, version)
	if err != nil {
		return nil, err
	}
	body, err := r.call(ctx, http.MethodGet, path+"/metadata", nil, a)
	if err != nil {
		return nil, err
	}
	spec, defs, err := DecodeMetadataBody(body)
	if err != nil {
		return nil, badResponse(err)
	}
	if spec.GetName() == "" {
		spec.Name = model
	}
	return ModelMetadata(spec, defs, r.opts.signature())
}

// ModelReady gets the model's status and reports whether a version is
// AVAILABLE (see [Ready]); NOT_FOUND reads as not ready.
func (r *REST) ModelReady(ctx context.Context, model, version string, a *wire.Attempt) (bool, error) {
	path, err := r.modelPath(model, version)
	if err != nil {
		return false, err
	}
	body, err := r.call(ctx, http.MethodGet, path, nil, a)
	if status.Code(err) == codes.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s, err := DecodeStatusBody(body)
	if err != nil {
		return false, badResponse(err)
	}
	return Ready(s), nil
}

// ServerReady reports whether the server answers HTTP: TF Serving's REST
// API has no server status, and TF Serving opens its port only after its
// initial models have loaded. REST gets /v1/models, which TF Serving
// answers 400 (no model named); any answer below 500 is ready, a 5xx (a
// proxy's 502 or 503) is an error with its code.
func (r *REST) ServerReady(ctx context.Context, a *wire.Attempt) (bool, error) {
	st, body, hdr, err := r.send(ctx, http.MethodGet, r.base+"/v1/models", nil, maxErrorBody)
	if err != nil {
		return false, err
	}
	if st >= 500 {
		return false, r.statusError(st, body, hdr, a)
	}
	return true, nil
}

// ServerLive is [REST.ServerReady]: an answering TF Serving is both.
func (r *REST) ServerLive(ctx context.Context, a *wire.Attempt) (bool, error) {
	return r.ServerReady(ctx, a)
}

// Close closes the idle connections of REST's own client, if it made one.
func (r *REST) Close() error {
	if r.own {
		r.hc.CloseIdleConnections()
	}
	return nil
}

func (r *REST) maxResponse() int {
	if r.opts.MaxResponseBytes <= 0 {
		return DefaultMaxResponseBytes
	}
	return r.opts.MaxResponseBytes
}

// call sends a request and returns the body of a 2xx answer, or the
// error another status stands for.
func (r *REST) call(ctx context.Context, method, url string, body []byte, a *wire.Attempt) ([]byte, error) {
	st, answer, hdr, err := r.send(ctx, method, url, body, r.maxResponse())
	if err != nil {
		return nil, err
	}
	if st/100 != 2 {
		return nil, r.statusError(st, answer, hdr, a)
	}
	return answer, nil
}

// send sends a request and reads the answer's status and body, at most
// limit bytes of it (more is RESOURCE_EXHAUSTED for a 2xx answer, and cut
// short for any other). Failures without an answer are UNAVAILABLE, or
// the context's error.
func (r *REST) send(ctx context.Context, method, url string, body []byte, limit int) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("tfs: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return 0, nil, nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		limit = maxErrorBody
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return 0, nil, nil, transportError(ctx, err)
	}
	if len(answer) > limit {
		if resp.StatusCode/100 == 2 {
			return 0, nil, nil, status.Errorf(codes.ResourceExhausted, "tfs: answer larger than max (%d bytes)", limit)
		}
		answer = answer[:limit]
	}
	return resp.StatusCode, answer, resp.Header, nil
}

// transportError is the error of a request that got no (whole) answer.
func transportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return status.FromContextError(ctxErr).Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return status.Errorf(codes.DeadlineExceeded, "tfs: %v", err)
	}
	return status.Errorf(codes.Unavailable, "tfs: %v", err)
}

// statusError is the error of an answer with HTTP status st, reporting its
// Retry-After in a.
func (r *REST) statusError(st int, body []byte, hdr http.Header, a *wire.Attempt) error {
	if a != nil {
		now := time.Now
		if r.opts.Now != nil {
			now = r.opts.Now
		}
		a.Pushback, a.HasPushback, a.NoRetry = oiphttp.ParseRetryAfter(hdr.Values("Retry-After"), now())
	}
	msg := DecodeErrorBody(body)
	if msg == "" {
		msg = http.StatusText(st)
	}
	return status.Errorf(oiphttp.CodeForHTTPStatus(st), "tfs: %s (HTTP %d)", msg, st)
}
