package oiphttp

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// testServer is a REST model server built on the server-side helpers:
// its model echoes the inputs as outputs of the same names. handle, if
// set, answers instead.
type testServer struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []seenRequest
	handle func(w http.ResponseWriter, r *http.Request) bool
	noLog  bool // benchmarks: keep no record of requests
}

// seenRequest is what the server saw of a request.
type seenRequest struct {
	method, path, rawPath string
	model, version        string
	header                http.Header
	proto                 int
	req                   *ServerRequest
}

func newTestServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request) bool) *testServer {
	s := &testServer{handle: handle}
	s.Server = httptest.NewServer(s.mux())
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) mux() *http.ServeMux {
	mux := http.NewServeMux()
	infer := func(w http.ResponseWriter, r *http.Request) {
		if s.record(w, r) {
			return
		}
		req, err := ReadRequest(r, r.PathValue("model"), r.PathValue("version"), 0)
		s.mu.Lock()
		if !s.noLog {
			s.seen[len(s.seen)-1].req = req
		}
		s.mu.Unlock()
		if err != nil {
			WriteError(w, err)
			return
		}
		resp := &wire.Response{Model: req.Request.Model, Version: req.Request.Version, ID: req.Request.ID}
		for _, in := range req.Request.Inputs {
			if req.Request.Outputs == nil || slices.Contains(req.Request.Outputs, in.Name) {
				resp.Outputs = append(resp.Outputs, in)
			}
		}
		if err := WriteResponse(w, resp, req.BinaryOutput); err != nil {
			panic(err)
		}
	}
	mux.HandleFunc("POST /v2/models/{model}/infer", infer)
	mux.HandleFunc("POST /v2/models/{model}/versions/{version}/infer", infer)
	meta := func(w http.ResponseWriter, r *http.Request) {
		if s.record(w, r) {
			return
		}
		if r.PathValue("model") != "simple" {
			WriteError(w, status.Errorf(codes.NotFound, "Request for unknown model: '%s' is not found", r.PathValue("model")))
			return
		}
		WriteModelMetadata(w, &wire.ModelMetadata{Name: "simple", Versions: []string{"1", "2"}, Platform: "onnxruntime_onnx",
			Inputs:  []wire.TensorMetadata{{Name: "INPUT0", Datatype: "INT32", Shape: []int64{-1, 16}}},
			Outputs: []wire.TensorMetadata{{Name: "OUTPUT0", Datatype: "FP8", Shape: []int64{-1, 16}}}})
	}
	mux.HandleFunc("GET /v2/models/{model}", meta)
	mux.HandleFunc("GET /v2/models/{model}/versions/{version}", meta)
	ready := func(w http.ResponseWriter, r *http.Request) {
		if !s.record(w, r) {
			w.WriteHeader(http.StatusOK) // Triton: no body
		}
	}
	mux.HandleFunc("GET /v2/models/{model}/ready", ready)
	mux.HandleFunc("GET /v2/models/{model}/versions/{version}/ready", ready)
	mux.HandleFunc("GET /v2/health/live", ready)
	mux.HandleFunc("GET /v2/health/ready", ready)
	return mux
}

// record notes r and lets handle answer it; true if handle did.
func (s *testServer) record(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	if !s.noLog {
		s.seen = append(s.seen, seenRequest{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(),
			model: r.PathValue("model"), version: r.PathValue("version"), header: r.Header.Clone(), proto: r.ProtoMajor})
	}
	s.mu.Unlock()
	return s.handle != nil && s.handle(w, r)
}

func (s *testServer) last(t *testing.T) seenRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		t.Fatal("the server saw no request")
	}
	return s.seen[len(s.seen)-1]
}

