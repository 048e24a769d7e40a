package tfs

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TF Serving's REST paths (model_servers/http_rest_api_util.cc).
var (
	predictPath = regexp.MustCompile(`(?i)^/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|predict)$`)
	statusPath  = regexp.MustCompile(`(?i)^/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?(?:/(metadata))?$`)
)

// ServeHTTP serves TF Serving's REST API: POST
// /v1/models/{model}[/versions/{n}|/labels/{label}]:predict, and GET of
// the same path for the model's status or with /metadata for its
// metadata. Errors are {"error": "<message>"} with TF Serving's HTTP
// status for their code ([HTTPStatusForCode]); :classify and :regress
// answer UNIMPLEMENTED.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	trailers := &trailerStream{method: r.URL.Path}
	ctx := grpc.NewContextWithServerTransportStream(r.Context(), trailers)
	body, err := s.serveHTTP(r.WithContext(ctx))
	st := http.StatusOK
	if err != nil {
		st = HTTPStatusForCode(status.Code(err))
		body = EncodeErrorBody(status.Convert(err).Message())
		if v, ok := retryAfter(trailers.md); ok {
			w.Header().Set("Retry-After", v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	_, _ = w.Write(body)
}

// trailerStream collects the gRPC trailers a handler sets while it serves
// a REST request, through grpc.SetTrailer, so that they can go as HTTP
// headers.
type trailerStream struct {
	method string
	mu     sync.Mutex
	md     metadata.MD
}

func (t *trailerStream) Method() string                  { return t.method }
func (t *trailerStream) SetHeader(md metadata.MD) error  { return nil }
func (t *trailerStream) SendHeader(md metadata.MD) error { return nil }
func (t *trailerStream) SetTrailer(md metadata.MD) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.md = metadata.Join(t.md, md)
	return nil
}

// retryAfter returns the Retry-After that a gRPC retry pushback in md
// (gRFC A6's grpc-retry-pushback-ms) stands for: its milliseconds rounded
// up to seconds, or, for a negative or malformed one, which asks not to
// retry, a value that reads so (oiphttp.ParseRetryAfter: malformed).
func retryAfter(md metadata.MD) (string, bool) {
	vs := md.Get("grpc-retry-pushback-ms")
	if len(vs) == 0 {
		return "", false
	}
	ms, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || ms < 0 {
		return "-1", true
	}
	return strconv.FormatInt((ms+999)/1000, 10), true
}

func (s *Server) serveHTTP(r *http.Request) ([]byte, error) {
	path := r.URL.EscapedPath()
	switch r.Method {
	case http.MethodPost:
		m := predictPath.FindStringSubmatch(path)
		if m == nil {
			break
		}
		spec, err := pathSpec(m[1], m[2], m[3])
		if err != nil {
			return nil, err
		}
		if m[4] != "predict" {
			return nil, status.Errorf(codes.Unimplemented, "%s is not served here", m[4])
		}
		return s.restPredict(r, spec)
	case http.MethodGet:
		m := statusPath.FindStringSubmatch(path)
		if m == nil {
			break
		}
		if m[1] == "" {
			return nil, status.Error(codes.InvalidArgument, "Missing model name in request.")
		}
		spec, err := pathSpec(m[1], m[2], m[3])
		if err != nil {
			return nil, err
		}
		if m[4] != "" {
			resp, err := s.GetModelMetadata(r.Context(), &tfspb.GetModelMetadataRequest{ModelSpec: spec, MetadataField: []string{tfspb.SignatureDefKey}})
			if err != nil {
				return nil, err
			}
			var defs tfspb.SignatureDefMap
			if err := tfspb.UnpackSignatureDefMap(resp.GetMetadata()[tfspb.SignatureDefKey], &defs); err != nil {
				return nil, err
			}
			return EncodeMetadataBody(resp.GetModelSpec(), &defs)
		}
		resp, err := s.GetModelStatus(r.Context(), &tfspb.GetModelStatusRequest{ModelSpec: spec})
		if err != nil {
			return nil, err
		}
		return EncodeStatusBody(resp)
	}
	return nil, status.Errorf(codes.InvalidArgument, "Malformed request: %s %s", r.Method, path)
}

// pathSpec is the model spec of a REST path's escaped parts.
func pathSpec(model, version, label string) (*tfspb.ModelSpec, error) {
	name, err := url.PathUnescape(model)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "Failed to decode model name:%s", model)
	}
	spec := &tfspb.ModelSpec{Name: name}
	switch {
	case version != "":
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "Failed to convert version: %s to numeric.", version)
		}
		spec.VersionChoice = &tfspb.ModelSpec_Version{Version: wrapperspb.Int64(v)}
	case label != "":
		l, err := url.PathUnescape(label)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "Failed to decode model version label:%s", label)
		}
		spec.VersionChoice = &tfspb.ModelSpec_VersionLabel{VersionLabel: l}
	}
	return spec, nil
}

