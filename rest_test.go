package goai

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

func TestRESTURL(t *testing.T) {
	for _, tc := range []struct {
		target  string
		rest    bool
		invalid bool
	}{
		{"http://triton:8000", true, false},
		{"https://gateway.example/triton", true, false},
		{"HTTP://triton:8000", true, false},
		{"http://", true, true},
		{"http://tri ton:8000", true, true},
		{"dns:///triton:8001", false, false},
		{"passthrough:///bufconn", false, false},
		{"triton:8001", false, false},
		{"unix:///tmp/s", false, false},
		{"xds:///model", false, false},
	} {
		u, rest, err := restURL(tc.target)
		if rest != tc.rest || (err != nil) != tc.invalid || rest && !tc.invalid && u == nil {
			t.Errorf("restURL(%q) = %v, %v, %v; want REST %v, invalid %v", tc.target, u, rest, err, tc.rest, tc.invalid)
		}
	}
}

// TestRESTOptions checks the rules of the pool options for a REST
// target: plaintext needs WithInsecure, as it does over gRPC, and
// options that contradict each other or cannot apply are refused, not
// ignored.
func TestRESTOptions(t *testing.T) {
	desc := echoDesc(CallPolicy{})
	direct := echoDesc(CallPolicy{})
	direct.Protocol = ProtocolDirect
	tfServing := echoDesc(CallPolicy{})
	tfServing.Protocol = ProtocolTFServing
	for _, tc := range []struct {
		name   string
		target string
		desc   *ModelDesc
		opts   []Option
		want   string // in the error; "" for none
	}{
		{"http without security", "http://127.0.0.1:1", desc, nil, "WithInsecure"},
		{"http, insecure", "http://127.0.0.1:1", desc, []Option{WithInsecure()}, ""},
		{"http with TLS", "http://127.0.0.1:1", desc, []Option{WithTLSConfig(&tls.Config{})}, "use https://"},
		{"https", "https://127.0.0.1:1", desc, nil, ""},
		{"https with TLS", "https://127.0.0.1:1", desc, []Option{WithTLSConfig(&tls.Config{})}, ""},
		{"https, insecure", "https://127.0.0.1:1", desc, []Option{WithInsecure()}, "pass one"},
		{"transport credentials", "https://127.0.0.1:1", desc, []Option{WithTransportCredentials(insecure.NewCredentials())}, "WithTLSConfig"},
		{"secure credentials on http", "http://127.0.0.1:1", desc, []Option{WithInsecure(), WithPerRPCCredentials(tokenCreds("x"))}, "transport security"},
		{"secure credentials on https", "https://127.0.0.1:1", desc, []Option{WithPerRPCCredentials(tokenCreds("x"))}, ""},
		{"own client", "http://127.0.0.1:1", desc, []Option{WithInsecure(), WithHTTPClient(&http.Client{})}, ""},
		{"own client and TLS", "https://127.0.0.1:1", desc, []Option{WithHTTPClient(&http.Client{}), WithTLSConfig(&tls.Config{})}, "pass one"},
		{"own client and pool size", "https://127.0.0.1:1", desc, []Option{WithHTTPClient(&http.Client{}), WithPoolSize(4)}, "pass one"},
		{"gRPC-only tuning ignored", "http://127.0.0.1:1", desc, []Option{WithInsecure(), WithPickPolicy(PickLeastOutstanding), WithKeepalive(DefaultKeepalive), WithDialOptions()}, ""},
		{"TF Serving", "http://127.0.0.1:1", tfServing, []Option{WithInsecure(), WithPoolSize(8)}, ""},
		{"TF Serving without security", "http://127.0.0.1:1", tfServing, nil, "WithInsecure"},
		{"TF Serving with credentials", "https://127.0.0.1:1", tfServing, []Option{WithPerRPCCredentials(tokenCreds("x"))}, "not supported for TF Serving over REST"},
		{"direct service", "http://127.0.0.1:1", direct, []Option{WithInsecure()}, "which has no REST form"},
		{"own client on a gRPC target", "dns:///127.0.0.1:1", desc, []Option{WithInsecure(), WithHTTPClient(&http.Client{})}, "WithHTTPClient"},
		{"no host", "http:///v2", desc, []Option{WithInsecure()}, "no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dialClient(tc.target, tc.desc, tc.opts)
			if err == nil {
				defer c.Close()
			}
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("%v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
			// Events name the transport the client speaks: the metrics'
			// transport label is read from it.
			wantName := TransportHTTP
			if !strings.HasPrefix(tc.target, "http") {
				wantName = TransportGRPC
			}
			if err == nil && c.transportName != wantName {
				t.Errorf("the client's events name transport %q, want %q", c.transportName, wantName)
			}
			if tc.name == "http without security" && !errors.Is(err, ErrNoTransportSecurity) {
				t.Errorf("err = %v, want ErrNoTransportSecurity", err)
			}
		})
	}
	if _, err := Dial("http://127.0.0.1:1", WithInsecure()); err == nil || !strings.Contains(err.Error(), "REST") {
		t.Errorf("Dial of an http:// target: %v, want an error naming REST", err)
	}
}