func (s *testServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func newTransport(t *testing.T, base string, client *http.Client, opts Options) *Transport {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(u, client, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestTransportInfer(t *testing.T) {
	srv := newTestServer(t, nil)
	all := samples()
	var jsonOnly []tensor.Tensor
	for _, in := range all {
		if jsonable(&in) {
			jsonOnly = append(jsonOnly, in)
		}
	}
	for _, tc := range []struct {
		name      string
		opts      Options
		inputs    []tensor.Tensor
		outputs   []string
		reqBinary bool // request carries chunks
	}{
		{"default", Options{}, all, nil, true},
		{"json outputs", Options{EncodeOptions: EncodeOptions{JSONOutputs: true}}, all, nil, true}, // FP16/BF16 still binary
		{"json only", Options{EncodeOptions: EncodeOptions{BinaryThreshold: -1, JSONOutputs: true}}, jsonOnly, nil, false},
		{"all binary", Options{EncodeOptions: EncodeOptions{BinaryThreshold: 1}}, all, nil, true},
		{"named outputs", Options{}, jsonOnly, []string{"i8", "bytes"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, srv.URL, nil, tc.opts)
			req := &wire.Request{Model: "simple", Version: "2", ID: "id-1", Inputs: tc.inputs, Outputs: tc.outputs}
			var a wire.Attempt
			resp, err := tr.Infer(context.Background(), req, &a)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.inputs
			if tc.outputs != nil {
				want = slices.DeleteFunc(slices.Clone(want), func(x tensor.Tensor) bool { return !slices.Contains(tc.outputs, x.Name) })
			}
			sameTensors(t, resp.Outputs, want)
			if resp.Model != "simple" || resp.Version != "2" || resp.ID != "id-1" {
				t.Errorf("response model %q version %q id %q", resp.Model, resp.Version, resp.ID)
			}
			seen := srv.last(t)
			if seen.rawPath != "/v2/models/simple/versions/2/infer" {
				t.Errorf("path %q", seen.rawPath)
			}
			hasHL := seen.header.Get(HeaderLength) != ""
			if hasHL != tc.reqBinary {
				t.Errorf("request %s: %q, want binary %v", HeaderLength, seen.header.Get(HeaderLength), tc.reqBinary)
			}
			if ct := seen.header.Get("Content-Type"); (ct == "application/octet-stream") != tc.reqBinary {
				t.Errorf("request Content-Type %q", ct)
			}
			if a.HasPushback || a.NoRetry {
				t.Errorf("attempt %+v after a success", a)
			}
		})
	}
}

// TestTransportResponseForm checks the answer's form as the client sees
// it: binary with the header and octet-stream, or plain JSON.
func TestTransportResponseForm(t *testing.T) {
	srv := newTestServer(t, nil)
	in := tensor.Tensor{Name: "x", DType: tensor.Int32, Shape: []int64{2}, Raw: tensor.AppendInt32(nil, []int32{1, 2})}
	for _, jsonOut := range []bool{false, true} {
		tr := newTransport(t, srv.URL, nil, Options{EncodeOptions: EncodeOptions{JSONOutputs: jsonOut}})
		req := &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}
		header, chunks, err := EncodeRequest(nil, nil, req, tr.opts.EncodeOptions)
		if err != nil {
			t.Fatal(err)
		}
		hreq, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/models/m/infer", strings.NewReader(string(joinBody(header, chunks))))
		resp, err := srv.Client().Do(hreq)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ct, hl := resp.Header.Get("Content-Type"), resp.Header.Get(HeaderLength)
		if jsonOut && (ct != "application/json" || hl != "") || !jsonOut && (ct != "application/octet-stream" || hl == "") {
			t.Errorf("JSONOutputs %v: answered Content-Type %q, %s %q", jsonOut, ct, HeaderLength, hl)
		}
	}
}

func TestTransportPathEscaping(t *testing.T) {
	srv := newTestServer(t, nil)
	tr := newTransport(t, srv.URL+"/", nil, Options{})
	for _, tc := range []struct{ model, version, raw string }{
		{"a/b c", "", "/v2/models/a%2Fb%20c/ready"},
		{"m?x#y%z", "1/2", "/v2/models/m%3Fx%23y%25z/versions/1%2F2/ready"},
		{"..", ".", "/v2/models/%2E%2E/versions/%2E/ready"},
		{"ünï", "", "/v2/models/%C3%BCn%C3%AF/ready"},
	} {
		ok, err := tr.ModelReady(context.Background(), tc.model, tc.version, nil)
		if err != nil || !ok {
			t.Errorf("ModelReady(%q, %q) = %v, %v", tc.model, tc.version, ok, err)
			continue
		}
		seen := srv.last(t)
		if seen.rawPath != tc.raw || seen.model != tc.model || seen.version != tc.version {
			t.Errorf("ModelReady(%q, %q): server saw %q, model %q version %q; want %q", tc.model, tc.version, seen.rawPath, seen.model, seen.version, tc.raw)
		}
	}
}

func TestTransportBasePath(t *testing.T) {
	srv := newTestServer(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/triton/", http.StripPrefix("/triton", srv.Config.Handler))
	gw := httptest.NewServer(mux)
	t.Cleanup(gw.Close)
	tr := newTransport(t, gw.URL+"/triton/", nil, Options{})
	if ok, err := tr.ServerLive(context.Background(), nil); !ok || err != nil {
		t.Fatalf("ServerLive through a path prefix = %v, %v", ok, err)
	}
	if seen := srv.last(t); seen.path != "/v2/health/live" {
		t.Errorf("server saw %q", seen.path)
	}
}

func TestTransportMetadata(t *testing.T) {
	srv := newTestServer(t, nil)
	tr := newTransport(t, srv.URL, nil, Options{})
	md, err := tr.ModelMetadata(context.Background(), "simple", "1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if md.Name != "simple" || !slices.Equal(md.Versions, []string{"1", "2"}) || md.Platform != "onnxruntime_onnx" ||
		len(md.Inputs) != 1 || md.Inputs[0].Name != "INPUT0" || md.Inputs[0].Datatype != "INT32" ||
		!slices.Equal(md.Inputs[0].Shape, []int64{-1, 16}) || len(md.Outputs) != 1 || md.Outputs[0].Datatype != "FP8" {
		t.Errorf("metadata %+v", md)
	}
	if seen := srv.last(t); seen.rawPath != "/v2/models/simple/versions/1" || seen.method != http.MethodGet {
		t.Errorf("server saw %s %q", seen.method, seen.rawPath)
	}
	_, err = tr.ModelMetadata(context.Background(), "nope", "", nil)
	var e *Error
	if status.Code(err) != codes.NotFound || !errors.As(err, &e) || e.HTTPStatus != 404 || !strings.Contains(e.Message, "'nope' is not found") {
		t.Errorf("unknown model: %v (code %v)", err, status.Code(err))
	}
}

func TestDecodeModelMetadataErrors(t *testing.T) {
	for _, body := range []string{``, `{`, `[]`, `{"name":1}`, `{"versions":["1"]}`, `{"name":"m","inputs":[{"shape":[1.5]}]}`,
		`{"name":"m","inputs":[{"shape":[99999999999999999999]}]}`, `{"name":"m"} x`} {
		_, err := DecodeModelMetadata([]byte(body))
		if status.Code(err) != codes.Internal || !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeModelMetadata(%q): %v (code %v), want INTERNAL wrapping ErrMalformed", body, err, status.Code(err))
		}
	}
	// Triton's answer as it sends it.
	md, err := DecodeModelMetadata([]byte(`{"name":"simple","versions":["1"],"platform":"tensorflow_graphdef","inputs":[{"name":"INPUT0","datatype":"INT32","shape":[-1,16]}],"outputs":[]}`))
	if err != nil || md.Name != "simple" || md.Inputs[0].Shape[0] != -1 || md.Outputs == nil {
		t.Errorf("%+v, %v", md, err)
	}
}

func TestTransportReady(t *testing.T) {
	answer := map[string]func(w http.ResponseWriter){}
	var mu sync.Mutex
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		f := answer[r.URL.Path]
		mu.Unlock()
		if f == nil {
			return false
		}
		f(w)
		return true
	})
	tr := newTransport(t, srv.URL, nil, Options{})
	answerStatus := func(st int) func(w http.ResponseWriter) { return func(w http.ResponseWriter) { w.WriteHeader(st) } }
	body := func(s string) func(w http.ResponseWriter) { return func(w http.ResponseWriter) { w.Write([]byte(s)) } }
	for _, tc := range []struct {
		name   string
		path   string
		answer func(w http.ResponseWriter)
		call   func() (bool, error)
		want   bool
		code   codes.Code
	}{
		{"live", "/v2/health/live", nil, func() (bool, error) { return tr.ServerLive(context.Background(), nil) }, true, codes.OK},
		{"not live", "/v2/health/live", answerStatus(400), func() (bool, error) { return tr.ServerLive(context.Background(), nil) }, false, codes.OK},
		{"ready", "/v2/health/ready", nil, func() (bool, error) { return tr.ServerReady(context.Background(), nil) }, true, codes.OK},
		{"ready body", "/v2/health/ready", body(`{"ready": true}`), func() (bool, error) { return tr.ServerReady(context.Background(), nil) }, true, codes.OK},
		{"not ready body", "/v2/health/ready", body(`{"ready": false}`), func() (bool, error) { return tr.ServerReady(context.Background(), nil) }, false, codes.OK},
		{"not live body", "/v2/health/live", body(`{"live":false}`), func() (bool, error) { return tr.ServerLive(context.Background(), nil) }, false, codes.OK},
		{"not ready 400", "/v2/health/ready", answerStatus(400), func() (bool, error) { return tr.ServerReady(context.Background(), nil) }, false, codes.OK},
		{"not ready 503", "/v2/health/ready", answerStatus(503), func() (bool, error) { return tr.ServerReady(context.Background(), nil) }, false, codes.OK},
		{"ready 404", "/v2/health/ready", answerStatus(404), func() (bool, error) { return tr.ServerReady(context.Background(), nil) }, false, codes.NotFound},
		{"ready 500", "/v2/health/ready", answerStatus(500), func() (bool, error) { return tr.ServerReady(context.Background(), nil) }, false, codes.Internal},
		{"model ready", "/v2/models/m/ready", nil, func() (bool, error) { return tr.ModelReady(context.Background(), "m", "", nil) }, true, codes.OK},
		{"model not ready", "/v2/models/m/versions/3/ready", answerStatus(400), func() (bool, error) { return tr.ModelReady(context.Background(), "m", "3", nil) }, false, codes.OK},
		{"model unknown", "/v2/models/m/ready", answerStatus(404), func() (bool, error) { return tr.ModelReady(context.Background(), "m", "", nil) }, false, codes.OK},
		{"model ready 401", "/v2/models/m/ready", answerStatus(401), func() (bool, error) { return tr.ModelReady(context.Background(), "m", "", nil) }, false, codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			answer = map[string]func(w http.ResponseWriter){tc.path: tc.answer}
			mu.Unlock()
			got, err := tc.call()
			if got != tc.want || status.Code(err) != tc.code {
				t.Errorf("= %v, %v (code %v); want %v, code %v", got, err, status.Code(err), tc.want, tc.code)
			}
			if seen := srv.last(t); seen.path != tc.path {
				t.Errorf("server saw %q", seen.path)
			}
		})
	}
	if _, err := tr.ModelReady(context.Background(), "", "", nil); status.Code(err) != codes.InvalidArgument {
		t.Errorf("empty model name: %v", err)
	}
}

