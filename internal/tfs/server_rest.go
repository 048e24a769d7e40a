package tfs

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
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
	body, err := s.serveHTTP(r)
	st := http.StatusOK
	if err != nil {
		st = HTTPStatusForCode(status.Code(err))
		body = EncodeErrorBody(status.Convert(err).Message())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(st)
	_, _ = w.Write(body)
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
			spec, defs, err := s.metadata(spec)
			if err != nil {
				return nil, err
			}
			return EncodeMetadataBody(spec, defs)
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
	m, v, err := s.resolve(spec)
	if err != nil {
		return nil, err
	}
	inputs := func(sig string) ([]TensorSpec, error) {
		spec.SignatureName = sig
		if _, err := signatureOf(m, spec); err != nil {
			return nil, err
		}
		return m.Inputs, nil
	}
	_, f, ts, err := DecodePredictRequest(body, inputs, s.maxDecoded())
	switch _, isStatus := status.FromError(err); {
	case err == nil:
	case isStatus:
		return nil, err // resolving the signature
	case errors.Is(err, errNoJSON):
		// TF Serving's converter has no case for the type.
		return nil, status.Error(codes.Unimplemented, err.Error())
	default:
		return nil, badRequest(err)
	}
	byName := make(map[string]tensor.Tensor, len(ts))
	for _, t := range ts {
		byName[t.Name] = t
	}
	outs, err := s.run(r.Context(), m, v, byName, nil)
	if err != nil {
		return nil, err
	}
	body, err = EncodePredictResponse(outs, f)
	if err != nil {
		return nil, badRequest(err)
	}
	return body, nil
}
