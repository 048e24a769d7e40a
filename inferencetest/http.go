package inferencetest

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"

	"github.com/goai-dev/goai/internal/oip"
	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wire"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The REST endpoints: the Open Inference Protocol's HTTP/REST form (§A7
// to §A9 of the protocol notes: KServe v2's JSON, with Triton's binary
// tensor extension), served beside gRPC from the same models, faults and
// records. Each endpoint decodes its request into the gRPC message and
// runs the gRPC handler's method for it, so that validation (Triton's
// checks and wording), faults and records are the same whichever
// transport a call came by; only the encoding and the mapping of codes to
// HTTP statuses (Triton's, oiphttp.HTTPStatusForCode) differ.

// maxRESTBody is the largest request body the REST endpoints read: 2 GiB,
// what Triton accepts and what the gRPC server is given.
const maxRESTBody = math.MaxInt32

// HTTPURL returns the base URL of the server's REST endpoints, to pass
// to a generated client's constructor in place of a gRPC target:
// "http://127.0.0.1:port" over TCP, "http://bufconn" in memory, which only
// a client of [Server.HTTPClient] reaches; "" before the server starts.
func (s *Server) HTTPURL() string {
	s.life.Lock()
	defer s.life.Unlock()
	if s.httpAddr == "" {
		return ""
	}
	return "http://" + s.httpAddr
}

// HTTPClient returns an *http.Client that reaches the REST endpoints
// whatever URL it is given, in memory after [Server.StartBufconn] (pass
// it with goai.WithHTTPClient), over TCP after [Server.StartTCP]; no
// proxy, redirects not followed. Inside a [testing/synctest] bubble, make
// it inside the bubble. It fails to connect while the server is down.
func (s *Server) HTTPClient() *http.Client {
	hc := oiphttp.NewHTTPClient(oiphttp.ClientOptions{})
	tr := hc.Transport.(*http.Transport)
	tr.Proxy = nil
	tr.DialContext = s.dialHTTP
	return hc
}

// dialHTTP connects to the REST listener, whatever address it is given.
func (s *Server) dialHTTP(ctx context.Context, _, _ string) (net.Conn, error) {
	return s.dial(ctx, true, "HTTPClient used")
}

// newHTTPServer returns the http.Server of generation g.
func (s *Server) newHTTPServer(g *generation) *http.Server {
	h := &restHandler{s: s, rpc: &handler{s: s}, calls: g.calls}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health/live", h.serverLive)
	mux.HandleFunc("GET /v2/health/ready", h.serverReady)
	mux.HandleFunc("GET /v2", h.serverMetadata)
	// TF Serving's REST API, with the same faults as its gRPC one.
	mux.Handle("/v1/", s.tfs)
	for _, model := range []string{"/v2/models/{model}", "/v2/models/{model}/versions/{version}"} {
		mux.HandleFunc("GET "+model, h.modelMetadata)
		mux.HandleFunc("GET "+model+"/ready", h.modelReady)
		mux.HandleFunc("POST "+model+"/infer", h.modelInfer)
	}
	h.mux = mux
	return &http.Server{
		Handler: h,
		// The handlers' waits end when the generation does.
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), stopKey{}, g.ctx)
		},
		// A client that gives up mid-call is a test's business, not a
		// line on its output.
		ErrorLog: log.New(io.Discard, "", 0),
	}
}

// restHandler serves the REST endpoints of one generation.
type restHandler struct {
	s     *Server
	rpc   *handler // the gRPC service, whose methods serve the calls
	calls *callGate
	mux   *http.ServeMux
}

func (h *restHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.calls.enter() {
		oiphttp.WriteError(w, status.Error(codes.Unavailable, errStopping.Error()))
		return
	}
	defer h.calls.exit()
	h.mux.ServeHTTP(w, r)
}

// callContext returns r's context with a sink for the trailer a fault
// sends (see Server.inject).
func callContext(r *http.Request) (context.Context, *metadata.MD) {
	md := new(metadata.MD)
	return context.WithValue(r.Context(), trailerKey{}, md), md
}

// fail answers err, with trailer's entries as headers: the pushback as
// Retry-After.
func fail(w http.ResponseWriter, err error, trailer metadata.MD) {
	h := w.Header()
	for k, vs := range trailer {
		if k == PushbackTrailer {
			for _, v := range vs {
				h.Add("Retry-After", retryAfter(v))
			}
			continue
		}
		for _, v := range vs {
			if httpguts.ValidHeaderFieldName(k) && httpguts.ValidHeaderFieldValue(v) {
				h.Add(k, v)
			}
		}
	}
	oiphttp.WriteError(w, err)
}

// retryAfter returns the Retry-After value of a pushback of ms
// milliseconds: whole seconds, rounded up; a negative or malformed ms is
// passed on as it is, which a client reads as a request not to retry.
func retryAfter(ms string) string {
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n < 0 {
		return ms
	}
	return strconv.FormatInt(n/1000+min(n%1000, 1), 10)
}