func TestTransportErrorAnswers(t *testing.T) {
	type answer struct {
		st         int
		retryAfter []string
		body       string
	}
	var mu sync.Mutex
	var next answer
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		a := next
		mu.Unlock()
		for _, v := range a.retryAfter {
			w.Header().Add("Retry-After", v)
		}
		w.WriteHeader(a.st)
		w.Write([]byte(a.body))
		return true
	})
	tr := newTransport(t, srv.URL, nil, Options{})
	in := tensor.Tensor{Name: "x", DType: tensor.Int32, Shape: []int64{1}, Raw: tensor.AppendInt32(nil, []int32{1})}
	for _, tc := range []struct {
		answer
		code      codes.Code
		msg       string
		pushback  time.Duration
		has, stop bool
	}{
		{answer{400, nil, `{"error":"unexpected shape for input 'x'"}`}, codes.InvalidArgument, "unexpected shape for input 'x'", 0, false, false},
		{answer{404, nil, `{"error":"Request for unknown model"}`}, codes.NotFound, "Request for unknown model", 0, false, false},
		{answer{429, []string{"3"}, ``}, codes.Unavailable, "Too Many Requests", 3 * time.Second, true, false},
		{answer{503, []string{"0"}, `{"error":"Exceeds maximum queue size"}`}, codes.Unavailable, "Exceeds maximum queue size", 0, true, false},
		{answer{503, []string{"later"}, ``}, codes.Unavailable, "Service Unavailable", 0, false, true},
		{answer{503, []string{"1", "2"}, ``}, codes.Unavailable, "Service Unavailable", 0, false, true},
		{answer{503, []string{"100000000000000000000000"}, ``}, codes.Unavailable, "Service Unavailable", 0, false, true},
		{answer{500, nil, `{"error":"onnx runtime error"}`}, codes.Internal, "onnx runtime error", 0, false, false},
		{answer{501, nil, `{"error":"not supported"}`}, codes.Unimplemented, "not supported", 0, false, false},
		{answer{504, nil, "upstream timed out"}, codes.DeadlineExceeded, "upstream timed out", 0, false, false},
		{answer{502, nil, strings.Repeat("<p>bad gateway</p>", 10000)}, codes.Unavailable, "", 0, false, false},
		{answer{307, nil, ""}, codes.Unknown, "Temporary Redirect", 0, false, false},
		{answer{413, nil, `{"error":"body too large"}`}, codes.ResourceExhausted, "request larger than max the server accepts: body too large", 0, false, false},
	} {
		t.Run(fmt.Sprint(tc.st), func(t *testing.T) {
			mu.Lock()
			next = tc.answer
			mu.Unlock()
			a := wire.Attempt{Pushback: time.Hour, HasPushback: true, NoRetry: true} // stale values must go
			_, err := tr.Infer(context.Background(), &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}, &a)
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.code || status.Code(err) != tc.code || e.HTTPStatus != tc.st || !e.FromServer() {
				t.Fatalf("%v (code %v), want an *Error from the server with code %v", err, status.Code(err), tc.code)
			}
			if tc.msg != "" && e.Message != tc.msg {
				t.Errorf("message %q, want %q", e.Message, tc.msg)
			}
			// A server's answer is never a limit of the client's own.
			if errors.Is(err, wire.ErrRequestTooLarge) || errors.Is(err, wire.ErrResponseTooLarge) {
				t.Errorf("%v matches a sentinel of the client's own limits", err)
			}
			if a.Pushback != tc.pushback || a.HasPushback != tc.has || a.NoRetry != tc.stop {
				t.Errorf("attempt %+v, want pushback %v has %v no-retry %v", a, tc.pushback, tc.has, tc.stop)
			}
		})
	}
	// The same for metadata and readiness.
	mu.Lock()
	next = answer{st: 503, retryAfter: []string{"7"}}
	mu.Unlock()
	var a wire.Attempt
	if _, err := tr.ModelMetadata(context.Background(), "m", "", &a); status.Code(err) != codes.Unavailable || a.Pushback != 7*time.Second {
		t.Errorf("metadata: %v, attempt %+v", err, a)
	}
}