func (s *Server) maxRequest() int {
	if s.opts.MaxRequestBytes <= 0 {
		return DefaultMaxResponseBytes
	}
	return s.opts.MaxRequestBytes
}

func (s *Server) restPredict(r *http.Request, spec *tfspb.ModelSpec) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(s.maxRequest())+1))
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "reading the request: %v", err)
	}
	if len(body) > s.maxRequest() {
		return nil, status.Errorf(codes.ResourceExhausted, "request larger than max (%d bytes)", s.maxRequest())
	}
	// The body goes as the PredictRequest it stands for, which Predict
	// serves as it serves gRPC's; a body that cannot be read fails there,
	// after Intercept.
	req := &tfspb.PredictRequest{ModelSpec: spec}
	f, decodeErr := Columnar, error(nil)
	m, _, err := s.resolve(spec)
	if err == nil {
		inputs := func(sig string) ([]TensorSpec, error) {
			spec.SignatureName = sig
			if _, err := signatureOf(m, spec); err != nil {
				return nil, err
			}
			return m.Inputs, nil
		}
		var ts []tensor.Tensor
		_, f, ts, decodeErr = DecodePredictRequest(body, inputs, s.maxDecoded())
		if decodeErr == nil {
			req.Inputs, decodeErr = encodeInputs(ts)
		}
	}
	var resp *tfspb.PredictResponse
	err = s.intercept(r.Context(), "Predict", req, func(ctx context.Context) (err error) {
		if decodeErr != nil {
			return restDecodeError(decodeErr)
		}
		resp, err = s.predict(ctx, req)
		return err
	})
	if resp, err = answer(resp, err); err != nil {
		return nil, err
	}
	outs, err := responseOutputs(resp, m)
	if err != nil {
		return nil, err
	}
	body, err = EncodePredictResponse(outs, f)
	if err != nil {
		return nil, badRequest(err)
	}
	return body, nil
}

// restDecodeError is the error of a REST predict body that could not be
// read, as TF Serving answers it.
func restDecodeError(err error) error {
	switch _, isStatus := status.FromError(err); {
	case isStatus:
		return err // resolving the signature
	case errors.Is(err, errNoJSON):
		// TF Serving's converter has no case for the type.
		return status.Error(codes.Unimplemented, err.Error())
	}
	return badRequest(err)
}

// encodeInputs returns tensors as the inputs of a PredictRequest.
func encodeInputs(ts []tensor.Tensor) (map[string]*tfspb.TensorProto, error) {
	inputs := make(map[string]*tfspb.TensorProto, len(ts))
	for _, t := range ts {
		p, err := EncodeTensor(t)
		if err != nil {
			return nil, err
		}
		inputs[t.Name] = p
	}
	return inputs, nil
}

// responseOutputs returns the outputs of resp, decoded, in the order of
// m's signature (by name if m is nil: a model that appeared meanwhile),
// where a REST answer lists them.
func responseOutputs(resp *tfspb.PredictResponse, m *Model) ([]tensor.Tensor, error) {
	var names []string
	if m != nil {
		for _, spec := range m.Outputs {
			names = append(names, spec.Name)
		}
	} else {
		for name := range resp.GetOutputs() {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	outs := make([]tensor.Tensor, 0, len(resp.GetOutputs()))
	for _, name := range names {
		p, ok := resp.GetOutputs()[name]
		if !ok {
			continue
		}
		t, err := decodeTensor(name, p, math.MaxInt)
		if err != nil {
			return nil, status.Errorf(codes.Internal, "output %q: %v", name, err)
		}
		outs = append(outs, t)
	}
	return outs, nil
}
