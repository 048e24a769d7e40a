package goai

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// testServer serves every method on 127.0.0.1 with handle, which gets the
// method name and the incoming metadata; a nil handle answers an empty
// HealthCheckResponse.
type testServer struct {
	lis   *countingListener
	srv   *grpc.Server
	calls atomic.Int64 // streams opened
	msgs  atomic.Int64 // requests received
}

func startServer(t *testing.T, handle func(method string, md metadata.MD) error, opts ...grpc.ServerOption) *testServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{lis: &countingListener{Listener: l}}
	opts = append(opts, grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		ts.calls.Add(1)
		var req grpc_health_v1.HealthCheckRequest
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		ts.msgs.Add(1)
		method, _ := grpc.MethodFromServerStream(stream)
		md, _ := metadata.FromIncomingContext(stream.Context())
		if handle != nil {
			if err := handle(method, md); err != nil {
				return err
			}
		}
		return stream.SendMsg(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
	}))
	ts.srv = grpc.NewServer(opts...)
	done := make(chan struct{})
	go func() { defer close(done); _ = ts.srv.Serve(ts.lis) }()
	t.Cleanup(func() { ts.srv.Stop(); <-done })
	return ts
}

func (ts *testServer) target() string { return ts.lis.Addr().String() }

func call(ctx context.Context, cc grpc.ClientConnInterface, opts ...grpc.CallOption) error {
	return cc.Invoke(ctx, "/test.v1.T/Call", &grpc_health_v1.HealthCheckRequest{}, &grpc_health_v1.HealthCheckResponse{}, opts...)
}