// TestTransportLimits checks the size limits in both directions, from
// the options and from the call's gRPC options.
func TestTransportLimits(t *testing.T) {
	srv := newTestServer(t, nil)
	big := tensor.Tensor{Name: "x", DType: tensor.FP32, Shape: []int64{1024}, Raw: make([]byte, 4096)}
	req := &wire.Request{Model: "m", Inputs: []tensor.Tensor{big}}
	for _, tc := range []struct {
		name string
		opts Options
		call []grpc.CallOption
		dir  string
		own  error // the sentinel of the client's own limit
	}{
		{"response option", Options{MaxResponseSize: 4096}, nil, "received", wire.ErrResponseTooLarge},
		{"response call option", Options{}, []grpc.CallOption{grpc.MaxCallRecvMsgSize(4000)}, "received", wire.ErrResponseTooLarge},
		{"request option", Options{MaxRequestSize: 4096}, nil, "trying to send", wire.ErrRequestTooLarge},
		{"request call option", Options{}, []grpc.CallOption{grpc.MaxCallSendMsgSize(100)}, "trying to send", wire.ErrRequestTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, srv.URL, nil, tc.opts)
			_, err := tr.Infer(context.Background(), req, &wire.Attempt{GRPC: tc.call})
			if status.Code(err) != codes.ResourceExhausted || !errors.Is(err, ErrTooLarge) ||
				!strings.Contains(err.Error(), tc.dir+" message larger than max") {
				t.Errorf("%v (code %v), want RESOURCE_EXHAUSTED: %s message larger than max", err, status.Code(err), tc.dir)
			}
			if !errors.Is(err, tc.own) {
				t.Errorf("%v does not match %v", err, tc.own)
			}
		})
	}
	// A limit just large enough passes.
	tr := newTransport(t, srv.URL, nil, Options{})
	if _, err := tr.Infer(context.Background(), req, &wire.Attempt{GRPC: []grpc.CallOption{grpc.MaxCallRecvMsgSize(8192)}}); err != nil {
		t.Error(err)
	}
}