// ready answers a readiness call as Triton does: 200 with no body when
// ready, 400 when not.
func ready(w http.ResponseWriter, ok bool, err error, trailer metadata.MD) {
	switch {
	case err != nil:
		fail(w, err, trailer)
	case ok:
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusBadRequest)
	}
}

func (h *restHandler) serverLive(w http.ResponseWriter, r *http.Request) {
	ctx, md := callContext(r)
	resp, err := h.rpc.ServerLive(ctx, &oippb.ServerLiveRequest{})
	ready(w, resp.GetLive(), err, *md)
}

func (h *restHandler) serverReady(w http.ResponseWriter, r *http.Request) {
	ctx, md := callContext(r)
	resp, err := h.rpc.ServerReady(ctx, &oippb.ServerReadyRequest{})
	ready(w, resp.GetReady(), err, *md)
}

func (h *restHandler) modelReady(w http.ResponseWriter, r *http.Request) {
	ctx, md := callContext(r)
	resp, err := h.rpc.ModelReady(ctx, &oippb.ModelReadyRequest{Name: r.PathValue("model"), Version: r.PathValue("version")})
	if err == nil && !resp.GetReady() {
		err = status.Error(codes.InvalidArgument, "Model version not ready")
	}
	ready(w, true, err, *md)
}

func (h *restHandler) serverMetadata(w http.ResponseWriter, r *http.Request) {
	ctx, md := callContext(r)
	resp, err := h.rpc.ServerMetadata(ctx, &oippb.ServerMetadataRequest{})
	if err != nil {
		fail(w, err, *md)
		return
	}
	extensions := resp.GetExtensions()
	if extensions == nil {
		extensions = []string{}
	}
	body, err := json.Marshal(struct {
		Name       string   `json:"name"`
		Version    string   `json:"version"`
		Extensions []string `json:"extensions"`
	}{resp.GetName(), resp.GetVersion(), extensions})
	if err != nil {
		fail(w, status.Error(codes.Internal, err.Error()), nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (h *restHandler) modelMetadata(w http.ResponseWriter, r *http.Request) {
	ctx, md := callContext(r)
	resp, err := h.rpc.ModelMetadata(ctx, &oippb.ModelMetadataRequest{Name: r.PathValue("model"), Version: r.PathValue("version")})
	if err != nil {
		fail(w, err, *md)
		return
	}
	meta := &wire.ModelMetadata{Name: resp.GetName(), Versions: resp.GetVersions(), Platform: resp.GetPlatform()}
	for _, t := range resp.GetInputs() {
		meta.Inputs = append(meta.Inputs, wire.TensorMetadata{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()})
	}
	for _, t := range resp.GetOutputs() {
		meta.Outputs = append(meta.Outputs, wire.TensorMetadata{Name: t.GetName(), Datatype: t.GetDatatype(), Shape: t.GetShape()})
	}
	oiphttp.WriteModelMetadata(w, meta)
}

// modelInfer decodes the body into the ModelInferRequest a gRPC client
// would have sent (every input raw) and serves it as the gRPC server
// does; the response goes back with each output binary or JSON as the
// request asked (binary when JSON cannot carry it).
func (h *restHandler) modelInfer(w http.ResponseWriter, r *http.Request) {
	s := h.s
	s.rec.call("ModelInfer")
	model := r.PathValue("model")
	sr, err := oiphttp.ReadRequest(r, model, r.PathValue("version"), maxRESTBody)
	if err != nil {
		// A body that does not decode never reaches the model, as a gRPC
		// message that does not unmarshal does not.
		s.rec.outcome(model, status.Code(err), false)
		oiphttp.WriteError(w, err)
		return
	}
	req := oip.Request(&sr.Request)
	rec := recordInfer(req)
	rec.REST, rec.RawInputs = true, sr.BinaryInputs
	ctx, md := callContext(r)
	resp, err := s.modelInfer(ctx, req, rec, false)
	if err != nil {
		fail(w, err, *md)
		return
	}
	out, err := oip.Response(resp, nil)
	if err != nil {
		oiphttp.WriteError(w, status.Errorf(codes.Internal, "inferencetest: %v", err))
		return
	}
	// An output that does not encode has been answered as an error.
	_ = oiphttp.WriteResponse(w, out, sr.BinaryOutput)
}

// callGate counts the REST calls of a generation being served, so that
// Down and Stop wait for their handlers, as grpc.WaitForHandlers makes
// the gRPC server wait for its own, and refuses calls once closed.
type callGate struct {
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{} // closed once closed with no call left
}

func newCallGate() *callGate { return &callGate{idle: make(chan struct{})} }

// enter counts a call in, or reports false once the gate is closed.
func (g *callGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *callGate) exit() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.closed && g.n == 0 {
		close(g.idle)
	}
}

// close refuses further calls.
func (g *callGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	if g.n == 0 {
		close(g.idle)
	}
}

// wait returns once the gate is closed and its calls have ended.
func (g *callGate) wait() { <-g.idle }