func dialTest(t *testing.T, target string, opts ...PoolOption) *Pool {
	t.Helper()
	p, err := Dial(target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestDialNeedsTransportSecurity(t *testing.T) {
	_, err := Dial("passthrough:///127.0.0.1:1")
	if !errors.Is(err, ErrNoTransportSecurity) || !strings.Contains(err.Error(), "WithInsecure") {
		t.Errorf("Dial without credentials = %v, want ErrNoTransportSecurity naming the options", err)
	}
	for _, opts := range [][]PoolOption{
		{WithInsecure(), WithTLSConfig(&tls.Config{})},
		{WithTLSConfig(&tls.Config{}), WithTransportCredentials(credentials.NewTLS(&tls.Config{}))},
	} {
		if _, err := Dial("passthrough:///127.0.0.1:1", opts...); err == nil {
			t.Errorf("Dial with conflicting credentials succeeded")
		}
	}
	if _, err := Dial("dns:///%zz", WithInsecure()); err == nil {
		t.Errorf("Dial of a bad target succeeded")
	}
}

func TestPoolDistinctConnections(t *testing.T) {
	for _, pick := range []PickPolicy{PickRoundRobin, PickLeastOutstanding} {
		ts := startServer(t, nil)
		p := dialTest(t, ts.target(), WithInsecure(), WithPoolSize(4), WithPickPolicy(pick))
		if p.Len() != 4 || p.Target() != ts.target() {
			t.Fatalf("pool of %d connections to %q", p.Len(), p.Target())
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 10 {
					if err := call(context.Background(), p); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		if pick == PickRoundRobin {
			if got := ts.lis.accepted.Load(); got != 4 {
				t.Errorf("round robin over a pool of 4 made %d TCP connections, want 4", got)
			}
		} else if got := ts.lis.accepted.Load(); got < 1 || got > 4 {
			t.Errorf("least outstanding over a pool of 4 made %d TCP connections", got)
		}
	}
	ts := startServer(t, nil)
	p := dialTest(t, ts.target(), WithInsecure())
	for range 10 {
		if err := call(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	if got := ts.lis.accepted.Load(); got != 1 || p.Len() != DefaultPoolSize {
		t.Errorf("default pool made %d connections, want 1", got)
	}
}

func TestPoolLeastOutstanding(t *testing.T) {
	p := &Pool{pick: PickLeastOutstanding, conns: make([]*grpc.ClientConn, 3), load: make([]paddedCounter, 3)}
	p.load[0].n.Store(5)
	p.load[1].n.Store(2)
	p.load[2].n.Store(7)
	for range 6 {
		if got := p.pickConn(); got != 1 {
			t.Fatalf("picked %d, want 1, the least loaded", got)
		}
	}
	p.load[1].n.Store(5)
	seen := map[int]int{}
	for range 6 {
		seen[p.pickConn()]++
	}
	if seen[2] != 0 || seen[0] == 0 || seen[1] == 0 {
		t.Errorf("ties picked %v, want both 0 and 1, never 2", seen)
	}

	// Streams count until they end.
	ts := startServer(t, nil)
	pool := dialTest(t, ts.target(), WithInsecure(), WithPoolSize(2), WithPickPolicy(PickLeastOutstanding))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := pool.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/test.v1.T/Stream")
	if err != nil {
		t.Fatal(err)
	}
	if pool.load[0].n.Load()+pool.load[1].n.Load() != 1 {
		t.Errorf("an open stream is not counted")
	}
	cancel()
	// RecvMsg returns the cancellation and uncounts the stream before it
	// returns; the context's own hook may have done so already.
	_ = s.RecvMsg(&grpc_health_v1.HealthCheckResponse{})
	if pool.load[0].n.Load()+pool.load[1].n.Load() != 0 {
		t.Fatal("an ended stream is still counted")
	}
	// A unary-response stream ends with its response.
	s, err = pool.NewStream(context.Background(), &grpc.StreamDesc{}, "/test.v1.T/Call")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMsg(&grpc_health_v1.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	_ = s.CloseSend()
	if err := s.RecvMsg(&grpc_health_v1.HealthCheckResponse{}); err != nil {
		t.Fatal(err)
	}
	if pool.load[0].n.Load()+pool.load[1].n.Load() != 0 {
		t.Errorf("a finished unary-response stream is still counted")
	}
}

func TestPoolGRPCRetriesOff(t *testing.T) {
	ts := startServer(t, func(string, metadata.MD) error { return status.Error(codes.Unavailable, "down") })
	sc := `{"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":4,"initialBackoff":"0.001s","maxBackoff":"0.01s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]}`
	p := dialTest(t, ts.target(), WithInsecure(), WithDialOptions(grpc.WithDefaultServiceConfig(sc)))
	if err := call(context.Background(), p); status.Code(err) != codes.Unavailable {
		t.Fatalf("call = %v", err)
	}
	if got := ts.calls.Load(); got != 1 {
		t.Errorf("server saw %d calls: grpc-go retried", got)
	}
}

func TestPoolMessageTooLarge(t *testing.T) {
	ts := startServer(t, nil)
	p := dialTest(t, ts.target(), WithInsecure(), WithMaxSendMsgSize(1000))
	desc := testDesc(retrying(5))
	c, _ := newTestCaller(t, desc)
	var info CallInfo
	err := c.invoke(context.Background(), &desc.Methods[0], func(ctx context.Context, a attemptArgs) error {
		req := &grpc_health_v1.HealthCheckRequest{Service: strings.Repeat("x", 2000)}
		return p.Invoke(ctx, "/test.v1.T/Call", req, &grpc_health_v1.HealthCheckResponse{}, a.callOptions...)
	}, Report(&info))
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "larger than max") {
		t.Fatalf("oversized call = %v", err)
	}
	// The client opens the stream before it sizes the message, so the
	// server may see the stream begin; what must never reach it is the
	// message.
	if info.Attempts != 1 || ts.msgs.Load() != 0 {
		t.Errorf("oversized call made %d attempts, server received %d messages", info.Attempts, ts.msgs.Load())
	}
	if got := c.breakerFor(ModelRef{Name: "m"}).cb.Counts(); got.TotalFailures != 0 {
		t.Errorf("oversized call counted against the breaker: %+v", got)
	}
	// The default limit takes 2000 bytes.
	big := dialTest(t, ts.target(), WithInsecure())
	if err := big.Invoke(context.Background(), "/test.v1.T/Call", &grpc_health_v1.HealthCheckRequest{Service: strings.Repeat("x", 5<<20)}, &grpc_health_v1.HealthCheckResponse{}); status.Code(err) == codes.ResourceExhausted && strings.Contains(err.Error(), "trying to send") {
		t.Errorf("a 5 MiB message passed the client's default 64 MiB limit: %v", err)
	}
}

func TestPoolClose(t *testing.T) {
	ts := startServer(t, nil)
	p, err := Dial(ts.target(), WithInsecure(), WithPoolSize(3))
	if err != nil {
		t.Fatal(err)
	}
	if err := call(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	for i := range p.Len() {
		if err := call(context.Background(), p.Conn(i)); status.Code(err) != codes.Canceled {
			t.Errorf("call on closed connection %d = %v, want CANCELED", i, err)
		}
	}
}

// tokenCreds is per-RPC credentials carrying a bearer token.
type tokenCreds string

func (c tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(c)}, nil
}
func (tokenCreds) RequireTransportSecurity() bool { return true }

func TestPoolMutualTLSAndPerRPCCredentials(t *testing.T) {
	ca, caKey := newCert(t, "test CA", nil, nil, true)
	srvCert := leafCert(t, "127.0.0.1", ca, caKey, x509.ExtKeyUsageServerAuth)
	cliCert := leafCert(t, "client", ca, caKey, x509.ExtKeyUsageClientAuth)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	ts := startServer(t, func(_ string, md metadata.MD) error {
		if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer s3cret" {
			return status.Errorf(codes.Unauthenticated, "authorization %q", got)
		}
		return nil
	}, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert})))

	p := dialTest(t, ts.target(), WithPoolSize(2), WithTLSConfig(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cliCert}}), WithPerRPCCredentials(tokenCreds("s3cret")))
	for range 4 {
		if err := call(context.Background(), p); err != nil {
			t.Fatalf("mTLS call: %v", err)
		}
	}
	// Without the client certificate the handshake fails.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	nocert := dialTest(t, ts.target(), WithTLSConfig(&tls.Config{RootCAs: roots}), WithPerRPCCredentials(tokenCreds("s3cret")))
	if err := call(ctx, nocert); err == nil {
		t.Errorf("call without a client certificate succeeded")
	}
	// Per-RPC credentials that need security are refused on an insecure pool.
	if _, err := Dial(ts.target(), WithInsecure(), WithPerRPCCredentials(tokenCreds("s3cret"))); err == nil {
		t.Errorf("Dial with secure-only credentials on an insecure pool succeeded")
	}
}

func newCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, usage ...x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  usage,
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		if ip := net.ParseIP(cn); ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func leafCert(t *testing.T, cn string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) tls.Certificate {
	cert, key := newCert(t, cn, ca, caKey, false, usage)
	return tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}
}