// deadlineCtx is a context whose deadline the test ends by hand, so that
// no test waits on a clock.
type deadlineCtx struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newDeadlineCtx() *deadlineCtx {
	return &deadlineCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *deadlineCtx) Done() <-chan struct{} { return c.done }
func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *deadlineCtx) expire() { c.once.Do(func() { close(c.done) }) }

func TestTransportContext(t *testing.T) {
	arrived := make(chan struct{}, 1)
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		// net/http notices a client hanging up only once the body is read.
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-r.Context().Done() // until the client gives up
		return true
	})
	tr := newTransport(t, srv.URL, nil, Options{})
	in := tensor.Tensor{Name: "x", DType: tensor.Int32, Shape: []int64{1}, Raw: tensor.AppendInt32(nil, []int32{1})}
	req := &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := tr.Infer(ctx, req, nil)
	if status.Code(err) != codes.Canceled || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v (code %v)", err, status.Code(err))
	}

	dctx := newDeadlineCtx()
	go func() { <-arrived; dctx.expire() }()
	_, err = tr.Infer(dctx, req, nil)
	if status.Code(err) != codes.DeadlineExceeded || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v (code %v)", err, status.Code(err))
	}

	// Already over: nothing is sent.
	past, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	if _, err := tr.ServerReady(past, nil); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("past deadline: %v (code %v)", err, status.Code(err))
	}
}