// restClient returns a client of echoDesc over REST to target.
func restClient(t *testing.T, target string, opts ...Option) *Client {
	t.Helper()
	c, err := dialClient(target, echoDesc(CallPolicy{}), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// httpClientOf returns the *http.Client a REST client sends through.
func httpClientOf(t *testing.T, c *Client) *http.Client {
	t.Helper()
	tr, ok := c.transport.(*oiphttp.Transport)
	if !ok {
		t.Fatalf("transport %T, want REST", c.transport)
	}
	return tr.HTTPClient()
}

func TestRESTPoolSize(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		want int
	}{
		{nil, oiphttp.DefaultConcurrency},
		{[]Option{WithPoolSize(7)}, 7},
	} {
		c := restClient(t, "http://127.0.0.1:1", append(tc.opts, WithInsecure())...)
		tr := httpClientOf(t, c).Transport.(*http.Transport)
		if tr.MaxIdleConnsPerHost != tc.want {
			t.Errorf("%d options: %d idle connections per host, want %d", len(tc.opts), tr.MaxIdleConnsPerHost, tc.want)
		}
	}
	own := &http.Client{}
	if hc := httpClientOf(t, restClient(t, "http://127.0.0.1:1", WithInsecure(), WithHTTPClient(own))); hc != own {
		t.Errorf("WithHTTPClient: the client sends through %p, want %p", hc, own)
	}
}

// echoHandler is a REST model server of model echo: it echoes the
// inputs, and records the headers of each request.
type echoHandler struct {
	mu      sync.Mutex
	headers []http.Header
}

func (h *echoHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.headers = append(h.headers, r.Header.Clone())
	h.mu.Unlock()
	req, err := oiphttp.ReadRequest(r, "echo", "", 0)
	if err != nil {
		oiphttp.WriteError(w, err)
		return
	}
	out := req.Request.Inputs[0]
	out.Name = "OUTPUT0"
	_ = oiphttp.WriteResponse(w, &wire.Response{Model: "echo", Outputs: []tensor.Tensor{out}}, req.BinaryOutput)
}

func (h *echoHandler) last() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.headers[len(h.headers)-1]
}

// failingCreds are per-RPC credentials that fail.
type failingCreds struct{}

func (failingCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return nil, errors.New("no token")
}
func (failingCreds) RequireTransportSecurity() bool { return false }

var _ credentials.PerRPCCredentials = failingCreds{}

// TestRESTMutualTLSAndPerRPCCredentials is the REST side of
// TestPoolMutualTLSAndPerRPCCredentials: WithTLSConfig secures an
// https:// target, client certificate included, and per-RPC credentials
// travel as headers.
func TestRESTMutualTLSAndPerRPCCredentials(t *testing.T) {
	ca, caKey := newCert(t, "test CA", nil, nil, true)
	srvCert := leafCert(t, "127.0.0.1", ca, caKey, x509.ExtKeyUsageServerAuth)
	cliCert := leafCert(t, "client", ca, caKey, x509.ExtKeyUsageClientAuth)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	h := &echoHandler{}
	ts := httptest.NewUnstartedServer(h)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	ctx := context.Background()
	desc := echoDesc(CallPolicy{})
	call := func(c *Client) error {
		_, err := c.infer(ctx, &desc.Methods[0], echoRequest(), nil)
		return err
	}

	c := restClient(t, ts.URL, WithTLSConfig(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cliCert}}),
		WithPerRPCCredentials(tokenCreds("s3cret")), WithPerRPCCredentials(staticHeader{"x-tenant": "blue"}))
	if err := call(c); err != nil {
		t.Fatalf("mTLS call: %v", err)
	}
	if got := h.last(); got.Get("Authorization") != "Bearer s3cret" || got.Get("X-Tenant") != "blue" {
		t.Errorf("headers %v, want the credentials' authorization and x-tenant", got)
	}
	// Without the client certificate the handshake fails: UNAVAILABLE.
	nocert := restClient(t, ts.URL, WithTLSConfig(&tls.Config{RootCAs: roots}))
	if err := call(nocert); status.Code(err) != codes.Unavailable {
		t.Errorf("call without a client certificate: %v, want UNAVAILABLE", err)
	}
	// Credentials that fail fail the call, as grpc-go fails it.
	bad := restClient(t, ts.URL, WithTLSConfig(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cliCert}}), WithPerRPCCredentials(failingCreds{}))
	if err := call(bad); status.Code(err) != codes.Unauthenticated {
		t.Errorf("failing credentials: %v, want UNAUTHENTICATED", err)
	}
}

// staticHeader is per-RPC credentials of fixed metadata.
type staticHeader map[string]string

func (s staticHeader) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return s, nil
}
func (staticHeader) RequireTransportSecurity() bool { return false }

// TestRESTClose checks that Close fails later calls with CANCELED, as on
// gRPC, that the breaker does not count them, and that a client of the
// caller's is left open.
func TestRESTClose(t *testing.T) {
	srv := inferencetest.New()
	if err := srv.Register(inferencetest.Identity("echo", tensor.FP32, 4)); err != nil {
		t.Fatal(err)
	}
	if err := srv.StartTCP(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	desc := echoDesc(CallPolicy{Breaker: BreakerPolicy{ConsecutiveFailures: 1}})
	own := srv.HTTPClient()
	for _, opts := range [][]Option{{WithInsecure()}, {WithInsecure(), WithHTTPClient(own)}} {
		c, err := dialClient(srv.HTTPURL(), desc, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.infer(context.Background(), &desc.Methods[0], echoRequest(), nil); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := c.infer(context.Background(), &desc.Methods[0], echoRequest(), nil); status.Code(err) != codes.Canceled {
				t.Errorf("call after Close: %v, want CANCELED", err)
			}
		}
		if st := c.BreakerState(desc.Model); st != BreakerClosed {
			t.Errorf("breaker %v after calls on a closed client, want closed", st)
		}
	}
	// The caller's client still works.
	resp, err := own.Get(srv.HTTPURL() + "/v2/health/live")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the caller's client after Close: %v, %v", resp, err)
	}
	resp.Body.Close()
}