// hijackServer answers every request by running f on the raw connection.
func hijackServer(t *testing.T, f func(c net.Conn, rw *bufio.ReadWriter)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer c.Close()
		f(c, rw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTransportConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	cut := hijackServer(t, func(c net.Conn, rw *bufio.ReadWriter) {
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"outputs\":[")
		rw.Flush()
	})
	hangUp := hijackServer(t, func(net.Conn, *bufio.ReadWriter) {})
	reset := hijackServer(t, func(c net.Conn, rw *bufio.ReadWriter) {
		c.(*net.TCPConn).SetLinger(0) // close with RST, not FIN
	})
	garbage := hijackServer(t, func(c net.Conn, rw *bufio.ReadWriter) {
		rw.WriteString("SSH-2.0-OpenSSH\r\n\r\n")
		rw.Flush()
	})
	for _, tc := range []struct{ name, url string }{
		{"refused", refused},
		{"body cut short", cut.URL},
		{"hang up", hangUp.URL},
		{"reset", reset.URL},
		{"not http", garbage.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, tc.url, nil, Options{})
			in := tensor.Tensor{Name: "x", DType: tensor.Int32, Shape: []int64{1}, Raw: tensor.AppendInt32(nil, []int32{1})}
			_, err := tr.Infer(context.Background(), &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}, nil)
			var e *Error
			if status.Code(err) != codes.Unavailable || !errors.As(err, &e) || e.FromServer() {
				t.Errorf("%v (code %v), want UNAVAILABLE not from the server", err, status.Code(err))
			}
		})
	}
}

// TestTransportMalformedAnswer checks that a 200 the client cannot decode
// is INTERNAL, as grpc-go reports a response it cannot parse.
func TestTransportMalformedAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
		body   string
	}{
		{"not json", nil, "<html>"},
		{"header length past end", map[string]string{HeaderLength: "99"}, `{"outputs":[]}`},
		{"header length negative", map[string]string{HeaderLength: "-1"}, `{"outputs":[]}`},
		{"lying binary size", map[string]string{HeaderLength: "80"},
			`{"outputs":[{"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":8}}]}` + "\x00\x00\x80\x3f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) bool {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Write([]byte(tc.body))
				return true
			})
			tr := newTransport(t, srv.URL, nil, Options{})
			_, err := tr.Infer(context.Background(), &wire.Request{Model: "m"}, nil)
			if status.Code(err) != codes.Internal || !errors.Is(err, ErrMalformed) {
				t.Errorf("%v (code %v), want INTERNAL wrapping ErrMalformed", err, status.Code(err))
			}
		})
	}
}

type staticCreds struct {
	md     map[string]string
	err    error
	secure bool
	uris   *[]string
}

func (c staticCreds) GetRequestMetadata(_ context.Context, uri ...string) (map[string]string, error) {
	if c.uris != nil {
		*c.uris = append(*c.uris, uri...)
	}
	return c.md, c.err
}
func (c staticCreds) RequireTransportSecurity() bool { return c.secure }

func TestTransportHeaders(t *testing.T) {
	srv := newTestServer(t, nil)
	var uris []string
	tr := newTransport(t, srv.URL+"/", nil, Options{
		UserAgent: "goai-test",
		Headers: func(ctx context.Context, uri string) (map[string]string, error) {
			uris = append(uris, uri)
			return map[string]string{"authorization": "Bearer t0k", "x-api-key": "k"}, nil
		},
	})
	if _, err := tr.ModelReady(context.Background(), "a b", "1", nil); err != nil {
		t.Fatal(err)
	}
	seen := srv.last(t)
	if seen.header.Get("Authorization") != "Bearer t0k" || seen.header.Get("X-Api-Key") != "k" || seen.header.Get("User-Agent") != "goai-test" {
		t.Errorf("server saw headers %v", seen.header)
	}
	if want := srv.URL + "/v2/models/a%20b/versions/1/ready"; !slices.Equal(uris, []string{want}) {
		t.Errorf("Headers saw %q, want %q", uris, want)
	}

	// A call's per-RPC credentials are added too.
	var callURIs []string
	a := &wire.Attempt{GRPC: []grpc.CallOption{grpc.PerRPCCredentials(staticCreds{md: map[string]string{"x-call": "c"}, uris: &callURIs})}}
	if _, err := tr.ServerLive(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if seen := srv.last(t); seen.header.Get("X-Call") != "c" || seen.header.Get("Authorization") != "Bearer t0k" {
		t.Errorf("server saw headers %v", seen.header)
	}

	for _, tc := range []struct {
		name string
		opts Options
		call grpc.CallOption
		code codes.Code
	}{
		{"hook error", Options{Headers: func(context.Context, string) (map[string]string, error) { return nil, errors.New("no token") }}, nil, codes.Unauthenticated},
		{"hook status", Options{Headers: func(context.Context, string) (map[string]string, error) {
			return nil, status.Error(codes.Unavailable, "token service down")
		}}, nil, codes.Unavailable},
		{"hook illegal status", Options{Headers: func(context.Context, string) (map[string]string, error) {
			return nil, status.Error(codes.NotFound, "x")
		}}, nil, codes.Internal},
		{"hook bad header", Options{Headers: func(context.Context, string) (map[string]string, error) {
			return map[string]string{"bad name": "v"}, nil
		}}, nil, codes.Internal},
		{"hook bad value", Options{Headers: func(context.Context, string) (map[string]string, error) {
			return map[string]string{"x": "a\nb"}, nil
		}}, nil, codes.Internal},
		{"call creds error", Options{}, grpc.PerRPCCredentials(staticCreds{err: errors.New("expired")}), codes.Internal},
		{"call creds need TLS", Options{}, grpc.PerRPCCredentials(staticCreds{secure: true}), codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, srv.URL, nil, tc.opts)
			a := &wire.Attempt{}
			if tc.call != nil {
				a.GRPC = []grpc.CallOption{tc.call}
			}
			before := srv.count()
			_, err := tr.ServerLive(context.Background(), a)
			if status.Code(err) != tc.code {
				t.Errorf("%v (code %v), want %v", err, status.Code(err), tc.code)
			}
			if srv.count() != before {
				t.Error("the request was sent")
			}
		})
	}

	u, _ := url.Parse(srv.URL)
	if _, err := New(u, nil, Options{HeadersRequireTLS: true}); err == nil {
		t.Error("New with HeadersRequireTLS over plain HTTP succeeded")
	}
}

// The context's outgoing gRPC metadata goes as headers, as a trace
// context from goai's hooks does; binary keys stay behind.
func TestTransportOutgoingMetadata(t *testing.T) {
	srv := newTestServer(t, nil)
	tr := newTransport(t, srv.URL, nil, Options{})
	ctx := metadata.AppendToOutgoingContext(context.Background(),
		"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "x-tag", "a", "x-tag", "b", "x-blob-bin", "\x00\x01")
	if _, err := tr.ServerLive(ctx, nil); err != nil {
		t.Fatal(err)
	}
	h := srv.last(t).header
	if h.Get("Traceparent") != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" || !slices.Equal(h.Values("X-Tag"), []string{"a", "b"}) || h.Get("X-Blob-Bin") != "" {
		t.Errorf("server saw headers %v", h)
	}
	bad := metadata.AppendToOutgoingContext(context.Background(), "x", "a\nb")
	before := srv.count()
	if _, err := tr.ServerLive(bad, nil); status.Code(err) != codes.Internal || srv.count() != before {
		t.Errorf("metadata with a newline: %v, sent %v; want INTERNAL, nothing sent", err, srv.count() != before)
	}
}

// TestTransportTLS runs a call over TLS with the client NewHTTPClient
// builds: HTTP/2 negotiated, credentials that require TLS accepted.
func TestTransportTLS(t *testing.T) {
	ts := &testServer{}
	ts.Server = httptest.NewUnstartedServer(ts.mux())
	ts.EnableHTTP2 = true
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake below
	ts.StartTLS()
	t.Cleanup(ts.Close)
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	client := NewHTTPClient(ClientOptions{TLS: &tls.Config{RootCAs: pool}, Concurrency: 4})
	t.Cleanup(client.CloseIdleConnections)
	tr := newTransport(t, ts.URL, client, Options{HeadersRequireTLS: true,
		Headers: func(context.Context, string) (map[string]string, error) {
			return map[string]string{"authorization": "x"}, nil
		}})
	in := tensor.Tensor{Name: "x", DType: tensor.FP32, Shape: []int64{512}, Raw: tensor.AppendFloat32(nil, make([]float32, 512))}
	a := &wire.Attempt{GRPC: []grpc.CallOption{grpc.PerRPCCredentials(staticCreds{secure: true})}}
	resp, err := tr.Infer(context.Background(), &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}, a)
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, resp.Outputs, []tensor.Tensor{in})
	if seen := ts.last(t); seen.proto != 2 || seen.header.Get("Authorization") != "x" {
		t.Errorf("server saw HTTP/%d, headers %v; want HTTP/2 with the credentials", seen.proto, seen.header)
	}

	// A client that does not trust the server fails as gRPC does: UNAVAILABLE.
	tr2 := newTransport(t, ts.URL, nil, Options{})
	if _, err := tr2.ServerLive(context.Background(), nil); status.Code(err) != codes.Unavailable {
		t.Errorf("untrusted certificate: %v (code %v)", err, status.Code(err))
	}
}

// TestTransportEarlyAnswer has the server answer before it reads a large
// request; the caller then reuses its tensor at once. Under the race
// detector this proves the transport no longer reads the tensor once
// Infer has returned.
func TestTransportEarlyAnswer(t *testing.T) {
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		WriteError(w, status.Error(codes.Unavailable, "queue full"))
		return true
	})
	tr := newTransport(t, srv.URL, nil, Options{})
	raw := make([]byte, 8<<20)
	in := tensor.Tensor{Name: "x", DType: tensor.Uint8, Shape: []int64{int64(len(raw))}, Raw: raw}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tr.Infer(context.Background(), &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}, nil)
			if status.Code(err) != codes.Unavailable {
				t.Errorf("%v, want UNAVAILABLE", err)
			}
		}()
	}
	wg.Wait()
	for i := range raw {
		raw[i] = byte(i) // the caller's to reuse now
	}
}

func TestRequestBodyRelease(t *testing.T) {
	bufs := bufsPool.Get().(*bodyBufs)
	chunk := []byte("chunk")
	body := newRequestBody(bufs, []byte("head"), [][]byte{chunk})
	r1, r2 := body.reader(), body.reader()
	p := make([]byte, 3)
	if n, err := r1.Read(p); n != 3 || err != nil || string(p) != "hea" {
		t.Fatalf("Read = %d, %v, %q", n, err, p)
	}
	all := make([]byte, 20)
	if n, _ := r2.Read(all); string(all[:n]) != "headchunk" {
		t.Errorf("second reader read %q", all[:n])
	}
	if body.size != 9 {
		t.Errorf("size %d", body.size)
	}
	body.release()
	if _, err := r1.Read(p); !errors.Is(err, errBodyReleased) {
		t.Errorf("Read after release: %v", err)
	}
	if _, err := body.reader().Read(p); !errors.Is(err, errBodyReleased) {
		t.Errorf("new reader after release: %v", err)
	}
	body.release() // twice is harmless
}

func TestNew(t *testing.T) {
	for _, base := range []string{"ftp://h", "http://", "h:80", "http://h/?q=1", "http://h/#f"} {
		u, _ := url.Parse(base)
		if _, err := New(u, nil, Options{}); err == nil {
			t.Errorf("New(%q) succeeded", base)
		}
	}
	if _, err := New(nil, nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	u, _ := url.Parse("https://user:pw@h:8000/p/")
	tr, err := New(u, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.prefix != "https://user:pw@h:8000/p" || !tr.secure || !tr.owned ||
		tr.maxSend != DefaultMaxMessageSize || tr.maxRecv != DefaultMaxMessageSize {
		t.Errorf("transport %+v", tr)
	}
}

// TestTransportClose checks that Close fails later calls with CANCELED
// without sending them, lets a call in flight finish, and closes the
// connections of the client New made, the one that call used included,
// so that none waits in the idle pool.
func TestTransportClose(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	closed := make(chan struct{}, 4)
	s := &testServer{handle: func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/v2/health/live" {
			arrived <- struct{}{}
			<-release
		}
		return false
	}}
	s.Server = httptest.NewUnstartedServer(s.mux())
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	tr := newTransport(t, s.URL, nil, Options{})

	// A call in flight when Close comes, on one connection, and an idle
	// connection that another call used.
	done := make(chan error, 1)
	go func() {
		_, err := tr.ServerLive(context.Background(), nil)
		done <- err
	}()
	<-arrived
	in := tensor.Tensor{Name: "x", DType: tensor.FP32, Shape: []int64{1}, Raw: make([]byte, 4)}
	if _, err := tr.Infer(context.Background(), &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed := func(what string) {
		t.Helper()
		select {
		case <-closed:
		case <-time.After(time.Minute):
			t.Fatalf("%s: no connection closed after a minute", what)
		}
	}
	waitClosed("the idle connection")
	before := s.count()
	_, err := tr.Infer(context.Background(), &wire.Request{Model: "m", Inputs: []tensor.Tensor{in}}, nil)
	if status.Code(err) != codes.Canceled {
		t.Errorf("Infer after Close: %v, want CANCELED", err)
	}
	if _, err := tr.ModelReady(context.Background(), "m", "", nil); status.Code(err) != codes.Canceled {
		t.Errorf("ModelReady after Close: %v, want CANCELED", err)
	}
	if n := s.count() - before; n != 0 {
		t.Errorf("%d requests sent after Close", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the call in flight at Close: %v", err)
	}
	waitClosed("the connection of the call in flight")
}
